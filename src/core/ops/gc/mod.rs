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
//!   runner is dead counts as finished only once [`active_runs`](crate::core::ops::resolve::active_runs) has
//!   reaped it (marked it `crashed`); a dry run predicts that without writing.
//! - A run whose outbox still has pending items is kept whatever its age: its
//!   directory holds undelivered messages (`clawrun outbox flush` delivers them).
//! - A run with its own worktree (`run --worktree`) goes only when the
//!   worktree can go without losing work (branch merged, nothing
//!   uncommitted): then its worktree and branch are removed too. Otherwise
//!   the run stays and the report names the worktree and why.
//! - **Registry entries** (through [`Registry::retain`], under the registry's
//!   lock, so concurrent writers lose nothing) whose `last_accessed` is older
//!   than `registry_days`. Kept: entries with status `running` whose run may
//!   still be going (a live runner, or no run of ours to tell: a seed
//!   script's entry), entries whose run directory still exists after this
//!   pass, and entries whose time cannot be read (never dropped silently). A
//!   `running` entry whose run is over (its runner died, its run directory is
//!   gone) is judged like any finished one.
//! - **Node-run records** (`<state dir>/node-runs/`, [`node_runs::prune`]) of
//!   runs started on a paired node more than `run_days` ago: that node is then
//!   no longer asked on every `list`/`status` (its own gc removes the run there).
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

mod registries;
mod runs;
mod worktrees;

pub use worktrees::KeptWorktree;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::core::config::Config;
use crate::core::error::{Error, Result};
use crate::core::now_secs;
use crate::core::store::fsutil;
use crate::core::store::node_runs;
use crate::core::store::paths::Paths;
#[cfg(doc)]
use crate::core::store::{registry::Registry, run};

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
    /// Its worktree (`run --worktree`) has unmerged commits or uncommitted
    /// changes (see [`GcReport::kept_worktrees`]).
    pub worktree: usize,
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
    /// Worktrees of removed runs (merged or discarded) removed with them.
    pub worktrees_removed: Vec<PathBuf>,
    /// Worktrees kept, with their runs, because removing them would lose work.
    pub kept_worktrees: Vec<KeptWorktree>,
    /// Runs started on paired nodes longer ago than the run retention, no
    /// longer remembered here (their nodes are not asked for them any more;
    /// each node's own gc removes the run there).
    pub node_runs_forgotten: Vec<String>,
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
/// `AUTO_GC_INTERVAL_SECS`: `None` when the last pass (recorded in
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
    let file = fsutil::open_private_rw(&path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    Ok(fd_lock::RwLock::new(file))
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
    let removed = runs::collect_runs(paths, &runs_dir, run_days, &mut report);
    registries::collect_registries(paths, &runs_dir, &removed, registry_days, &mut report)?;
    let cutoff = now_secs() - i64::from(run_days) * 86_400;
    report.node_runs_forgotten = node_runs::prune(paths, cutoff, opts.dry_run);
    Ok(report)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::core::store::run;

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
    fn stamp_in_the_future_or_garbage_is_due() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = Paths::under(tmp.path());
        fs::create_dir_all(&paths.state_dir).unwrap();
        let now = 1_000_000_000;
        assert!(due(&paths, now));
        let stamp = paths.state_dir.join(GC_STAMP_NAME);
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
