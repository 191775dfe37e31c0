//! `--approvals chat`: the agent's permission requests (a fake claude speaking
//! the control protocol, `FAKE_MODE=approvals`) go to the clawrun plugin's
//! approvals route on a fake gateway (wiremock), and the decision goes back to
//! the agent. Every way an approval can end is covered: allow-once,
//! allow-always (the second ask is not sent), deny, no answer in time, a 500
//! and a gateway slower than the HTTP timeout (a gateway unreachable at launch
//! is refused up front: `preflight.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::{MockServer, ResponseTemplate};

use crate::common::gateway::{self, WHATSAPP_KEY};
use crate::common::{Sandbox, clawrun_in, run_ids};

fn sandbox(port: u16) -> Sandbox {
    gateway::sandbox(port, "t0ken-ap")
}

struct Ran {
    code: Option<i32>,
    stderr: String,
    /// The answer lines the agent read.
    answers: Vec<Value>,
    argv: String,
    /// `approvals.jsonl` of the run.
    log: String,
}

async fn run(sb: &Sandbox, asks: &str, extra: &[&str]) -> Ran {
    let record: PathBuf = sb.root.join("rec");
    let mut args = vec![
        "run",
        "-t",
        "do it",
        "--approvals",
        "chat",
        "--heartbeat",
        "0",
    ];
    args.extend_from_slice(extra);
    let mut c = sb.run_std(&args[1..]);
    c.env("FAKE_MODE", "approvals")
        .env("FAKE_ASKS", asks)
        .env("FAKE_RECORD", &record);
    let out = tokio::time::timeout(
        Duration::from_secs(90),
        tokio::process::Command::from(c).output(),
    )
    .await
    .expect("the run ended")
    .unwrap();
    let read = |name: &str| std::fs::read_to_string(record.join(name)).unwrap_or_default();
    let id = run_ids(sb).pop().unwrap_or_default();
    let log = std::fs::read_to_string(sb.state_dir().join("runs").join(id).join("approvals.jsonl"))
        .unwrap_or_default();
    Ran {
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        answers: read("answers")
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
        argv: read("argv"),
        log,
    }
}

fn behavior(answer: &Value) -> &str {
    answer["response"]["response"]["behavior"].as_str().unwrap()
}

async fn approval_bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == gateway::APPROVALS_ROUTE)
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

