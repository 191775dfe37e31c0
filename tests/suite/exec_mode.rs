//! Exec mode: `clawrun run` under OpenClaw's agent `exec` (`OPENCLAW_SHELL=exec`)
//! follows its detached run to the end, exits with the run's code, prints a
//! compact result last, and leaves the wake to OpenClaw's exit event; SIGTERM
//! stops the run on a cancel and leaves it alone on a gateway shutdown (the
//! run then wakes by itself through `sessions_send`). Real binary, fake agent,
//! wiremock gateway and Bot API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{Sandbox, fixture, gateway, run_ids};

const GW_TOKEN: &str = "gw-token-SECRET-exec";
const BOT_TOKEN: &str = "123456789:AAbotSECRETexecZZ";
const CHAT: &str = "5550001";
const KEY: &str = "agent:main:telegram:direct:5550001";
/// A forum topic's session, which the gateway's `sessions_send` refuses.
const TOPIC_KEY: &str = "agent:main:telegram:group:-1001234567890:topic:42";

/// `clawrun run ARGS…` under OpenClaw's exec marker.
fn exec_run(sb: &Sandbox, args: &[&str]) -> std::process::Command {
    let mut c = sb.run_std(args);
    c.env("OPENCLAW_SHELL", "exec");
    c
}

fn record(sb: &Sandbox, run_id: &str) -> Value {
    let p = sb.state_dir().join("runs").join(run_id).join("run.json");
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The compact result: what follows the launch proof on stdout.
fn compact_of(out: &str) -> &str {
    let start = out.find("[clawrun] ").expect("a compact result");
    &out[start..]
}

/// Poll (bounded) until `pred` holds.
fn wait_until(what: &str, mut pred: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(60);
    while !pred() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_follower_stays_until_the_end_and_exits_with_the_outcome() {
    type Case<'a> = (
        &'a str,
        &'a [(&'a str, &'a str)],
        &'a [&'a str],
        i32,
        &'a str,
    );
    let cases: [Case; 3] = [
        ("claude/tool.jsonl", &[], &[], 0, "completed"),
        (
            "claude/err500.jsonl",
            &[("FAKE_EXIT", "1")],
            &[],
            3,
            "failed",
        ),
        (
            "constructed/stream-texts.jsonl",
            &[("FAKE_MODE", "hang")],
            &["--timeout", "2", "--grace", "1"],
            4,
            "timeout",
        ),
    ];
    for (fx, env, extra, code, status) in cases {
        let sb = Sandbox::new();
        // `--detach` as an agent used to write it: exec mode follows anyway.
        let mut args = vec!["-t", "x", "--label", "exec test", "--detach"];
        args.extend_from_slice(extra);
        let mut c = exec_run(&sb, &args);
        c.env("FAKE_FIXTURE", fixture(fx));
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{fx}: {}", stderr(&out));
        let id = &run_ids(&sb)[0];
        // Returned only once the run was over: the record says so already.
        assert_eq!(record(&sb, id)["status"], status, "{fx}");
        assert!(stderr(&out).contains("exec mode"), "{}", stderr(&out));
        let text = stdout(&out);
        let compact = compact_of(&text);
        assert!(compact.chars().count() <= 400, "{compact}");
        assert!(
            compact.starts_with(&format!("[clawrun] {status} · exec test · run {id}")),
            "{compact}"
        );
        assert!(compact.contains("Output: "), "{compact}");
        assert!(text.trim_end().ends_with(compact.trim_end()), "{text}");
    }
}

#[test]
fn the_flag_turns_exec_mode_on_without_openclaw() {
    let sb = Sandbox::new();
    let out = sb
        .run(&["-t", "x", "--exec-mode"])
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let compact = compact_of(&text);
    assert!(compact.contains("Result: DONE"), "{compact}");
    assert!(
        compact.contains(&format!("Resume: clawrun resume {}", run_ids(&sb)[0])),
        "{compact}"
    );
}

