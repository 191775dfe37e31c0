//! A dead runner is never silent (issue 13 B): a SIGKILLed runner's watcher
//! tells the chat and the orchestrating agent, stops the agent's group and
//! closes the run; a reaping command closes what a watcher could not; session
//! ids from the stream are checked before they are stored; gc removes the
//! registry entries of runs that are over.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::gateway::{self, TOKEN, WHATSAPP_KEY as KEY, deliveries};
use crate::common::{Sandbox, clawrun_in, fixture};

/// The session id in `claude/cancel-SIGTERM.jsonl`.
const SID: &str = "a01b8f43-3076-4fdf-a35c-c5217c78cda3";

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn registry(sb: &Sandbox) -> Value {
    read_json(&sb.openclaw_home().join("claude_sessions.json"))
}

/// Live (not zombie) processes whose process group is `pgid`.
fn group_members(pgid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // After "(comm)": state ppid pgrp …
        let Some(rest) = stat.rsplit_once(") ").map(|(_, r)| r) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.len() > 2 && f[0] != "Z" && f[2] == pgid.to_string() {
            out.push(pid);
        }
    }
    out
}

/// The pid of the watcher of the run in `dir` (`clawrun … __watch DIR`).
fn watcher_of(dir: &Path) -> Option<u32> {
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        if args.iter().any(|a| *a == b"__watch")
            && args.contains(&dir.as_os_str().as_encoded_bytes())
        {
            return Some(pid);
        }
    }
    None
}

fn sigkill(pid: u32) {
    // SAFETY: kill(2) with a pid we started (through clawrun) and SIGKILL.
    unsafe {
        libc::kill(pid as i32, libc::SIGKILL);
    }
}

