//! ACP backends (`[acp.<name>]`): the real binary driving the scripted ACP
//! agent `tests/fixtures/fake-acp-agent.py` through every mapping, the
//! permission policy, a kill (session/cancel first), a crash, resume with
//! session/load, and `respond` as another prompt.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::acp::{dir_of, record, run, sandbox};
use crate::common::{Sandbox, run_ids};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// What the agent received, as JSON values.
fn received(rec: &Path) -> Vec<Value> {
    std::fs::read_to_string(rec)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn methods(rec: &Path) -> Vec<String> {
    received(rec)
        .iter()
        .map(|m| m["method"].as_str().unwrap_or("(answer)").to_owned())
        .collect()
}

fn run_dir(sb: &Sandbox, i: usize) -> (String, PathBuf) {
    let ids = run_ids(sb);
    (ids[i].clone(), sb.state_dir().join("runs").join(&ids[i]))
}

/// Poll until `pred` holds (at most 20 s).
fn wait_until(what: &str, pred: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !pred() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_done(dir: &Path) -> String {
    wait_until("the run to end", || {
        let s = record(dir)["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        s != "running" && s != "starting" && s != "queued"
    });
    wait_until("the runner to exit", || !dir.join("control.sock").exists());
    record(dir)["status"].as_str().unwrap().to_owned()
}

#[test]
fn acp_run_maps_the_session_tools_text_usage_and_cost() {
    let (sb, rec) = sandbox();
    let (code, report) = run(&sb, &rec, "tool", &[]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["outcome"], "completed", "{report}");
    let dir = dir_of(&sb, &report);
    assert_eq!(
        std::fs::read_to_string(dir.join("output.txt")).unwrap(),
        "All done."
    );
    let rec_json = record(&dir);
    assert_eq!(rec_json["resume_id"], "acp-sess-1");
    assert_eq!(rec_json["tool_calls"], 1);
    assert_eq!(rec_json["cost_usd"], 0.25);
    assert_eq!(rec_json["cli_version"], "9.9.9");
    // The handshake, in the project, with the task in session/prompt (never argv).
    assert_eq!(
        methods(&rec),
        ["initialize", "session/new", "session/prompt"]
    );
    let msgs = received(&rec);
    assert_eq!(msgs[0]["params"]["clientCapabilities"]["terminal"], false);
    assert!(msgs[1]["params"]["cwd"].as_str().unwrap().starts_with('/'));
    assert!(
        msgs[2]["params"]["prompt"][0]["text"]
            .as_str()
            .unwrap()
            .ends_with("do the thing")
    );
    // The session is resumable by its ACP id.
    let reg: Value = serde_json::from_str(
        &std::fs::read_to_string(sb.openclaw_home().join("fake_sessions.json")).unwrap(),
    )
    .unwrap();
    assert!(reg.to_string().contains("acp-sess-1"), "{reg}");
}

#[test]
fn acp_stop_reasons_errors_crashes_and_bad_lines() {
    let (sb, rec) = sandbox();
    for (scenario, outcome, needle) in [
        ("stop:max_tokens", "failed", "max_tokens"),
        ("stop:refusal", "failed", "refusal"),
        ("error", "failed", "Internal error: model overloaded"),
        ("crash", "failed", "out of cheese"),
        ("malformed", "completed", ""),
    ] {
        let (_, report) = run(&sb, &rec, scenario, &[]);
        assert_eq!(report["outcome"], outcome, "{scenario}: {report}");
        let error = report["error"].as_str().unwrap_or_default();
        assert!(error.contains(needle), "{scenario}: {report}");
    }
}

#[test]
fn acp_permission_requests_follow_the_run_policy() {
    let (sb, rec) = sandbox();
    let (_, report) = run(&sb, &rec, "perm", &[]);
    assert_eq!(report["outcome"], "completed", "{report}");
    let dir = dir_of(&sb, &report);
    assert_eq!(
        std::fs::read_to_string(dir.join("output.txt")).unwrap(),
        "permission answer: yes"
    );
    let (_, report) = run(&sb, &rec, "perm", &["--permission-mode", "default"]);
    assert_eq!(report["outcome"], "completed", "{report}");
    let dir = dir_of(&sb, &report);
    assert_eq!(
        std::fs::read_to_string(dir.join("output.txt")).unwrap(),
        "permission answer: no"
    );
}

#[test]
fn acp_kill_sends_session_cancel_first() {
    let (sb, rec) = sandbox();
    let out = sb
        .run(&[
            "--backend",
            "fake",
            "-t",
            "wait",
            "--detach",
            "--heartbeat",
            "0",
        ])
        .env("FAKE_ACP_SCENARIO", "slow")
        .env("FAKE_ACP_RECORD", &rec)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (id, dir) = run_dir(&sb, 0);
    wait_until("the prompt", || {
        methods(&rec).contains(&"session/prompt".to_owned())
    });
    let out = sb.cmd().args(["kill", &id]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(wait_done(&dir), "killed");
    assert!(
        methods(&rec).contains(&"session/cancel".to_owned()),
        "{:?}",
        methods(&rec)
    );
}

#[test]
fn acp_resume_loads_the_session_and_refuses_without_load_session() {
    let (sb, rec) = sandbox();
    let (_, report) = run(&sb, &rec, "tool", &[]);
    assert_eq!(report["outcome"], "completed", "{report}");
    std::fs::remove_file(&rec).unwrap();
    let (_, report) = run(&sb, &rec, "tool", &["--resume", "acp-sess-1"]);
    assert_eq!(report["outcome"], "completed", "{report}");
    assert_eq!(
        methods(&rec),
        ["initialize", "session/load", "session/prompt"]
    );
    let dir = dir_of(&sb, &report);
    // The replayed history is not this run's text.
    assert!(
        !std::fs::read_to_string(dir.join("output.txt"))
            .unwrap()
            .contains("old history")
    );

    std::fs::remove_file(&rec).unwrap();
    let (_, report) = run(&sb, &rec, "noload", &["--resume", "acp-sess-1"]);
    assert_eq!(report["outcome"], "failed", "{report}");
    assert!(
        report["error"].as_str().unwrap().contains("loadSession"),
        "{report}"
    );
    assert_eq!(methods(&rec), ["initialize"], "no prompt sent");

    // The agent now is known not to load sessions; a fresh run learns it does again.
    let (_, report) = run(&sb, &rec, "tool", &[]);
    assert_eq!(report["outcome"], "completed", "{report}");
    std::fs::remove_file(&rec).unwrap();
    let (_, report) = run(&sb, &rec, "tool", &["--resume", "nope-1"]);
    assert_eq!(report["outcome"], "resume_failed", "{report}");
}

#[test]
fn acp_multi_turn_respond_is_another_prompt_in_the_same_session() {
    let (sb, rec) = sandbox();
    let out = sb
        .run(&[
            "--backend",
            "fake",
            "-t",
            "first",
            "--detach",
            "--heartbeat",
            "0",
            "--multi-turn",
            "--idle-timeout",
            "30",
            "-s",
            "agent:main:main",
            "--notify-channel",
            "console",
        ])
        .env("FAKE_ACP_SCENARIO", "echo")
        .env("FAKE_ACP_RECORD", &rec)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (id, dir) = run_dir(&sb, 0);
    wait_until("the first turn to end", || {
        record(&dir)["waiting_since"].is_number()
    });
    let out = sb.cmd().args(["respond", &id, "second"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    wait_until("the second prompt's answer", || {
        std::fs::read_to_string(dir.join("assistant.txt"))
            .unwrap_or_default()
            .contains("turn 2: second")
    });
    let prompts: Vec<Value> = received(&rec)
        .into_iter()
        .filter(|m| m["method"] == "session/prompt")
        .collect();
    assert_eq!(prompts.len(), 2);
    assert_eq!(prompts[1]["params"]["sessionId"], "acp-sess-1");
    let out = sb.cmd().args(["kill", &id]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    wait_done(&dir);
}

#[test]
fn acp_respond_without_multi_turn_is_queued_and_loads_the_session_after() {
    let (sb, rec) = sandbox();
    let out = sb
        .run(&[
            "--backend",
            "fake",
            "-t",
            "first",
            "--detach",
            "--heartbeat",
            "0",
        ])
        .env("FAKE_ACP_SCENARIO", "echo")
        .env("FAKE_ACP_DELAY", "2")
        .env("FAKE_ACP_RECORD", &rec)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (id, dir) = run_dir(&sb, 0);
    wait_until("the prompt", || {
        methods(&rec).contains(&"session/prompt".to_owned())
    });
    let out = sb.cmd().args(["respond", &id, "second"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(wait_done(&dir), "completed");
    assert_eq!(
        methods(&rec),
        [
            "initialize",
            "session/new",
            "session/prompt",
            "initialize",
            "session/load",
            "session/prompt"
        ]
    );
    let output = std::fs::read_to_string(dir.join("output.txt")).unwrap();
    assert!(output.contains("turn 1: second"), "{output}");
    // Each agent process reported 10 in / 5 out for its prompt: the totals add up.
    let rec_json = record(&dir);
    assert_eq!(rec_json["usage"]["input_tokens"], 20, "{rec_json}");
    assert_eq!(rec_json["usage"]["output_tokens"], 10, "{rec_json}");
}

#[test]
fn acp_resume_on_an_agent_known_not_to_load_sessions_is_refused_before_it_starts() {
    let (sb, rec) = sandbox();
    // A fresh run tells clawrun what the agent can do.
    let (_, report) = run(&sb, &rec, "noload", &[]);
    assert_eq!(report["outcome"], "completed", "{report}");
    let agents: Value =
        serde_json::from_str(&std::fs::read_to_string(sb.state_dir().join("agents.json")).unwrap())
            .unwrap();
    assert_eq!(
        agents["backends"]["fake"]["load_session"], false,
        "{agents}"
    );
    assert_eq!(agents["backends"]["fake"]["version"], "9.9.9", "{agents}");
    std::fs::remove_file(&rec).unwrap();
    let runs_before = run_ids(&sb).len();
    for args in [
        &[
            "run",
            "--backend",
            "fake",
            "--resume",
            "acp-sess-1",
            "-t",
            "more",
        ][..],
        &["resume", report["run_id"].as_str().unwrap(), "more"][..],
    ] {
        let out = sb
            .cmd()
            .args(args)
            .env("FAKE_ACP_SCENARIO", "noload")
            .env("FAKE_ACP_RECORD", &rec)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("loadSession") && stderr(&out).contains("fake-acp 9.9.9"),
            "{}",
            stderr(&out)
        );
        assert!(!rec.exists(), "{args:?}: the agent was started");
        assert_eq!(run_ids(&sb).len(), runs_before, "{args:?}: a run was made");
    }
}

#[test]
fn acp_output_follow_prints_the_text_until_the_run_ends() {
    let (sb, rec) = sandbox();
    let out = sb
        .run(&[
            "--backend",
            "fake",
            "-t",
            "work",
            "--detach",
            "--heartbeat",
            "0",
        ])
        .env("FAKE_ACP_SCENARIO", "tool")
        .env("FAKE_ACP_DELAY", "2")
        .env("FAKE_ACP_RECORD", &rec)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (id, dir) = run_dir(&sb, 0);
    let follow = sb.cmd().args(["output", &id, "--follow"]).output().unwrap();
    assert_eq!(follow.status.code(), Some(0), "{}", stderr(&follow));
    assert!(
        String::from_utf8_lossy(&follow.stdout).contains("All done."),
        "{follow:?}"
    );
    assert_eq!(wait_done(&dir), "completed");
}

/// Every ACP definition shipped commented in backends.toml, uncommented as
/// its header says ("copy one into your backends.toml and uncomment it"),
/// is a valid `[acp.<name>]` table, and so is the README's example.
#[test]
fn the_shipped_acp_definitions_load_once_uncommented() {
    let shipped = include_str!("../../backends.toml");
    let acp = &shipped[shipped.find("# Known ACP agents").unwrap()..];
    let uncommented: String = acp
        .lines()
        .filter_map(|l| l.strip_prefix("#   "))
        .filter(|l| l.starts_with("[acp.") || l.contains(" = "))
        .map(|l| format!("{l}\n"))
        .collect();
    let names = ["claude-acp", "codex-acp", "gemini", "opencode", "cursor"];
    for name in names {
        assert!(
            uncommented.contains(&format!("[acp.{name}]")),
            "{uncommented}"
        );
    }
    let readme = include_str!("../../README.md");
    let section = &readme[readme.find("### ACP agents").unwrap()..];
    let start = section.find("[acp.claude-acp]").unwrap();
    let example = &section[start..start + section[start..].find("TOML").unwrap()];
    let dir = tempfile::tempdir().unwrap();
    for (what, text) in [("backends.toml", uncommented.as_str()), ("README", example)] {
        let path = dir.path().join("backends.toml");
        std::fs::write(&path, text).unwrap();
        let config = clawrun::backends::config::load(Some(&path));
        assert!(config.is_ok(), "{what}: {:?}\n{text}", config.err());
        let config = config.unwrap();
        for name in names
            .iter()
            .filter(|n| what == "backends.toml" || **n == "claude-acp")
        {
            assert!(config.backend(name).is_ok(), "{what}: {name}");
        }
    }
}

/// Issue 25: a run whose ACP agent does not advertise `loadSession` shows no
/// `Resume:` command (it would be refused): the result message, the wake and
/// `show` say briefly why instead. An agent that can load sessions keeps it.
#[test]
fn no_resume_command_when_the_acp_agent_cannot_load_sessions() {
    let (sb, rec) = sandbox();
    for (scenario, resumable) in [("noload", false), ("tool", true)] {
        let (code, report) = run(&sb, &rec, scenario, &[]);
        assert_eq!(code, Some(0), "{report}");
        let dir = dir_of(&sb, &report);
        let result: Value = std::fs::read_to_string(dir.join("notifications.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|n| n["kind"] == "result")
            .unwrap();
        let text = result.to_string();
        let id = report["run_id"].as_str().unwrap();
        let show = sb.cmd().args(["show", id]).output().unwrap();
        let show = String::from_utf8_lossy(&show.stdout).into_owned();
        for (what, t) in [("result", &text), ("show", &show)] {
            assert_eq!(
                t.contains("--resume acp-sess-1"),
                resumable,
                "{scenario} {what}: {t}"
            );
            assert_eq!(
                t.contains("not possible") && t.contains("loadSession"),
                !resumable,
                "{scenario} {what}: {t}"
            );
        }
    }
}
