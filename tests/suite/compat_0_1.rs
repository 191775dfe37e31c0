//! State written by an earlier clawrun still loads: run directories, session
//! registries and the outbox from `tests/fixtures/compat-0.1/` (see its README),
//! read with the library and through the CLI's `--json` output (the iteration
//! store's part is a unit test: `core::store::iterations`).
//!
//! Records are compared as JSON: every key the old version wrote must come back
//! with the same value when the new version loads and re-serializes it, so the
//! files keep their shape whatever the structs look like inside.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use clawrun::runs::{self, EntryStatus, OutboxItem as Item};
use clawrun::runs::{RunDir, list_runs};
use clawrun::sessions::{Registry, Status};
use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::common::{clawrun_bin, fixture, gateway};

const CLAUDE_ID: &str = "b97f592b-6515-4a57-b3bb-0bc3448d4c8a";
const GATEWAY_ID: &str = "0149328c-2f46-4ab9-94fe-98127d611e81";
const FAILED_ID: &str = "cc19d606-a9e5-4d8b-a66b-9d0d67386bf7";
const CODEX_ID: &str = "01a20060-1a1b-7e03-ae4c-46fb1f209375";
const RUN_FIRST: &str = "20261201-034628-a88754";
const RUN_RESUMED: &str = "20261201-034629-9d0252";
const RUN_CODEX: &str = "20261201-034630-b22208";
const RUN_FAILED: &str = "20261201-034632-e01d44";
const RUN_GATEWAY: &str = "20261201-034633-b508ab";
use crate::common::gateway::WHATSAPP_KEY as KEY;

/// The fixture tree copied into a temp dir, `@ROOT@` and `@PORT@` filled in.
struct Old {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Old {
    fn new(port: u16) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        copy_tree(&fixture("compat-0.1"), &root, &root, port);
        Self { _tmp: tmp, root }
    }

    fn home(&self) -> PathBuf {
        self.root.join("home")
    }

    fn openclaw_home(&self) -> PathBuf {
        self.home().join(".openclaw")
    }

    fn state(&self) -> PathBuf {
        self.root.join("state")
    }

    fn runs(&self) -> PathBuf {
        self.state().join("runs")
    }

    fn run_dir(&self, id: &str) -> PathBuf {
        self.runs().join(id)
    }

    fn json(&self, rel: &str) -> Value {
        serde_json::from_slice(&std::fs::read(self.root.join(rel)).unwrap()).unwrap()
    }

    /// `clawrun ARGS…` against this state, with nothing from the real environment.
    fn cmd(&self, args: &[&str]) -> std::process::Command {
        let mut c = std::process::Command::new(clawrun_bin());
        c.env_clear()
            .env("HOME", self.home())
            .env("PATH", "/usr/bin:/bin")
            .arg("--state-dir")
            .arg(self.state())
            .args(args);
        c
    }

    fn cli_json(&self, args: &[&str]) -> Value {
        let out = self.cmd(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn copy_tree(from: &Path, to: &Path, root: &Path, port: u16) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&src, &dst, root, port);
            continue;
        }
        let text = std::fs::read_to_string(&src).unwrap();
        let text = text
            .replace("@ROOT@", &root.display().to_string())
            .replace("@PORT@", &port.to_string());
        std::fs::write(&dst, text).unwrap();
    }
}

/// Every key of `old` is in `new` with the same value (objects recursively).
fn assert_keeps(old: &Value, new: &Value, at: &str) {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            for (k, v) in o {
                let here = format!("{at}.{k}");
                let got = n.get(k).unwrap_or_else(|| panic!("{here} lost (was {v})"));
                assert_keeps(v, got, &here);
            }
        }
        _ => assert_eq!(old, new, "{at}"),
    }
}

