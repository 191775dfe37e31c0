//! `clawrun gc`: which runs and registry entries go, which stay and why, safe
//! removal (symlinks), dry runs, exact figures, a concurrent registry writer,
//! and the once-a-day automatic pass.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clawrun::Outcome;
use clawrun::Paths;
use clawrun::channels::{Destination, Wake};
use clawrun::config::Config;
use clawrun::runs::{self, GC_LOCK_NAME, GC_STAMP_NAME, GcOptions, GcReport};
use clawrun::runs::{RunDir, RunRecord, RunStatus};
use clawrun::sessions::{self, EntryUpdate, Registry, Status};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::common::{Sandbox, fixture};

const DAY: i64 = 86_400;
const WRITER_ENV: &str = "CLAWRUN_GC_WRITER";
const WRITER_PATH_ENV: &str = "CLAWRUN_GC_WRITER_PATH";
const WRITER_ENTRIES: usize = 120;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn paths_of(sb: &Sandbox) -> Paths {
    Paths {
        openclaw_home: sb.openclaw_home(),
        openclaw_config: sb.openclaw_home().join("openclaw.json"),
        state_dir: sb.state_dir(),
        config_file: sb.openclaw_home().join("clawrun.toml"),
    }
}

fn runs_dir(sb: &Sandbox) -> PathBuf {
    sb.state_dir().join("runs")
}

/// A run id `days` days old (the id's own time does not matter to gc).
fn run_id(n: u32) -> String {
    format!("20260101-000000-{n:06x}")
}

/// A finished (or not) run directory made directly, `age_days` old by its
/// record and by the mtime of every file in it.
fn make_run(sb: &Sandbox, id: &str, status: RunStatus, age_days: i64, stream: &[u8]) -> RunDir {
    let dir = RunDir::create(&runs_dir(sb), id).unwrap();
    let at = now() - age_days * DAY;
    // Built from JSON rather than a struct literal, so fields added later
    // with defaults do not break this helper.
    let record: RunRecord = serde_json::from_value(json!({
        "run_id": id, "backend": "claude", "status": status, "label": null,
        "project": sb.root, "task_summary": "x", "session_key": null,
        "resumed_from": null, "resume_id": null, "model": null, "cli_version": null,
        // Never a live process: gc must not mistake it for a running runner.
        "runner_pid": 999_999,
        // No agent: reaping a stale record must not signal anything.
        "agent_pid": null,
        "created_at": at - 60, "started_at": at - 60,
        "ended_at": if status.is_done() { Some(at) } else { None },
        "updated_at": at, "exit_code": null,
        "usage": {"input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0},
        "cost_usd": null, "tool_calls": 0, "timeout_secs": 60,
        "output_file": dir.file("output.txt"), "error": null
    }))
    .unwrap();
    dir.write_record(&record).unwrap();
    fs::write(dir.file("stream.jsonl"), stream).unwrap();
    fs::write(dir.file("output.txt"), b"DONE").unwrap();
    age_files(&dir.path, at);
    dir
}

/// Set the mtime of every file under `dir` to `at`.
fn age_files(dir: &Path, at: i64) {
    let t = UNIX_EPOCH + Duration::from_secs(at as u64);
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            fs::File::options()
                .write(true)
                .open(entry.path())
                .unwrap()
                .set_modified(t)
                .unwrap();
        }
    }
}

/// Rewrite a record's times so the run looks `age_days` old.
fn age_record(dir: &Path, age_days: i64) {
    let at = now() - age_days * DAY;
    let path = dir.join("run.json");
    let mut rec: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    rec["created_at"] = (at - 60).into();
    rec["updated_at"] = at.into();
    if !rec["ended_at"].is_null() {
        rec["ended_at"] = at.into();
    }
    fs::write(&path, serde_json::to_vec_pretty(&rec).unwrap()).unwrap();
    age_files(dir, at);
}

fn pending_wake(dir: &RunDir) {
    // One `enqueued` line of `outbox.jsonl`, as a runner writes it.
    let wake = Wake {
        idempotency_key: "r:wake:1".into(),
        session_key: Some("agent:main:main".into()),
        session_id: None,
        destination: Destination::default(),
        argv_text: None,
        text: "done".into(),
    };
    let mut line = json!({"op": "enqueued", "key": "r:wake:1", "seq": 1, "at": now(),
        "channel": "whatsapp-gateway", "item": "wake"});
    for (k, v) in serde_json::to_value(&wake).unwrap().as_object().unwrap() {
        line[k] = v.clone();
    }
    fs::write(dir.file("outbox.jsonl"), format!("{line}\n")).unwrap();
}

