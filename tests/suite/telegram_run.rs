//! `clawrun run` routed to a Telegram forum topic, over a fake gateway and a
//! fake Bot API (wiremock on loopback): what reaches the chat, the wake, and
//! that no token leaks anywhere, including on network errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use serde_json::Value;
use wiremock::MockServer;

use crate::common::{Sandbox, fixture, gateway};

use crate::common::telegram::{
    BOT_TOKEN, CHAT, GW_TOKEN, SESSION_UUID, TOPIC, key, mount_bot, mount_gateway, setup,
    topic_sandbox,
};

fn all_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            match std::fs::symlink_metadata(&p) {
                Ok(m) if m.is_dir() => out.extend(all_files(&p)),
                Ok(_) => out.push(p),
                Err(_) => {}
            }
        }
    }
    out
}

/// Neither token appears in the outputs, nor in any file under the OpenClaw
/// home other than openclaw.json itself (state dir, run dirs, registries).
fn assert_no_token_leak(sb: &Sandbox, outputs: &[&[u8]]) {
    for out in outputs {
        let text = String::from_utf8_lossy(out);
        assert!(
            !text.contains(GW_TOKEN) && !text.contains(BOT_TOKEN),
            "token in output: {text}"
        );
        assert!(
            !text.contains("AAbotSECRET"),
            "part of the bot token in output: {text}"
        );
    }
    for f in all_files(&sb.openclaw_home()) {
        if f.file_name().is_some_and(|n| n == "openclaw.json") {
            continue;
        }
        let data = String::from_utf8_lossy(&std::fs::read(&f).unwrap_or_default()).into_owned();
        assert!(
            !data.contains(GW_TOKEN) && !data.contains(BOT_TOKEN) && !data.contains("AAbotSECRET"),
            "token in {}",
            f.display()
        );
    }
    if let Ok(argv) = std::fs::read_to_string(sb.root.join("openclaw.argv")) {
        assert!(
            !argv.contains(GW_TOKEN) && !argv.contains(BOT_TOKEN),
            "token in wake argv"
        );
    }
}