#[test]
fn two_overlapping_exec_runs_each_print_their_own_result() {
    let sb = Sandbox::new();
    let spawn = |label: &str| {
        let mut c = exec_run(&sb, &["-t", "x", "--label", label]);
        c.env("FAKE_FIXTURE", fixture("constructed/stream-texts.jsonl"))
            .env("FAKE_DELAY", "0.2")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c.spawn().unwrap()
    };
    let a = spawn("run A");
    let b = spawn("run B");
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let ids = run_ids(&sb);
    assert_eq!(ids.len(), 2);
    let mut seen = Vec::new();
    for (out, label) in [(a, "run A"), (b, "run B")] {
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = stdout(&out);
        let compact = compact_of(&text).to_owned();
        assert!(compact.contains(&format!("· {label} ·")), "{compact}");
        let id = ids.iter().find(|id| compact.contains(id.as_str())).unwrap();
        assert_eq!(record(&sb, id)["label"], label);
        seen.push(id.clone());
    }
    assert_ne!(seen[0], seen[1]);
}

/// A fake `openclaw` CLI on PATH: like the real one it refuses `agent` (and
/// `sessions.send`, `chat.send`) under `OPENCLAW_SHELL=exec`, and answers
/// `system event` with `ok`. Every call leaves its argv (NUL-separated) and
/// environment in `openclaw-calls/<n>.argv` / `.env`.
fn fake_openclaw(sb: &Sandbox) {
    let calls = sb.root.join("openclaw-calls");
    let fake = sb.bin.join("openclaw");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nd='{}'\nmkdir -p \"$d\"\nn=$(ls \"$d\" | wc -l)\n\
             printf '%s\\0' \"$@\" > \"$d/$n.argv\"\nenv > \"$d/$n.env\"\n\
             if [ \"$1 $2\" = 'system event' ]; then echo ok; exit 0; fi\n\
             if [ \"$OPENCLAW_SHELL\" = exec ]; then\n\
             echo 'openclaw agent is not available from the exec tool' >&2; exit 1; fi\n\
             echo 'unexpected call' >&2\nexit 1\n",
            calls.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The calls of the fake `openclaw`: each one's argv and environment.
fn openclaw_calls(sb: &Sandbox) -> Vec<(Vec<String>, String)> {
    let dir = sb.root.join("openclaw-calls");
    let mut calls = Vec::new();
    for n in 0.. {
        let Ok(argv) = std::fs::read_to_string(dir.join(format!("{n}.argv"))) else {
            break;
        };
        let env = std::fs::read_to_string(dir.join(format!("{n}.env"))).unwrap_or_default();
        let argv = argv.split_terminator('\0').map(str::to_owned).collect();
        calls.push((argv, env));
    }
    calls
}

/// The value after `flag` in `argv`.
fn flag<'a>(argv: &'a [String], flag: &str) -> Option<&'a str> {
    let i = argv.iter().position(|a| a == flag)?;
    argv.get(i + 1).map(String::as_str)
}

/// A Telegram DM route with a wiremock gateway and Bot API; the fake
/// `openclaw` CLI records any call.
async fn telegram_world(sb: &Sandbox, readyz: u16) -> MockServer {
    let server = gateway::start().await;
    gateway::write_openclaw_json(
        sb,
        &json!({
            "gateway": {"port": server.address().port(), "auth": {"token": GW_TOKEN}},
            "channels": {"telegram": {"botToken": BOT_TOKEN, "apiRoot": server.uri()}}
        }),
    );
    fake_openclaw(sb);
    let sessions = gateway::sessions(&[
        gateway::session(
            KEY,
            "11111111-2222-4333-8444-555555555555",
            json!({"channel": "telegram", "to": format!("telegram:{CHAT}")}),
        ),
        gateway::session(
            TOPIC_KEY,
            "66666666-2222-4333-8444-555555555555",
            json!({"channel": "telegram", "to": "telegram:-1001234567890", "threadId": "42"}),
        ),
    ]);
    // Every tool call answers the list (with the status a delivery reads).
    gateway::mount_tools(
        &server,
        json!({
            "ok": true,
            "result": {"content": [{"type": "text", "text": sessions.to_string()}],
                       "details": {"status": "ok", "sessions": sessions["sessions"]}}
        }),
    )
    .await;
    crate::common::telegram::mount_bot_api(&server, 9, 5_550_001).await;
    let body = if readyz == 200 {
        json!({"ready": true})
    } else {
        json!({"ready": false, "reason": "gateway-draining"})
    };
    Mock::given(method("GET"))
        .and(path("/readyz"))
        .respond_with(ResponseTemplate::new(readyz).set_body_json(body))
        .mount(&server)
        .await;
    server
}

