//! The session registry: concurrency across processes, seed compatibility, and
//! the seed bugs we must not repeat (seed-behaviour A.10, E.1, E.2).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clawrun::error::RegistryError;
use clawrun::sessions::{self, Entry, EntryUpdate, Registry, Status};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

const CHILDREN: usize = 32;
const PER_CHILD: usize = 20;
const SHARED_UPDATES_PER_CHILD: u64 = 5;
const CHILD_ENV: &str = "CLAWRUN_REGISTRY_CHILD";
const CHILD_PATH_ENV: &str = "CLAWRUN_REGISTRY_PATH";

fn claude(path: &Path) -> Registry {
    Registry::new(path.to_path_buf(), "claude", "session_id")
}

fn codex(path: &Path) -> Registry {
    Registry::new(path.to_path_buf(), "codex", "thread_id")
}

fn temp_registry() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("claude_sessions.json");
    (dir, path)
}

/// A naive local ISO time `hours` ago, as the seed writes it.
fn hours_ago(hours: f64) -> String {
    sessions::format_local_iso(sessions::now_micros() - (hours * 3_600_000_000.0) as i64).unwrap()
}

fn ids(entries: &[Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.id.as_str()).collect()
}

fn write_json(path: &Path, v: &Value) {
    fs::write(path, serde_json::to_string_pretty(v).unwrap()).unwrap();
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Not a test on its own: the body of each child process spawned by
/// `concurrent_processes_lose_nothing`. Without the env variable it does nothing.
#[test]
fn registry_child_writer() {
    let Ok(index) = std::env::var(CHILD_ENV) else {
        return;
    };
    let path = PathBuf::from(std::env::var(CHILD_PATH_ENV).unwrap());
    let reg = claude(&path);
    for j in 0..PER_CHILD {
        let id = format!("child-{index}-{j}");
        reg.upsert(
            &id,
            &EntryUpdate {
                label: Some(format!("child {index} entry {j}")),
                task: Some(format!("task {j} of child {index}")),
                status: Some(Status::Completed),
                input_tokens: Some(j as u64),
                ..EntryUpdate::default()
            },
        )
        .unwrap();
        if j % 4 == 0 {
            // A read-modify-write of the shared entry: a lost update would show
            // in the final counter.
            let updated = reg
                .update("shared", |e| {
                    let hits = e.extra.get("hits").and_then(Value::as_u64).unwrap_or(0);
                    e.extra.insert("hits".into(), json!(hits + 1));
                    e.status = Some(Status::Completed);
                })
                .unwrap();
            assert!(updated.is_some(), "the parent created the shared entry");
            // A resume-like upsert with no label must keep the label.
            reg.upsert(
                "shared",
                &EntryUpdate {
                    cost_usd: Some(1.5),
                    ..EntryUpdate::default()
                },
            )
            .unwrap();
        }
    }
}

#[test]
fn concurrent_processes_lose_nothing() {
    let (dir, path) = temp_registry();
    let reg = claude(&path);
    let shared = reg
        .upsert(
            "shared",
            &EntryUpdate {
                label: Some("shared label".into()),
                openclaw_session: Some("agent:main:main".into()),
                ..EntryUpdate::default()
            },
        )
        .unwrap();

    let exe = std::env::current_exe().unwrap();
    let mut children: Vec<_> = (0..CHILDREN)
        .map(|i| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "suite::session_registry::registry_child_writer",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD_ENV, i.to_string())
                .env(CHILD_PATH_ENV, &path)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();

    // While they write, every read must see a complete file in the schema.
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut reads = 0;
    let mut running = CHILDREN;
    while running > 0 {
        assert!(Instant::now() < deadline, "children did not finish");
        let v = read_json(&path);
        let sessions = v["sessions"]
            .as_object()
            .expect("sessions object at every read");
        for (k, e) in sessions {
            assert_eq!(e["session_id"].as_str(), Some(k.as_str()), "entry {k}: {e}");
        }
        assert_eq!(sessions["shared"]["label"], "shared label");
        reg.list(None).unwrap();
        reads += 1;
        // Leave the CPU to the writers (2 cores, shared).
        std::thread::sleep(Duration::from_millis(20));
        running = children
            .iter_mut()
            .map(|c| c.try_wait().unwrap().is_none())
            .filter(|r| *r)
            .count();
    }
    assert!(
        reads > 1,
        "the parent should have read while children wrote"
    );
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let all = reg.list(None).unwrap();
    assert_eq!(all.len(), CHILDREN * PER_CHILD + 1);
    for i in 0..CHILDREN {
        for j in 0..PER_CHILD {
            let e = reg
                .get(&format!("child-{i}-{j}"))
                .unwrap()
                .expect("every child entry present");
            assert_eq!(
                e.label.as_deref(),
                Some(format!("child {i} entry {j}").as_str())
            );
            assert_eq!(e.input_tokens, Some(j as u64));
            assert_eq!(e.backend.as_deref(), Some("claude"));
        }
    }
    let s = reg.get("shared").unwrap().unwrap();
    let expected_hits = CHILDREN as u64 * SHARED_UPDATES_PER_CHILD;
    assert_eq!(
        s.extra.get("hits"),
        Some(&json!(expected_hits)),
        "no lost updates"
    );
    assert_eq!(s.label.as_deref(), Some("shared label"));
    assert_eq!(s.openclaw_session.as_deref(), Some("agent:main:main"));
    assert_eq!(s.created_at, shared.created_at);
    assert_eq!(s.status, Some(Status::Completed));
    assert_eq!(s.cost_usd, Some(1.5));
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&reg.lock_path()), 0o600);
    // No temp files left behind.
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn resume_keeps_created_at_label_and_session() {
    let (_dir, path) = temp_registry();
    let reg = claude(&path);
    let first = reg
        .upsert(
            "s1",
            &EntryUpdate {
                label: Some("fix login".into()),
                task: Some("Fix the login bug".into()),
                project_dir: Some("/work/app".into()),
                openclaw_session: Some("agent:main:telegram:group:-100:topic:7".into()),
                output_file: Some("/tmp/out.txt".into()),
                run_id: Some("r1".into()),
                ..EntryUpdate::default()
            },
        )
        .unwrap();
    assert_eq!(
        first.status,
        Some(Status::Running),
        "a new entry starts running"
    );
    assert_eq!(first.created_at, first.last_accessed);
    std::thread::sleep(Duration::from_millis(20));

    let resumed = reg
        .upsert(
            "s1",
            &EntryUpdate {
                status: Some(Status::Completed),
                run_id: Some("r2".into()),
                cost_usd: Some(0.25),
                input_tokens: Some(10),
                output_tokens: Some(20),
                duration_s: Some(3.5),
                ..EntryUpdate::default()
            },
        )
        .unwrap();
    assert_eq!(resumed.created_at, first.created_at);
    assert!(resumed.last_accessed_micros().unwrap() > first.last_accessed_micros().unwrap());
    assert_eq!(resumed.label.as_deref(), Some("fix login"));
    assert_eq!(resumed.openclaw_session, first.openclaw_session);
    assert_eq!(resumed.task_summary.as_deref(), Some("Fix the login bug"));
    assert_eq!(resumed.project_dir.as_deref(), Some("/work/app"));
    assert_eq!(resumed.output_file.as_deref(), Some("/tmp/out.txt"));
    assert_eq!(resumed.run_id.as_deref(), Some("r2"));
    assert_eq!(resumed.status, Some(Status::Completed));
    assert_eq!(
        reg.get("s1").unwrap().unwrap(),
        resumed,
        "what upsert returns is what is stored"
    );

    // A resume that got a new id inherits label, session key and project.
    let forked = reg
        .upsert(
            "s2",
            &EntryUpdate {
                resumed_from: Some("s1".into()),
                task: Some("continue".into()),
                ..EntryUpdate::default()
            },
        )
        .unwrap();
    assert_eq!(forked.label.as_deref(), Some("fix login"));
    assert_eq!(forked.openclaw_session, first.openclaw_session);
    assert_eq!(forked.project_dir.as_deref(), Some("/work/app"));
    assert_eq!(forked.resumed_from.as_deref(), Some("s1"));
    assert_ne!(forked.created_at, None);
    // An explicit label wins over the inherited one.
    let relabelled = reg
        .upsert(
            "s3",
            &EntryUpdate {
                resumed_from: Some("s1".into()),
                label: Some("other".into()),
                ..EntryUpdate::default()
            },
        )
        .unwrap();
    assert_eq!(relabelled.label.as_deref(), Some("other"));
}

