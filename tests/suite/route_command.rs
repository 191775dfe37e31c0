//! Choosing where a run reports (issue 25): `clawrun route --list` lists the
//! gateway's sessions (over a wiremock gateway), `clawrun route` without a
//! key says the console route reaches nobody, and a detached run with no
//! route warns that nobody will be told or woken.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::gateway::{self, TOKEN};
use crate::common::{Sandbox, clawrun_in, fixture};

const TOPIC_KEY: &str = "agent:main:telegram:group:-1001234567890:topic:369520";
const GROUP_KEY: &str = "agent:main:telegram:group:-1001234567890";

/// The `sessions_list` answer of a real gateway (2026.9.6, see
/// `reference/openclaw/transcript-full-run.md`), in two pages.
async fn mount_sessions(server: &MockServer) {
    let page = |sessions: Value, more: bool| {
        gateway::tool_result(
            &json!({"count": 1, "sessions": sessions, "hasMore": more, "nextOffset": 1}),
        )
    };
    Mock::given(method("POST"))
        .and(path("/tools/invoke"))
        .and(body_partial_json(json!({"tool": "sessions_list", "args": {"offset": 1}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            json!([{"key": GROUP_KEY, "sessionId": "cd10981f-7151-4b6b-b5a6-5b5d315496d4",
                    "kind": "group", "channel": "telegram", "displayName": "telegram:g-1001234567890",
                    "updatedAt": 1_795_301_024_973_i64}]),
            false,
        )))
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/tools/invoke"))
        .and(body_partial_json(json!({"tool": "sessions_list"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            json!([{"key": TOPIC_KEY, "sessionId": "fe321555-0437-44a8-a0fe-2d9d9f56b7ad",
                    "kind": "group", "channel": "telegram",
                    "displayName": "telegram:g-1001234567890-topic-369520",
                    "updatedAt": 1_795_301_026_889_i64}]),
            true,
        )))
        .mount(server)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_list_prints_the_gateways_session_keys() {
    let port = gateway::free_port();
    let server = gateway::start_on(port).await;
    mount_sessions(&server).await;
    let sb = gateway::sandbox(port, TOKEN);
    let out = clawrun_in(&sb, &["route", "--list"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let topic = text.find(TOPIC_KEY).expect("topic key listed");
    let group = text
        .lines()
        .position(|l| l.starts_with(&format!("{GROUP_KEY} ")))
        .expect("group key listed");
    assert!(
        topic < text.find(&format!("{GROUP_KEY} ")).unwrap(),
        "newest first: {text}"
    );
    assert!(group > 0, "{text}");
    assert!(
        text.contains("telegram:g-1001234567890-topic-369520"),
        "{text}"
    );
    assert!(text.contains("2 sessions"), "{text}");

    let out = clawrun_in(&sb, &["route", "--list", "--json"]).await;
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, vec![TOPIC_KEY, GROUP_KEY], "{v}");
    assert_eq!(v[0]["channel"], "telegram");
    assert_eq!(
        v[0]["display_name"],
        "telegram:g-1001234567890-topic-369520"
    );
    assert_eq!(v[0]["updated_at_ms"], 1_795_301_026_889_i64);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_list_with_the_gateway_down_fails_at_once_and_says_so() {
    let port = gateway::free_port();
    let sb = gateway::sandbox(port, TOKEN);
    let out = clawrun_in(&sb, &["route", "--list"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("127.0.0.1:{port}")) && err.contains("unreachable"),
        "{err}"
    );
    // No gateway configured at all: a clear error too.
    let bare = Sandbox::new();
    let out = clawrun_in(&bare, &["route", "--list"]).await;
    assert_ne!(out.status.code(), Some(0));
    assert!(!out.stderr.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_without_a_key_points_to_the_list() {
    let sb = Sandbox::new();
    let out = clawrun_in(&sb, &["route"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("route --list") && err.contains("nobody"),
        "{err}"
    );
}

fn run(sb: &Sandbox, args: &[&str]) -> std::process::Output {
    let mut c = sb.run_std(args);
    c.env("FAKE_FIXTURE", fixture("claude/tool.jsonl"));
    c.output().unwrap()
}

#[test]
fn a_detached_run_with_no_route_warns_that_nobody_will_be_told() {
    let sb = Sandbox::new();
    let project = sb.root.join("D");
    let d = project.to_str().unwrap();
    let warned =
        |err: &str| err.contains("nobody will be told or woken") && err.contains("--session");

    let out = run(&sb, &["-p", d, "-t", "x", "--detach"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(warned(&err), "{err}");

    let out = run(&sb, &["-p", d, "-t", "x", "--validate-only"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(warned(&err), "{err}");

    let out = run(&sb, &["-p", d, "-t", "x", "--detach", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(warned(v["warnings"][0].as_str().unwrap_or_default()), "{v}");

    let out = run(&sb, &["-p", d, "-t", "x", "--validate-only", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(warned(v["warnings"][0].as_str().unwrap_or_default()), "{v}");

    // A foreground console run is watched: no warning.
    let out = run(&sb, &["-p", d, "-t", "x"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("nobody will be told"), "{err}");
}