/// The `tools/invoke` calls of `tool`.
async fn tool_calls(server: &MockServer, tool: &str) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/tools/invoke")
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .filter(|b| b["tool"] == tool)
        .collect()
}

/// The texts sent to the Bot API.
async fn chat_texts(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/sendMessage"))
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .filter_map(|b| b["text"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_exec_mode_clawrun_sends_no_wake_of_its_own() {
    let sb = Sandbox::new();
    let server = telegram_world(&sb, 200).await;
    let mut c = exec_run(
        &sb,
        &[
            "-s",
            KEY,
            "--allow-main-telegram",
            "-t",
            "x",
            "--label",
            "quiet",
        ],
    );
    c.env("FAKE_FIXTURE", fixture("claude/tool.jsonl"));
    let out = tokio::process::Command::from(c).output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let texts = chat_texts(&server).await;
    assert!(
        texts.iter().any(|t| t.contains("started")) && texts.iter().any(|t| t.contains("complete")),
        "the human still gets launch and result: {texts:?}"
    );
    assert!(tool_calls(&server, "sessions_send").await.is_empty());
    let calls = openclaw_calls(&sb);
    assert!(calls.is_empty(), "openclaw was called: {calls:?}");
    let compact = stdout(&out);
    assert!(
        compact_of(&compact).contains("[clawrun] completed · quiet"),
        "{compact}"
    );
}

/// Spawn a follower of a run that lasts until stopped, and wait until its
/// agent runs; returns the child and the run id.
fn start_hanging(
    sb: &Sandbox,
    key: &str,
    extra_env: &[(&str, &str)],
) -> (std::process::Child, String) {
    let mut c = exec_run(
        sb,
        &[
            "-s",
            key,
            "--allow-main-telegram",
            "-t",
            "x",
            "--label",
            "long",
            "--grace",
            "1",
        ],
    );
    c.env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra_env {
        c.env(k, v);
    }
    let child = c.spawn().unwrap();
    let mut id = String::new();
    wait_until("the agent to start", || {
        if let Some(first) = run_ids(sb).first() {
            id.clone_from(first);
            let p = sb.state_dir().join("runs").join(first).join("run.json");
            return std::fs::read(p)
                .ok()
                .and_then(|d| serde_json::from_slice::<Value>(&d).ok())
                .is_some_and(|r| r["agent_pid"].is_u64() && r["status"] == "running");
        }
        false
    });
    (child, id)
}

/// SIGTERM to the follower (as OpenClaw sends it), and its output once it exits.
async fn sigterm_and_wait(child: std::process::Child) -> Output {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap()
}

fn group_gone(pgid: u64) -> bool {
    nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid as i32), None).is_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_the_gateway_serves_is_a_cancel_the_run_is_killed() {
    let sb = Sandbox::new();
    let server = telegram_world(&sb, 200).await;
    let (child, id) = start_hanging(&sb, KEY, &[("FAKE_MODE", "hang")]);
    let pgid = record(&sb, &id)["agent_pid"].as_u64().unwrap();
    let out = sigterm_and_wait(child).await;
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(compact_of(&stdout(&out)).starts_with("[clawrun] killed · long"));
    assert_eq!(record(&sb, &id)["status"], "killed");
    assert!(group_gone(pgid), "the agent's group survived the cancel");
    // The runner exits after its last delivery.
    let runner = record(&sb, &id)["runner_pid"].as_u64().unwrap();
    wait_until("the runner to exit", || {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(runner as i32), None).is_err()
    });
    let texts = chat_texts(&server).await;
    assert!(texts.iter().any(|t| t.contains("⛔")), "{texts:?}");
    assert!(tool_calls(&server, "sessions_send").await.is_empty());
    assert!(openclaw_calls(&sb).is_empty());
}

/// A run of `key` whose follower leaves on SIGTERM while the gateway
/// drains, then completes: it wakes its session once, by itself, through
/// `openclaw system event` (the route OpenClaw leaves open under its exec),
/// with no result content in argv and no secret in the environment.
async fn drained_run_wakes_by_system_event(key: &str) {
    let sb = Sandbox::new();
    let server = telegram_world(&sb, 503).await;
    // Lasts a few seconds, then completes by itself.
    let secrets = [
        ("FAKE_DELAY", "0.5"),
        ("TELEGRAM_BOT_TOKEN", BOT_TOKEN),
        ("ANTHROPIC_API_KEY", "sk-ant-SECRET-exec"),
    ];
    let (child, id) = start_hanging(&sb, key, &secrets);
    let out = sigterm_and_wait(child).await;
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("goes on by itself"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        record(&sb, &id)["status"],
        "running",
        "the run was left alone"
    );
    wait_until("the run to complete", || {
        record(&sb, &id)["status"] == "completed"
    });
    wait_until("the wake", || !openclaw_calls(&sb).is_empty());
    // The runner exits after its last delivery: nothing more comes.
    let runner = record(&sb, &id)["runner_pid"].as_u64().unwrap();
    wait_until("the runner to exit", || {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(runner as i32), None).is_err()
    });
    let calls = openclaw_calls(&sb);
    assert_eq!(calls.len(), 1, "one wake of its own: {calls:?}");
    let (argv, env) = &calls[0];
    assert_eq!(argv[..2], ["system", "event"], "{argv:?}");
    assert_eq!(flag(argv, "--session-key"), Some(key), "{argv:?}");
    assert_eq!(flag(argv, "--mode"), Some("now"), "{argv:?}");
    let text = flag(argv, "--text").unwrap();
    assert!(
        text.starts_with(&format!("[clawrun] completed · long · run {id}"))
            && text.contains(&format!("clawrun show {id}")),
        "{text}"
    );
    // The fake agent's answer never travels in argv.
    let output =
        std::fs::read_to_string(record(&sb, &id)["output_file"].as_str().unwrap()).unwrap();
    let answer = output.lines().find(|l| !l.trim().is_empty()).unwrap();
    assert!(
        !text.contains(answer.trim()),
        "result content in argv: {text}"
    );
    for line in env.lines() {
        let name = line.split('=').next().unwrap_or_default();
        let secret = name.contains("TOKEN") || name.contains("KEY");
        assert!(
            !secret || name == "OPENCLAW_GATEWAY_TOKEN",
            "a secret in the wake's environment: {name}"
        );
    }
    assert!(!env.contains(BOT_TOKEN) && !env.contains("sk-ant-SECRET"));
    assert!(
        tool_calls(&server, "sessions_send").await.is_empty(),
        "no sessions_send: the gateway refuses it for topics"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_the_gateway_drains_leaves_the_run_which_wakes_by_itself() {
    drained_run_wakes_by_system_event(KEY).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_run_left_by_its_follower_wakes_its_topic_by_system_event() {
    drained_run_wakes_by_system_event(TOPIC_KEY).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_run_with_its_follower_sends_no_wake_of_its_own() {
    let sb = Sandbox::new();
    let server = telegram_world(&sb, 200).await;
    let mut c = exec_run(&sb, &["-s", TOPIC_KEY, "-t", "x", "--label", "topic"]);
    c.env("FAKE_FIXTURE", fixture("claude/tool.jsonl"));
    let out = tokio::process::Command::from(c).output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let id = run_ids(&sb).first().cloned().unwrap();
    let runner = record(&sb, &id)["runner_pid"].as_u64().unwrap();
    wait_until("the runner to exit", || {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(runner as i32), None).is_err()
    });
    let calls = openclaw_calls(&sb);
    assert!(calls.is_empty(), "openclaw was called: {calls:?}");
    assert!(tool_calls(&server, "sessions_send").await.is_empty());
    assert!(compact_of(&stdout(&out)).contains("[clawrun] completed · topic"));
}