async fn chat_texts(server: &MockServer) -> String {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/tools/invoke")
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_once_goes_back_to_the_agent_with_its_input() {
    let server = gateway::approvals_with_plugin(gateway::decision(json!("allow-once")), 1).await;
    let sb = sandbox(server.address().port());
    let r = run(&sb, "touch made-by-agent.txt", &["-s", WHATSAPP_KEY]).await;
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.answers.len(), 1);
    assert_eq!(behavior(&r.answers[0]), "allow");
    assert_eq!(r.answers[0]["response"]["request_id"], "req-1");
    assert_eq!(
        r.answers[0]["response"]["response"]["updatedInput"]["command"],
        "touch made-by-agent.txt"
    );
    // The argv asks over stdio instead of bypassing permissions.
    assert!(
        r.argv.contains("--permission-prompt-tool\nstdio\n"),
        "{}",
        r.argv
    );
    assert!(
        r.argv.contains("--input-format\nstream-json\n"),
        "{}",
        r.argv
    );
    assert!(
        !r.argv.contains("--dangerously-skip-permissions"),
        "{}",
        r.argv
    );
    let bodies = approval_bodies(&server).await;
    let b = &bodies[0];
    let run = run_ids(&sb).pop().unwrap();
    assert_eq!(b["runId"], run);
    assert_eq!(b["requestId"], format!("{run}:toolu_1"));
    assert_eq!(b["severity"], "warning");
    assert_eq!(b["timeoutMs"], 120_000);
    // The session key routes the prompt (its chat is the gateway's to know).
    assert_eq!(b["sessionKey"], WHATSAPP_KEY);
    assert_eq!(b["route"], Value::Null);
    assert_eq!(
        b["allowedDecisions"],
        json!(["allow-once", "allow-always", "deny"])
    );
    assert!(
        b["title"]
            .as_str()
            .unwrap()
            .contains("Bash touch made-by-agent.txt")
    );
    assert!(
        b["description"]
            .as_str()
            .unwrap()
            .contains("touch made-by-agent.txt")
    );
    let all = serde_json::to_string(&bodies).unwrap();
    assert!(!all.contains("t0ken-ap"), "the token leaked: {all}");
    assert_eq!(r.log.lines().count(), 2, "{}", r.log);
    assert!(r.log.contains("\"answered\""), "{}", r.log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_always_is_not_asked_twice_for_the_same_command_word() {
    // Only one approval may be asked: the mock fails the test on a second.
    let server = gateway::approvals_with_plugin(gateway::decision(json!("allow-always")), 1).await;
    let sb = sandbox(server.address().port());
    let r = run(&sb, "git add -A;git commit -m x", &["-s", WHATSAPP_KEY]).await;
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let got: Vec<&str> = r.answers.iter().map(behavior).collect();
    assert_eq!(got, ["allow", "allow"]);
    assert!(r.log.contains("\"settled\":\"remembered\""), "{}", r.log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_reaches_the_agent_and_the_chat_and_the_run_ends_normally() {
    let server = gateway::approvals_with_plugin(gateway::decision(json!("deny")), 1).await;
    let sb = sandbox(server.address().port());
    let r = run(&sb, "rm -rf build", &["-s", WHATSAPP_KEY]).await;
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(behavior(&r.answers[0]), "deny");
    let msg = r.answers[0]["response"]["response"]["message"]
        .as_str()
        .unwrap();
    assert!(msg.contains("denied"), "{msg}");
    let chat = chat_texts(&server).await;
    assert!(chat.contains("Denied: Bash `rm -rf build`"), "{chat}");
    // The result message and the wake list it, like a preset's denials.
    let line = "1 tool call denied by the approvals in the chat: Bash rm -rf build";
    let (wake, messages): (Vec<&str>, Vec<&str>) =
        chat.lines().partition(|b| b.contains("\"sessions_send\""));
    assert!(wake.iter().any(|b| b.contains(line)), "wake: {wake:?}");
    assert!(
        messages
            .iter()
            .any(|b| b.contains(line) && b.contains("task complete")),
        "{messages:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_and_unaskable_approvals_are_listed_in_the_result() {
    let server = gateway::approvals_with_plugin(gateway::decision(Value::Null), 1).await;
    let sb = sandbox(server.address().port());
    let r = run(
        &sb,
        "touch x",
        &["-s", WHATSAPP_KEY, "--approval-timeout", "3"],
    )
    .await;
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let chat = chat_texts(&server).await;
    let line = "1 tool call denied by the approvals in the chat: Bash touch x";
    assert!(
        chat.lines()
            .any(|b| b.contains("sessions_send") && b.contains(line)),
        "{chat}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_answer_in_time_is_a_deny_and_the_chat_is_told() {
    let server = gateway::approvals_with_plugin(gateway::decision(Value::Null), 1).await;
    let sb = sandbox(server.address().port());
    let r = run(
        &sb,
        "touch x",
        &["-s", WHATSAPP_KEY, "--approval-timeout", "7"],
    )
    .await;
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(behavior(&r.answers[0]), "deny");
    assert_eq!(approval_bodies(&server).await[0]["timeoutMs"], 7000);
    let chat = chat_texts(&server).await;
    assert!(chat.contains("No answer within 7s"), "{chat}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_error_is_a_deny_and_the_chat_is_told() {
    let err = ResponseTemplate::new(500)
        .set_body_json(json!({"ok": false, "error": {"code": "internal", "message": "boom"}}));
    let server = gateway::approvals_with_plugin(err, 1).await;
    let sb = sandbox(server.address().port());
    let r = run(&sb, "touch x", &["-s", WHATSAPP_KEY]).await;
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(behavior(&r.answers[0]), "deny");
    let chat = chat_texts(&server).await;
    assert!(chat.contains("Could not ask for approval"), "{chat}");
    assert!(chat.contains("internal: boom"), "{chat}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_slower_than_the_approval_timeout_is_cut_off() {
    // The approval may take 1 s; the HTTP call gives up 15 s after that.
    let slow = gateway::decision(json!("allow-once")).set_delay(Duration::from_secs(60));
    let server = gateway::approvals_with_plugin(slow, 1).await;
    let sb = sandbox(server.address().port());
    let started = std::time::Instant::now();
    let r = run(
        &sb,
        "touch x",
        &["-s", WHATSAPP_KEY, "--approval-timeout", "1"],
    )
    .await;
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(behavior(&r.answers[0]), "deny");
    assert!(started.elapsed() < Duration::from_secs(50));
}

#[tokio::test]
async fn approvals_chat_is_refused_where_it_cannot_work() {
    let sb = Sandbox::new();
    let codex = clawrun_in(
        &sb,
        &[
            "run",
            "--backend",
            "codex",
            "-t",
            "x",
            "--approvals",
            "chat",
        ],
    )
    .await;
    assert_eq!(codex.status.code(), Some(2));
    let err = String::from_utf8_lossy(&codex.stderr);
    assert!(
        err.contains("--approvals chat is not supported by the codex backend"),
        "{err}"
    );
    let bypass = clawrun_in(
        &sb,
        &[
            "run",
            "-t",
            "x",
            "--approvals",
            "chat",
            "--permission-mode",
            "bypassPermissions",
        ],
    )
    .await;
    assert_eq!(bypass.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bypass.stderr);
    assert!(err.contains("never prompts"), "{err}");
    let long = clawrun_in(
        &sb,
        &[
            "run",
            "-t",
            "x",
            "--approvals",
            "chat",
            "--approval-timeout",
            "601",
        ],
    )
    .await;
    assert_eq!(long.status.code(), Some(2));
    let err = String::from_utf8_lossy(&long.stderr);
    assert!(
        err.contains("--approval-timeout") && err.contains("allowed: 1 to 600 seconds"),
        "{err}"
    );
    // `[run] approvals = "chat"` in clawrun.toml is the default of the flag.
    std::fs::create_dir_all(sb.openclaw_home()).unwrap();
    std::fs::write(
        sb.openclaw_home().join("clawrun.toml"),
        "[run]\napprovals = \"chat\"\n",
    )
    .unwrap();
    let by_config = clawrun_in(&sb, &["run", "--backend", "codex", "-t", "x"]).await;
    assert_eq!(by_config.status.code(), Some(2));
    std::fs::write(
        sb.openclaw_home().join("clawrun.toml"),
        "[run]\napprovals = \"ask\"\n",
    )
    .unwrap();
    let bad = clawrun_in(&sb, &["run", "-t", "x"]).await;
    assert_eq!(bad.status.code(), Some(2));
}

/// An ACP agent's `session/request_permission` (the scripted agent's `perm`
/// scenario) goes to the same approver: the chat's decision picks the
/// request's own option (`yes` = allow_once, `no` = reject_once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acp_agent_s_permission_request_is_asked_in_the_chat() {
    for (answer, chosen) in [("allow-once", "yes"), ("deny", "no")] {
        let server = gateway::approvals_with_plugin(gateway::decision(json!(answer)), 1).await;
        let sb = sandbox(server.address().port());
        std::fs::create_dir_all(sb.state_dir()).unwrap();
        let toml = format!(
            "[acp.fake]\nprogram = {:?}\ntested_version = \"9.9.9\"\n",
            crate::common::fixture("fake-acp-agent.py")
                .display()
                .to_string()
        );
        std::fs::write(sb.state_dir().join("backends.toml"), toml).unwrap();
        let mut c = sb.run_std(&[
            "--backend",
            "fake",
            "-t",
            "do it",
            "--approvals",
            "chat",
            "--session",
            WHATSAPP_KEY,
            "--json",
            "--heartbeat",
            "0",
        ]);
        c.env("FAKE_ACP_SCENARIO", "perm")
            .env("FAKE_ACP_RECORD", sb.root.join("received.jsonl"));
        let out = tokio::time::timeout(
            Duration::from_secs(60),
            tokio::process::Command::from(c).output(),
        )
        .await
        .expect("the run ended")
        .unwrap();
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("no report: {}", String::from_utf8_lossy(&out.stderr)));
        assert_eq!(report["outcome"], "completed", "{report}");
        let dir = sb
            .state_dir()
            .join("runs")
            .join(report["run_id"].as_str().unwrap());
        assert_eq!(
            std::fs::read_to_string(dir.join("output.txt")).unwrap(),
            format!("permission answer: {chosen}")
        );
        let bodies = approval_bodies(&server).await;
        assert_eq!(bodies.len(), 1, "{bodies:?}");
        let title = bodies[0]["title"].as_str().unwrap();
        assert!(title.contains("Edit"), "{title}");
        assert_eq!(bodies[0]["sessionKey"], WHATSAPP_KEY);
    }
}