#[test]
fn update_changes_only_existing_entries() {
    let (_dir, path) = temp_registry();
    let reg = claude(&path);
    assert_eq!(
        reg.update("nope", |e| e.status = Some(Status::Killed))
            .unwrap(),
        None
    );
    assert!(!path.exists(), "updating a missing id writes nothing");
    reg.upsert("a", &EntryUpdate::default()).unwrap();
    let e = reg
        .update("a", |e| {
            e.status = Some(Status::Killed);
            e.id = "hijacked".into();
        })
        .unwrap()
        .unwrap();
    assert_eq!(e.id, "a", "the id cannot be changed");
    assert_eq!(reg.get("a").unwrap().unwrap().status, Some(Status::Killed));
    assert_eq!(reg.get("hijacked").unwrap(), None);
}

#[test]
fn entry_fields_are_seed_shaped() {
    let (dir, path) = temp_registry();
    let reg = claude(&path);
    let task = "é".repeat(150) + &"x".repeat(100);
    let rel = PathBuf::from("some/project");
    let e = reg
        .upsert(
            "abc",
            &EntryUpdate {
                task: Some(task),
                project_dir: Some(rel.clone()),
                status: Some(Status::ResumeFailed),
                ..EntryUpdate::default()
            },
        )
        .unwrap();
    let summary = e.task_summary.clone().unwrap();
    assert_eq!(summary.chars().count(), 200);
    assert_eq!(summary, "é".repeat(150) + &"x".repeat(50));
    assert_eq!(
        e.project_dir,
        Some(std::path::absolute(&rel).unwrap().display().to_string())
    );
    // Seed timestamps: `YYYY-MM-DDTHH:MM:SS.ffffff` (or without the fraction).
    let created = e.created_at.clone().unwrap();
    assert!(created.len() == 26 || created.len() == 19, "{created}");
    assert_eq!(&created[10..11], "T");
    assert!(
        (sessions::now_micros() - sessions::parse_iso_micros(&created).unwrap()).abs() < 60_000_000
    );

    let text = fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("{\n  \"sessions\": {\n    \"abc\": {\n      \"session_id\": \"abc\",\n      \"label\": null,"), "{text}");
    assert!(
        text.contains("\\u00e9"),
        "non-ASCII is escaped like Python's json.dumps"
    );
    assert!(text.is_ascii());
    let v = read_json(&path);
    let stored = &v["sessions"]["abc"];
    for k in [
        "label",
        "task_summary",
        "project_dir",
        "created_at",
        "last_accessed",
        "status",
        "openclaw_session",
        "output_file",
        "cost_estimate",
    ] {
        assert!(stored.get(k).is_some(), "seed field {k} always written");
    }
    assert_eq!(stored["status"], "resume_failed");
    assert_eq!(stored["cost_estimate"], Value::Null);
    assert_eq!(stored["backend"], "claude");
    assert!(
        stored.get("cost_usd").is_none(),
        "unset new fields are left out"
    );
    // `--json` gives exactly the stored object.
    assert_eq!(serde_json::to_value(&e).unwrap(), *stored);
    assert_eq!(mode(&path), 0o600);
    drop(dir);
}

