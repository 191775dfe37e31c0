//! The worktree half of removing a run directory: a run with its own
//! worktree (`run --worktree`) leaves only when its worktree can go without
//! losing work (its branch merged, nothing uncommitted), and then the
//! worktree and branch go with it. Otherwise the run directory stays (it is
//! how `clawrun worktree merge/discard` finds the worktree) and the report
//! says why.

use serde::Serialize;

use super::GcReport;
use crate::core::git::{self, GitError, Removal, RunWorktree};

/// A worktree `gc` kept, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeptWorktree {
    /// Its run.
    pub run_id: String,
    /// Its branch.
    pub branch: String,
    /// Its directory.
    pub path: std::path::PathBuf,
    /// Why it stays ("2 unmerged commit(s)", "uncommitted changes", …).
    pub reason: String,
}

/// Whether the run `run_id` may go as far as its worktree `wt` is
/// concerned; removes the worktree and branch when it may (unless dry).
pub(super) fn release(run_id: &str, wt: &RunWorktree, report: &mut GcReport) -> bool {
    let mut keep = |reason: String| {
        report.kept_runs.worktree += 1;
        report.kept_worktrees.push(KeptWorktree {
            run_id: run_id.to_owned(),
            branch: wt.branch.clone(),
            path: wt.path.clone(),
            reason,
        });
        false
    };
    match git::removal_check(wt) {
        Ok(Removal::Safe) => {}
        Ok(Removal::Unmerged { commits }) => {
            return keep(format!(
                "{commits} unmerged commit(s) (`clawrun worktree merge {run_id}`)"
            ));
        }
        Ok(Removal::Uncommitted { .. }) => {
            return keep("uncommitted changes in the worktree".to_owned());
        }
        // The repository is gone and so is the directory: nothing is left to lose.
        Err(GitError::NotARepository { .. }) if !wt.path.exists() => return true,
        Err(e) => return keep(format!("git cannot tell whether it is merged: {e}")),
    }
    let there = wt.path.exists() || git::branch_exists(&wt.repo, &wt.branch).unwrap_or(false);
    if !there {
        return true;
    }
    if report.dry_run {
        report.worktrees_removed.push(wt.path.clone());
        return true;
    }
    match git::discard(wt, /*force*/ false) {
        Ok(_) => {
            report.worktrees_removed.push(wt.path.clone());
            true
        }
        Err(e) => {
            report.errors.push(format!(
                "cannot remove the worktree {} of run {run_id}: {e}",
                wt.path.display()
            ));
            false
        }
    }
}
