//! Issue 13, part A: a run always reaches the chat it came from. A resume
//! inherits the session's last run (key, route, label, mode, chain), the
//! iteration limit holds along the chain, one resume command is printed
//! everywhere, `--resume RUN_ID` is resolved, and a gateway that is down or
//! refuses the token is said to be so. Over a fake gateway (wiremock).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{Sandbox, clawrun_bin, fixture, run_ids};

const TOKEN: &str = "gw-token-13a";
use crate::common::gateway::{self, WHATSAPP_JID as JID, WHATSAPP_KEY as KEY};
const SID: &str = "b97f592b-6515-4a57-b3bb-0bc3448d4c8a";

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A sandbox whose openclaw.json points at a gateway on `port`.
fn gateway_sandbox(port: u16) -> Sandbox {
    gateway::sandbox(port, TOKEN)
}

/// A gateway that knows the WhatsApp group session and accepts every call.
async fn fake_gateway() -> (MockServer, Sandbox) {
    let port = gateway::free_port();
    let server = gateway::start_on(port).await;
    gateway::mount_whatsapp(&server, KEY).await;
    (server, gateway_sandbox(port))
}

/// `clawrun ARGS…` (global command line) in the sandbox, replaying `fixture_name`.
async fn clawrun(sb: &Sandbox, args: &[&str], fixture_name: &str) -> Output {
    let mut c = std::process::Command::new(clawrun_bin());
    c.env_clear()
        .env("HOME", sb.home())
        .env("PATH", format!("{}:/usr/bin:/bin", sb.bin.display()))
        .env("FAKE_FIXTURE", fixture(fixture_name))
        .current_dir(&sb.root)
        .args(args);
    tokio::process::Command::from(c).output().await.unwrap()
}

async fn run(sb: &Sandbox, args: &[&str], fixture_name: &str) -> Output {
    clawrun(
        sb,
        &[&["run", "--heartbeat", "0"][..], args].concat(),
        fixture_name,
    )
    .await
}