#[test]
fn null_labels_never_crash() {
    let (_dir, path) = temp_registry();
    write_json(
        &path,
        &json!({"sessions": {
            "n1": {"session_id": "n1", "label": null, "last_accessed": hours_ago(1.0)},
            "n2": {"session_id": "n2"},
            "l1": {"session_id": "l1", "label": "Null hunting", "last_accessed": hours_ago(2.0)},
        }}),
    );
    let reg = claude(&path);
    assert_eq!(ids(&reg.find_by_label("null").unwrap()), ["l1"]);
    assert_eq!(ids(&reg.list(None).unwrap()), ["n1", "l1", "n2"]);
    let e = reg
        .upsert(
            "n1",
            &EntryUpdate {
                status: Some(Status::Failed),
                ..EntryUpdate::default()
            },
        )
        .unwrap();
    assert_eq!(e.label, None);
    assert_eq!(read_json(&path)["sessions"]["n1"]["label"], Value::Null);
}

#[test]
fn label_search_prefers_exact_then_newest() {
    let (_dir, path) = temp_registry();
    write_json(
        &path,
        &json!({"sessions": {
            "old-exact": {"session_id": "old-exact", "label": "Deploy", "last_accessed": hours_ago(50.0)},
            "old-sub": {"session_id": "old-sub", "label": "redeploy web", "last_accessed": hours_ago(40.0)},
            "new-exact": {"session_id": "new-exact", "label": " deploy ", "last_accessed": hours_ago(1.0)},
            "new-sub": {"session_id": "new-sub", "label": "Deploy API", "last_accessed": hours_ago(0.5)},
            "other": {"session_id": "other", "label": "refactor", "last_accessed": hours_ago(0.1)},
            "no-time": {"session_id": "no-time", "label": "deploy docs", "last_accessed": "sometime"},
        }}),
    );
    let reg = claude(&path);
    assert_eq!(
        ids(&reg.find_by_label("DEPLOY").unwrap()),
        ["new-exact", "old-exact", "new-sub", "old-sub", "no-time"]
    );
    assert_eq!(ids(&reg.find_by_label("deploy api").unwrap()), ["new-sub"]);
    assert!(reg.find_by_label("  ").unwrap().is_empty());
    assert!(reg.find_by_label("nothing like it").unwrap().is_empty());
}