#[test]
fn run_dirs_load_and_keep_their_shape() {
    let old = Old::new(9);
    let runs = list_runs(&old.runs());
    let ids: Vec<String> = runs.iter().map(|(_, r)| r.run_id.clone()).collect();
    assert_eq!(
        ids,
        vec![RUN_GATEWAY, RUN_FAILED, RUN_CODEX, RUN_RESUMED, RUN_FIRST]
    );
    for (dir, record) in &runs {
        let id = dir.path.file_name().unwrap().to_string_lossy().into_owned();
        let on_disk = old.json(&format!("state/runs/{id}/run.json"));
        assert_keeps(&on_disk, &serde_json::to_value(record).unwrap(), "run.json");
        let spec = dir.read_spec().unwrap();
        let on_disk = old.json(&format!("state/runs/{id}/request.json"));
        assert_keeps(
            &on_disk,
            &serde_json::to_value(&spec).unwrap(),
            "request.json",
        );
    }

    let rec = |id: &str| {
        serde_json::to_value(RunDir::open(old.run_dir(id)).read_record().unwrap()).unwrap()
    };
    let gw = rec(RUN_GATEWAY);
    assert_eq!(gw["status"], "completed");
    assert_eq!(gw["backend"], "claude");
    assert_eq!(gw["label"], "Compat gateway");
    assert_eq!(gw["resume_id"], GATEWAY_ID);
    assert_eq!(gw["session_key"], KEY);
    assert_eq!(gw["tool_calls"], 4);
    assert_eq!(gw["usage"]["output_tokens"], 63);
    assert_eq!(gw["exit_code"], 0);
    let failed = rec(RUN_FAILED);
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["error"].as_str().unwrap().contains("API Error: 500"),
        "{failed}"
    );
    assert_eq!(rec(RUN_CODEX)["backend"], "codex");
    assert_eq!(rec(RUN_RESUMED)["resumed_from"], CLAUDE_ID);

    let spec =
        serde_json::to_value(RunDir::open(old.run_dir(RUN_GATEWAY)).read_spec().unwrap()).unwrap();
    assert_eq!(spec["channel"], "whatsapp-gateway");
    assert_eq!(spec["route"]["channel"], "whatsapp");
    assert_eq!(spec["route"]["target"], "120363@g.us");
    assert_eq!(spec["route"]["source"]["kind"], "gateway");
    assert_eq!(spec["prompt"], "gateway task");
    let spec =
        serde_json::to_value(RunDir::open(old.run_dir(RUN_RESUMED)).read_spec().unwrap()).unwrap();
    assert_eq!(spec["completion_mode"], "iterate");
    assert_eq!(spec["iteration"], 2);
    assert_eq!(spec["max_iterations"], 3);
    assert_eq!(spec["chain_root"], RUN_FIRST);

    // The output file the record points at is where it says.
    let out = gw["output_file"].as_str().unwrap();
    assert_eq!(std::fs::read_to_string(out).unwrap(), "DONE after 4 tools");
    let stream = std::fs::read_to_string(old.run_dir(RUN_GATEWAY).join("stream.jsonl")).unwrap();
    assert_eq!(
        std::fs::read(old.run_dir(RUN_GATEWAY).join("stream.jsonl")).unwrap(),
        std::fs::read(fixture("claude/multi.jsonl")).unwrap()
    );
    assert!(
        stream
            .lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok())
    );
}

#[test]
fn registries_load_keep_every_field_and_take_new_writes() {
    let old = Old::new(9);
    let claude = Registry::new(
        old.openclaw_home().join("claude_sessions.json"),
        "claude",
        "session_id",
    );
    let codex = Registry::new(
        old.openclaw_home().join("codex_sessions.json"),
        "codex",
        "thread_id",
    );
    let mut ids: Vec<String> = claude
        .list(None)
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    ids.sort();
    assert_eq!(ids, vec![GATEWAY_ID, CLAUDE_ID, FAILED_ID]);

    let e = claude.get(CLAUDE_ID).unwrap().unwrap();
    assert_eq!(e.label.as_deref(), Some("Compat claude"));
    assert_eq!(e.task_summary.as_deref(), Some("second task"));
    assert_eq!(e.status, Some(Status::Completed));
    assert_eq!(e.run_id.as_deref(), Some(RUN_RESUMED));
    assert_eq!(e.openclaw_session.as_deref(), Some("agent:main:main"));
    assert_eq!(e.cost_usd, Some(0.000675));
    assert_eq!((e.input_tokens, e.output_tokens), (Some(100), Some(7)));
    // Naive local ISO times, microseconds, as the seed writes them.
    assert_eq!(e.created_at.as_deref(), Some("2026-12-01T03:46:28.642876"));
    assert_eq!(
        e.last_accessed.as_deref(),
        Some("2026-12-01T03:46:29.775324")
    );
    let accessed = e.last_accessed_micros().unwrap();
    assert_eq!(accessed.rem_euclid(1_000_000), 775_324);
    assert_eq!(
        claude.get(FAILED_ID).unwrap().unwrap().status,
        Some(Status::Failed)
    );
    let c = codex.get(CODEX_ID).unwrap().unwrap();
    assert_eq!(c.id_field(), "thread_id");
    assert_eq!(c.label.as_deref(), Some("Compat codex"));
    assert_eq!(c.run_id.as_deref(), Some(RUN_CODEX));

    // Serializing an entry gives exactly the stored object.
    let on_disk = old.json("home/.openclaw/claude_sessions.json");
    for entry in claude.list(None).unwrap() {
        assert_eq!(
            serde_json::to_value(&entry).unwrap(),
            on_disk["sessions"][&entry.id],
            "{}",
            entry.id
        );
    }

    // A write by the new version keeps the other entries byte for byte.
    claude
        .update(FAILED_ID, |e| e.label = Some("relabelled".into()))
        .unwrap();
    let after = old.json("home/.openclaw/claude_sessions.json");
    assert_eq!(after["sessions"][CLAUDE_ID], on_disk["sessions"][CLAUDE_ID]);
    assert_eq!(
        after["sessions"][GATEWAY_ID],
        on_disk["sessions"][GATEWAY_ID]
    );
    assert_eq!(after["sessions"][FAILED_ID]["label"], "relabelled");
}

