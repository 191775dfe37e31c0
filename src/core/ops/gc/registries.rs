//! The registry half of a pass: entries unused for longer than the
//! retention, whose run directory is gone, are dropped under the registry's
//! lock ([`Registry::retain`]).

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use super::{GcReport, KeptEntries, RemovedEntry, SECS_PER_DAY, is_run_id};
use crate::backends::config::BACKEND_NAMES;
use crate::core::error::Result;
use crate::core::store::paths::Paths;
use crate::core::store::registry::{Entry, Registry, Status};
use crate::core::store::run::RunDir;
use crate::core::store::timefmt;
use crate::core::sys::group;

/// Prune each backend's registry.
pub(super) fn collect_registries(
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

/// Whether the run of a `running` entry may still be going: its run
/// directory has a record that is not done, with a live runner, or the entry
/// names no run of ours (a seed script's: nothing tells). A `running` entry
/// whose run is over (its runner died before the registry was closed, or its
/// run directory is gone) is judged like any finished one.
fn run_may_be_live(e: &Entry, runs_dir: &Path, removed_runs: &HashSet<String>) -> bool {
    let Some(id) = e.run_id.as_deref().filter(|id| is_run_id(id)) else {
        return true;
    };
    if removed_runs.contains(id) {
        return false;
    }
    let path = runs_dir.join(id);
    if fs::symlink_metadata(&path).is_err() {
        return false;
    }
    match RunDir::open(path).read_record() {
        Ok(rec) => !rec.status.is_done() && group::runner_alive(rec.runner_pid),
        // A run directory whose record cannot be read: keep, never guess.
        Err(_) => true,
    }
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
    if e.status == Some(Status::Running) && run_may_be_live(e, runs_dir, removed_runs) {
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
