//! The run-directory half of a pass: which run directories under `runs/` go
//! (finished, quiet for longer than the retention, nothing left to deliver),
//! and their removal through a tombstone.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::{GcReport, SECS_PER_DAY, TOMBSTONE_PREFIX, is_run_id};
use crate::core::notify::outbox::Outbox;
use crate::core::now_secs;
use crate::core::store::paths::Paths;
use crate::core::store::run::{RunDir, RunRecord, files};
use crate::core::sys::group;

/// One entry of `runs/` as first seen.
struct Seen {
    name: String,
    dir: RunDir,
    record: RunRecord,
    /// Newest sign of life, Unix seconds.
    last_activity: i64,
}

/// What `runs/` holds, as first seen.
#[derive(Default)]
struct Scan {
    /// Run directories with a readable record, by name.
    seen: Vec<Seen>,
    /// Tombstones left by an interrupted pass.
    tombstones: Vec<PathBuf>,
}

/// Collect run directories; returns the ids removed (or, dry, to be removed).
pub(super) fn collect_runs(
    paths: &Paths,
    runs_dir: &Path,
    run_days: u32,
    report: &mut GcReport,
) -> HashSet<String> {
    let mut removed = HashSet::new();
    let Ok(read) = fs::read_dir(runs_dir) else {
        return removed;
    };
    let scan = scan(read, report);
    let active = active_names(paths, &scan.seen, report.dry_run);
    let cutoff = now_secs() - i64::from(run_days) * SECS_PER_DAY;
    for s in scan.seen {
        if !removable(&s, &active, cutoff, report) {
            continue;
        }
        let outcome = if report.dry_run {
            Ok(tree_bytes(&s.dir.path))
        } else {
            remove_run_dir(runs_dir, &s.name)
        };
        match outcome {
            Ok(bytes) => {
                report.bytes_freed += bytes;
                report.runs_removed += 1;
                report.removed_runs.push(s.name.clone());
                removed.insert(s.name);
            }
            Err(e) => report.errors.push(format!(
                "cannot remove run directory {}: {e}",
                s.dir.path.display()
            )),
        }
    }
    if !report.dry_run {
        remove_tombstones(scan.tombstones, report);
    }
    removed
}

/// Read `runs/`: run directories with their records (sorted by name), and
/// tombstones. Whatever is not a run directory is counted and left alone.
fn scan(read: fs::ReadDir, report: &mut GcReport) -> Scan {
    let mut scan = Scan::default();
    for entry in read.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        // `symlink_metadata`: a symlink is itself, never its target.
        let is_real_dir = fs::symlink_metadata(&path)
            .map(|m| m.file_type().is_dir())
            .unwrap_or(false);
        if name.starts_with(TOMBSTONE_PREFIX) && is_real_dir {
            scan.tombstones.push(path);
            continue;
        }
        if !is_real_dir || !is_run_id(&name) {
            report.kept_runs.not_a_run += 1;
            continue;
        }
        if let Some(seen) = read_run(name, RunDir::open(path), report) {
            scan.seen.push(seen);
        }
    }
    scan.seen.sort_by(|a, b| a.name.cmp(&b.name));
    scan
}

/// A run directory's record and its newest sign of life; `None` (counted in
/// the report) when it has no regular `run.json` or cannot be read.
fn read_run(name: String, dir: RunDir, report: &mut GcReport) -> Option<Seen> {
    let record_path = dir.file(files::RECORD);
    let record_meta = match fs::symlink_metadata(&record_path) {
        Ok(m) if m.file_type().is_file() => m,
        _ => {
            report.kept_runs.not_a_run += 1;
            return None;
        }
    };
    let Ok(record) = dir.read_record() else {
        report.kept_runs.unreadable += 1;
        return None;
    };
    let mtime = record_meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64);
    let last_activity = [
        record.created_at,
        record.updated_at,
        record.ended_at.unwrap_or(0),
        mtime,
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    Some(Seen {
        name,
        dir,
        record,
        last_activity,
    })
}