#[test]
fn since_hours_filters_by_last_accessed_and_keeps_undated() {
    let (_dir, path) = temp_registry();
    let no_fraction = hours_ago(2.0)[..19].to_owned();
    write_json(
        &path,
        &json!({"sessions": {
            "old": {"session_id": "old", "last_accessed": hours_ago(100.0)},
            "recent": {"session_id": "recent", "last_accessed": hours_ago(1.0)},
            "seconds-only": {"session_id": "seconds-only", "last_accessed": no_fraction},
            "garbage": {"session_id": "garbage", "last_accessed": "not a date"},
            "missing": {"session_id": "missing"},
            "utc": {"session_id": "utc", "last_accessed": "2001-01-01T00:00:00Z"},
        }}),
    );
    let reg = claude(&path);
    assert_eq!(
        ids(&reg.list(Some(72.0)).unwrap()),
        ["recent", "seconds-only", "garbage", "missing"]
    );
    assert_eq!(ids(&reg.list(Some(0.5)).unwrap()), ["garbage", "missing"]);
    assert_eq!(
        ids(&reg.list(None).unwrap()),
        ["recent", "seconds-only", "old", "utc", "garbage", "missing"]
    );
    assert_eq!(reg.list(Some(f64::INFINITY)).unwrap().len(), 6);
}

