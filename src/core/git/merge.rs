//! A worktree's end of life: merge its branch into the base branch (fast
//! forward or a merge commit, all or nothing), discard it, and tell `gc`
//! whether removing it could lose work.

use std::ffi::OsStr;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::cmd::{self, nul_fields};
use super::repo::{self, Uncommitted, branch_exists, count_between, resolve_commit};
use super::worktree::{RunWorktree, all_worktrees};
use super::{BRANCH_PREFIX, GitError};

/// How a merge went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeKind {
    /// The branch's commits were already in the target: nothing done.
    AlreadyMerged,
    /// The target moved forward to the branch.
    FastForward,
    /// A merge commit was made on the target.
    MergeCommit,
}

/// The result of [`merge`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeOutcome {
    /// What happened.
    pub kind: MergeKind,
    /// The merged branch.
    pub branch: String,
    /// The target branch.
    pub into: String,
    /// The target's commit after the merge (full id).
    pub commit: String,
}

/// Whether removing a run's worktree and branch could lose work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Removal {
    /// Nothing would be lost.
    Safe,
    /// The branch has commits its base does not.
    Unmerged {
        /// How many.
        commits: usize,
    },
    /// The worktree has uncommitted (or untracked) changes.
    Uncommitted {
        /// What is uncommitted.
        changes: Uncommitted,
    },
}

/// What [`discard`] removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discarded {
    /// The worktree directory was removed (false: it was already gone).
    pub removed_dir: bool,
    /// The branch was deleted (false: it was already gone).
    pub deleted_branch: bool,
}

#[cfg(test)]
/// Whether every commit of `branch` is already in `into`.
///
/// # Errors
/// [`GitError::UnknownRevision`] when either names no commit.
pub fn is_merged(repo: &Path, branch: &str, into: &str) -> Result<bool, GitError> {
    let branch = resolve_commit(repo, branch)?;
    let into = resolve_commit(repo, into)?;
    is_ancestor(repo, &branch, &into)
}

fn is_ancestor(repo: &Path, a: &str, b: &str) -> Result<bool, GitError> {
    let (out, shown) = cmd::output(repo, ["merge-base", "--is-ancestor", a, b])?;
    match out.status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => Err(cmd::failure(repo, shown, &out)),
    }
}

/// Merges our `branch` into the local branch `into`: nothing when already
/// merged, a fast-forward when possible, else a merge commit. When `into` is
/// checked out in a work tree (normally the main one) that work tree must
/// have no uncommitted changes to tracked files, and the merge runs there;
/// otherwise only the ref moves. A conflict is found before anything changes
/// (`git merge-tree --write-tree`, git ≥ 2.38) and refused with the files
/// named; a merge that fails anyway is aborted, so nothing is half-done.
/// Uncommitted changes left in the run's worktree are not merged.
///
/// # Errors
/// [`GitError::NotOurs`], [`GitError::UnknownRevision`] (either branch
/// missing), [`GitError::Dirty`], [`GitError::Conflict`],
/// [`GitError::Command`] when git fails (e.g. no committer identity).
pub fn merge(repo: &Path, branch: &str, into: &str) -> Result<MergeOutcome, GitError> {
    if !branch.starts_with(BRANCH_PREFIX) {
        return Err(GitError::NotOurs {
            branch: branch.to_owned(),
        });
    }
    let top = repo::toplevel(repo)?;
    if !branch_exists(&top, into)? {
        return Err(GitError::UnknownRevision {
            rev: into.to_owned(),
            dir: top,
        });
    }
    let tip = resolve_commit(&top, branch)?;
    let base = resolve_commit(&top, into)?;
    let outcome = |kind, commit| MergeOutcome {
        kind,
        branch: branch.to_owned(),
        into: into.to_owned(),
        commit,
    };
    if is_ancestor(&top, &tip, &base)? {
        return Ok(outcome(MergeKind::AlreadyMerged, base));
    }
    let checkout = all_worktrees(&top)?.into_iter().find(|w| w.branch == into);
    if let Some(w) = &checkout {
        if repo::uncommitted(&w.path)?.touches_tracked() {
            return Err(GitError::Dirty {
                path: w.path.clone(),
            });
        }
    }
    let fast_forward = is_ancestor(&top, &base, &tip)?;
    let conflicts = match fast_forward {
        true => None,
        false => test_merge(&top, &base, &tip)?,
    };
    if let Some(Conflicts::Files(files)) = conflicts {
        return Err(GitError::Conflict {
            branch: branch.to_owned(),
            into: into.to_owned(),
            files,
        });
    }
    let kind = if fast_forward {
        MergeKind::FastForward
    } else {
        MergeKind::MergeCommit
    };
    let commit = match (checkout, conflicts) {
        (Some(w), _) => merge_in_checkout(&w.path, branch, into, fast_forward)?,
        (None, Some(Conflicts::Clean(tree))) => {
            let msg = merge_message(branch, into);
            let commit = cmd::run(
                &top,
                ["commit-tree", &tree, "-p", &base, "-p", &tip, "-m", &msg],
            )?;
            move_ref(&top, into, commit.trim(), &base)?
        }
        (None, _) => move_ref(&top, into, &tip, &base)?,
    };
    Ok(outcome(kind, commit))
}

/// What a trial merge found.
enum Conflicts {
    /// No conflict: the merged tree.
    Clean(String),
    /// The conflicting paths.
    Files(Vec<String>),
}