/// Sum of the regular files' sizes under `dir`, symlinks not followed.
fn regular_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = fs::symlink_metadata(entry.path()).unwrap();
        if meta.is_dir() {
            total += regular_bytes(&entry.path());
        } else if meta.is_file() {
            total += meta.len();
        }
    }
    total
}

/// Every path under `dir` (symlinks not followed) with its content or target
/// and mtime: equal snapshots mean nothing changed.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, Option<SystemTime>)> {
    let mut out = BTreeMap::new();
    let Ok(read) = fs::read_dir(dir) else {
        return out;
    };
    for entry in read {
        let p = entry.unwrap().path();
        let meta = fs::symlink_metadata(&p).unwrap();
        if meta.file_type().is_symlink() {
            let target = fs::read_link(&p).unwrap();
            out.insert(p, (target.into_os_string().into_encoded_bytes(), None));
        } else if meta.is_dir() {
            out.insert(p.clone(), (Vec::new(), None));
            out.extend(snapshot(&p));
        } else if meta.is_file() {
            out.insert(p.clone(), (fs::read(&p).unwrap(), meta.modified().ok()));
        } else {
            // A socket (control.sock): its presence is what counts.
            out.insert(p, (Vec::new(), None));
        }
    }
    out
}

fn gc_json(sb: &Sandbox, args: &[&str]) -> Value {
    let out = sb
        .cmd()
        .arg("gc")
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A detached run that hangs until it is stopped (SIGTERM on drop).
struct LiveRun {
    dir: PathBuf,
    runner_pid: i32,
}

impl LiveRun {
    fn start(sb: &Sandbox) -> Self {
        let out = sb
            .run(&["-t", "hang", "--detach", "--json", "--heartbeat", "0"])
            .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
            .env("FAKE_MODE", "hang")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let proof: Value = serde_json::from_slice(&out.stdout).unwrap();
        Self {
            dir: PathBuf::from(proof["run_dir"].as_str().unwrap()),
            runner_pid: proof["runner_pid"].as_i64().unwrap() as i32,
        }
    }
}

impl Drop for LiveRun {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.runner_pid);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline && nix::sys::signal::kill(pid, None).is_ok() {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn gc_removes_only_old_finished_runs_and_never_follows_symlinks() {
    let sb = Sandbox::new();
    let runs = runs_dir(&sb);
    // A real run of the fake agent (its files: stream, stderr, output,
    // notifications, outbox…), aged 40 days.
    let out = sb
        .run(&["-t", "old real run"])
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let real = fs::read_dir(&runs).unwrap().next().unwrap().unwrap().path();
    let real_id = real.file_name().unwrap().to_string_lossy().into_owned();
    age_record(&real, 40);

    // Something outside the state dir that must survive.
    let outside = sb.root.join("precious");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("keep.txt"), vec![b'k'; 5000]).unwrap();

    let old = make_run(
        &sb,
        &run_id(1),
        RunStatus::Done(Outcome::Completed),
        40,
        &[b's'; 1234],
    );
    // A symlink inside an old run: removed as a link, its target untouched
    // and not counted.
    std::os::unix::fs::symlink(outside.join("keep.txt"), old.file("link")).unwrap();
    std::os::unix::fs::symlink(&outside, old.file("dirlink")).unwrap();
    let young = make_run(
        &sb,
        &run_id(2),
        RunStatus::Done(Outcome::Failed),
        2,
        b"young",
    );
    let pending = make_run(
        &sb,
        &run_id(3),
        RunStatus::Done(Outcome::Completed),
        40,
        b"pending",
    );
    pending_wake(&pending);
    age_files(&pending.path, now() - 40 * DAY);
    // Its runner died long ago without finishing: reaped (here by `status`,
    // so its record no longer changes size under gc), then collected.
    let dead = make_run(&sb, &run_id(4), RunStatus::Running, 40, b"dead");
    let st = sb.cmd().args(["status", "--json"]).output().unwrap();
    assert_eq!(st.status.code(), Some(0));
    age_record(&dead.path, 40);
    // A live run, even with an old-looking record, stays.
    let live = LiveRun::start(&sb);
    age_record(&live.dir, 40);
    // Planted: a symlink named like a run, to a directory holding a run.json.
    let fake_target = sb.root.join("fake-run");
    fs::create_dir_all(&fake_target).unwrap();
    fs::copy(old.file("run.json"), fake_target.join("run.json")).unwrap();
    std::os::unix::fs::symlink(&fake_target, runs.join(run_id(5))).unwrap();
    // Not runs: a stray directory with a record, and a run dir without one.
    fs::create_dir_all(runs.join("notes")).unwrap();
    fs::copy(old.file("run.json"), runs.join("notes/run.json")).unwrap();
    fs::create_dir_all(runs.join(run_id(6))).unwrap();

    let expected_bytes =
        regular_bytes(&real) + regular_bytes(&old.path) + regular_bytes(&dead.path);
    let expected_kept = json!({
        "running": 1, "pending_outbox": 1, "recent": 1, "unreadable": 0, "not_a_run": 3,
        "worktree": 0
    });

    // Dry run: the same figures, and nothing on disk changes (not even the
    // dead run's record, which a real pass reaps, nor a lock file).
    // (The live runner keeps its own files, in and out of runs/, up to date:
    // only runs/ outside its directory is compared.)
    // (`clawrun run`'s daily automatic pass may have left its lock and stamp:
    // remove them, so the dry run can be seen to create neither.)
    let _ = std::fs::remove_file(sb.state_dir().join(GC_LOCK_NAME));
    let _ = std::fs::remove_file(sb.state_dir().join(GC_STAMP_NAME));
    let before = snapshot(&runs);
    let dry = gc_json(&sb, &["--dry-run"]);
    let after = snapshot(&runs);
    // The live run may have written to its own directory meanwhile.
    let outside_live = |s: &BTreeMap<PathBuf, _>| -> Vec<PathBuf> {
        s.keys()
            .filter(|p| !p.starts_with(&live.dir))
            .cloned()
            .collect()
    };
    assert_eq!(outside_live(&before), outside_live(&after));
    for (p, v) in &before {
        if !p.starts_with(&live.dir) {
            assert_eq!(
                Some(v),
                after.get(p),
                "{} changed in a dry run",
                p.display()
            );
        }
    }
    assert!(!sb.state_dir().join(GC_LOCK_NAME).exists());
    assert!(!sb.state_dir().join(GC_STAMP_NAME).exists());
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["runs_removed"], 3);
    assert_eq!(dry["bytes_freed"], expected_bytes);
    assert_eq!(dry["kept_runs"], expected_kept);

    let report = gc_json(&sb, &[]);
    assert_eq!(report["dry_run"], false);
    assert_eq!(report["runs_removed"], 3, "{report:#}");
    let mut removed: Vec<String> = report["removed_runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    removed.sort();
    let mut want = vec![run_id(1), run_id(4), real_id];
    want.sort();
    assert_eq!(removed, want);
    assert_eq!(report["bytes_freed"], expected_bytes);
    assert_eq!(report["kept_runs"], expected_kept);
    assert_eq!(report["run_days"], 30);
    assert_eq!(report["registry_days"], 90);
    assert_eq!(report["errors"], json!([]));

    assert!(!old.path.exists() && !dead.path.exists() && !real.exists());
    assert!(young.path.join("run.json").is_file());
    assert!(pending.path.join("outbox.jsonl").is_file());
    assert!(live.dir.join("run.json").is_file());
    // The planted symlink and what it points at, and the outside file.
    assert!(
        fs::symlink_metadata(runs.join(run_id(5)))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(fake_target.join("run.json").is_file());
    assert_eq!(fs::read(outside.join("keep.txt")).unwrap().len(), 5000);
    assert!(runs.join("notes/run.json").is_file());
    assert!(runs.join(run_id(6)).is_dir());
    // No tombstone left behind.
    let names: Vec<String> = fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.starts_with(".gc-")), "{names:?}");
    assert_eq!(
        fs::metadata(sb.state_dir().join(GC_LOCK_NAME))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );

    // A second pass finds nothing more, and says why things stay.
    let again = sb.cmd().arg("gc").output().unwrap();
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(text.contains("removed 0 run directories (0 B)"), "{text}");
    assert!(
        text.contains("1 running, 1 with undelivered messages (`clawrun outbox flush` delivers them), 1 recent"),
        "{text}"
    );
}