/// Which of them are alive. A real pass reaps stale runs (marks them
/// crashed) first; a dry run only predicts which would be reaped.
fn active_names(paths: &Paths, seen: &[Seen], dry_run: bool) -> HashSet<String> {
    if dry_run {
        seen.iter()
            .filter(|s| !s.record.status.is_done() && group::runner_alive(s.record.runner_pid))
            .map(|s| s.name.clone())
            .collect()
    } else {
        crate::core::ops::resolve::active_runs(paths)
            .into_iter()
            .filter_map(|(d, _)| d.path.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect()
    }
}

/// Whether `s` goes; when it stays, the reason is counted in the report.
fn removable(s: &Seen, active: &HashSet<String>, cutoff: i64, report: &mut GcReport) -> bool {
    if active.contains(&s.name) {
        report.kept_runs.running += 1;
        return false;
    }
    if !report.dry_run {
        // Re-read: reaped runs are finished now; a record that is still not
        // finished belongs to a run that started meanwhile.
        match s.dir.read_record() {
            Ok(r) if r.status.is_done() => {}
            Ok(_) => {
                report.kept_runs.running += 1;
                return false;
            }
            Err(_) => {
                report.kept_runs.unreadable += 1;
                return false;
            }
        }
    }
    match Outbox::new(&s.dir.path).pending() {
        Ok(p) if !p.is_empty() => {
            report.kept_runs.pending_outbox += 1;
            return false;
        }
        Ok(_) => {}
        Err(_) => {
            report.kept_runs.unreadable += 1;
            return false;
        }
    }
    if s.last_activity >= cutoff {
        report.kept_runs.recent += 1;
        return false;
    }
    match &s.record.worktree {
        Some(wt) => super::worktrees::release(&s.name, wt, report),
        None => true,
    }
}

/// Remove the tombstones an interrupted pass left.
fn remove_tombstones(tombstones: Vec<PathBuf>, report: &mut GcReport) {
    for t in tombstones {
        let bytes = tree_bytes(&t);
        match fs::remove_dir_all(&t) {
            Ok(()) => report.bytes_freed += bytes,
            Err(e) => report
                .errors
                .push(format!("cannot remove leftover {}: {e}", t.display())),
        }
    }
}

/// Remove `runs_dir/name` (a real directory, checked again after the rename)
/// and return the bytes its regular files held.
fn remove_run_dir(runs_dir: &Path, name: &str) -> io::Result<u64> {
    let path = runs_dir.join(name);
    if !fs::symlink_metadata(&path)?.file_type().is_dir() {
        return Err(io::Error::other("not a directory (left alone)"));
    }
    let tomb = runs_dir.join(format!("{TOMBSTONE_PREFIX}{name}.{}", std::process::id()));
    fs::rename(&path, &tomb)?;
    // `rename` moves whatever was at `path` at that instant; if that was not a
    // directory after all, put it back untouched.
    if !fs::symlink_metadata(&tomb)?.file_type().is_dir() {
        fs::rename(&tomb, &path)?;
        return Err(io::Error::other("not a directory (left alone)"));
    }
    let bytes = tree_bytes(&tomb);
    // run.json first: a tombstone left by a crash is then no run to anyone.
    match fs::remove_file(tomb.join(files::RECORD)) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    fs::remove_dir_all(&tomb)?;
    Ok(bytes)
}

/// Sum of the sizes of the regular files under `dir`, without following
/// symlinks.
fn tree_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(read) = fs::read_dir(&d) else {
            continue;
        };
        for entry in read.filter_map(|e| e.ok()) {
            // `DirEntry::metadata` does not follow symlinks.
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.file_type().is_dir() {
                stack.push(entry.path());
            } else if meta.file_type().is_file() {
                total += meta.len();
            }
        }
    }
    total
}