/// `git merge-tree --write-tree`: merges in the object store only, touching
/// no ref, index or file.
fn test_merge(top: &Path, base: &str, tip: &str) -> Result<Option<Conflicts>, GitError> {
    let args = [
        "merge-tree",
        "--write-tree",
        "-z",
        "--name-only",
        "--no-messages",
        base,
        tip,
    ];
    let (out, shown) = cmd::output(top, args)?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut fields = nul_fields(&text);
    let tree = fields.next().unwrap_or_default().trim().to_owned();
    match out.status.code() {
        Some(0) => Ok(Some(Conflicts::Clean(tree))),
        Some(1) => {
            let mut files: Vec<String> = fields.map(str::to_owned).collect();
            files.dedup();
            Ok(Some(Conflicts::Files(files)))
        }
        _ => Err(cmd::failure(top, shown, &out)),
    }
}

fn merge_message(branch: &str, into: &str) -> String {
    format!("Merge branch '{branch}' into {into} (clawrun)")
}

/// Runs the merge in the work tree that has `into` checked out; on any
/// failure, aborts it and names the conflicting files if there are any.
pub(super) fn merge_in_checkout(
    wt: &Path,
    branch: &str,
    into: &str,
    fast_forward: bool,
) -> Result<String, GitError> {
    let msg = merge_message(branch, into);
    let mut args = vec!["merge", "--quiet", "--no-autostash", "--no-edit"];
    if fast_forward {
        args.push("--ff-only");
    } else {
        args.extend(["--no-ff", "-m", &msg]);
    }
    args.extend(["--end-of-options", branch]);
    if let Err(e) = cmd::run(wt, &args) {
        let files = unmerged_paths(wt).unwrap_or_default();
        let (in_merge, _) = cmd::output(wt, ["rev-parse", "-q", "--verify", "MERGE_HEAD"])?;
        if in_merge.status.success() {
            cmd::run(wt, ["merge", "--abort"])?;
        }
        return Err(match files.is_empty() {
            true => e,
            false => GitError::Conflict {
                branch: branch.to_owned(),
                into: into.to_owned(),
                files,
            },
        });
    }
    resolve_commit(wt, "HEAD")
}

fn unmerged_paths(wt: &Path) -> Result<Vec<String>, GitError> {
    let out = cmd::run(wt, ["diff", "--name-only", "-z", "--diff-filter=U"])?;
    Ok(nul_fields(&out).map(str::to_owned).collect())
}

/// Moves `refs/heads/<into>` from `old` to `new` atomically (fails if it
/// moved meanwhile); returns `new`.
fn move_ref(top: &Path, into: &str, new: &str, old: &str) -> Result<String, GitError> {
    let full = format!("refs/heads/{into}");
    let msg = format!("clawrun: merge into {into}");
    cmd::run(top, ["update-ref", "-m", &msg, &full, new, old])?;
    Ok(new.to_owned())
}

/// Whether removing `wt` (directory and branch) could lose work: commits not
/// in its [merge target](RunWorktree::merge_target) (or, when that branch is
/// gone, not in its base commit), or uncommitted changes in the directory.
///
/// # Errors
/// [`GitError::NotARepository`] when the repository is gone or the directory
/// exists but is no longer a work tree; [`GitError::Command`] when git fails.
pub fn removal_check(wt: &RunWorktree) -> Result<Removal, GitError> {
    let repo = &wt.repo;
    if branch_exists(repo, &wt.branch)? {
        let target = match resolve_commit(repo, wt.merge_target()) {
            Ok(c) => c,
            Err(GitError::UnknownRevision { .. }) => wt.base_commit.clone(),
            Err(e) => return Err(e),
        };
        let commits = count_between(repo, &target, &wt.branch)?;
        if commits > 0 {
            return Ok(Removal::Unmerged { commits });
        }
    }
    if wt.path.exists() {
        let changes = repo::uncommitted(&wt.path)?;
        if !changes.is_empty() {
            return Ok(Removal::Uncommitted { changes });
        }
    }
    Ok(Removal::Safe)
}

/// Removes a run's worktree directory and deletes its branch. Without
/// `force`, refuses when [`removal_check`] finds unmerged commits or
/// uncommitted changes. Parts already gone are skipped, so it can be retried.
///
/// # Errors
/// [`GitError::NotOurs`], [`GitError::Unmerged`],
/// [`GitError::UncommittedLeft`], [`GitError::Command`] when git fails.
pub fn discard(wt: &RunWorktree, force: bool) -> Result<Discarded, GitError> {
    if !wt.branch.starts_with(BRANCH_PREFIX) {
        return Err(GitError::NotOurs {
            branch: wt.branch.clone(),
        });
    }
    if !force {
        match removal_check(wt)? {
            Removal::Safe => {}
            Removal::Unmerged { commits } => {
                return Err(GitError::Unmerged {
                    branch: wt.branch.clone(),
                    into: wt.merge_target().to_owned(),
                    commits,
                });
            }
            Removal::Uncommitted { .. } => {
                return Err(GitError::UncommittedLeft {
                    path: wt.path.clone(),
                });
            }
        }
    }
    let removed_dir = wt.path.exists();
    if removed_dir {
        let mut args: Vec<&OsStr> = vec![OsStr::new("worktree"), OsStr::new("remove")];
        if force {
            args.extend([OsStr::new("--force"), OsStr::new("--force")]);
        }
        args.push(wt.path.as_os_str());
        cmd::run(&wt.repo, args)?;
    }
    cmd::run(&wt.repo, ["worktree", "prune"])?;
    let deleted_branch = branch_exists(&wt.repo, &wt.branch)?;
    if deleted_branch {
        cmd::run(&wt.repo, ["branch", "-D", "--end-of-options", &wt.branch])?;
    }
    Ok(Discarded {
        removed_dir,
        deleted_branch,
    })
}