fn bot_calls(requests: &[wiremock::Request]) -> Vec<(String, Value)> {
    requests
        .iter()
        .filter(|r| r.url.path().starts_with("/bot"))
        .map(|r| {
            let method = r
                .url
                .path()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            (
                method,
                serde_json::from_slice(&r.body).unwrap_or(Value::Null),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_route_launch_result_and_wake() {
    let server = gateway::start().await;
    mount_gateway(&server).await;
    mount_bot(&server).await;
    let sb = Sandbox::new();
    setup(&sb, server.address().port(), &server.uri());

    // --validate-only resolves the topic session through sessions_list.
    let mut v = sb.run_std(&["-s", &key(), "-t", "x", "--validate-only", "--json"]);
    v.env("FAKE_FIXTURE", fixture("claude/tool.jsonl"));
    let out = tokio::process::Command::from(v).output().await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["channel"], "telegram-direct");
    assert_eq!(plan["route"]["target"], CHAT);
    assert_eq!(plan["route"]["thread_id"], TOPIC);
    assert_eq!(plan["route"]["session_id"], SESSION_UUID);
    assert!(
        !sb.state_dir().join("runs").exists(),
        "--validate-only wrote a run"
    );

    let mut c = sb.run_std(&[
        "-s",
        &key(),
        "-t",
        "fix <the> bug & more",
        "--label",
        "Topic run",
    ]);
    c.env("FAKE_FIXTURE", fixture("claude/tool.jsonl"));
    let out = tokio::process::Command::from(c).output().await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let calls = bot_calls(&server.received_requests().await.unwrap());
    let sends: Vec<&Value> = calls
        .iter()
        .filter(|(m, _)| m == "sendMessage")
        .map(|(_, b)| b)
        .collect();
    assert_eq!(sends.len(), 2, "{calls:?}");
    for s in &sends {
        assert_eq!(s["chat_id"].to_string().trim_matches('"'), CHAT);
        assert_eq!(s["message_thread_id"], 42);
        assert_eq!(s["parse_mode"], "HTML");
    }
    // Launch: silent, HTML-escaped prompt in an expandable quote.
    assert_eq!(sends[0]["disable_notification"], true);
    let launch = sends[0]["text"].as_str().unwrap();
    assert!(
        launch.contains("Claude Code started")
            && launch
                .contains("<blockquote expandable>fix &lt;the&gt; bug &amp; more</blockquote>"),
        "{launch}"
    );
    // Result: silent too (the run wakes the agent, whose reply rings), with
    // the result in an expandable quote and the resume command.
    assert_eq!(sends[1]["disable_notification"], true);
    let result = sends[1]["text"].as_str().unwrap();
    assert!(
        result.contains("task complete")
            && result.contains("<blockquote expandable>DONE</blockquote>"),
        "{result}"
    );
    assert!(
        result.contains("--resume b97f592b-6515-4a57-b3bb-0bc3448d4c8a"),
        "{result}"
    );

    // The wake went through `openclaw agent --session-id … --deliver --json`, after the result.
    let argv = std::fs::read_to_string(sb.root.join("openclaw.argv")).unwrap();
    let args: Vec<&str> = argv.lines().collect();
    assert_eq!(
        &args[..3],
        &["agent", "--session-id", SESSION_UUID],
        "{argv}"
    );
    assert!(
        args.contains(&"--deliver") && args.contains(&"--json"),
        "{argv}"
    );
    // The wake text went in a file (`--message-file`), never in argv.
    assert!(args.contains(&"--message-file"), "{argv}");
    assert!(!argv.contains("run_id="), "{argv}");
    let message = std::fs::read_to_string(sb.root.join("openclaw.message")).unwrap();
    assert!(
        message.contains("run_id=") && message.contains("status=completed"),
        "{message}"
    );
    let runs = crate::common::run_ids(&sb);
    let outbox = std::fs::read_to_string(
        sb.state_dir()
            .join("runs")
            .join(&runs[0])
            .join("outbox.jsonl"),
    )
    .unwrap();
    let delivered: Vec<&str> = outbox
        .lines()
        .filter(|l| l.contains("\"op\":\"delivered\""))
        .collect();
    assert_eq!(delivered.len(), 3, "{outbox}");
    assert!(
        delivered[1].contains(":result:") && delivered[2].contains(":wake:"),
        "{outbox}"
    );
    assert_no_token_leak(&sb, &[&out.stdout, &out.stderr]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_leaks_when_the_bot_api_is_unreachable() {
    let gateway = gateway::start().await;
    mount_gateway(&gateway).await;
    // The Bot API base points at a closed port: every send fails with connection refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sb = Sandbox::new();
    setup(
        &sb,
        gateway.address().port(),
        &format!("http://127.0.0.1:{closed}"),
    );
    let mut c = sb.run_std(&[
        "-s",
        &key(),
        "-t",
        "x",
        "--delivery-wait",
        "2",
        "--heartbeat",
        "0",
    ]);
    c.env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .env("CLAWRUN_LOG", "debug");
    let out = tokio::process::Command::from(c).output().await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("pending") || err.contains("not delivered"),
        "{err}"
    );
    let list = crate::common::clawrun_in(&sb, &["outbox", "list"]).await;
    assert!(
        String::from_utf8_lossy(&list.stdout).contains("connection"),
        "{}",
        String::from_utf8_lossy(&list.stdout)
    );
    let flush = crate::common::clawrun_in(&sb, &["outbox", "flush", "--json", "--wait", "2"]).await;
    assert_ne!(flush.status.code(), Some(0));
    assert_no_token_leak(
        &sb,
        &[
            &out.stdout,
            &out.stderr,
            &list.stdout,
            &list.stderr,
            &flush.stdout,
            &flush.stderr,
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_edit_one_message_in_place() {
    let server = gateway::start().await;
    mount_gateway(&server).await;
    mount_bot(&server).await;
    let sb = Sandbox::new();
    setup(&sb, server.address().port(), &server.uri());
    let mut c = sb.run_std(&[
        "-s",
        &key(),
        "-t",
        "x",
        "--heartbeat",
        "10",
        "--heartbeat-edit",
    ]);
    // Five lines, 5 s apart: heartbeats at 10 s and 20 s.
    c.env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .env("FAKE_DELAY", "5");
    let out = tokio::process::Command::from(c).output().await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = bot_calls(&server.received_requests().await.unwrap());
    let beats: Vec<&(String, Value)> = calls
        .iter()
        .filter(|(_, b)| b["text"].as_str().is_some_and(|t| t.contains(" CC (")))
        .collect();
    assert!(beats.len() >= 2, "{calls:?}");
    assert_eq!(beats[0].0, "sendMessage");
    assert_eq!(beats[0].1["disable_notification"], true);
    for (m, b) in &beats[1..] {
        assert_eq!(m, "editMessageText", "{calls:?}");
        assert_eq!(b["message_id"], 777);
        assert_eq!(b["chat_id"].to_string().trim_matches('"'), CHAT);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_tool_wakes_a_topic_session_through_the_cli() {
    let server = gateway::start().await;
    mount_gateway(&server).await;
    let sb = Sandbox::new();
    setup(&sb, server.address().port(), &server.uri());
    std::fs::write(
        sb.openclaw_home().join("clawrun.toml"),
        "[notify]\nchannel = \"message-tool\"\n",
    )
    .unwrap();
    let mut c = sb.run_std(&["-s", &key(), "-t", "x", "--heartbeat", "0"]);
    c.env("FAKE_FIXTURE", fixture("claude/tool.jsonl"));
    let out = tokio::process::Command::from(c).output().await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bodies: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter_map(|r| serde_json::from_slice(&r.body).ok())
        .collect();
    let sends: Vec<&Value> = bodies.iter().filter(|b| b["tool"] == "message").collect();
    assert_eq!(sends.len(), 2, "{bodies:?}");
    assert_eq!(sends[0]["args"]["threadId"], TOPIC);
    // No sessions_send (the gateway refuses it for thread sessions): the CLI woke the agent.
    assert!(
        !bodies.iter().any(|b| b["tool"] == "sessions_send"),
        "{bodies:?}"
    );
    let argv = std::fs::read_to_string(sb.root.join("openclaw.argv")).unwrap();
    assert!(
        argv.starts_with(&format!("agent\n--session-id\n{SESSION_UUID}\n")),
        "{argv}"
    );
    assert_no_token_leak(&sb, &[&out.stdout, &out.stderr]);
}

/// Runs `clawrun run` on the topic route with `clawrun.toml` = `toml` and the
/// fake agent printing a line every `delay` seconds (3: one heartbeat);
/// returns the exit status, stderr and the Bot API calls.
async fn topic_run(toml: &str, delay: &str) -> (Option<i32>, String, Vec<(String, Value)>) {
    let server = gateway::start().await;
    let sb = topic_sandbox(&server, toml).await;
    let mut c = sb.run_std(&["-s", &key(), "-t", "x", "--heartbeat", "10", "--trace-live"]);
    c.env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .env("FAKE_DELAY", delay);
    let out = tokio::process::Command::from(c).output().await.unwrap();
    let calls = bot_calls(&server.received_requests().await.unwrap());
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        calls,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_run_is_silent_unless_configured_otherwise() {
    // Default (`silent = "all"`): launch, heartbeat, traces and result all
    // silent; the agent's reply after the wake is the one that rings.
    let (code, err, calls) = topic_run("", "3").await;
    assert_eq!(code, Some(0), "{err}");
    let sends: Vec<&Value> = calls
        .iter()
        .filter(|(m, _)| m == "sendMessage")
        .map(|(_, b)| b)
        .collect();
    assert!(
        sends
            .iter()
            .any(|s| s["text"].as_str().unwrap().contains(" CC (")),
        "no heartbeat: {calls:?}"
    );
    assert!(sends.len() >= 4, "{calls:?}");
    for s in &sends {
        assert_eq!(s["disable_notification"], true, "{s}");
    }
    // `progress`: everything but the result is silent.
    let (code, err, calls) = topic_run("[notify]\nsilent = \"progress\"\n", "0").await;
    assert_eq!(code, Some(0), "{err}");
    for (_, s) in calls.iter().filter(|(m, _)| m == "sendMessage") {
        let result = s["text"].as_str().unwrap().contains("task complete");
        assert_eq!(s["disable_notification"], !result, "{s}");
    }
    // `none`: every message rings.
    let (_, _, calls) = topic_run("[notify]\nsilent = \"none\"\n", "0").await;
    for (_, s) in calls.iter().filter(|(m, _)| m == "sendMessage") {
        assert_eq!(s["disable_notification"], false, "{s}");
    }
    // The key is strict.
    let (code, err, calls) = topic_run("[notify]\nsilent = \"some\"\n", "0").await;
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("silent"), "{err}");
    assert!(calls.is_empty(), "{calls:?}");
}

/// Replace the fake `openclaw` with one that appends a line to `calls` per
/// run, prints `stdout` and exits with `code`.
fn fake_openclaw(sb: &Sandbox, stdout: &str, code: i32) {
    let fake = sb.bin.join("openclaw");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\necho call >> '{}'\ncat <<'JSON'\n{stdout}\nJSON\nexit {code}\n",
            sb.root.join("openclaw.calls").display()
        ),
    )
    .unwrap();
}

async fn wake_failure_run(stdout: &str, code: i32) -> (Sandbox, Vec<String>) {
    let server = gateway::start().await;
    mount_gateway(&server).await;
    mount_bot(&server).await;
    let sb = Sandbox::new();
    setup(&sb, server.address().port(), &server.uri());
    fake_openclaw(&sb, stdout, code);
    let mut c = sb.run_std(&[
        "-s",
        &key(),
        "-t",
        "x",
        "--heartbeat",
        "0",
        "--delivery-wait",
        "20",
    ]);
    c.env("FAKE_FIXTURE", fixture("claude/tool.jsonl"));
    let out = tokio::process::Command::from(c).output().await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let texts = bot_calls(&server.received_requests().await.unwrap())
        .into_iter()
        .filter_map(|(_, b)| b["text"].as_str().map(str::to_owned))
        .collect();
    (sb, texts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_wake_error_is_tried_once_and_told_once_in_human_words() {
    let (sb, texts) = wake_failure_run(
        r#"{"ok": false, "error": {"type": "cli_error", "message": "Delivering to Telegram requires target <chatId>"}}"#,
        1,
    )
    .await;
    let calls = std::fs::read_to_string(sb.root.join("openclaw.calls")).unwrap();
    assert_eq!(calls.lines().count(), 1, "retried: {calls}");
    let told: Vec<&String> = texts.iter().filter(|t| t.contains("not woken")).collect();
    assert_eq!(told.len(), 1, "{texts:?}");
    assert!(told[0].contains("no chat to deliver"), "{}", told[0]);
    // Nothing left for a later flush to try again.
    let list = crate::common::clawrun_in(&sb, &["outbox", "list", "--json"]).await;
    let runs: Value = serde_json::from_slice(&list.stdout).unwrap_or(Value::Null);
    let pending: Vec<&Value> = runs
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["pending"].as_array().unwrap())
        .collect();
    assert!(pending.is_empty(), "{runs}");
    // It is listed as given up, with why.
    assert_eq!(runs[0]["abandoned"][0]["status"], "abandoned", "{runs}");
    let flush = crate::common::clawrun_in(&sb, &["outbox", "flush", "--wait", "2"]).await;
    assert_eq!(flush.status.code(), Some(0));
    let calls = std::fs::read_to_string(sb.root.join("openclaw.calls")).unwrap();
    assert_eq!(calls.lines().count(), 1, "flush retried: {calls}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unconfirmed_wake_reply_is_told_in_human_words() {
    let (_sb, texts) = wake_failure_run(
        r#"{"runId": "r1", "status": "ok", "summary": "completed"}"#,
        0,
    )
    .await;
    let told: Vec<&String> = texts
        .iter()
        .filter(|t| t.contains("did not confirm"))
        .collect();
    assert_eq!(told.len(), 1, "{texts:?}");
    assert!(
        told[0].starts_with("⚠️ The agent was woken and answered")
            && !told[0].contains("deliveryStatus")
            && !told[0].contains("not woken"),
        "{}",
        told[0]
    );
}

/// The first and last lines of the `tool` transcript (init, result) in a file.
fn init_and_result(sb: &Sandbox) -> std::path::PathBuf {
    let lines: Vec<String> = std::fs::read_to_string(fixture("claude/tool.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let p = sb.root.join("init-result.jsonl");
    std::fs::write(&p, format!("{}\n{}\n", lines[0], lines[lines.len() - 1])).unwrap();
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_comes_with_its_heartbeat_and_chat_texts_name_no_command() {
    let server = gateway::start().await;
    mount_gateway(&server).await;
    mount_bot(&server).await;
    let sb = Sandbox::new();
    setup(&sb, server.address().port(), &server.uri());
    // Silent 11 s after the init line, then the result: the heartbeat at 10 s
    // finds a stall; the agent's next event is its result.
    let mut c = sb.run_std(&[
        "-s",
        &key(),
        "-t",
        "x",
        "--heartbeat",
        "10",
        "--stall-secs",
        "5",
        "--remind-after",
        "5",
    ]);
    c.env("FAKE_FIXTURE", init_and_result(&sb))
        .env("FAKE_DELAY", "11");
    let out = tokio::process::Command::from(c).output().await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let texts: Vec<String> = bot_calls(&server.received_requests().await.unwrap())
        .into_iter()
        .filter_map(|(_, b)| b["text"].as_str().map(str::to_owned))
        .collect();
    let stalls: Vec<&String> = texts.iter().filter(|t| t.contains("silent for")).collect();
    assert_eq!(stalls.len(), 1, "{texts:?}");
    assert!(
        stalls[0].contains(" CC ("),
        "the heartbeat is folded in: {}",
        stalls[0]
    );
    // Heartbeats at 10 s (folded into the alert) and 20 s: one on its own.
    let beats = texts
        .iter()
        .filter(|t| t.contains(" CC (") && !t.contains("silent for"))
        .count();
    assert_eq!(beats, 1, "a heartbeat beside the alert: {texts:?}");
    // The heartbeat after the result event counts the tokens the result shows.
    let beat = texts
        .iter()
        .find(|t| t.contains(" CC (") && !t.contains("silent for"))
        .unwrap();
    let result = texts.iter().find(|t| t.contains("task complete")).unwrap();
    assert!(
        beat.contains("200 in / 14 out") && result.contains("200 in / 14 out"),
        "{beat}\n{result}"
    );
    assert!(
        !texts.iter().any(|t| t.contains("active again")),
        "{texts:?}"
    );
    let reminder = texts.iter().find(|t| t.contains("still running")).unwrap();
    for t in [reminder, stalls[0]] {
        assert!(!t.contains("clawrun "), "a CLI command in a chat text: {t}");
        assert!(
            t.contains("ask your agent") || t.contains("Ask your agent"),
            "{t}"
        );
    }

    // The console keeps the commands.
    let sb = Sandbox::new();
    let mut c = sb.run_std(&["-t", "x", "--heartbeat", "0", "--remind-after", "1"]);
    c.env("FAKE_FIXTURE", init_and_result(&sb))
        .env("FAKE_DELAY", "3");
    let out = tokio::process::Command::from(c).output().await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("still running") && err.contains("`clawrun kill "),
        "{err}"
    );
}

/// Runs `c` (a `clawrun run` that must succeed); the Bot API method and text
/// of every message it sent or edited, in order.
async fn sent_texts(server: &MockServer, c: std::process::Command) -> Vec<(String, String)> {
    let out = tokio::process::Command::from(c).output().await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    bot_calls(&server.received_requests().await.unwrap())
        .into_iter()
        .filter_map(|(m, b)| Some((m, b["text"].as_str()?.to_owned())))
        .collect()
}

/// Issue 25: a heartbeat's tokens are the numbers the result message shows.
/// Claude reports an assistant message's output tokens at its start (1 or
/// 2) and the true count only in the turn's result, so a heartbeat between
/// the messages and the result used to say `200 in / 2 out` beside a result
/// of `200 in / 14 out`. Heartbeats now show the totals as of the last
/// finished turn: none before it, the result's after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_tokens_are_the_results_numbers() {
    let server = gateway::start().await;
    let sb = topic_sandbox(&server, "").await;
    // The `tool` transcript, its result line 11 s after the messages: the
    // heartbeat at 10 s comes between them.
    let lines: Vec<String> = std::fs::read_to_string(fixture("claude/tool.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let (head, tail) = (sb.root.join("head.jsonl"), sb.root.join("tail.jsonl"));
    std::fs::write(&head, lines[..lines.len() - 1].join("\n") + "\n").unwrap();
    std::fs::write(&tail, format!("{}\n", lines[lines.len() - 1])).unwrap();
    let agent = sb.bin.join("claude");
    std::fs::remove_file(&agent).unwrap();
    std::fs::write(
        &agent,
        format!(
            "#!/bin/sh\n[ \"$1\" = --version ] && {{ echo '2.1.332 (Claude Code)'; exit 0; }}\ncat '{}'\nsleep 11\ncat '{}'\n",
            head.display(),
            tail.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&agent, std::fs::Permissions::from_mode(0o755)).unwrap();
    let c = sb.run_std(&["-s", &key(), "-t", "x", "--heartbeat", "10"]);
    let texts: Vec<String> = sent_texts(&server, c)
        .await
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    let result = texts.iter().find(|t| t.contains("task complete")).unwrap();
    assert!(result.contains("200 in / 14 out"), "{result}");
    let beats: Vec<&String> = texts.iter().filter(|t| t.contains(" CC (")).collect();
    assert!(!beats.is_empty(), "{texts:?}");
    for beat in beats {
        assert!(
            !beat.contains(" in / ") || beat.contains("200 in / 14 out"),
            "a heartbeat's tokens are not the result's: {beat}"
        );
    }
}

/// Issue 25: a 5.9k-character task (markup to escape, emoji counting twice)
/// used to split the 🚀 launch message, leaving a stray fragment in the chat.
/// The launch message is one message, its task preview cut cleanly with `…`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_task_gives_one_launch_message_with_a_bounded_preview() {
    let server = gateway::start().await;
    let sb = topic_sandbox(&server, "").await;
    let task: String = (0..220)
        .map(|i| format!("step {i:03}: a < b && c > d 🎉\n"))
        .collect();
    assert!(task.chars().count() >= 5900, "{}", task.chars().count());
    let task_file = sb.root.join("task.md");
    std::fs::write(&task_file, &task).unwrap();
    let mut c = sb.run_std(&[
        "-s",
        &key(),
        "--task-file",
        task_file.to_str().unwrap(),
        "--heartbeat",
        "0",
    ]);
    c.env("FAKE_FIXTURE", fixture("claude/tool.jsonl"));
    let sends: Vec<String> = sent_texts(&server, c)
        .await
        .into_iter()
        .filter(|(m, _)| m == "sendMessage")
        .map(|(_, t)| t)
        .collect();
    assert_eq!(sends.len(), 2, "launch and result only: {sends:#?}");
    let launch = &sends[0];
    assert!(launch.starts_with("🚀"), "{launch}");
    assert!(launch.ends_with("…</blockquote>"), "{launch}");
    let units: usize = launch.chars().map(char::len_utf16).sum();
    assert!(units <= 4096, "{units}");
    // Cut on a character: the preview is the task's start, escaped.
    let quoted = launch
        .split("<blockquote expandable>")
        .nth(1)
        .unwrap()
        .trim_end_matches("…</blockquote>")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    assert!(quoted.len() > 1000 && task.starts_with(&quoted), "{quoted}");
}