#[test]
fn corrupt_files_are_refused_and_never_touched() {
    let cases: [&[u8]; 8] = [
        b"",
        b"{\"sessions\": {\"a\": {\"session_id\": \"a\"",
        b"not json",
        b"[]",
        b"{\"other\": {}}",
        b"{\"sessions\": []}",
        b"{\"sessions\": null}",
        b"{\"sessions\": {}} trailing",
    ];
    for bytes in cases {
        let (_dir, path) = temp_registry();
        fs::write(&path, bytes).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let ino = fs::metadata(&path).unwrap().ino();
        let reg = claude(&path);
        let shown = String::from_utf8_lossy(bytes);
        let err = reg.upsert("x", &EntryUpdate::default()).unwrap_err();
        assert!(
            matches!(err, RegistryError::Corrupt { .. }),
            "{shown:?}: {err}"
        );
        assert!(err.to_string().contains("refusing to overwrite"), "{err}");
        assert!(
            matches!(reg.get("x"), Err(RegistryError::Corrupt { .. })),
            "{shown:?}"
        );
        assert!(
            matches!(reg.list(None), Err(RegistryError::Corrupt { .. })),
            "{shown:?}"
        );
        assert!(
            matches!(reg.find_by_label("a"), Err(RegistryError::Corrupt { .. })),
            "{shown:?}"
        );
        assert!(
            matches!(reg.retain(|_| false), Err(RegistryError::Corrupt { .. })),
            "{shown:?}"
        );
        assert!(
            matches!(reg.update("a", |_| ()), Err(RegistryError::Corrupt { .. })),
            "{shown:?}"
        );
        assert_eq!(fs::read(&path).unwrap(), bytes, "{shown:?} untouched");
        assert_eq!(
            fs::metadata(&path).unwrap().ino(),
            ino,
            "{shown:?} not replaced"
        );
        assert_eq!(mode(&path), 0o644, "{shown:?} not even chmod-ed");
    }
}

#[test]
fn unreadable_entries_are_kept_and_refused_individually() {
    let (_dir, path) = temp_registry();
    write_json(
        &path,
        &json!({"sessions": {
            "bad-type": {"session_id": "bad-type", "cost_usd": "a lot"},
            "not-object": "just a string",
            "good": {"session_id": "good", "label": "ok"},
        }}),
    );
    let before = fs::read(&path).unwrap();
    let reg = claude(&path);
    assert_eq!(ids(&reg.list(None).unwrap()), ["good"]);
    assert!(matches!(
        reg.get("bad-type"),
        Err(RegistryError::Corrupt { .. })
    ));
    assert!(matches!(
        reg.upsert("not-object", &EntryUpdate::default()),
        Err(RegistryError::Corrupt { .. })
    ));
    assert_eq!(
        fs::read(&path).unwrap(),
        before,
        "refused update wrote nothing"
    );

    reg.upsert("new", &EntryUpdate::default()).unwrap();
    assert_eq!(reg.retain(|_| false).unwrap(), 2, "readable entries only");
    let v = read_json(&path);
    assert_eq!(
        v["sessions"]["bad-type"],
        json!({"session_id": "bad-type", "cost_usd": "a lot"})
    );
    assert_eq!(v["sessions"]["not-object"], "just a string");
    assert_eq!(v["sessions"].as_object().unwrap().len(), 2);
}

