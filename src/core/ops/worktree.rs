//! `clawrun worktree`: the runs' own git worktrees (`clawrun run
//! --worktree`) after the run: [`list`] them with what removing each would
//! lose, [`merge`] a run's branch into the branch it started from, and
//! [`discard`] a worktree and its branch. Data, never text.

use std::path::PathBuf;

use serde::Serialize;

use super::resolve::{self, resolve_run, runner_alive};
use crate::core::error::{Error, Result};
use crate::core::git::{
    self, Discarded, GitError, MergeOutcome, Removal, RunWorktree, Uncommitted,
};
use crate::core::store::paths::Paths;
use crate::core::store::run::RunRecord;

/// Where a run's worktree stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum WorktreeState {
    /// Its run is still going.
    Active,
    /// Everything on its branch is in the base branch, nothing uncommitted:
    /// `discard` (or `gc` past retention) removes it safely.
    Merged,
    /// Its branch has commits the base branch does not.
    Unmerged {
        /// How many.
        commits: usize,
    },
    /// Its directory holds uncommitted changes.
    Uncommitted {
        /// What is uncommitted.
        changes: Uncommitted,
    },
    /// Directory and branch are both gone (discarded).
    Gone,
    /// git could not tell (the repository moved, …).
    Unknown {
        /// Why.
        error: String,
    },
}

/// One run's worktree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorktreeRun {
    /// The run.
    pub run_id: String,
    /// The run's status word.
    pub status: String,
    /// The run's label.
    pub label: Option<String>,
    /// The worktree as made.
    pub worktree: RunWorktree,
    /// Where it stands.
    #[serde(flatten)]
    pub state: WorktreeState,
}

/// What [`merge`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeReport {
    /// The run.
    pub run_id: String,
    /// The merge.
    #[serde(flatten)]
    pub merge: MergeOutcome,
    /// The repository merged into.
    pub repo: PathBuf,
    /// Changes left uncommitted in the worktree (not merged).
    pub uncommitted_left: Uncommitted,
}

/// What [`discard`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiscardReport {
    /// The run.
    pub run_id: String,
    /// Its worktree.
    pub worktree: RunWorktree,
    /// What was removed.
    #[serde(flatten)]
    pub discarded: Discarded,
}

/// Where `wt` stands (for a finished run).
pub fn state_of(wt: &RunWorktree) -> WorktreeState {
    if !wt.path.exists() && !git::branch_exists(&wt.repo, &wt.branch).unwrap_or(true) {
        return WorktreeState::Gone;
    }
    match git::removal_check(wt) {
        Ok(Removal::Safe) => WorktreeState::Merged,
        Ok(Removal::Unmerged { commits }) => WorktreeState::Unmerged { commits },
        Ok(Removal::Uncommitted { changes }) => WorktreeState::Uncommitted { changes },
        Err(e) => WorktreeState::Unknown {
            error: e.to_string(),
        },
    }
}

/// Every worktree of a run, once, with its latest run (a resume goes back
/// into its run's worktree: both runs name it), newest first.
pub fn list(paths: &Paths) -> Vec<WorktreeRun> {
    let _ = resolve::active_runs(paths);
    let mut seen = std::collections::HashSet::new();
    resolve::runs_newest_first(paths)
        .into_iter()
        .filter_map(|(_, r)| {
            let wt = r.worktree.clone()?;
            if !seen.insert(wt.path.clone()) {
                return None;
            }
            let state = if is_active(&r) {
                WorktreeState::Active
            } else {
                state_of(&wt)
            };
            Some(WorktreeRun {
                run_id: r.run_id.clone(),
                status: r.shown_status().to_owned(),
                label: r.label.clone(),
                worktree: *wt,
                state,
            })
        })
        .collect()
}

fn is_active(r: &RunRecord) -> bool {
    !r.status.is_done() && runner_alive(r)
}

/// The worktree of the finished run `query` names.
fn finished_worktree(paths: &Paths, query: &str, what: &str) -> Result<(RunRecord, RunWorktree)> {
    let run = resolve_run(paths, query)?;
    let r = run.record;
    let Some(wt) = r.worktree.clone() else {
        return Err(Error::usage(format!(
            "run {} has no worktree of its own (it ran in {}): nothing to {what}",
            r.run_id,
            r.project.display()
        )));
    };
    if is_active(&r) {
        return Err(Error::usage(format!(
            "run {} is still {}: wait for it to end, or `clawrun kill {}` first",
            r.run_id,
            r.shown_status(),
            r.run_id
        )));
    }
    Ok((r, *wt))
}

/// A git refusal is the user's to fix (exit 2); anything else is a failure.
fn git_error(e: GitError) -> Error {
    match e {
        GitError::Spawn { .. } | GitError::Io { .. } | GitError::Parse { .. } => {
            Error::io("running git", std::io::Error::other(e))
        }
        other => Error::usage_from(other),
    }
}

/// Merge the branch of run `query`'s worktree into the branch it started
/// from: a fast-forward when possible, else a merge commit; a conflict is
/// refused with the files named and nothing changed. The worktree stays
/// (discard it, or `gc` removes it past retention).
///
/// # Errors
/// [`Error::Usage`]: no such run, no worktree, still running, no base
/// branch, a conflict, a base checkout with uncommitted changes.
pub fn merge(paths: &Paths, query: &str) -> Result<MergeReport> {
    let (r, wt) = finished_worktree(paths, query, "merge")?;
    let Some(into) = wt.base_branch.clone() else {
        return Err(git_error(GitError::NoBaseBranch {
            branch: wt.branch.clone(),
        }));
    };
    let merge = git::merge(&wt.repo, &wt.branch, &into).map_err(git_error)?;
    let uncommitted_left = match wt.path.is_dir() {
        true => git::uncommitted(&wt.path).unwrap_or_default(),
        false => Uncommitted::default(),
    };
    Ok(MergeReport {
        run_id: r.run_id,
        merge,
        repo: wt.repo,
        uncommitted_left,
    })
}

/// Remove the worktree of run `query` and delete its branch; without
/// `force`, refused when its branch has unmerged commits or its directory
/// uncommitted changes.
///
/// # Errors
/// [`Error::Usage`]: no such run, no worktree, still running, unmerged
/// commits or uncommitted changes without `force`.
pub fn discard(paths: &Paths, query: &str, force: bool) -> Result<DiscardReport> {
    let (r, wt) = finished_worktree(paths, query, "discard")?;
    let discarded = git::discard(&wt, force).map_err(|e| match e {
        GitError::Unmerged { .. } | GitError::UncommittedLeft { .. } => Error::usage(format!(
            "{e}: `clawrun worktree merge {id}` first, or `clawrun worktree discard {id} --force` \
             to lose them",
            id = r.run_id
        )),
        other => git_error(other),
    })?;
    Ok(DiscardReport {
        run_id: r.run_id,
        worktree: wt,
        discarded,
    })
}