#[test]
fn a_run_whose_runner_died_is_reaped_then_collected_by_its_age_before_reaping() {
    let sb = Sandbox::new();
    let old = make_run(&sb, &run_id(1), RunStatus::Running, 40, b"old");
    let young = make_run(&sb, &run_id(2), RunStatus::Starting, 2, b"young");
    // A dry run predicts, and leaves the records as they were.
    let before = (
        fs::read(old.file("run.json")).unwrap(),
        fs::read(young.file("run.json")).unwrap(),
    );
    let dry = gc_json(&sb, &["--dry-run"]);
    assert_eq!(dry["removed_runs"], json!([run_id(1)]));
    assert_eq!(dry["kept_runs"]["recent"], 1);
    assert_eq!(
        before,
        (
            fs::read(old.file("run.json")).unwrap(),
            fs::read(young.file("run.json")).unwrap()
        )
    );
    // The real pass reaps both; the old one goes (its age is from before
    // reaping, which stamps ended_at = now), the young one stays, crashed.
    let r = gc_json(&sb, &[]);
    assert_eq!(r["removed_runs"], json!([run_id(1)]));
    assert_eq!(r["kept_runs"]["recent"], 1);
    assert_eq!(r["kept_runs"]["running"], 0);
    assert!(!old.path.exists());
    let rec: Value = serde_json::from_slice(&fs::read(young.file("run.json")).unwrap()).unwrap();
    assert_eq!(rec["status"], "crashed");
}