fn run_dir(sb: &Sandbox, id: &str) -> PathBuf {
    sb.state_dir().join("runs").join(id)
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// The run ids created since `before`.
fn new_runs(sb: &Sandbox, before: &[String]) -> Vec<String> {
    run_ids(sb)
        .into_iter()
        .filter(|id| !before.contains(id))
        .collect()
}

/// Wait (bounded) until a detached run's record says it is done.
async fn wait_done(sb: &Sandbox, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let rec = read_json(&run_dir(sb, id).join("run.json"));
        if !["starting", "running"].contains(&rec["status"].as_str().unwrap()) {
            return rec;
        }
        assert!(Instant::now() < deadline, "run {id} did not end: {rec}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// (tool, args) of every call the gateway received after `from`.
async fn calls(server: &MockServer, from: usize) -> Vec<(String, Value)> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .skip(from)
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .map(|b| {
            (
                b["tool"].as_str().unwrap_or_default().to_owned(),
                b["args"].clone(),
            )
        })
        .collect()
}

/// Every message text sent to `target` and every wake of `key`, from `calls`.
fn delivered_to(calls: &[(String, Value)], target: &str, key: &str) -> (Vec<String>, Vec<String>) {
    let texts = |tool: &str, field: &str, want: &str| -> Vec<String> {
        calls
            .iter()
            .filter(|(t, a)| t == tool && a[field] == want)
            .map(|(_, a)| a["message"].as_str().unwrap().to_owned())
            .collect()
    };
    (
        texts("message", "target", target),
        texts("sessions_send", "sessionKey", key),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_without_routing_flags_reports_to_the_chat_of_the_sessions_last_run() {
    let (server, sb) = fake_gateway().await;
    let first = run(
        &sb,
        &[
            "-s",
            KEY,
            "-t",
            "first",
            "--label",
            "Fix login",
            "--completion-mode",
            "iterate",
            "--max-iterations",
            "3",
        ],
        "claude/tool.jsonl",
    )
    .await;
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let first_id = run_ids(&sb)[0].clone();
    let before_calls = server.received_requests().await.unwrap().len();

    // The recipe the skill teaches: --resume, nothing about routing.
    let second = run(
        &sb,
        &["--resume", SID, "-t", "second"],
        "claude/resume.jsonl",
    )
    .await;
    let err = stderr(&second);
    assert_eq!(second.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("inherited from run {first_id}")),
        "the launch says where the route came from: {err}"
    );
    let second_id = new_runs(&sb, std::slice::from_ref(&first_id))[0].clone();
    let spec = read_json(&run_dir(&sb, &second_id).join("request.json"));
    assert_eq!(spec["route"]["channel"], "whatsapp", "{spec}");
    assert_eq!(spec["route"]["target"], JID);
    assert_eq!(spec["route"]["source"]["kind"], "inherited");
    assert_eq!(spec["route"]["source"]["run_id"], first_id.as_str());
    assert_eq!(spec["session_key"], KEY);
    assert_eq!(spec["label"], "Fix login");
    assert_eq!(spec["completion_mode"], "iterate");
    assert_eq!(spec["iteration"], 2);
    assert_eq!(spec["max_iterations"], 3);
    // The chat got the launch and result, the requester its wake.
    let (messages, wakes) = delivered_to(&calls(&server, before_calls).await, JID, KEY);
    assert!(messages.len() >= 2, "{messages:?}");
    assert_eq!(wakes.len(), 1, "{wakes:?}");
    assert!(wakes[0].contains("iteration=2/3"), "{}", wakes[0]);

    // A fork inherits too (JSON launch output says so).
    let before = run_ids(&sb);
    let fork = run(
        &sb,
        &[
            "--resume",
            SID,
            "--fork",
            "-t",
            "alt",
            "--completion-mode",
            "single",
            "--detach",
            "--json",
        ],
        "claude/resume.jsonl",
    )
    .await;
    assert_eq!(fork.status.code(), Some(0), "{}", stderr(&fork));
    let proof: Value = serde_json::from_str(&stdout(&fork)).unwrap();
    assert_eq!(proof["route"]["target"], JID, "{proof}");
    assert_eq!(proof["route"]["source"]["kind"], "inherited", "{proof}");
    assert!(
        proof["route_source"]
            .as_str()
            .unwrap()
            .starts_with("inherited from run "),
        "{proof}"
    );
    let fork_id = new_runs(&sb, &before)[0].clone();
    wait_done(&sb, &fork_id).await;

    // An explicit route overrides.
    let before = run_ids(&sb);
    let console = run(
        &sb,
        &[
            "--resume",
            SID,
            "-t",
            "x",
            "--notify-channel",
            "console",
            "--completion-mode",
            "single",
        ],
        "claude/resume.jsonl",
    )
    .await;
    assert_eq!(console.status.code(), Some(0), "{}", stderr(&console));
    let id = new_runs(&sb, &before)[0].clone();
    let spec = read_json(&run_dir(&sb, &id).join("request.json"));
    assert_eq!(spec["route"]["channel"], "console", "{spec}");
    assert_eq!(spec["route"]["source"]["kind"], "flags");
}

#[test]
fn the_iteration_limit_holds_along_the_resume_chain_whatever_the_session_flag() {
    let sb = Sandbox::new();
    let iterate = ["--completion-mode", "iterate", "--max-iterations", "2"];
    let keyed = ["-s", "agent:main:main", "--notify-channel", "console"];
    let first = sb
        .run(&[&keyed[..], &iterate, &["-t", "first"]].concat())
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let wake = std::fs::read_to_string(run_dir(&sb, &run_ids(&sb)[0]).join("notifications.jsonl"))
        .unwrap();
    assert!(
        wake.contains("first post a short visible message to the user"),
        "the wake asks for the decision message first: {wake}"
    );
    let second = sb
        .run(&[&keyed[..], &iterate, &["-t", "second", "--resume", SID]].concat())
        .env("FAKE_FIXTURE", fixture("claude/resume.jsonl"))
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    let runs_before = run_ids(&sb).len();
    let task = sb.root.join("next.md");
    std::fs::write(&task, "third").unwrap();
    // The command the old wake taught (no --session), then another key.
    for extra in [&[][..], &["-s", "agent:main:other"][..]] {
        let third = sb
            .run(
                &[
                    &iterate[..],
                    extra,
                    &["--resume", SID, "--task-file", task.to_str().unwrap()],
                ]
                .concat(),
            )
            .env("FAKE_FIXTURE", fixture("claude/resume.jsonl"))
            .output()
            .unwrap();
        assert_eq!(
            third.status.code(),
            Some(2),
            "{extra:?}: {}",
            stderr(&third)
        );
        assert!(
            stderr(&third).contains("iteration limit reached: this would be iteration 3 of 2"),
            "{}",
            stderr(&third)
        );
        assert_eq!(run_ids(&sb).len(), runs_before, "nothing was created");
    }
}

/// The resume command in `text`: from `clawrun run --backend` to the end of its line.
fn command_in(text: &str) -> String {
    let start = text
        .find("clawrun run --backend")
        .unwrap_or_else(|| panic!("no resume command in {text}"));
    text[start..].lines().next().unwrap().trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_resume_command_in_result_wake_and_show_routes_to_the_chat_and_counts() {
    let (server, sb) = fake_gateway().await;
    let first = run(
        &sb,
        &[
            "-s",
            KEY,
            "-t",
            "first",
            "--completion-mode",
            "iterate",
            "--max-iterations",
            "5",
        ],
        "claude/tool.jsonl",
    )
    .await;
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let first_id = run_ids(&sb)[0].clone();
    let (messages, wakes) = delivered_to(&calls(&server, 0).await, JID, KEY);
    let result = messages
        .iter()
        .find(|m| m.contains("task complete"))
        .expect("a result message");
    let shown = clawrun(&sb, &["show", &first_id], "claude/resume.jsonl").await;
    let shown_json = clawrun(&sb, &["show", &first_id, "--json"], "claude/resume.jsonl").await;
    let show_json: Value = serde_json::from_slice(&shown_json.stdout).unwrap();
    let commands = [
        ("result", command_in(result)),
        ("wake", command_in(&wakes[0])),
        ("show", command_in(&stdout(&shown))),
        (
            "show --json",
            show_json["resume_command"].as_str().unwrap().to_owned(),
        ),
    ];
    for (from, c) in &commands {
        assert_eq!(c, &commands[0].1, "{from} differs");
        assert!(c.contains("--task-file FILE"), "{from}: {c}");
        assert!(
            !c.contains(" -t ") && !c.contains("<next task>"),
            "{from}: {c}"
        );
    }
    // Run each one as written (FILE replaced), one after the other.
    let task = sb.root.join("next.md");
    std::fs::write(&task, "next iteration").unwrap();
    for (n, (from, c)) in commands.iter().enumerate() {
        let c = c.replace(" FILE ", &format!(" {} ", task.display()));
        let argv = shlex::split(&c).unwrap();
        assert_eq!(argv[..2], ["clawrun", "run"], "{from}: {c}");
        let before = run_ids(&sb);
        let before_calls = server.received_requests().await.unwrap().len();
        let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
        let out = clawrun(&sb, &args, "claude/resume.jsonl").await;
        assert_eq!(out.status.code(), Some(0), "{from}: {}", stderr(&out));
        let id = new_runs(&sb, &before)[0].clone();
        let rec = wait_done(&sb, &id).await;
        assert_eq!(rec["status"], "completed", "{from}: {rec}");
        let spec = read_json(&run_dir(&sb, &id).join("request.json"));
        assert_eq!(spec["route"]["target"], JID, "{from}: {spec}");
        assert_eq!(spec["session_key"], KEY, "{from}");
        let iteration = n as u64 + 2;
        assert_eq!(spec["iteration"], iteration, "{from}: {spec}");
        // Its own wake reached the same requester, counting on.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (_, wakes) = delivered_to(&calls(&server, before_calls).await, JID, KEY);
            if wakes
                .iter()
                .any(|w| w.contains(&format!("iteration={iteration}/5")))
            {
                break;
            }
            assert!(Instant::now() < deadline, "{from}: no wake {wakes:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[test]
fn resume_with_a_run_id_uses_its_session_or_is_refused_before_spawning() {
    let sb = Sandbox::new();
    let first = sb
        .run(&["-t", "first"])
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let first_id = run_ids(&sb)[0].clone();
    let record = sb.root.join("record");
    let again = sb
        .run(&["-t", "again", "--resume", &first_id])
        .env("FAKE_FIXTURE", fixture("claude/resume.jsonl"))
        .env("FAKE_RECORD", &record)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        stderr(&again).contains(&format!("Resume: {SID} (the session of run {first_id})")),
        "{}",
        stderr(&again)
    );
    let argv = std::fs::read_to_string(record.join("argv")).unwrap();
    assert!(argv.contains(&format!("--resume\n{SID}\n")), "{argv}");

    // A run that never announced a session: refused, nothing spawned.
    let before = run_ids(&sb);
    let failed = sb
        .run(&["-t", "x"])
        .env("FAKE_FIXTURE", "/dev/null")
        .env("FAKE_EXIT", "1")
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(3), "{}", stderr(&failed));
    let failed_id = new_runs(&sb, &before)[0].clone();
    let before = run_ids(&sb);
    let record = sb.root.join("record-refused");
    let refused = sb
        .run(&["-t", "x", "--resume", &failed_id])
        .env("FAKE_FIXTURE", fixture("claude/resume-other-cwd.jsonl"))
        .env("FAKE_RECORD", &record)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains(&format!("run {failed_id}, which has no session id")),
        "{}",
        stderr(&refused)
    );
    assert_eq!(run_ids(&sb), before, "no run dir");
    assert!(!record.exists(), "nothing spawned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_that_is_down_or_refuses_the_token_is_reported_as_such() {
    // Down: `route` of a thread key names the gateway, not the flags.
    let port = gateway::free_port();
    let sb = gateway_sandbox(port);
    let thread_key = "agent:main:telegram:group:-1001234567890:topic:369520";
    let out = clawrun(&sb, &["route", thread_key], "claude/tool.jsonl").await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("gateway unreachable at http://127.0.0.1:{port}")),
        "{err}"
    );
    assert!(err.contains("openclaw gateway run"), "the fix: {err}");
    assert!(!err.contains("--notify-session-id"), "{err}");

    // A token it refuses: `route`, and a WhatsApp launch (exit 2, nothing written).
    let port = gateway::free_port();
    let server = gateway::start_on(port).await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(
                json!({"error": {"message": "Unauthorized", "type": "unauthorized"}}),
            ),
        )
        .mount(&server)
        .await;
    let sb = gateway_sandbox(port);
    let out = clawrun(&sb, &["route", thread_key], "claude/tool.jsonl").await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "the gateway at http://127.0.0.1:{port} refused the token"
        )),
        "{err}"
    );
    assert!(!err.contains("--notify-session-id"), "{err}");
    let out = run(&sb, &["-s", KEY, "-t", "x"], "claude/tool.jsonl").await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("refused the token"), "{err}");
    assert!(err.contains("gateway.auth.token"), "the fix: {err}");
    assert!(err.contains("--queue-delivery"), "{err}");
    assert!(!err.contains(TOKEN), "{err}");
    assert!(run_ids(&sb).is_empty());
}