#[test]
fn outboxes_replay_delivered_and_pending_items() {
    let old = Old::new(9);
    let entries = runs::outbox(&RunDir::open(old.run_dir(RUN_GATEWAY))).unwrap();
    let summary: Vec<(String, u64, EntryStatus, u32)> = entries
        .iter()
        .map(|e| (e.key.clone(), e.seq, e.status, e.attempts))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                format!("{RUN_GATEWAY}:launch:1"),
                1,
                EntryStatus::Delivered,
                1
            ),
            (
                format!("{RUN_GATEWAY}:result:2"),
                2,
                EntryStatus::Pending,
                3
            ),
            (format!("{RUN_GATEWAY}:wake:3"), 3, EntryStatus::Pending, 0),
        ]
    );
    assert_eq!(entries[0].message_id.as_deref(), Some("m1"));
    assert!(
        entries
            .iter()
            .all(|e| e.channel == "whatsapp-gateway" && !e.in_doubt)
    );
    assert!(
        entries[1]
            .last_error
            .as_deref()
            .unwrap()
            .contains("HTTP 503"),
        "{:?}",
        entries[1].last_error
    );
    match &entries[2].item {
        Item::Wake(w) => {
            let w = serde_json::to_value(w).unwrap();
            assert_eq!(w["session_key"], KEY);
            assert_eq!(w["session_id"], "5f0c3c1e-1111-4222-8333-944445555666");
            assert!(w["text"].as_str().unwrap().contains("[CLAUDE_CODE_RESULT]"));
        }
        Item::Message(m) => panic!("expected the wake, got {m:?}"),
    }
    let pending: Vec<String> = runs::pending(&RunDir::open(old.run_dir(RUN_GATEWAY)))
        .unwrap()
        .into_iter()
        .map(|e| e.key)
        .collect();
    assert_eq!(
        pending,
        vec![
            format!("{RUN_GATEWAY}:result:2"),
            format!("{RUN_GATEWAY}:wake:3")
        ]
    );
    // Console runs delivered everything.
    for id in [RUN_FIRST, RUN_RESUMED, RUN_CODEX, RUN_FAILED] {
        let dir = RunDir::open(old.run_dir(id));
        assert!(runs::pending(&dir).unwrap().is_empty(), "{id}");
        assert!(
            runs::outbox(&dir)
                .unwrap()
                .iter()
                .all(|e| e.status == EntryStatus::Delivered && e.channel == "console"),
            "{id}"
        );
    }
}

#[test]
fn the_cli_lists_shows_and_prints_old_runs() {
    let old = Old::new(9);
    let list = old.cli_json(&["list", "--all", "--json"]);
    let rows: Vec<(&str, &str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["run_id"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
                r["backend"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (RUN_GATEWAY, "completed", "claude"),
            (RUN_FAILED, "failed", "claude"),
            (RUN_CODEX, "completed", "codex"),
            (RUN_RESUMED, "completed", "claude"),
            (RUN_FIRST, "completed", "claude"),
        ]
    );
    let show = old.cli_json(&["show", RUN_GATEWAY, "--json"]);
    assert_eq!(show["route"]["target"], "120363@g.us");
    assert_eq!(show["channel"], "whatsapp-gateway");
    assert_eq!(show["cost_usd"], 0.0040750000000000005);
    assert_eq!(show["runner_alive"], false);
    let out = old.cmd(&["output", RUN_CODEX]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), "DONE");
    let sessions = old.cli_json(&["sessions", "--hours", "1000000", "--json"]);
    let text = sessions.to_string();
    for id in [CLAUDE_ID, GATEWAY_ID, FAILED_ID, CODEX_ID] {
        assert!(text.contains(id), "{id} missing from {sessions}");
    }
    let pending = old.cli_json(&["outbox", "list", "--json"]);
    assert_eq!(pending.as_array().unwrap().len(), 1, "{pending}");
    assert_eq!(pending[0]["pending"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_pending_items_are_flushed_once_with_their_keys() {
    let server = gateway::start().await;
    gateway::mount_sessions(
        &server,
        &gateway::sessions(&[gateway::whatsapp_session(KEY)]),
    )
    .await;
    gateway::mount_tools(&server, gateway::delivered("m2")).await;
    let old = Old::new(server.address().port());
    let flush = tokio::process::Command::from(old.cmd(&["outbox", "flush"]))
        .output()
        .await
        .unwrap();
    assert_eq!(
        flush.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&flush.stdout),
        String::from_utf8_lossy(&flush.stderr)
    );
    let sent: Vec<(String, String)> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .filter(|b| b["tool"] != "sessions_list")
        .map(|b| {
            (
                b["tool"].as_str().unwrap_or_default().to_owned(),
                b["idempotencyKey"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        sent,
        vec![
            ("message".to_owned(), format!("{RUN_GATEWAY}:result:2")),
            ("sessions_send".to_owned(), format!("{RUN_GATEWAY}:wake:3")),
        ]
    );
    assert!(
        runs::pending(&RunDir::open(old.run_dir(RUN_GATEWAY)))
            .unwrap()
            .is_empty()
    );
}