#[test]
fn retention_comes_from_config_and_older_than_overrides_it() {
    let sb = Sandbox::new();
    fs::create_dir_all(sb.openclaw_home()).unwrap();
    fs::write(
        sb.openclaw_home().join("clawrun.toml"),
        "[retention]\nrun_days = 5\nregistry_days = 7\n",
    )
    .unwrap();
    make_run(
        &sb,
        &run_id(1),
        RunStatus::Done(Outcome::Completed),
        10,
        b"a",
    );
    make_run(&sb, &run_id(2), RunStatus::Done(Outcome::Timeout), 3, b"b");
    // --older-than 20 keeps the 10-day-old run.
    let r = gc_json(&sb, &["--older-than", "20"]);
    assert_eq!(
        (
            r["runs_removed"].clone(),
            r["run_days"].clone(),
            r["registry_days"].clone()
        ),
        (json!(0), json!(20), json!(20))
    );
    assert_eq!(r["kept_runs"]["recent"], 2);
    // The config's 5 days removes it, and keeps the 3-day-old one.
    let r = gc_json(&sb, &[]);
    assert_eq!(r["removed_runs"], json!([run_id(1)]));
    assert_eq!(
        (r["run_days"].clone(), r["registry_days"].clone()),
        (json!(5), json!(7))
    );
    // --older-than 0: everything finished goes.
    let r = gc_json(&sb, &["--older-than", "0"]);
    assert_eq!(r["removed_runs"], json!([run_id(2)]));
    // A bad config is a usage error, and nothing is removed.
    fs::write(
        sb.openclaw_home().join("clawrun.toml"),
        "[retention]\nrun_dayz = 1\n",
    )
    .unwrap();
    let out = sb.cmd().arg("gc").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("retention.run_dayz"));
}

fn iso_days_ago(days: i64) -> String {
    sessions::format_local_iso(sessions::now_micros() - days * DAY * 1_000_000).unwrap()
}

fn entry(last_accessed: Option<String>, status: &str, run_id: Option<String>) -> Value {
    json!({
        "label": null, "task_summary": "t", "project_dir": "/p",
        "created_at": last_accessed, "last_accessed": last_accessed,
        "status": status, "openclaw_session": null, "output_file": null,
        "cost_estimate": null, "run_id": run_id, "other_tool_field": 7
    })
}

