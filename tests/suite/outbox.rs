//! The durable outbox over a fake OpenClaw gateway (wiremock on loopback):
//! outages, 429 storms, a runner killed mid-send, a wake that waits past a
//! later run in the same chat.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method};
use wiremock::{Mock, Request, ResponseTemplate};

use crate::common::{Sandbox, fixture};

use crate::common::gateway::{self, TOKEN, WHATSAPP_KEY as KEY, delivered, deliveries};

async fn clawrun(sb: &Sandbox, args: &[&str], fixture_name: &str) -> std::process::Output {
    let mut cmd = sb.run_std(args);
    cmd.env("FAKE_FIXTURE", fixture(fixture_name));
    tokio::process::Command::from(cmd).output().await.unwrap()
}

async fn cmd(sb: &Sandbox, args: &[&str]) -> std::process::Output {
    let mut c = std::process::Command::new(crate::common::clawrun_bin());
    c.env_clear()
        .env("HOME", sb.home())
        .env("PATH", "/usr/bin:/bin")
        .args(args);
    tokio::process::Command::from(c).output().await.unwrap()
}

fn assert_no_secret_in_files(sb: &Sandbox) {
    for entry in walk(&sb.state_dir()) {
        let data = std::fs::read(&entry).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&data).contains(TOKEN),
            "token found in {}",
            entry.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_down_for_the_whole_run_then_flush_delivers_each_once_in_order() {
    let port = gateway::free_port();
    let sb = gateway::sandbox(port, TOKEN);
    // The gateway is down on purpose: the launch is refused unless queued
    // delivery is asked for (issue 13).
    let args = [
        "-s",
        KEY,
        "-t",
        "x",
        "--delivery-wait",
        "2",
        "--heartbeat",
        "0",
    ];
    let refused = clawrun(&sb, &args, "claude/tool.jsonl").await;
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("gateway unreachable at http://127.0.0.1:{port}")),
        "{err}"
    );
    assert!(err.contains("--queue-delivery"), "{err}");
    assert!(!sb.state_dir().join("runs").exists(), "nothing is written");
    let out = clawrun(
        &sb,
        &[&args[..], &["--queue-delivery"]].concat(),
        "claude/tool.jsonl",
    )
    .await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("wait in the outbox"), "{err}");
    assert!(err.contains("outbox flush"), "{err}");
    assert!(!err.contains(TOKEN));

    let list = cmd(&sb, &["outbox", "list", "--json"]).await;
    let pending: Value = serde_json::from_slice(&list.stdout).unwrap();
    let keys: Vec<String> = pending[0]["pending"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys.len(), 3, "{pending}");
    assert!(
        keys[0].ends_with(":launch:1")
            && keys[1].ends_with(":result:2")
            && keys[2].ends_with(":wake:3")
    );

    // The gateway comes up.
    let server = gateway::start_on(port).await;
    gateway::mount_whatsapp(&server, KEY).await;
    let flush = cmd(&sb, &["outbox", "flush"]).await;
    assert_eq!(
        flush.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&flush.stdout)
    );
    let got = deliveries(&server.received_requests().await.unwrap());
    let tools: Vec<&str> = got.iter().map(|(t, _, _)| t.as_str()).collect();
    assert_eq!(tools, vec!["message", "message", "sessions_send"]);
    let got_keys: Vec<&str> = got.iter().map(|(_, k, _)| k.as_str()).collect();
    assert_eq!(
        got_keys,
        keys.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(got[0].2.contains("started") && got[1].2.contains("task complete"));
    // Flushing again sends nothing.
    let again = cmd(&sb, &["outbox", "flush"]).await;
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(
        deliveries(&server.received_requests().await.unwrap()).len(),
        3
    );
    assert_no_secret_in_files(&sb);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_is_waited_out_with_retry_after_and_order_is_kept() {
    let port = gateway::free_port();
    let server = gateway::start_on(port).await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"tool": "message"})))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(
                    json!({"error": {"message": "Too many requests", "type": "rate_limited"}}),
                ),
        )
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&server)
        .await;
    gateway::mount_whatsapp(&server, KEY).await;
    let sb = gateway::sandbox(port, TOKEN);
    let t0 = Instant::now();
    let out = clawrun(
        &sb,
        &["-s", KEY, "-t", "x", "--heartbeat", "0"],
        "claude/tool.jsonl",
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = deliveries(&server.received_requests().await.unwrap());
    // Three 429s on the launch, each retried with the same key after Retry-After.
    let keys: Vec<&str> = got.iter().map(|(_, k, _)| k.as_str()).collect();
    assert_eq!(keys.len(), 6, "{got:?}");
    assert!(
        keys[..4].iter().all(|k| k.ends_with(":launch:1")),
        "{keys:?}"
    );
    assert!(
        keys[4].ends_with(":result:2") && keys[5].ends_with(":wake:3"),
        "{keys:?}"
    );
    assert!(
        t0.elapsed() >= Duration::from_secs(3),
        "Retry-After not honoured"
    );
    let list = cmd(&sb, &["outbox", "list"]).await;
    assert!(String::from_utf8_lossy(&list.stdout).contains("Nothing pending"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runner_sigkilled_mid_send_then_flush_resends_only_the_unconfirmed_item() {
    let port = gateway::free_port();
    let server = gateway::start_on(port).await;
    // The result message hangs: the runner is killed while it waits.
    Mock::given(method("POST"))
        .and(|r: &Request| String::from_utf8_lossy(&r.body).contains("task complete"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(delivered("m1"))
                .set_delay(Duration::from_secs(30)),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    gateway::mount_whatsapp(&server, KEY).await;
    let sb = gateway::sandbox(port, TOKEN);
    let mut std_cmd = sb.run_std(&["-s", KEY, "-t", "x", "--heartbeat", "0"]);
    std_cmd
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = tokio::process::Command::from(std_cmd).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let killed_key = loop {
        let got = deliveries(&server.received_requests().await.unwrap());
        if let Some((_, k, _)) = got.iter().find(|(_, _, t)| t.contains("task complete")) {
            break k.clone();
        }
        assert!(Instant::now() < deadline, "the result was never sent");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    child.start_kill().unwrap();
    child.wait().await.unwrap();

    server.reset().await;
    gateway::mount_whatsapp(&server, KEY).await;
    let flush = cmd(&sb, &["outbox", "flush"]).await;
    assert_eq!(
        flush.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&flush.stdout)
    );
    let got = deliveries(&server.received_requests().await.unwrap());
    let keys: Vec<&str> = got.iter().map(|(_, k, _)| k.as_str()).collect();
    // The launch was confirmed before the kill: not sent again. The result was in
    // doubt: sent again with the same idempotency key (the gateway drops repeats). Then the wake.
    assert_eq!(keys.len(), 2, "{got:?}");
    assert_eq!(keys[0], killed_key);
    assert!(keys[1].ends_with(":wake:3"));
    let again = cmd(&sb, &["outbox", "flush"]).await;
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(
        deliveries(&server.received_requests().await.unwrap()).len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_wake_is_sent_after_a_later_run_in_the_same_chat_and_the_human_hears_it_waits() {
    let port = gateway::free_port();
    let server = gateway::start_on(port).await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"tool": "sessions_send"})))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_json(json!({"error": {"message": "Gateway context is unavailable; retry shortly.", "type": "unavailable"}})),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    gateway::mount_whatsapp(&server, KEY).await;
    let sb = gateway::sandbox(port, TOKEN);
    let args = [
        "-s",
        KEY,
        "-t",
        "x",
        "--heartbeat",
        "0",
        "--delivery-wait",
        "3",
    ];
    let first = clawrun(&sb, &args, "claude/tool.jsonl").await;
    assert_eq!(first.status.code(), Some(0));
    // The human was told the agent was not woken yet, and where the result is.
    let got = deliveries(&server.received_requests().await.unwrap());
    assert!(
        got.iter()
            .any(|(_, _, t)| t.contains("has not been woken yet") && t.contains("output.txt")),
        "{got:?}"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = clawrun(&sb, &args, "claude/tool.jsonl").await;
    assert_eq!(second.status.code(), Some(0));

    server.reset().await;
    gateway::mount_whatsapp(&server, KEY).await;
    let flush = cmd(&sb, &["outbox", "flush", "--json"]).await;
    assert_eq!(
        flush.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&flush.stdout)
    );
    // Both runs are woken: a later run in the same chat, of another chain,
    // does not make the first run's waiting wake stale (issue 25). It went
    // out with the second run's start-up flush, or with this one.
    let runs: Vec<String> = crate::common::run_ids(&sb);
    let first_outbox = std::fs::read_to_string(
        sb.state_dir()
            .join("runs")
            .join(&runs[0])
            .join("outbox.jsonl"),
    )
    .unwrap();
    assert!(
        !first_outbox.contains("\"op\":\"abandoned\""),
        "{first_outbox}"
    );
    let wakes: Vec<(String, String, String)> =
        deliveries(&server.received_requests().await.unwrap())
            .into_iter()
            .filter(|(t, _, _)| t == "sessions_send")
            .collect();
    assert_eq!(wakes.len(), 2, "{wakes:?}");
    let woken: Vec<&str> = wakes.iter().map(|(_, k, _)| &k[..runs[0].len()]).collect();
    assert_eq!(woken, vec![runs[0].as_str(), runs[1].as_str()], "{wakes:?}");
}

/// A run whose gateway (on `port`) is down on purpose: its messages wait in
/// the outbox. The sandbox and the run directory.
async fn queued_while_down(port: u16) -> (Sandbox, std::path::PathBuf) {
    let sb = gateway::sandbox(port, TOKEN);
    let args = [
        "-s",
        KEY,
        "-t",
        "x",
        "--delivery-wait",
        "1",
        "--heartbeat",
        "0",
    ];
    let out = clawrun(
        &sb,
        &[&args[..], &["--queue-delivery"]].concat(),
        "claude/tool.jsonl",
    )
    .await;
    assert_eq!(out.status.code(), Some(0));
    let run_dir = sb
        .state_dir()
        .join("runs")
        .join(&crate::common::run_ids(&sb)[0]);
    (sb, run_dir)
}

/// Issue 13, C.8: a line torn in the middle of a multi-byte character (a
/// crash or a full disk mid-append), with the next append glued to it, costs
/// that line only: `outbox list` says it skipped it, and `flush` delivers the
/// other items, each once. An outbox that cannot be read is an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_outbox_line_is_skipped_and_reported_and_the_rest_delivered_once() {
    let port = gateway::free_port();
    let (sb, run_dir) = queued_while_down(port).await;
    let path = run_dir.join("outbox.jsonl");
    let data = std::fs::read(&path).unwrap();
    // After the first line: an append torn inside "🎉" (4 bytes, 2 written), no newline.
    let first_end = data.iter().position(|b| *b == b'\n').unwrap() + 1;
    let torn: &[u8] = b"{\"op\":\"enqueued\",\"key\":\"x:note:9\",\"text\":\"party \xF0\x9F";
    let mut broken = data[..first_end].to_vec();
    broken.extend_from_slice(torn);
    broken.extend_from_slice(&data[first_end..]);
    std::fs::write(&path, &broken).unwrap();

    let list = cmd(&sb, &["outbox", "list"]).await;
    let text = String::from_utf8_lossy(&list.stdout);
    assert_eq!(list.status.code(), Some(0), "{text}");
    assert!(text.contains("1 unreadable line skipped"), "{text}");
    assert!(!text.contains("Nothing pending"), "{text}");
    let json = cmd(&sb, &["outbox", "list", "--json"]).await;
    let v: Value = serde_json::from_slice(&json.stdout).unwrap();
    let keys: Vec<&str> = v[0]["pending"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys.len(), 3, "{v}");
    assert_eq!(v[0]["skipped_lines"][0]["line"], 2, "{v}");

    let server = gateway::start_on(port).await;
    gateway::mount_whatsapp(&server, KEY).await;
    let flush = cmd(&sb, &["outbox", "flush"]).await;
    assert_eq!(flush.status.code(), Some(0));
    let again = cmd(&sb, &["outbox", "flush"]).await;
    assert_eq!(again.status.code(), Some(0));
    let got = deliveries(&server.received_requests().await.unwrap());
    let got_keys: Vec<&str> = got.iter().map(|(_, k, _)| k.as_str()).collect();
    assert_eq!(got_keys, keys, "each item delivered once, in order");

    // An outbox that cannot be read at all: exit 1, never "Nothing pending".
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    let list = cmd(&sb, &["outbox", "list"]).await;
    let text = String::from_utf8_lossy(&list.stdout);
    assert_eq!(list.status.code(), Some(1), "{text}");
    assert!(text.contains("cannot be read"), "{text}");
    let flush = cmd(&sb, &["outbox", "flush"]).await;
    assert_eq!(flush.status.code(), Some(1));
}

/// Issue 25: `outbox flush` while another process (a run's own runner) holds
/// an outbox says that those items are being delivered by their runner,
/// neither promises to retry them nor fails on them (they are not left
/// behind); once nobody holds them and they cannot be delivered, it exits 1
/// as the README says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_says_held_items_are_their_runners_and_fails_only_on_items_left() {
    let port = gateway::free_port();
    let (sb, run_dir) = queued_while_down(port).await;
    // Stand in for the runner: hold the outbox's lock (flock(2), as it does).
    // `-o`: flock itself holds it, not its child, so killing flock frees it.
    let mut holder = std::process::Command::new("flock")
        .arg("-o")
        .arg(run_dir.join("outbox.lock"))
        .arg("cat")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let held = run_dir.join("outbox.lock");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::process::Command::new("flock")
        .args(["-n", "-E", "99"])
        .arg(&held)
        .arg("true")
        .status()
        .unwrap()
        .code()
        != Some(99)
    {
        assert!(Instant::now() < deadline, "flock never took the lock");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let flush = cmd(&sb, &["outbox", "flush", "--wait", "30"]).await;
    let (so, se) = (
        String::from_utf8_lossy(&flush.stdout),
        String::from_utf8_lossy(&flush.stderr),
    );
    assert_eq!(flush.status.code(), Some(0), "{so}{se}");
    assert!(!se.contains("retrying for up to"), "{se}");
    assert!(se.contains("being delivered by their runner"), "{se}");
    assert!(so.contains("being delivered by their runner"), "{so}");
    assert!(!so.contains("busy"), "{so}");
    let json = cmd(&sb, &["outbox", "flush", "--json"]).await;
    let v: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(v[0]["held"].as_u64().unwrap() >= 1, "{v}");
    // End of its input ends `cat`, then flock, which frees the lock.
    drop(holder.stdin.take());
    holder.wait().unwrap();

    // Nobody holds them and the gateway is down: items are left, exit 1.
    let flush = cmd(&sb, &["outbox", "flush", "--wait", "1"]).await;
    let se = String::from_utf8_lossy(&flush.stderr);
    assert_eq!(flush.status.code(), Some(1), "{se}");
    assert!(se.contains("retrying for up to 1s"), "{se}");
}
