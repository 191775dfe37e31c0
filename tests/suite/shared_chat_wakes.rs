//! Every finished run wakes its agent (issue 25): runs that share a chat —
//! other projects, overlapping, queued — are each woken; only a run whose
//! resume chain already has a later run is skipped, and that skip is visible
//! (`show`, `outbox list`, a SKIP trace, a result message that rings).
//! Over the fake gateway (wiremock on loopback) with the fake agent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::Value;
use wiremock::{MockServer, Request};

use crate::common::gateway::{self, TOKEN, WHATSAPP_KEY as KEY};
use crate::common::{Sandbox, clawrun_in, fixture, run_ids};

/// The tool-call bodies the gateway received (sessions_list left out).
fn calls(requests: &[Request]) -> Vec<Value> {
    requests
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .filter(|b| b["tool"] != "sessions_list")
        .collect()
}

/// The idempotency keys of the wakes the gateway received.
async fn wake_keys(server: &MockServer) -> Vec<String> {
    calls(&server.received_requests().await.unwrap())
        .iter()
        .filter(|b| b["tool"] == "sessions_send")
        .map(|b| b["idempotencyKey"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Start `clawrun run ARGS` (detached runs return once launched) with the
/// fake agent replaying `claude/tool.jsonl`, one line per `delay` seconds.
async fn launch(sb: &Sandbox, args: &[&str], delay: &str) -> std::process::Output {
    let mut c = sb.run_std(args);
    c.env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .env("FAKE_DELAY", delay);
    let out = tokio::process::Command::from(c).output().await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn outbox_of(sb: &Sandbox, id: &str) -> String {
    std::fs::read_to_string(sb.state_dir().join("runs").join(id).join("outbox.jsonl"))
        .unwrap_or_default()
}

fn record(sb: &Sandbox, id: &str) -> Value {
    let p = sb.state_dir().join("runs").join(id).join("run.json");
    serde_json::from_slice(&std::fs::read(p).unwrap_or_default()).unwrap_or(Value::Null)
}

/// Whether the run's wake is recorded and every item of its outbox is
/// settled: delivered or given up.
fn settled(sb: &Sandbox, id: &str) -> bool {
    let lines: Vec<Value> = outbox_of(sb, id)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let done = |key: &Value| {
        lines
            .iter()
            .any(|l| &l["key"] == key && (l["op"] == "delivered" || l["op"] == "abandoned"))
    };
    let mut enqueued = lines.iter().filter(|l| l["op"] == "enqueued");
    lines.iter().any(|l| l["item"] == "wake") && enqueued.all(|l| done(&l["key"]))
}

/// Wait (bounded) until every run of `ids` has its wake and all its
/// messages settled.
async fn wait_wakes_settled(sb: &Sandbox, ids: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ids.iter().all(|id| settled(sb, id)) {
        assert!(
            Instant::now() < deadline,
            "outboxes not settled: {:?}",
            ids.iter().map(|id| outbox_of(sb, id)).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Launch a run resuming the session of run `a` (the next run of its chain);
/// returns every run id and the new run's (found by id: runs created in the
/// same second sort at random).
async fn resume_of(sb: &Sandbox, args: &[&str], a: &str) -> (Vec<String>, String) {
    let sid = record(sb, a)["resume_id"].as_str().unwrap().to_owned();
    launch(sb, &[args, &["-t", "next", "--resume", &sid]].concat(), "0").await;
    let ids = run_ids(sb);
    let b = ids.iter().find(|id| *id != a).unwrap().clone();
    (ids, b)
}

/// Every run id has exactly one wake among `keys`.
fn one_wake_each(keys: &[String], ids: &[String]) {
    for id in ids {
        let n = keys.iter().filter(|k| k.starts_with(id.as_str())).count();
        assert_eq!(n, 1, "run {id}: {keys:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_overlapping_runs_of_different_projects_into_one_chat_both_wake() {
    let port = gateway::free_port();
    let server = gateway::start_on(port).await;
    gateway::mount_whatsapp(&server, KEY).await;
    let sb = gateway::sandbox(port, TOKEN);
    let a_dir = sb.root.join("project-a");
    let b_dir = sb.root.join("project-b");
    let common = ["-s", KEY, "--heartbeat", "0", "--detach"];
    let a_dir_s = a_dir.to_str().unwrap();
    launch(
        &sb,
        &[&common[..], &["-p", a_dir_s, "-t", "slow"]].concat(),
        "1",
    )
    .await;
    let a = run_ids(&sb)[0].clone();
    wait_until("A running", || record(&sb, &a)["status"] == "running").await;
    let b_dir_s = b_dir.to_str().unwrap();
    launch(
        &sb,
        &[&common[..], &["-p", b_dir_s, "-t", "quick"]].concat(),
        "0",
    )
    .await;
    let ids = run_ids(&sb);
    assert_eq!(ids.len(), 2);
    wait_wakes_settled(&sb, &ids).await;
    let keys = wake_keys(&server).await;
    assert_eq!(keys.len(), 2, "{keys:?} {}", outbox_of(&sb, &a));
    one_wake_each(&keys, &ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_queued_runs_into_one_chat_under_max_sessions_1_each_wake() {
    let port = gateway::free_port();
    let server = gateway::start_on(port).await;
    gateway::mount_whatsapp(&server, KEY).await;
    let sb = gateway::sandbox(port, TOKEN);
    std::fs::write(
        sb.openclaw_home().join("clawrun.toml"),
        "[limits]\nmax_sessions = 1\n",
    )
    .unwrap();
    for task in ["one", "two", "three"] {
        launch(
            &sb,
            &[
                "-s",
                KEY,
                "-t",
                task,
                "--heartbeat",
                "0",
                "--detach",
                "--queue",
            ],
            "0.3",
        )
        .await;
    }
    let ids = run_ids(&sb);
    assert_eq!(ids.len(), 3);
    wait_wakes_settled(&sb, &ids).await;
    let keys = wake_keys(&server).await;
    assert_eq!(keys.len(), 3, "{keys:?}");
    one_wake_each(&keys, &ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_run_superseded_while_it_ran_is_not_woken_and_says_why() {
    let port = gateway::free_port();
    let server = gateway::start_on(port).await;
    gateway::mount_whatsapp(&server, KEY).await;
    let sb = gateway::sandbox(port, TOKEN);
    let args = ["-s", KEY, "--heartbeat", "0", "--detach", "--trace-live"];
    launch(&sb, &[&args[..], &["-t", "first"]].concat(), "1").await;
    let a = run_ids(&sb)[0].clone();
    wait_until("A's session id", || {
        record(&sb, &a)["resume_id"].is_string()
    })
    .await;
    // The agent moves on: it resumes A's session while A still runs.
    let (ids, b) = resume_of(&sb, &args, &a).await;
    assert_eq!(record(&sb, &a)["status"], "running", "A ended too early");
    wait_wakes_settled(&sb, &ids).await;
    wait_until("A done", || record(&sb, &a)["status"] == "completed").await;

    // Only B woke the agent.
    let keys = wake_keys(&server).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with(&b), "{keys:?}");
    // A's result rang (no agent turn follows), B's did not; the chat got a
    // SKIP marker for A's wake, not "dispatching".
    let sent = calls(&server.received_requests().await.unwrap());
    let messages: Vec<&Value> = sent.iter().filter(|b| b["tool"] == "message").collect();
    // (WhatsApp has no silent messages: the decision is read from the outbox.)
    let result_silent = |id: &str| -> Value {
        outbox_of(&sb, id)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|l| l["op"] == "enqueued" && l["kind"] == "result")
            .map(|l| l["silent"].clone())
            .unwrap_or_else(|| panic!("no result of {id}: {}", outbox_of(&sb, id)))
    };
    assert_eq!(result_silent(&a), false);
    assert_eq!(result_silent(&b), true);
    let texts_of = |id: &str| -> Vec<String> {
        messages
            .iter()
            .filter(|m| {
                m["idempotencyKey"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with(id)
            })
            .map(|m| m["args"]["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let a_texts = texts_of(&a);
    assert!(
        a_texts.iter().any(|t| t.contains("SKIP") && t.contains(&b)),
        "{a_texts:?}"
    );
    assert!(
        !a_texts.iter().any(|t| t.contains("[WAKE] dispatching")),
        "{a_texts:?}"
    );

    // `show` says the wake was skipped and which later run of the chain.
    let show = clawrun_in(&sb, &["show", &a]).await;
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(text.contains("skipped") && text.contains(&b), "{text}");
    let show = clawrun_in(&sb, &["show", &a, "--json"]).await;
    let v: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(v["wake"]["status"], "skipped", "{v}");
    assert_eq!(v["wake"]["superseded_by"], b.as_str(), "{v}");
    // `outbox list` shows it.
    let list = clawrun_in(&sb, &["outbox", "list"]).await;
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.contains(&format!("{a}:wake:")) && text.contains("skipped") && text.contains(&b),
        "{text}"
    );
    let list = clawrun_in(&sb, &["outbox", "list", "--json"]).await;
    let v: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert!(v.to_string().contains(&format!("{a}:wake:")), "{v}");
}

/// The later run of the chain starts after the result was decided, while the
/// result is still being delivered: the wake is skipped when its turn comes,
/// and the human hears so in a message that rings (the result did not).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wake_found_stale_only_at_delivery_is_told_to_the_human_ringing() {
    use wiremock::matchers::{body_string_contains, method};
    use wiremock::{Mock, ResponseTemplate};
    let port = gateway::free_port();
    let server = gateway::start_on(port).await;
    // A's result hangs a while at the gateway: B starts meanwhile.
    let ok = serde_json::json!({"ok": true, "result": {"content": [{"type": "text", "text": "{}"}], "details": {"status": "ok", "messageId": "m1"}}});
    Mock::given(method("POST"))
        .and(body_string_contains("task complete"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(ok)
                .set_delay(Duration::from_secs(4)),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    gateway::mount_whatsapp(&server, KEY).await;
    let sb = gateway::sandbox(port, TOKEN);
    let args = ["-s", KEY, "--heartbeat", "0", "--detach", "--trace-live"];
    launch(&sb, &[&args[..], &["-t", "first"]].concat(), "0").await;
    let a = run_ids(&sb)[0].clone();
    wait_until("A's result on its way", || {
        outbox_of(&sb, &a)
            .lines()
            .any(|l| l.contains("\"op\":\"attempt\"") && l.contains(":result:"))
    })
    .await;
    let (ids, b) = resume_of(&sb, &args, &a).await;
    wait_wakes_settled(&sb, &ids).await;
    // A's runner tells the human once its wake is skipped.
    let told = |l: &Value| {
        l["op"] == "enqueued"
            && l["kind"] == "notice"
            && l["body"]["plain"]
                .as_str()
                .is_some_and(|t| t.contains("not woken") && t.contains(&b))
    };
    wait_until("the notice", || {
        outbox_of(&sb, &a)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .any(|l| told(&l))
    })
    .await;
    let lines: Vec<Value> = outbox_of(&sb, &a)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let notice = lines.iter().find(|l| told(l)).unwrap();
    assert_eq!(notice["silent"], false, "{notice}");
    let result = lines
        .iter()
        .find(|l| l["op"] == "enqueued" && l["kind"] == "result")
        .unwrap();
    assert_eq!(result["silent"], true, "decided before B existed");
    assert!(
        lines.iter().any(|l| l["body"]["plain"]
            .as_str()
            .is_some_and(|t| t.contains("[WAKE][SKIP]"))),
        "no SKIP marker"
    );
    let keys = wake_keys(&server).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with(&b), "{keys:?}");
}
