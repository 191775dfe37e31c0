//! Retention (`clawrun gc`): finished run directories and old registry entries
//! are removed so the state dir and the registries do not grow forever.
//!
//! What a pass removes, and what it never touches:
//!
//! - **Run directories** directly under `<state dir>/runs/` whose name is a run
//!   id, that are real directories (never a symlink: nothing is followed) and
//!   hold a readable `run.json` whose run has finished, with no sign of life
//!   for longer than `run_days`. The age is measured from the newest of the
//!   record's `created_at`/`updated_at`/`ended_at` and `run.json`'s mtime, as
//!   read *before* stale runs are reaped (so a run whose runner died long ago
//!   is not kept for another period because reaping just stamped it).
//! - A run that is `starting`/`running` with a live runner is kept. A run whose
//!   runner is dead counts as finished only once [`run::active_runs`] has
//!   reaped it (marked it `crashed`); a dry run predicts that without writing.
//! - A run whose outbox still has pending items is kept whatever its age: its
//!   directory holds undelivered messages (`clawrun outbox flush` delivers them).
//! - **Registry entries** (through [`Registry::retain`], under the registry's
//!   lock, so concurrent writers lose nothing) whose `last_accessed` is older
//!   than `registry_days`. Kept: entries with status `running`, entries whose
//!   run directory still exists after this pass, and entries whose time cannot
//!   be read (never dropped silently).
//!
//! Removal renames the run directory to a hidden tombstone in the same
//! directory first (`.gc-<run id>.<pid>`: the run id disappears at once, so
//! `status` or an outbox flush never sees half a directory), removes its
//! `run.json`, then the rest with [`std::fs::remove_dir_all`], which unlinks
//! symlinks inside instead of following them. Tombstones left by an
//! interrupted pass are removed by the next one.
//!
//! [`auto_gc`] runs a pass with the configured defaults at most once a day,
//! recorded in `<state dir>/gc.stamp`. Passes are serialized by an exclusive
//! lock on `<state dir>/gc.lock`. A dry run writes nothing at all.

use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::Serialize;

use crate::backends::config::BACKEND_NAMES;
use crate::core::config::Config;
use crate::core::error::{Error, Result};
use crate::core::notify::outbox::Outbox;
use crate::core::now_secs;
use crate::core::runner::process;
use crate::core::store::paths::Paths;
use crate::core::store::registry::{Entry, Registry, Status};
use crate::core::store::run::{self, RunDir, RunRecord, files};
use crate::core::store::{fsutil, timefmt};

/// The stamp of the last automatic pass, under the state dir (Unix seconds).
pub const GC_STAMP_NAME: &str = "gc.stamp";
/// The lock that serializes passes, under the state dir.
pub const GC_LOCK_NAME: &str = "gc.lock";
/// Least time between two automatic passes.
pub const AUTO_GC_INTERVAL_SECS: i64 = 24 * 3600;
/// Prefix of the tombstone a run directory is renamed to before removal.
const TOMBSTONE_PREFIX: &str = ".gc-";
const SECS_PER_DAY: i64 = 86_400;

/// What to collect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcOptions {
    /// Retention in days for both run directories and registry entries,
    /// instead of `[retention]` in the config (`--older-than`).
    pub older_than_days: Option<u32>,
    /// Report what would be removed, and change nothing.
    pub dry_run: bool,
}

/// Why run directories were kept (counts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KeptRuns {
    /// Starting or running, with a live runner.
    pub running: usize,
    /// Finished, but the outbox still holds undelivered messages.
    pub pending_outbox: usize,
    /// Finished within the retention.
    pub recent: usize,
    /// A run directory whose `run.json` or outbox cannot be read.
    pub unreadable: usize,
    /// Not a run directory: a symlink, a file, a name that is not a run id,
    /// or a directory without `run.json` (a run being created).
    pub not_a_run: usize,
}

