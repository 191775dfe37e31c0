//! Nothing lost on disk (issue 13, C): a torn outbox line, a corrupt run
//! record, a full disk, an output file that cannot be written, `-o` targets
//! that are not regular files, and the size cap of `stream.jsonl`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use crate::common::{Sandbox, fixture};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn runs(sb: &Sandbox) -> Vec<PathBuf> {
    crate::common::run_ids(sb)
        .into_iter()
        .map(|id| sb.state_dir().join("runs").join(id))
        .collect()
}

/// A tmpfs mounted at a directory, unmounted when dropped (whatever the test
/// did). `None` (and a line saying why) where mounting is not permitted.
struct Tmpfs {
    at: PathBuf,
}

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(at).unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700")])
            .arg("tmpfs")
            .arg(at)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Self { at: at.to_owned() }),
            Ok(o) => {
                println!(
                    "SKIPPED: cannot mount a tmpfs at {} ({}); this test needs root (CAP_SYS_ADMIN)",
                    at.display(),
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                println!("SKIPPED: cannot run mount ({e})");
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.at)
            .status();
    }
}

// ------------------------------------------------------------------ -o targets

#[test]
fn output_targets_that_are_not_regular_files_are_refused_before_spawning() {
    let sb = Sandbox::new();
    let fifo = sb.root.join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let real = sb.root.join("real.txt");
    std::fs::write(&real, "keep me").unwrap();
    let link = sb.root.join("link.txt");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let dir = sb.root.join("a-dir");
    std::fs::create_dir(&dir).unwrap();
    let missing = sb.root.join("nonexistent/dir/x.txt");
    let rec = sb.root.join("rec");
    for (target, says) in [
        (&fifo, "not a regular file"),
        (&link, "symlink"),
        (&dir, "directory"),
        (&missing, "does not exist"),
    ] {
        let out = sb
            .run(&["-t", "x", "-o"])
            .arg(target)
            .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
            .env("FAKE_RECORD", &rec)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{target:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{target:?}: {}", stderr(&out));
    }
    // Nothing spawned, nothing written, nothing replaced, nothing created.
    assert!(!rec.exists(), "the agent was spawned");
    assert!(runs(&sb).is_empty());
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&real).unwrap(), "keep me");
    assert!(!sb.root.join("nonexistent").exists());
    // A regular file is replaced, as before.
    let out = sb
        .run(&["-t", "x", "-o"])
        .arg(&real)
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&real).unwrap(), "DONE");
}

// ------------------------------------------------------------------ full disk

