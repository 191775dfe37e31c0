//! Launches sure to fail quietly are refused up front, with the fix, exit 2,
//! before anything spawns or is written, and `--validate-only` and `clawrun
//! doctor` say the same: `--approvals chat` on a gateway without the clawrun
//! plugin's route, and a Telegram run whose wake needs an `openclaw` program
//! that is not there. With what they need present, the same launches go.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use serde_json::{Value, json};
use wiremock::MockServer;

use crate::common::gateway::{self, WHATSAPP_KEY};
use crate::common::{Sandbox, clawrun_in};

fn sandbox(port: u16) -> Sandbox {
    gateway::sandbox(port, gateway::TOKEN)
}

/// A run into the fake gateway's chat, asking approvals there.
const CHAT_RUN: [&str; 8] = [
    "-s",
    WHATSAPP_KEY,
    "-t",
    "x",
    "--approvals",
    "chat",
    "--heartbeat",
    "0",
];

/// `clawrun run ARGS…` with the fake claude recording its argv under `rec`
/// (the marker that an agent started).
async fn launch(sb: &Sandbox, rec: &Path, args: &[&str]) -> std::process::Output {
    let mut c = sb.run_std(args);
    c.env("FAKE_MODE", "approvals")
        .env("FAKE_ASKS", "touch x")
        .env("FAKE_RECORD", rec);
    tokio::process::Command::from(c).output().await.unwrap()
}

/// The check called `name` of `clawrun doctor --json` in `sb`.
async fn doctor_check(sb: &Sandbox, name: &str) -> Value {
    let doctor = clawrun_in(sb, &["doctor", "--json"]).await;
    let report: Value = serde_json::from_slice(&doctor.stdout).unwrap();
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no {name} check: {report}"))
}

fn err(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_chat_without_the_plugin_is_refused_before_the_agent_starts() {
    // The gateway knows the session and takes messages, but has no plugin.
    let server = gateway::approvals(gateway::decision(json!("allow-once")), 0).await;
    gateway::mount_ready(&server).await;
    let sb = sandbox(server.address().port());
    let rec = sb.root.join("rec");
    let base = CHAT_RUN;
    for extra in [&["--validate-only"][..], &[], &["--detach"]] {
        let out = launch(&sb, &rec, &[&base[..], extra].concat()).await;
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", err(&out));
        let e = err(&out);
        assert!(e.contains("no clawrun approvals route"), "{e}");
        assert!(e.contains("openclaw plugins install"), "{e}");
        assert!(!rec.exists(), "{extra:?}: an agent was started");
        assert!(!sb.state_dir().join("runs").exists(), "a run was written");
    }
    // `[run] approvals = "chat"` in clawrun.toml is refused the same way.
    std::fs::write(
        sb.openclaw_home().join("clawrun.toml"),
        "[run]\napprovals = \"chat\"\n",
    )
    .unwrap();
    let out = launch(
        &sb,
        &rec,
        &["-s", WHATSAPP_KEY, "-t", "x", "--validate-only"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", err(&out));
    assert!(err(&out).contains("no clawrun approvals route"));
    let plugin = doctor_check(&sb, "clawrun plugin").await;
    assert_eq!(plugin["status"], "fail", "{plugin}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_chat_with_the_plugin_launches() {
    let server = gateway::approvals_with_plugin(gateway::decision(json!("allow-once")), 1).await;
    let sb = sandbox(server.address().port());
    let rec = sb.root.join("rec");
    let args = CHAT_RUN;
    let out = launch(&sb, &rec, &[&args[..], &["--validate-only"]].concat()).await;
    assert_eq!(out.status.code(), Some(0), "{}", err(&out));
    let out = launch(&sb, &rec, &args).await;
    assert_eq!(out.status.code(), Some(0), "{}", err(&out));
    assert!(rec.join("argv").exists(), "the agent did not start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_gateway_refuses_approvals_chat_up_front() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let sb = sandbox(port);
    let rec = sb.root.join("rec");
    let out = launch(&sb, &rec, &["-t", "x", "--approvals", "chat"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", err(&out));
    assert!(
        err(&out).contains("--approvals chat cannot ask anyone"),
        "{}",
        err(&out)
    );
    assert!(!rec.exists(), "an agent was started");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_the_plugin_without_approvals_configured() {
    let server = gateway::approvals(gateway::decision(json!("allow-once")), 0).await;
    gateway::mount_ready(&server).await;
    let sb = sandbox(server.address().port());
    let plugin = doctor_check(&sb, "clawrun plugin").await;
    assert_eq!(plugin["status"], "warn", "{plugin}");
    assert!(
        plugin["detail"]
            .as_str()
            .unwrap()
            .contains("`--approvals chat` needs it"),
        "{plugin}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_telegram_wake_without_the_openclaw_program_is_refused_up_front() {
    use crate::common::telegram::{key, mount_bot, mount_gateway, setup};
    let server = MockServer::start().await;
    mount_gateway(&server).await;
    mount_bot(&server).await;
    let sb = Sandbox::new();
    setup(&sb, server.address().port(), &server.uri());
    let fake = sb.bin.join("openclaw");
    let kept = sb.root.join("openclaw.kept");
    std::fs::rename(&fake, &kept).unwrap();
    let rec = sb.root.join("rec");
    for extra in [&["--validate-only"][..], &["--detach"]] {
        let out = launch(&sb, &rec, &[&["-s", &key(), "-t", "x"][..], extra].concat()).await;
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", err(&out));
        let e = err(&out);
        assert!(e.contains("`openclaw` is not found"), "{e}");
        assert!(e.contains("openclaw_program"), "{e}");
        assert!(!rec.exists(), "an agent was started");
    }
    let check = doctor_check(&sb, "openclaw CLI (wakes)").await;
    assert_eq!(check["status"], "fail", "{check}");
    // With the program back, the same launch validates.
    std::fs::rename(&kept, &fake).unwrap();
    let out = launch(&sb, &rec, &["-s", &key(), "-t", "x", "--validate-only"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", err(&out));
}
