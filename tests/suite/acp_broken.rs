//! ACP agents that break the protocol end the run as failed within seconds,
//! with what went wrong, never at the run's `--timeout` (default 2 h): the
//! handshake is bounded, the end of the agent's output ends the turn, garbage
//! is fatal past a limit, and an agent that does not exit after its turn is
//! stopped after a short grace. Every run here uses the default `--timeout`;
//! the command's own 120 s limit (`Sandbox::cmd`) is the bounded wait.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::acp::{dir_of, record, run, sandbox};

#[test]
fn acp_broken_protocols_fail_fast_with_what_went_wrong() {
    let (sb, rec) = sandbox();
    for (scenario, needle) in [
        ("close-early", "closed its output"),
        ("mute", "did not answer `initialize`"),
        ("wrong-id", "did not answer `initialize`"),
        ("garbage", "not JSON-RPC"),
        ("close-after-init", "closed its output"),
    ] {
        let (code, report) = run(&sb, &rec, scenario, &[]);
        assert_eq!(report["outcome"], "failed", "{scenario}: {report}");
        assert_eq!(code, Some(3), "{scenario}: {report}");
        let error = report["error"].as_str().unwrap_or_default();
        assert!(error.contains(needle), "{scenario}: {report}");
        assert!(!error.contains("timed out"), "{scenario}: {report}");
    }
}

#[test]
fn acp_wrong_id_says_which_id_came_back() {
    let (sb, rec) = sandbox();
    let (_, report) = run(&sb, &rec, "wrong-id", &[]);
    let error = report["error"].as_str().unwrap_or_default();
    assert!(error.contains("4242"), "{report}");
}

#[test]
fn acp_agent_that_ends_its_turn_and_does_not_exit_is_completed() {
    let (sb, rec) = sandbox();
    let (code, report) = run(&sb, &rec, "linger", &[]);
    assert_eq!(report["outcome"], "completed", "{report}");
    assert_eq!(code, Some(0), "{report}");
    let dir = dir_of(&sb, &report);
    assert_eq!(record(&dir)["status"], "completed");
    assert_eq!(
        std::fs::read_to_string(dir.join("output.txt")).unwrap(),
        "All done."
    );
}