#[test]
fn registry_entries_go_by_age_unless_running_undated_or_with_a_run_dir() {
    let sb = Sandbox::new();
    let paths = paths_of(&sb);
    make_run(
        &sb,
        &run_id(1),
        RunStatus::Done(Outcome::Completed),
        1,
        b"young",
    );
    make_run(
        &sb,
        &run_id(2),
        RunStatus::Done(Outcome::Completed),
        60,
        b"old",
    );
    fs::create_dir_all(sb.openclaw_home()).unwrap();
    let claude_path = sb.openclaw_home().join("claude_sessions.json");
    let claude = json!({"sessions": {
        "old": entry(Some(iso_days_ago(100)), "completed", None),
        "young": entry(Some(iso_days_ago(10)), "completed", None),
        "old-running": entry(Some(iso_days_ago(200)), "running", None),
        "old-with-run": entry(Some(iso_days_ago(100)), "failed", Some(run_id(1))),
        "old-run-removed-now": entry(Some(iso_days_ago(100)), "completed", Some(run_id(2))),
        "undated": entry(None, "completed", None),
        "garbled-date": entry(Some("yesterday-ish".into()), "completed", None),
    }, "other_top_level": true});
    fs::write(&claude_path, serde_json::to_string_pretty(&claude).unwrap()).unwrap();
    fs::set_permissions(&claude_path, fs::Permissions::from_mode(0o600)).unwrap();
    let codex_path = sb.openclaw_home().join("codex_sessions.json");
    let codex = json!({"sessions": {"t-old": entry(Some(iso_days_ago(91)), "timeout", None)}});
    fs::write(&codex_path, serde_json::to_string_pretty(&codex).unwrap()).unwrap();

    let config = Config::default();
    let before = (
        fs::read(&claude_path).unwrap(),
        fs::read(&codex_path).unwrap(),
    );
    let dry = runs::gc(
        &paths,
        &config,
        &GcOptions {
            older_than_days: None,
            dry_run: true,
        },
    )
    .unwrap();
    assert_eq!(
        before,
        (
            fs::read(&claude_path).unwrap(),
            fs::read(&codex_path).unwrap()
        )
    );
    let real = runs::gc(&paths, &config, &GcOptions::default()).unwrap();
    for r in [&dry, &real] {
        let mut ids: Vec<(String, String)> = r
            .removed_entries
            .iter()
            .map(|e| (e.backend.clone(), e.id.clone()))
            .collect();
        ids.sort();
        assert_eq!(
            ids,
            vec![
                ("claude".into(), "old".into()),
                ("claude".into(), "old-run-removed-now".into()),
                ("codex".into(), "t-old".into())
            ]
        );
        assert_eq!(r.registry_entries_removed, 3);
        assert_eq!(
            serde_json::to_value(r.kept_entries).unwrap(),
            json!({"running": 1, "run_dir_exists": 1, "recent": 1, "undated": 2})
        );
        assert_eq!(r.removed_runs, vec![run_id(2)]);
    }
    let v: Value = serde_json::from_slice(&fs::read(&claude_path).unwrap()).unwrap();
    let mut left: Vec<&str> = v["sessions"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    left.sort();
    assert_eq!(
        left,
        vec![
            "garbled-date",
            "old-running",
            "old-with-run",
            "undated",
            "young"
        ]
    );
    assert_eq!(v["other_top_level"], true);
    assert_eq!(v["sessions"]["young"]["other_tool_field"], 7);
    assert_eq!(
        fs::metadata(&claude_path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let v: Value = serde_json::from_slice(&fs::read(&codex_path).unwrap()).unwrap();
    assert_eq!(v["sessions"], json!({}));
}

#[test]
fn a_corrupt_registry_is_reported_and_left_alone() {
    let sb = Sandbox::new();
    fs::create_dir_all(sb.openclaw_home()).unwrap();
    let path = sb.openclaw_home().join("claude_sessions.json");
    fs::write(&path, "{not json").unwrap();
    make_run(
        &sb,
        &run_id(1),
        RunStatus::Done(Outcome::Completed),
        60,
        b"x",
    );
    let out = sb.cmd().args(["gc", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["runs_removed"], 1);
    assert!(
        r["errors"][0]
            .as_str()
            .unwrap()
            .contains("refusing to overwrite"),
        "{r}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), "{not json");
}

/// Not a test on its own: the body of the writer process spawned by
/// `gc_and_a_concurrent_registry_writer_lose_nothing`.
#[test]
fn gc_registry_writer_child() {
    let Ok(path) = std::env::var(WRITER_PATH_ENV) else {
        return;
    };
    assert!(std::env::var(WRITER_ENV).is_ok());
    let reg = Registry::new(PathBuf::from(path), "claude", "session_id");
    for i in 0..WRITER_ENTRIES {
        reg.upsert(
            &format!("w-{i}"),
            &EntryUpdate {
                label: Some(format!("writer {i}")),
                status: Some(Status::Completed),
                ..EntryUpdate::default()
            },
        )
        .unwrap();
    }
}

#[test]
fn gc_and_a_concurrent_registry_writer_lose_nothing() {
    let sb = Sandbox::new();
    let paths = paths_of(&sb);
    fs::create_dir_all(sb.openclaw_home()).unwrap();
    let path = sb.openclaw_home().join("claude_sessions.json");
    let reg = Registry::new(path.clone(), "claude", "session_id");
    let age = |id: &str| {
        reg.upsert(
            id,
            &EntryUpdate {
                status: Some(Status::Completed),
                ..EntryUpdate::default()
            },
        )
        .unwrap();
        reg.update(id, |e| e.last_accessed = Some(iso_days_ago(200)))
            .unwrap();
    };
    for k in 0..50 {
        age(&format!("old-{k}"));
    }
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "suite::gc::gc_registry_writer_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(WRITER_ENV, "1")
        .env(WRITER_PATH_ENV, &path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = child;
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut passes = 0;
    let mut pruned = 0;
    let mut k = 50;
    loop {
        assert!(Instant::now() < deadline, "the writer did not finish");
        // Every read sees a whole file in the schema.
        let v: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert!(v["sessions"].is_object());
        let r: GcReport = runs::gc(&paths, &Config::default(), &GcOptions::default()).unwrap();
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert!(
            r.removed_entries.iter().all(|e| e.id.starts_with("old-")),
            "{:?}",
            r.removed_entries
        );
        pruned += r.registry_entries_removed;
        passes += 1;
        // More old entries for the next pass to prune while the writer goes on.
        age(&format!("old-{k}"));
        k += 1;
        if child.try_wait().unwrap().is_some() {
            break;
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "writer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    pruned += runs::gc(&paths, &Config::default(), &GcOptions::default())
        .unwrap()
        .registry_entries_removed;
    assert!(passes > 1, "gc should have run while the writer wrote");
    assert_eq!(pruned, k, "every old entry pruned exactly once");
    let all = reg.list(None).unwrap();
    let mut ids: Vec<String> = all.iter().map(|e| e.id.clone()).collect();
    ids.sort();
    let mut want: Vec<String> = (0..WRITER_ENTRIES).map(|i| format!("w-{i}")).collect();
    want.sort();
    assert_eq!(ids, want, "every writer entry survives, and only those");
    for e in &all {
        let i: usize = e.id[2..].parse().unwrap();
        assert_eq!(e.label.as_deref(), Some(format!("writer {i}").as_str()));
    }
}

#[test]
fn auto_gc_runs_at_most_once_a_day() {
    let sb = Sandbox::new();
    let paths = paths_of(&sb);
    let config = Config::default();
    let first = make_run(
        &sb,
        &run_id(1),
        RunStatus::Done(Outcome::Completed),
        45,
        b"1",
    );
    let report = runs::auto_gc(&paths, &config).expect("the first pass runs");
    assert_eq!(report.removed_runs, vec![run_id(1)]);
    assert!(!first.path.exists());
    let stamp = sb.state_dir().join(GC_STAMP_NAME);
    assert_eq!(
        fs::metadata(&stamp).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let stamped: i64 = fs::read_to_string(&stamp).unwrap().trim().parse().unwrap();
    assert!((now() - stamped).abs() <= 5, "{stamped}");

    // Within the day: nothing runs, the old run stays.
    let second = make_run(
        &sb,
        &run_id(2),
        RunStatus::Done(Outcome::Completed),
        45,
        b"2",
    );
    assert_eq!(runs::auto_gc(&paths, &config), None);
    assert_eq!(runs::auto_gc(&paths, &config), None);
    assert!(second.path.exists());

    // 25 hours later (stamp moved back), but another pass holds the lock: skip.
    fs::write(&stamp, format!("{}\n", now() - 25 * 3600)).unwrap();
    let lock_file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(sb.state_dir().join(GC_LOCK_NAME))
        .unwrap();
    let mut lock = fd_lock::RwLock::new(lock_file);
    {
        let _held = lock.write().unwrap();
        assert_eq!(runs::auto_gc(&paths, &config), None);
        assert!(second.path.exists());
    }
    // Lock free: the pass runs, and the stamp moves to now.
    let report = runs::auto_gc(&paths, &config).expect("due again after 24 h");
    assert_eq!(report.removed_runs, vec![run_id(2)]);
    let stamped: i64 = fs::read_to_string(&stamp).unwrap().trim().parse().unwrap();
    assert!((now() - stamped).abs() <= 5);

    // Errors are swallowed: a state dir that is a file gives None, no panic.
    let broken = Paths {
        state_dir: sb.root.join("not-a-dir"),
        ..paths
    };
    fs::write(&broken.state_dir, b"file").unwrap();
    assert_eq!(runs::auto_gc(&broken, &config), None);
}