fn wait_for_status(dir: &Path, status: &str) {
    let until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < until {
        let rec = std::fs::read(dir.join("run.json")).unwrap_or_default();
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&rec) {
            if v["status"] == status {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("run never became {status}");
}

#[test]
fn an_output_file_that_cannot_be_written_is_no_success() {
    let sb = Sandbox::new();
    let out_dir = sb.root.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let target = out_dir.join("result.txt");
    let child = sb
        .run_std(&["-t", "x", "--heartbeat", "0", "-o"])
        .arg(&target)
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .env("FAKE_DELAY", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    while runs(&sb).is_empty() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    wait_for_status(&runs(&sb)[0], "running");
    // The output's directory goes away while the agent works.
    std::fs::remove_dir_all(&out_dir).unwrap();
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("Not saved: the output file was not written"),
        "{err}"
    );
    // Nothing points at the missing file.
    assert!(
        !err.contains(&format!("Full output: {}", target.display())),
        "{err}"
    );
    assert!(err.contains("Full output: (not saved"), "{err}");
    assert!(
        !out_dir.exists(),
        "the output's directory was created again"
    );
    let rec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(runs(&sb)[0].join("run.json")).unwrap()).unwrap();
    assert!(
        rec["error"]
            .as_str()
            .unwrap_or_default()
            .contains("output file was not written"),
        "{rec}"
    );
}

/// A run whose agent prints 3 MB of noise before its result: on a small
/// filesystem, the disk fills mid-run.
fn disk_filling_run(sb: &Sandbox) -> Output {
    sb.run(&["-t", "x", "--heartbeat", "0", "--delivery-wait", "2"])
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .env("FAKE_MODE", "stream-flood")
        .env(
            "FAKE_FLOOD_LINE",
            format!("{{\"type\":\"noise\",\"pad\":\"{}\"}}", "x".repeat(1000)),
        )
        .env("FAKE_FLOOD_LINES", "3000")
        .output()
        .unwrap()
}

#[test]
fn a_full_disk_mid_run_is_reported_not_celebrated() {
    let sb = Sandbox::new();
    // ~/.openclaw holds the state dir and the registry: both fill up.
    let Some(_tmpfs) = Tmpfs::mount(&sb.openclaw_home(), "1m") else {
        return;
    };
    let out = disk_filling_run(&sb);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert!(
        err.contains("Not saved: the output file was not written"),
        "{err}"
    );
    // The record and the registry entry go into the space the run set aside
    // (issue 25): the run is closed, and its session can be resumed.
    assert!(err.contains("Session registered"), "{err}");
    assert!(!err.contains("the run record was not updated"), "{err}");
    assert!(!err.contains("Full output: /"), "{err}");
    assert!(err.contains("❌ Done (completed"), "{err}");
    assert!(stdout(&out).is_empty());
}

// ------------------------------------------------------------------ run.json

#[test]
fn a_corrupt_run_record_is_named_by_list_show_and_status() {
    let sb = Sandbox::new();
    let out = sb
        .run(&["-t", "x", "--heartbeat", "0"])
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let dir = runs(&sb).remove(0);
    let id = dir.file_name().unwrap().to_string_lossy().into_owned();
    let record = dir.join("run.json");
    let data = std::fs::read(&record).unwrap();
    std::fs::write(&record, &data[..data.len() / 2]).unwrap();
    let shown = record.display().to_string();

    let list = sb.cmd().args(["list"]).output().unwrap();
    assert_eq!(list.status.code(), Some(0));
    let text = stdout(&list);
    assert!(
        text.contains("unreadable run record") && text.contains(&shown),
        "{text}"
    );
    let list = sb.cmd().args(["list", "--json"]).output().unwrap();
    assert!(stderr(&list).contains(&shown), "{}", stderr(&list));

    let status = sb.cmd().args(["status"]).output().unwrap();
    assert!(stdout(&status).contains(&shown), "{}", stdout(&status));

    let show = sb.cmd().args(["show", &id]).output().unwrap();
    assert_eq!(show.status.code(), Some(1), "{}", stderr(&show));
    assert!(
        stderr(&show).contains("unreadable") && stderr(&show).contains(&shown),
        "{}",
        stderr(&show)
    );
}

// ------------------------------------------------------------------ stream cap

#[test]
fn stream_jsonl_is_cut_at_its_cap_and_events_after_it_still_count() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.openclaw_home()).unwrap();
    std::fs::write(
        sb.openclaw_home().join("clawrun.toml"),
        "[limits]\nmax_stream_mib = 1\n",
    )
    .unwrap();
    let line_bytes: u64 = 100 * 1024 * 1024;
    let out = sb
        .run(&["-t", "x", "--heartbeat", "0"])
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .env("FAKE_MODE", "long-line")
        .env("FAKE_FLOOD_BYTES", line_bytes.to_string())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let dir = runs(&sb).remove(0);
    let cap = 1024 * 1024;
    assert_eq!(
        std::fs::metadata(dir.join("stream.jsonl")).unwrap().len(),
        cap
    );
    let rec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
    // The events after the cut were parsed: the run completed with its answer.
    assert_eq!(rec["status"], "completed", "{rec}");
    assert_eq!(rec["resume_id"], "b97f592b-6515-4a57-b3bb-0bc3448d4c8a");
    assert_eq!(
        std::fs::read_to_string(dir.join("output.txt")).unwrap(),
        "DONE"
    );
    // The record says where the file was cut and how much was not kept.
    let transcript = std::fs::metadata(fixture("claude/tool.jsonl"))
        .unwrap()
        .len();
    assert_eq!(rec["stream_cut_at_bytes"], cap, "{rec}");
    assert_eq!(
        rec["stream_dropped_bytes"].as_u64().unwrap(),
        line_bytes + 1 + transcript - cap,
        "{rec}"
    );
    // Memory stayed flat: the 100 MiB line was never held whole.
    let peak_kb = rec["runner_peak_rss_kb"].as_u64().unwrap();
    assert!(peak_kb < 64 * 1024, "runner peak RSS {peak_kb} KiB");
}