/// Wait up to `secs` for `f` to hold.
async fn eventually(secs: u64, what: &str, mut f: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f().await {
        assert!(Instant::now() < deadline, "not within {secs} s: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The run flags of the hanging runs below.
const HANG_ARGS: [&str; 11] = [
    "-s",
    KEY,
    "-t",
    "x",
    "--heartbeat",
    "0",
    "--grace",
    "1",
    "--delivery-wait",
    "20",
    "--json",
];

/// Its runner pid, agent pid and run directory, once the session id is in
/// the registry and the agent's grandchild runs.
struct Hanging {
    runner: u32,
    /// The runner itself, for a foreground run (waited for once killed).
    child: Option<std::process::Child>,
    agent: u32,
    dir: PathBuf,
}

/// A run (detached, or in the foreground of a child process) of a fake agent
/// that started a grandchild ignoring SIGTERM and hangs, routed to `KEY`.
async fn hanging_run(sb: &Sandbox, rec_dir: &Path, detach: bool) -> Hanging {
    hanging_run_of(sb, rec_dir, detach, &fixture("claude/cancel-SIGTERM.jsonl")).await
}

/// [`hanging_run`] of the transcript `stream` (whose session id is [`SID`]).
async fn hanging_run_of(sb: &Sandbox, rec_dir: &Path, detach: bool, stream: &Path) -> Hanging {
    let mut args = HANG_ARGS.to_vec();
    if detach {
        args.push("--detach");
    }
    let mut c = sb.run_std(&args);
    c.env("FAKE_FIXTURE", stream)
        .env("FAKE_MODE", "grandchild-stubborn")
        .env("FAKE_RECORD", rec_dir);
    let run = if detach {
        let out = tokio::process::Command::from(c).output().await.unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{err}");
        let proof: Value = serde_json::from_slice(&out.stdout).unwrap();
        Hanging {
            runner: proof["runner_pid"].as_u64().unwrap() as u32,
            child: None,
            agent: proof["agent_pid"].as_u64().unwrap() as u32,
            dir: PathBuf::from(proof["run_dir"].as_str().unwrap()),
        }
    } else {
        c.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let child = c.spawn().unwrap();
        let runs = sb.state_dir().join("runs");
        let mut found = None;
        eventually(10, "the agent started", async || {
            let dir = std::fs::read_dir(&runs)
                .ok()
                .and_then(|mut rd| rd.next())
                .and_then(|e| e.ok())
                .map(|e| e.path());
            found = dir.and_then(|d| {
                let rec: Value =
                    serde_json::from_slice(&std::fs::read(d.join("run.json")).ok()?).ok()?;
                Some((rec["agent_pid"].as_u64()? as u32, d))
            });
            found.is_some()
        })
        .await;
        let (agent, dir) = found.unwrap();
        Hanging {
            runner: child.id(),
            child: Some(child),
            agent,
            dir,
        }
    };
    let regs = sb.openclaw_home().join("claude_sessions.json");
    eventually(10, "the session registered", async || {
        regs.exists() && registry(sb)["sessions"][SID]["status"] == "running"
    })
    .await;
    eventually(10, "the grandchild started", async || {
        rec_dir.join("grandchild.pid").exists()
    })
    .await;
    run
}

/// SIGKILL the runner of `run`; within 10 s, with no other clawrun command:
/// the crash message and the wake at the gateway (each once), nothing left
/// of the agent's group, the record and the registry final, no socket.
async fn kill_runner_and_check(sb: &Sandbox, server: &wiremock::MockServer, run: &mut Hanging) {
    let killed_at = Instant::now();
    sigkill(run.runner);
    if let Some(child) = &mut run.child {
        child.wait().unwrap();
    }
    eventually(10, "the crash message and the wake", async || {
        let got = deliveries(&server.received_requests().await.unwrap());
        got.iter().any(|(_, _, t)| t.contains("runner crashed"))
            && got
                .iter()
                .any(|(tool, _, t)| tool == "sessions_send" && t.contains("status=crashed"))
    })
    .await;
    let left = 10 - killed_at.elapsed().as_secs().min(9);
    eventually(left, "the group stopped", async || {
        group_members(run.agent).is_empty()
    })
    .await;
    let got = deliveries(&server.received_requests().await.unwrap());
    let crash: Vec<_> = got
        .iter()
        .filter(|(_, k, _)| k.ends_with(":crash"))
        .collect();
    assert_eq!(crash.len(), 2, "each once: {got:?}");
    assert!(crash[1].2.contains(&format!("resume_id={SID}")), "{got:?}");
    let left = 10 - killed_at.elapsed().as_secs().min(9);
    eventually(left, "the run closed", async || {
        read_json(&run.dir.join("run.json"))["status"] == "crashed"
            && registry(sb)["sessions"][SID]["status"] == "crashed"
    })
    .await;
    let rec = read_json(&run.dir.join("run.json"));
    assert!(
        rec["error"]
            .as_str()
            .unwrap()
            .contains("died without finishing"),
        "{rec}"
    );
    assert!(!run.dir.join("control.sock").exists());
    assert!(std::fs::read_to_string(run.dir.join("output.txt")).is_ok());
    // The watcher is gone too.
    eventually(10, "the watcher exited", async || {
        watcher_of(&run.dir).is_none()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_detached_runner_is_reported_by_its_watcher_within_seconds() {
    let port = gateway::free_port();
    let server = gateway::start_on(port).await;
    gateway::mount_whatsapp(&server, KEY).await;
    let sb = gateway::sandbox(port, TOKEN);
    let rec_dir = sb.root.join("rec");
    let mut run = hanging_run(&sb, &rec_dir, true).await;
    let grandchild: u32 = std::fs::read_to_string(rec_dir.join("grandchild.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(group_members(run.agent).contains(&grandchild));
    assert!(run.dir.join("control.sock").exists());
    let watcher = watcher_of(&run.dir).expect("the runner has a watcher");
    let rss_kb = std::fs::read_to_string(format!("/proc/{watcher}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:").map(|v| v.trim().to_owned()))
        .unwrap_or_default();
    eprintln!("watcher RSS: {rss_kb}");
    kill_runner_and_check(&sb, &server, &mut run).await;
    // A later reaping command and a flush send nothing twice.
    let sent = deliveries(&server.received_requests().await.unwrap()).len();
    let status = clawrun_in(&sb, &["status"]).await;
    assert_eq!(status.status.code(), Some(0));
    let flush = clawrun_in(&sb, &["outbox", "flush"]).await;
    assert_eq!(flush.status.code(), Some(0));
    let again = deliveries(&server.received_requests().await.unwrap());
    assert_eq!(again.len(), sent, "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_foreground_runner_is_reported_by_its_watcher_within_seconds() {
    let port = gateway::free_port();
    let server = gateway::start_on(port).await;
    gateway::mount_whatsapp(&server, KEY).await;
    let sb = gateway::sandbox(port, TOKEN);
    let mut run = hanging_run(&sb, &sb.root.join("rec"), false).await;
    assert!(watcher_of(&run.dir).is_some());
    kill_runner_and_check(&sb, &server, &mut run).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_and_watcher_gone_together_are_closed_by_the_next_command() {
    // As after a reboot: nobody was left to notice. The next command that
    // lists runs reaps the run, closes its registry entry and queues the
    // crash message and the wake for delivery.
    let port = gateway::free_port();
    let server = gateway::start_on(port).await;
    gateway::mount_whatsapp(&server, KEY).await;
    let sb = gateway::sandbox(port, TOKEN);
    let rec_dir = sb.root.join("rec");
    let run = hanging_run(&sb, &rec_dir, true).await;
    let (dir, agent) = (run.dir.clone(), run.agent);
    let watcher = watcher_of(&dir).expect("the runner has a watcher");
    sigkill(watcher);
    sigkill(run.runner);
    eventually(10, "the runner gone", async || {
        std::fs::read_to_string(format!("/proc/{}/stat", run.runner)).is_err_and(|_| true)
            || std::fs::read_to_string(format!("/proc/{}/stat", run.runner))
                .is_ok_and(|s| s.contains(") Z "))
    })
    .await;
    let status = clawrun_in(&sb, &["status"]).await;
    assert_eq!(status.status.code(), Some(0));
    assert_eq!(read_json(&dir.join("run.json"))["status"], "crashed");
    assert_eq!(registry(&sb)["sessions"][SID]["status"], "crashed");
    assert!(!dir.join("control.sock").exists());
    eventually(10, "the group stopped", async || {
        group_members(agent).is_empty()
    })
    .await;
    let list = clawrun_in(&sb, &["outbox", "list"]).await;
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(
        listed.contains(":failure:crash") && listed.contains(":wake:crash"),
        "{listed}"
    );
    let flush = clawrun_in(&sb, &["outbox", "flush"]).await;
    assert_eq!(flush.status.code(), Some(0));
    let got = deliveries(&server.received_requests().await.unwrap());
    assert!(
        got.iter()
            .any(|(tool, _, t)| tool == "sessions_send" && t.contains("status=crashed")),
        "{got:?}"
    );
}

/// A claude stream of session [`SID`] that has spent tokens and money (an
/// assistant message with its usage, a turn's result with its cost); the
/// fake agent then hangs.
fn stream_with_usage(path: &Path) {
    let lines = [
        json!({"type": "system", "subtype": "init", "cwd": "/w", "session_id": SID,
               "tools": [], "model": "m", "claude_code_version": "2.1.332"}),
        json!({"type": "assistant", "session_id": SID, "parent_tool_use_id": null,
               "message": {"id": "msg_1", "role": "assistant",
                           "content": [{"type": "text", "text": "working"}],
                           "usage": {"input_tokens": 1200, "output_tokens": 340}}}),
        json!({"type": "result", "subtype": "success", "is_error": false, "result": "done",
               "session_id": SID, "total_cost_usd": 0.0123,
               "usage": {"input_tokens": 1200, "output_tokens": 340}}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_run_keeps_the_tokens_and_cost_it_had_reached_and_sessions_says_crashed() {
    let port = gateway::free_port();
    let server = gateway::start_on(port).await;
    gateway::mount_whatsapp(&server, KEY).await;
    let sb = gateway::sandbox(port, TOKEN);
    let stream = sb.root.join("usage.jsonl");
    stream_with_usage(&stream);
    let mut run = hanging_run_of(&sb, &sb.root.join("rec"), true, &stream).await;
    // The runner writes what the run spent into run.json as it goes.
    eventually(15, "the live record has the usage", async || {
        let rec = read_json(&run.dir.join("run.json"));
        rec["usage"]["input_tokens"] == 1200 && rec["cost_usd"] == 0.0123
    })
    .await;
    kill_runner_and_check(&sb, &server, &mut run).await;
    // The crash record, the registry entry and the 💥 message keep it.
    let rec = read_json(&run.dir.join("run.json"));
    assert_eq!(rec["usage"]["output_tokens"], 340, "{rec}");
    assert_eq!(rec["cost_usd"], 0.0123, "{rec}");
    let entry = &registry(&sb)["sessions"][SID];
    assert_eq!(entry["input_tokens"], 1200, "{entry}");
    assert_eq!(entry["cost_usd"], 0.0123, "{entry}");
    let got = deliveries(&server.received_requests().await.unwrap());
    let crash = got
        .iter()
        .find(|(_, k, _)| k.ends_with(":failure:crash"))
        .unwrap();
    assert!(
        crash.2.contains("Tokens:* 1.2K in / 340 out") && crash.2.contains("Cost:* $0.0123"),
        "{}",
        crash.2
    );
    // `sessions` says crashed, as `list` and `show` do.
    let out = clawrun_in(&sb, &["sessions"]).await;
    let table = String::from_utf8_lossy(&out.stdout);
    let row = table.lines().find(|l| l.starts_with(SID)).unwrap();
    assert!(row.contains(" crashed "), "{table}");
    let out = clawrun_in(&sb, &["sessions", "--json"]).await;
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed[0]["status"], "crashed", "{listed}");
    let out = clawrun_in(&sb, &["list", "--json"]).await;
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(runs[0]["status"], "crashed", "{runs}");
}

/// A claude stream that moves through several session ids, some of them
/// invalid, and ends with a success under the last valid one.
fn stream_with_ids(path: &Path) -> (String, String) {
    let first = "11111111-aaaa-4bbb-8ccc-000000000001";
    let last = "11111111-aaaa-4bbb-8ccc-000000000002";
    let long = "x".repeat(100_000);
    let lines = [
        json!({"type": "system", "subtype": "init", "cwd": "/w", "session_id": "../../etc/passwd",
               "tools": [], "model": "m", "claude_code_version": "2.1.332"}),
        json!({"type": "conversation_reset", "session_id": first}),
        json!({"type": "conversation_reset", "session_id": "id\nwith\u{0}nul"}),
        json!({"type": "conversation_reset", "session_id": long}),
        json!({"type": "conversation_reset", "session_id": "rtl\u{202e}id"}),
        json!({"type": "conversation_reset", "session_id": last}),
        json!({"type": "result", "subtype": "success", "is_error": false, "result": "done",
               "session_id": last, "total_cost_usd": 0.001}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(path, text).unwrap();
    (first.to_owned(), last.to_owned())
}

#[test]
fn session_ids_are_checked_before_they_are_stored_and_every_entry_ends_final() {
    let sb = Sandbox::new();
    let stream = sb.root.join("ids.jsonl");
    let (first, last) = stream_with_ids(&stream);
    let out = sb
        .run(&["-t", "x", "--heartbeat", "0"])
        .env("FAKE_FIXTURE", &stream)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let reg = registry(&sb);
    let ids: Vec<&String> = reg["sessions"].as_object().unwrap().keys().collect();
    assert_eq!(ids, vec![&first, &last], "{reg}");
    assert_eq!(reg["sessions"][&first]["status"], "replaced");
    assert_eq!(reg["sessions"][&last]["status"], "completed");
    // Refused ids are warned about, escaped and cut; never printed raw.
    assert!(stderr.contains("not recorded"), "{stderr}");
    assert!(
        !stderr.contains('\0') && !stderr.contains("with\nnul"),
        "{stderr}"
    );
    assert!(!stderr.contains(&"x".repeat(1000)));
    assert!(!stderr.contains('\u{202e}'));
    let show = sb.cmd().args(["show", &last]).output().unwrap();
    let shown = String::from_utf8_lossy(&show.stdout);
    assert!(shown.contains(&last), "{shown}");
    assert!(!shown.contains("passwd"), "{shown}");
    // Nothing refused reached the run's files either.
    let runs = sb.state_dir().join("runs");
    for e in std::fs::read_dir(&runs).unwrap().flatten() {
        let rec = std::fs::read_to_string(e.path().join("run.json")).unwrap();
        assert!(
            !rec.contains("passwd") && !rec.contains("xxxxxxxxxx"),
            "{rec}"
        );
    }
}

#[test]
fn gc_removes_registry_entries_whose_run_is_over_even_if_they_say_running() {
    let sb = Sandbox::new();
    let oc = sb.openclaw_home();
    std::fs::create_dir_all(&oc).unwrap();
    let entry = |run_id: Value| {
        json!({"session_id": "x", "label": null, "task_summary": "t", "project_dir": "/p",
               "created_at": "2020-01-01T00:00:00", "last_accessed": "2020-01-01T00:00:00",
               "status": "running", "openclaw_session": null, "output_file": null,
               "cost_estimate": null, "run_id": run_id})
    };
    std::fs::write(
        oc.join("claude_sessions.json"),
        json!({"sessions": {
            // Its run directory is long gone: the run is over.
            "gone-run": entry(json!("20200101-000000-abcdef")),
            // A seed script's entry: nothing tells whether it still runs.
            "seed-made": entry(Value::Null),
        }})
        .to_string(),
    )
    .unwrap();
    let out = sb.cmd().args(["gc", "--older-than", "0"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reg = registry(&sb);
    let ids: Vec<&String> = reg["sessions"].as_object().unwrap().keys().collect();
    assert_eq!(ids, vec!["seed-made"], "{reg}");
}