/// Why registry entries were kept (counts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KeptEntries {
    /// Status `running`.
    pub running: usize,
    /// Its run directory still exists.
    pub run_dir_exists: usize,
    /// Used within the retention.
    pub recent: usize,
    /// `last_accessed` missing or unreadable: cannot be placed in time.
    pub undated: usize,
}

/// A registry entry that was (or would be) removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemovedEntry {
    /// Backend of its registry.
    pub backend: String,
    /// Session / thread id.
    pub id: String,
}

/// What a pass did (or, for a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GcReport {
    /// Nothing was changed.
    pub dry_run: bool,
    /// Retention applied to run directories, days.
    pub run_days: u32,
    /// Retention applied to registry entries, days.
    pub registry_days: u32,
    /// Number of run directories removed.
    pub runs_removed: usize,
    /// Their run ids, oldest first.
    pub removed_runs: Vec<String>,
    /// Sum of the sizes of the regular files removed (run directories and
    /// leftover tombstones), bytes.
    pub bytes_freed: u64,
    /// Number of registry entries removed.
    pub registry_entries_removed: usize,
    /// Those entries.
    pub removed_entries: Vec<RemovedEntry>,
    /// Run directories kept, by reason.
    pub kept_runs: KeptRuns,
    /// Registry entries kept, by reason.
    pub kept_entries: KeptEntries,
    /// Problems that did not stop the pass (a corrupt registry, a directory
    /// that could not be removed).
    pub errors: Vec<String>,
}

impl GcReport {
    /// A few lines for people.
    pub fn render(&self) -> String {
        let verb = if self.dry_run {
            "would remove"
        } else {
            "removed"
        };
        let mut out = format!(
            "{}: {verb} {} run director{} ({}) and {} registry entr{}\n",
            if self.dry_run { "gc (dry run)" } else { "gc" },
            self.runs_removed,
            if self.runs_removed == 1 { "y" } else { "ies" },
            format_bytes(self.bytes_freed),
            self.registry_entries_removed,
            if self.registry_entries_removed == 1 {
                "y"
            } else {
                "ies"
            },
        );
        out.push_str(&format!(
            "  retention: runs finished more than {} day(s) ago, registry entries unused for more than {} day(s)\n",
            self.run_days, self.registry_days
        ));
        let k = &self.kept_runs;
        let run_reasons = [
            (k.running, "running"),
            (
                k.pending_outbox,
                "with undelivered messages (`clawrun outbox flush` delivers them)",
            ),
            (k.recent, "recent"),
            (k.unreadable, "unreadable"),
            (k.not_a_run, "not run directories (left alone)"),
        ];
        out.push_str(&format!("  kept runs: {}\n", reasons(&run_reasons)));
        let e = &self.kept_entries;
        let entry_reasons = [
            (e.running, "running"),
            (e.run_dir_exists, "run directory still present"),
            (e.recent, "recent"),
            (e.undated, "no readable last_accessed"),
        ];
        out.push_str(&format!(
            "  kept registry entries: {}\n",
            reasons(&entry_reasons)
        ));
        for id in &self.removed_runs {
            out.push_str(&format!("  - run {id}\n"));
        }
        for r in &self.removed_entries {
            out.push_str(&format!("  - {} session {}\n", r.backend, r.id));
        }
        for err in &self.errors {
            out.push_str(&format!("  ⚠ {err}\n"));
        }
        out
    }
}

fn reasons(items: &[(usize, &str)]) -> String {
    let parts: Vec<String> = items
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join(", ")
    }
}