/// Issue 25: after a run that filled the disk, `list` and `status` agree
/// (the run is not "running" in one and gone from the other), and once space
/// is freed the run that completed is not reaped as `crashed` with a false 💥:
/// the runner's final record is written into the space each run sets aside
/// at its start (`final.reserve`).
#[test]
fn after_a_full_disk_list_and_status_agree_and_no_false_crash_once_space_returns() {
    let sb = Sandbox::new();
    let Some(_tmpfs) = Tmpfs::mount(&sb.openclaw_home(), "1m") else {
        return;
    };
    let out = disk_filling_run(&sb);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let dir = runs(&sb).remove(0);
    let id = dir.file_name().unwrap().to_string_lossy().into_owned();
    let json = |args: &[&str]| -> serde_json::Value {
        let o = sb.cmd().args(args).output().unwrap();
        serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stderr(&o)))
    };
    // Still full: list and status say the same.
    let status = json(&["status", "--json"]);
    let list = json(&["list", "--json"]);
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["run_id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(status.as_array().unwrap().len(), 0, "{status}");
    assert_eq!(listed["status"], "completed", "{listed}");
    assert!(!dir.join("final.reserve").exists(), "the reserve is spent");

    // Space returns: the run stays completed, and no 💥 is sent.
    std::fs::remove_file(dir.join("stream.jsonl")).unwrap();
    let o = sb.cmd().args(["list"]).output().unwrap();
    assert!(!stderr(&o).contains('💥'), "{}", stderr(&o));
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(record["status"], "completed", "{record}");
    let notes = std::fs::read_to_string(dir.join("notifications.jsonl")).unwrap_or_default();
    assert!(!notes.contains('💥'), "{notes}");

    // A record the reaper cannot write (its runner gone, no reserve, the disk
    // full): `list` shows the reaper's verdict, as `status` does, not
    // `running`.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = gone.id();
    gone.wait().unwrap();
    let mut stale = record.clone();
    stale["run_id"] = "20200101-000000-dead00".into();
    stale["status"] = "running".into();
    stale["runner_pid"] = dead_pid.into();
    stale["agent_pid"] = serde_json::Value::Null;
    stale["ended_at"] = serde_json::Value::Null;
    let stale_dir = sb.state_dir().join("runs").join("20200101-000000-dead00");
    std::fs::create_dir(&stale_dir).unwrap();
    std::fs::write(stale_dir.join("run.json"), stale.to_string()).unwrap();
    let filler = sb.openclaw_home().join("filler");
    let _ = std::process::Command::new("dd")
        .args(["if=/dev/zero", "bs=4k"])
        .arg(format!("of={}", filler.display()))
        .output();
    let status = json(&["status", "--json"]);
    let list = json(&["list", "--all", "--json"]);
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["run_id"] == "20200101-000000-dead00")
        .unwrap()
        .clone();
    assert_eq!(status.as_array().unwrap().len(), 0, "{status}");
    assert_eq!(listed["status"], "crashed", "{listed}");
    std::fs::remove_file(filler).unwrap();
}