#[test]
fn no_conversation_found_without_resume_is_a_plain_failure() {
    let sb = Sandbox::new();
    let out = sb
        .run(&["-t", "fresh"])
        .env("FAKE_FIXTURE", fixture("claude/resume-other-cwd.jsonl"))
        .env("FAKE_STDERR", fixture("claude/resume-other-cwd.stderr"))
        .env("FAKE_EXIT", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let rec = read_json(&run_dir(&sb, &run_ids(&sb)[0]).join("run.json"));
    assert_eq!(rec["status"], "failed");
}

/// `--resume RUN_ID` continues that run, not the session's newest run: its
/// label (and route, chain) come from the run named.
#[test]
fn resume_with_a_run_id_takes_over_that_run_not_the_sessions_newest() {
    let sb = Sandbox::new();
    let mut ids = Vec::new();
    for label in ["Fix login bug", "Something else"] {
        let before = run_ids(&sb);
        let out = sb
            .run(&["-t", "x", "--label", label])
            .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        ids.push(new_runs(&sb, &before)[0].clone());
    }
    // Both runs announced the same session; resume the first by its run id.
    let before = run_ids(&sb);
    let again = sb
        .run(&["-t", "again", "--resume", &ids[0]])
        .env("FAKE_FIXTURE", fixture("claude/resume.jsonl"))
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let new = new_runs(&sb, &before)[0].clone();
    let rec = read_json(&run_dir(&sb, &new).join("run.json"));
    assert_eq!(rec["label"], "Fix login bug", "{rec}");
}