/// `1234567` → `1.2 MiB`; below 1 KiB, plain bytes.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Whether `name` is a run id as [`run::new_run_id`] makes them:
/// `YYYYmmdd-HHMMSS-xxxxxx` (six lowercase hex digits).
pub fn is_run_id(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 22
        && b[8] == b'-'
        && b[15] == b'-'
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[16..]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

/// Run one pass: collect finished runs, then registry entries (see the module
/// docs for what is kept). Waits for a pass running in another process.
///
/// # Errors
/// The state dir's lock cannot be taken, or the backend definitions do not
/// load. Problems with one run or one registry are reported in
/// [`GcReport::errors`] and do not stop the pass.
pub fn gc(paths: &Paths, config: &Config, opts: &GcOptions) -> Result<GcReport> {
    if opts.dry_run {
        // No lock: taking it would create a file, and a dry run writes nothing.
        return collect(paths, config, opts);
    }
    let mut lock = open_lock(&paths.state_dir)?;
    let _guard = lock
        .write()
        .map_err(|e| Error::io(format!("locking {}", lock_path(paths).display()), e))?;
    collect(paths, config, opts)
}

/// A light automatic pass with the configured retention, at most once every
/// [`AUTO_GC_INTERVAL_SECS`]: `None` when the last pass (recorded in
/// `<state dir>/gc.stamp`) is more recent, when another process is collecting
/// right now, or on error (logged as a warning: a failed cleanup must never
/// stop a run).
pub fn auto_gc(paths: &Paths, config: &Config) -> Option<GcReport> {
    match try_auto_gc(paths, config) {
        Ok(report) => report,
        Err(e) => {
            tracing::warn!("automatic cleanup (gc) failed: {e}");
            None
        }
    }
}

fn try_auto_gc(paths: &Paths, config: &Config) -> Result<Option<GcReport>> {
    if !due(paths, now_secs()) {
        return Ok(None);
    }
    let mut lock = open_lock(&paths.state_dir)?;
    let _guard = match lock.try_write() {
        Ok(g) => g,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
        Err(e) => {
            return Err(Error::io(
                format!("locking {}", lock_path(paths).display()),
                e,
            ));
        }
    };
    // Another process may have finished a pass between the check and the lock.
    let now = now_secs();
    if !due(paths, now) {
        return Ok(None);
    }
    // The stamp goes first: a pass that fails is not retried on every run.
    let stamp = paths.state_dir.join(GC_STAMP_NAME);
    fsutil::write_atomic(&stamp, format!("{now}\n").as_bytes())
        .map_err(|e| Error::io(format!("writing {}", stamp.display()), e))?;
    let report = collect(paths, config, &GcOptions::default())?;
    for err in &report.errors {
        tracing::warn!("automatic cleanup (gc): {err}");
    }
    Ok(Some(report))
}

/// Whether the last automatic pass is older than the interval. A missing or
/// unreadable stamp, or one in the future (clock changes), means due.
fn due(paths: &Paths, now: i64) -> bool {
    let stamp = paths.state_dir.join(GC_STAMP_NAME);
    let Ok(text) = fs::read_to_string(&stamp) else {
        return true;
    };
    match text.trim().parse::<i64>() {
        Ok(last) => !(last <= now && now - last < AUTO_GC_INTERVAL_SECS),
        Err(_) => true,
    }
}

fn lock_path(paths: &Paths) -> PathBuf {
    paths.state_dir.join(GC_LOCK_NAME)
}

fn open_lock(state_dir: &Path) -> Result<fd_lock::RwLock<fs::File>> {
    fsutil::create_private_dir(state_dir)
        .map_err(|e| Error::io(format!("creating {}", state_dir.display()), e))?;
    let path = state_dir.join(GC_LOCK_NAME);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    Ok(fd_lock::RwLock::new(file))
}

/// One entry of `runs/` as first seen.
struct Seen {
    name: String,
    dir: RunDir,
    record: RunRecord,
    /// Newest sign of life, Unix seconds.
    last_activity: i64,
}

fn collect(paths: &Paths, config: &Config, opts: &GcOptions) -> Result<GcReport> {
    let run_days = opts.older_than_days.unwrap_or(config.retention.run_days);
    let registry_days = opts
        .older_than_days
        .unwrap_or(config.retention.registry_days);
    let mut report = GcReport {
        dry_run: opts.dry_run,
        run_days,
        registry_days,
        ..GcReport::default()
    };
    let runs_dir = paths.runs_dir();
    let removed = collect_runs(&runs_dir, run_days, &mut report);
    collect_registries(paths, &runs_dir, &removed, registry_days, &mut report)?;
    Ok(report)
}

/// Collect run directories; returns the ids removed (or, dry, to be removed).
fn collect_runs(runs_dir: &Path, run_days: u32, report: &mut GcReport) -> HashSet<String> {
    let mut removed = HashSet::new();
    let Ok(read) = fs::read_dir(runs_dir) else {
        return removed;
    };
    let mut seen = Vec::new();
    let mut tombstones = Vec::new();
    for entry in read.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        // `symlink_metadata`: a symlink is itself, never its target.
        let is_real_dir = fs::symlink_metadata(&path)
            .map(|m| m.file_type().is_dir())
            .unwrap_or(false);
        if name.starts_with(TOMBSTONE_PREFIX) && is_real_dir {
            tombstones.push(path);
            continue;
        }
        if !is_real_dir || !is_run_id(&name) {
            report.kept_runs.not_a_run += 1;
            continue;
        }
        let dir = RunDir::open(path);
        let record_path = dir.file(files::RECORD);
        let record_meta = match fs::symlink_metadata(&record_path) {
            Ok(m) if m.file_type().is_file() => m,
            _ => {
                report.kept_runs.not_a_run += 1;
                continue;
            }
        };
        let record = match dir.read_record() {
            Ok(r) => r,
            Err(_) => {
                report.kept_runs.unreadable += 1;
                continue;
            }
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
        seen.push(Seen {
            name,
            dir,
            record,
            last_activity,
        });
    }
    seen.sort_by(|a, b| a.name.cmp(&b.name));

    // Which of them are alive. A real pass reaps stale runs (marks them
    // crashed) first; a dry run only predicts which would be reaped.
    let active: HashSet<String> = if report.dry_run {
        seen.iter()
            .filter(|s| !s.record.status.is_done() && process::runner_alive(s.record.runner_pid))
            .map(|s| s.name.clone())
            .collect()
    } else {
        run::active_runs(runs_dir)
            .into_iter()
            .filter_map(|(d, _)| d.path.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect()
    };

    let cutoff = now_secs() - i64::from(run_days) * SECS_PER_DAY;
    for s in seen {
        if active.contains(&s.name) {
            report.kept_runs.running += 1;
            continue;
        }
        if !report.dry_run {
            // Re-read: reaped runs are finished now; a record that is still not
            // finished belongs to a run that started meanwhile.
            match s.dir.read_record() {
                Ok(r) if r.status.is_done() => {}
                Ok(_) => {
                    report.kept_runs.running += 1;
                    continue;
                }
                Err(_) => {
                    report.kept_runs.unreadable += 1;
                    continue;
                }
            }
        }
        match Outbox::new(&s.dir.path).pending() {
            Ok(p) if !p.is_empty() => {
                report.kept_runs.pending_outbox += 1;
                continue;
            }
            Ok(_) => {}
            Err(_) => {
                report.kept_runs.unreadable += 1;
                continue;
            }
        }
        if s.last_activity >= cutoff {
            report.kept_runs.recent += 1;
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
    removed
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

/// Prune each backend's registry.
fn collect_registries(
    paths: &Paths,
    runs_dir: &Path,
    removed_runs: &HashSet<String>,
    registry_days: u32,
    report: &mut GcReport,
) -> Result<()> {
    let backends = crate::backends::config::load(None)?;
    let cutoff = timefmt::now_micros() - i64::from(registry_days) * SECS_PER_DAY * 1_000_000;
    for name in BACKEND_NAMES {
        let backend = backends.backend(name)?;
        let reg = Registry::for_backend(paths, &backend);
        // No file, nothing to prune (and no lock file to create next to it).
        if fs::symlink_metadata(reg.path()).is_err() {
            continue;
        }
        let mut kept = KeptEntries::default();
        let mut gone = Vec::new();
        let mut keep = |e: &Entry| {
            let verdict = decide(e, runs_dir, removed_runs, cutoff);
            match verdict {
                Verdict::Keep(reason) => {
                    match reason {
                        KeepReason::Running => kept.running += 1,
                        KeepReason::RunDir => kept.run_dir_exists += 1,
                        KeepReason::Recent => kept.recent += 1,
                        KeepReason::Undated => kept.undated += 1,
                    }
                    true
                }
                Verdict::Remove => {
                    gone.push(e.id.clone());
                    false
                }
            }
        };
        let outcome = if report.dry_run {
            reg.list(None).map(|entries| {
                for e in &entries {
                    keep(e);
                }
            })
        } else {
            reg.retain(&mut keep).map(|_| ())
        };
        match outcome {
            Ok(()) => {
                report.kept_entries.running += kept.running;
                report.kept_entries.run_dir_exists += kept.run_dir_exists;
                report.kept_entries.recent += kept.recent;
                report.kept_entries.undated += kept.undated;
                report.registry_entries_removed += gone.len();
                report
                    .removed_entries
                    .extend(gone.into_iter().map(|id| RemovedEntry {
                        backend: (*name).to_owned(),
                        id,
                    }));
            }
            Err(e) => report.errors.push(e.to_string()),
        }
    }
    Ok(())
}

enum KeepReason {
    Running,
    RunDir,
    Recent,
    Undated,
}

enum Verdict {
    Keep(KeepReason),
    Remove,
}

fn decide(e: &Entry, runs_dir: &Path, removed_runs: &HashSet<String>, cutoff: i64) -> Verdict {
    if e.status == Some(Status::Running) {
        return Verdict::Keep(KeepReason::Running);
    }
    let run_dir_left = e.run_id.as_deref().is_some_and(|id| {
        is_run_id(id)
            && !removed_runs.contains(id)
            && fs::symlink_metadata(runs_dir.join(id)).is_ok()
    });
    if run_dir_left {
        return Verdict::Keep(KeepReason::RunDir);
    }
    match e.last_accessed_micros() {
        None => Verdict::Keep(KeepReason::Undated),
        Some(t) if t >= cutoff => Verdict::Keep(KeepReason::Recent),
        Some(_) => Verdict::Remove,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_recognised_strictly() {
        assert!(is_run_id("20261121-233101-3f9a1c"));
        assert!(is_run_id(&run::new_run_id(1_795_303_502)));
        for bad in [
            "",
            "20261121-233101-3f9a1",
            "20261121-233101-3F9A1C",
            "20261121_233101-3f9a1c",
            "../20261121-233101-3f",
            ".gc-20261121-233101-3f9a1c.1",
            "20261121-233101-3f9a1g",
        ] {
            assert!(!is_run_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn bytes_are_human() {
        assert_eq!(format_bytes(0), "0 B");
        assert_eq!(format_bytes(1023), "1023 B");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(3 * 1024 * 1024), "3.0 MiB");
    }

    #[test]
    fn stamp_in_the_future_or_garbage_is_due() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = Paths {
            openclaw_home: tmp.path().to_path_buf(),
            openclaw_config: tmp.path().join("openclaw.json"),
            state_dir: tmp.path().to_path_buf(),
            config_file: tmp.path().join("clawrun.toml"),
        };
        let now = 1_000_000_000;
        assert!(due(&paths, now));
        let stamp = tmp.path().join(GC_STAMP_NAME);
        fs::write(&stamp, format!("{}\n", now - 3600)).unwrap();
        assert!(!due(&paths, now));
        fs::write(&stamp, format!("{}\n", now - AUTO_GC_INTERVAL_SECS)).unwrap();
        assert!(due(&paths, now));
        fs::write(&stamp, format!("{}\n", now + 3600)).unwrap();
        assert!(due(&paths, now));
        fs::write(&stamp, "garbage").unwrap();
        assert!(due(&paths, now));
    }
}