#[test]
fn unknown_fields_and_order_are_preserved() {
    let (_dir, path) = temp_registry();
    // Written by hand in a fixed order (serde_json's Map would sort keys).
    fs::write(
        &path,
        r#"{"version": 3, "sessions": {
            "zeta": {"session_id": "zeta", "label": "café ☕", "custom": {"a": [1, 2.5, null]}, "cost_estimate": 0.5, "status": "paused"},
            "alpha": {"session_id": "alpha", "label": "first"}
        }, "meta": {"owner": "other-tool"}}"#,
    )
    .unwrap();
    let reg = claude(&path);
    let z = reg.get("zeta").unwrap().unwrap();
    assert_eq!(z.status, Some(Status::Other("paused".into())));
    reg.upsert(
        "zeta",
        &EntryUpdate {
            run_id: Some("r9".into()),
            ..EntryUpdate::default()
        },
    )
    .unwrap();
    reg.upsert("beta", &EntryUpdate::default()).unwrap();

    let v = read_json(&path);
    assert_eq!(v["version"], 3);
    assert_eq!(v["meta"], json!({"owner": "other-tool"}));
    let zeta = &v["sessions"]["zeta"];
    assert_eq!(zeta["custom"], json!({"a": [1, 2.5, null]}));
    assert_eq!(zeta["cost_estimate"], 0.5);
    assert_eq!(zeta["status"], "paused", "unknown statuses round-trip");
    assert_eq!(zeta["label"], "café ☕");
    assert_eq!(zeta["run_id"], "r9");
    // Insertion order kept (the seed's label search walks it), new ids appended.
    let text = fs::read_to_string(&path).unwrap();
    assert!(
        text.contains(r#""alpha": {"session_id": "alpha", "label": "first"}"#),
        "an entry no write touched is copied verbatim: {text}"
    );
    let pos = |k: &str| text.find(&format!("\"{k}\": {{")).unwrap();
    assert!(
        pos("zeta") < pos("alpha") && pos("alpha") < pos("beta"),
        "{text}"
    );
}

#[test]
fn codex_legacy_session_id_gains_thread_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("codex_sessions.json");
    write_json(
        &path,
        &json!({"sessions": {
            "t-legacy": {"session_id": "t-legacy", "label": "old codex", "status": "completed"},
            "t-new": {"thread_id": "t-new", "label": "new codex"},
        }}),
    );
    let reg = codex(&path);
    let legacy = reg.get("t-legacy").unwrap().unwrap();
    assert_eq!(legacy.id, "t-legacy");
    assert_eq!(legacy.id_field(), "thread_id");
    assert_eq!(legacy.label.as_deref(), Some("old codex"));
    assert_eq!(
        serde_json::to_value(&legacy).unwrap()["thread_id"],
        "t-legacy"
    );
    assert_eq!(ids(&reg.find_by_label("codex").unwrap()).len(), 2);

    reg.upsert("t-other", &EntryUpdate::default()).unwrap();
    let v = read_json(&path);
    assert_eq!(v["sessions"]["t-legacy"]["thread_id"], "t-legacy");
    assert_eq!(
        v["sessions"]["t-legacy"]["session_id"], "t-legacy",
        "the legacy field is kept"
    );
    assert_eq!(v["sessions"]["t-other"]["thread_id"], "t-other");
    assert!(v["sessions"]["t-other"].get("session_id").is_none());
    assert_eq!(v["sessions"]["t-other"]["backend"], "codex");
}

#[test]
fn retain_removes_and_counts() {
    let (_dir, path) = temp_registry();
    let reg = claude(&path);
    for (id, status) in [
        ("a", Status::Completed),
        ("b", Status::Failed),
        ("c", Status::Timeout),
        ("d", Status::Failed),
    ] {
        reg.upsert(
            id,
            &EntryUpdate {
                status: Some(status),
                ..EntryUpdate::default()
            },
        )
        .unwrap();
    }
    assert_eq!(reg.retain(|e| e.status != Some(Status::Failed)).unwrap(), 2);
    let mut left = ids(&reg.list(None).unwrap())
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>();
    left.sort();
    assert_eq!(left, ["a", "c"]);
    let ino = fs::metadata(&path).unwrap().ino();
    assert_eq!(reg.retain(|_| true).unwrap(), 0);
    assert_eq!(
        fs::metadata(&path).unwrap().ino(),
        ino,
        "nothing removed, nothing written"
    );
}

