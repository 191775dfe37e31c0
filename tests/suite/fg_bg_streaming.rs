//! Foreground streaming (`clawrun fg` / `clawrun bg`) over a live fake agent,
//! delivered through a fake gateway's message tool (wiremock on loopback).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::Value;
use wiremock::MockServer;

use crate::common::{Sandbox, clawrun_in, fixture};

use crate::common::gateway::{self, WHATSAPP_KEY as KEY};

fn sandbox(port: u16) -> Sandbox {
    gateway::sandbox(port, "t0ken-fg")
}

async fn streamed(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .filter_map(|b| b["args"]["message"].as_str().map(str::to_owned))
        .filter(|m| m.starts_with("💬") || m.starts_with("📋"))
        .collect()
}

async fn wait_for_stream(sb: &Sandbox, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(id) = crate::common::run_ids(sb).first() {
            let s =
                std::fs::read_to_string(sb.state_dir().join("runs").join(id).join("stream.jsonl"))
                    .unwrap_or_default();
            if s.contains(needle) {
                return id.clone();
            }
        }
        assert!(Instant::now() < deadline, "{needle} never appeared");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fg_catches_up_then_streams_new_text_once_and_bg_stops_it() {
    let server = gateway::whatsapp().await;
    let sb = sandbox(server.address().port());
    let mut c = sb.run_std(&["-s", KEY, "-t", "x", "--heartbeat", "0"]);
    c.env("FAKE_FIXTURE", fixture("constructed/stream-texts.jsonl"))
        .env("FAKE_DELAY", "1.5")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = tokio::process::Command::from(c).spawn().unwrap();

    let run = wait_for_stream(&sb, "text two").await;
    let fg = clawrun_in(&sb, &["fg", &run[..12]]).await;
    assert_eq!(
        fg.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&fg.stderr)
    );
    // A second `fg` changes nothing (no second catch-up).
    let again = clawrun_in(&sb, &["fg", &run]).await;
    assert_eq!(again.status.code(), Some(0));

    wait_for_stream(&sb, "text four").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let bg = clawrun_in(&sb, &["bg", &run]).await;
    assert_eq!(
        bg.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&bg.stderr)
    );
    assert_eq!(child.wait().await.unwrap().code(), Some(0));

    let msgs = streamed(&server).await;
    assert!(
        msgs[0].starts_with("📋 Catch-up (2 missed messages)"),
        "{msgs:?}"
    );
    assert!(
        msgs[0].contains("text one") && msgs[0].contains("text two"),
        "{msgs:?}"
    );
    let all = msgs.join("\n");
    for t in ["text one", "text two", "text three", "text four"] {
        assert_eq!(
            all.matches(t).count(),
            1,
            "{t} sent {} times: {msgs:?}",
            all.matches(t).count()
        );
    }
    for t in ["text five", "text six"] {
        assert!(!all.contains(t), "{t} streamed after bg: {msgs:?}");
    }
    // State lives in the run dir: off, with the offset past what was sent.
    let state: Value = serde_json::from_slice(
        &std::fs::read(sb.state_dir().join("runs").join(&run).join("fg.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(state["enabled"], false);
    assert!(state["offset"].as_u64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_with_fg_streams_from_the_start_and_fg_on_a_finished_run_fails() {
    let server = gateway::whatsapp().await;
    let sb = sandbox(server.address().port());
    let mut c = sb.run_std(&["-s", KEY, "-t", "x", "--heartbeat", "0", "--fg"]);
    c.env("FAKE_FIXTURE", fixture("constructed/stream-texts.jsonl"));
    let out = tokio::process::Command::from(c).output().await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = streamed(&server).await.join("\n");
    for t in ["one", "two", "three", "four", "five", "six"] {
        assert_eq!(all.matches(&format!("text {t}")).count(), 1, "{all}");
    }
    let run = crate::common::run_ids(&sb).remove(0);
    let fg = clawrun_in(&sb, &["fg", &run]).await;
    assert_eq!(fg.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&fg.stderr).contains("is not running"));
}