#[test]
fn reads_never_write() {
    let (_dir, path) = temp_registry();
    let reg = claude(&path);
    assert_eq!(reg.get("x").unwrap(), None);
    assert!(reg.list(Some(1.0)).unwrap().is_empty());
    assert!(!path.exists(), "a missing registry stays missing on reads");
    assert!(!reg.lock_path().exists());

    reg.upsert(
        "x",
        &EntryUpdate {
            label: Some("l".into()),
            ..EntryUpdate::default()
        },
    )
    .unwrap();
    let (bytes, ino) = (fs::read(&path).unwrap(), fs::metadata(&path).unwrap().ino());
    std::thread::sleep(Duration::from_millis(5));
    reg.get("x").unwrap().unwrap();
    reg.list(None).unwrap();
    reg.find_by_label("l").unwrap();
    assert_eq!(
        fs::read(&path).unwrap(),
        bytes,
        "get does not bump last_accessed"
    );
    assert_eq!(fs::metadata(&path).unwrap().ino(), ino);
}

#[test]
fn first_write_creates_private_dir_only_when_missing() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("fresh/home/claude_sessions.json");
    let reg = claude(&path);
    reg.upsert("x", &EntryUpdate::default()).unwrap();
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&reg.lock_path()), 0o600);
    assert_eq!(
        reg.lock_path(),
        root.path().join("fresh/home/claude_sessions.json.lock")
    );

    let existing = root.path().join("shared-home");
    fs::create_dir(&existing).unwrap();
    fs::set_permissions(&existing, fs::Permissions::from_mode(0o755)).unwrap();
    claude(&existing.join("claude_sessions.json"))
        .upsert("y", &EntryUpdate::default())
        .unwrap();
    assert_eq!(
        mode(&existing),
        0o755,
        "the user's existing OpenClaw home is not re-moded"
    );
}

#[test]
fn threads_in_one_process_also_serialize() {
    let (_dir, path) = temp_registry();
    std::thread::scope(|s| {
        for t in 0..8 {
            let path = &path;
            s.spawn(move || {
                let reg = claude(path);
                for j in 0..10 {
                    reg.upsert(&format!("t{t}-{j}"), &EntryUpdate::default())
                        .unwrap();
                }
            });
        }
    });
    assert_eq!(claude(&path).list(None).unwrap().len(), 80);
}

/// A registry that is a symlink (a dotfiles manager's) stays a symlink: the
/// new entry is written atomically next to the file it points at.
#[test]
fn a_symlinked_registry_is_written_through_its_link() {
    use crate::common::{Sandbox, fixture};
    let sb = Sandbox::new();
    let dotfiles = sb.root.join("dotfiles");
    fs::create_dir_all(&dotfiles).unwrap();
    fs::create_dir_all(sb.openclaw_home()).unwrap();
    let target = dotfiles.join("claude_sessions.json");
    write_json(
        &target,
        &json!({"sessions": {"keep-me": {"session_id": "keep-me", "label": "kept"}}}),
    );
    let link = sb.openclaw_home().join("claude_sessions.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    // iterations.json (shared state in the state dir) too.
    fs::create_dir_all(sb.state_dir()).unwrap();
    let iter_target = dotfiles.join("iterations.json");
    let empty = "{\"chains\": {}, \"counts\": {}}";
    fs::write(&iter_target, empty).unwrap();
    std::os::unix::fs::symlink(&iter_target, sb.state_dir().join("iterations.json")).unwrap();
    let out = sb
        .run(&["-t", "x", "--json", "--completion-mode", "iterate"])
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (link, target, written) in [
        (link, target, "b97f592b"),
        (sb.state_dir().join("iterations.json"), iter_target, "|"),
    ] {
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink(),
            "{} was replaced by a regular file",
            link.display()
        );
        let text = fs::read_to_string(&target).unwrap();
        assert!(
            text.contains(written),
            "{} not written: {text}",
            target.display()
        );
    }
    let reg = read_json(&dotfiles.join("claude_sessions.json"));
    assert_eq!(reg["sessions"]["keep-me"]["label"], "kept", "{reg}");
    // No temporary file was left beside either.
    for dir in [&dotfiles, &sb.openclaw_home()] {
        let tmp: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(tmp.is_empty(), "{tmp:?}");
    }
}
