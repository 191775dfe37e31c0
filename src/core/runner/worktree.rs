//! A run's own git worktree: whether a run gets one ([`WorktreeOptions`]:
//! `--worktree [NAME]`, `--base REF`, `[run] worktree`), the checks before
//! anything is written ([`decide`]), making it when the run directory is
//! created ([`make`]), and a resume going back into the worktree of the run
//! it resumes.
//!
//! clawrun makes the worktree itself (`git worktree add`, see
//! [`crate::core::git`]) for every backend, rather than passing a CLI's own
//! worktree flag: the path and branch are then known for certain before the
//! agent starts, the same for claude, codex, generic and ACP backends, and a
//! resume, `clawrun worktree merge/discard` and `gc` find it in the run record.

use std::path::{Path, PathBuf};

use crate::core::config::WorktreeMode;
use crate::core::error::{Error, Result};
use crate::core::git::{self, GitError, RunWorktree};
use crate::core::store::paths::Paths;
use crate::core::store::run;

use super::inherit::LastRun;
use crate::core::sys::group;

/// Whether and how `clawrun run` makes a worktree (part of [`super::RunOptions`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorktreeOptions {
    /// `always` for `--worktree`, `never` for `--no-worktree` (`None`:
    /// `[run] worktree` in clawrun.toml, default `never`).
    pub mode: Option<WorktreeMode>,
    /// `--worktree NAME`: the branch name (under `clawrun/`); default the
    /// label, else the run id.
    pub name: Option<String>,
    /// `--base REF`: the commit (branch, tag, …) the worktree starts from;
    /// default the project's `HEAD`.
    pub base: Option<String>,
}

/// A worktree to make when the run is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorktreePlan {
    /// The repository's top level.
    pub repo: PathBuf,
    /// The branch name hint (sanitized under `clawrun/`).
    pub name_hint: String,
    /// `--base REF`, when given.
    pub base: Option<String>,
}

/// What [`decide`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The agent works in the project directory itself.
    None,
    /// A new worktree, made by [`make`].
    Make(WorktreePlan),
    /// The worktree of the run being resumed, used again.
    Reuse(RunWorktree),
}

fn usage(msg: impl Into<String>) -> Error {
    Error::usage(msg)
}

/// The repository top level of `project`; `None` when it is not (yet) in a
/// git work tree.
fn repo_of(project: &Path) -> Result<Option<PathBuf>> {
    if !project.is_dir() {
        return Ok(None);
    }
    match git::toplevel(project) {
        Ok(top) => Ok(Some(top)),
        Err(GitError::NotARepository { .. }) => Ok(None),
        Err(e @ GitError::Spawn { .. }) => Err(usage(format!("--worktree: {e}"))),
        Err(_) => Ok(None),
    }
}

/// Whether a run gets a worktree, checked before anything is written: a
/// project that must be in a repository and is not, or an unknown `--base`,
/// is a usage error. A resume of a worktree run whose project is that
/// worktree (or its repository) runs in the same worktree again.
///
/// # Errors
/// [`Error::Usage`] as said.
pub fn decide(
    opts: &WorktreeOptions,
    project: &Path,
    last: Option<&LastRun>,
    hint: &str,
    paths: &Paths,
) -> Result<Decision> {
    if let Some(name) = &opts.name {
        super::validate::check_token("--worktree", name, 200)?;
    }
    if let Some(base) = &opts.base {
        super::validate::check_token("--base", base, 200)?;
    }
    if let Some(wt) = last.and_then(|l| l.worktree.as_ref())
        && opts.name.is_none()
        && opts.base.is_none()
        && let Some(reuse) = reuse(wt, project)?
    {
        return Ok(reuse);
    }
    let repo = match opts.mode.unwrap_or_default() {
        WorktreeMode::Never => {
            if opts.base.is_some() {
                return Err(usage(
                    "--base needs --worktree (the commit a worktree starts from)",
                ));
            }
            return Ok(Decision::None);
        }
        WorktreeMode::Auto => match repo_of(project)? {
            Some(top) if another_run_in(&top, paths) => top,
            _ => return Ok(Decision::None),
        },
        WorktreeMode::Always => repo_of(project)?.ok_or_else(|| {
            usage(format!(
                "--worktree: {} is not in a git repository (a worktree is made from one: \
                 `git init` and commit first, or run without --worktree{})",
                project.display(),
                if opts.name.is_none() {
                    "; `[run] worktree = \"always\"` in clawrun.toml is overridden by --no-worktree"
                } else {
                    ""
                }
            ))
        })?,
    };
    let base = opts.base.as_deref().unwrap_or("HEAD");
    git::resolve_commit(&repo, base).map_err(|e| match e {
        GitError::UnknownRevision { .. } if opts.base.is_none() => usage(format!(
            "--worktree: the repository {} has no commit yet (a worktree starts from one: \
             commit first, or give --base REF)",
            repo.display()
        )),
        GitError::UnknownRevision { .. } => usage(format!(
            "--base {base:?} does not name a commit in {}",
            repo.display()
        )),
        other => usage(format!("--worktree: {other}")),
    })?;
    Ok(Decision::Make(WorktreePlan {
        repo,
        name_hint: opts.name.clone().unwrap_or_else(|| hint.to_owned()),
        base: opts.base.clone(),
    }))
}

/// A resume of a run in `wt`: the same worktree when `project` is in it or
/// is its repository; refused when the worktree is gone and `project` was it.
fn reuse(wt: &RunWorktree, project: &Path) -> Result<Option<Decision>> {
    let canonical = std::fs::canonicalize(project).unwrap_or_else(|_| project.to_path_buf());
    let in_worktree = canonical.starts_with(&wt.path) || project.starts_with(&wt.path);
    if in_worktree && !wt.path.is_dir() {
        return Err(usage(format!(
            "the worktree {} (branch {}) of the run being resumed is gone (merged or \
             discarded); resume in the repository instead: -p {}",
            wt.path.display(),
            wt.branch,
            wt.repo.display()
        )));
    }
    let in_repo = repo_of(project)?.is_some_and(|top| top == wt.repo);
    if in_worktree || (in_repo && wt.path.is_dir()) {
        return Ok(Some(Decision::Reuse(wt.clone())));
    }
    Ok(None)
}

/// Whether an active run (live runner) works in the repository `top`, in
/// its checkout or in one of its worktrees.
fn another_run_in(top: &Path, paths: &Paths) -> bool {
    run::list_runs(&paths.runs_dir())
        .into_iter()
        .filter(|(_, r)| !r.status.is_done() && group::runner_alive(r.runner_pid))
        .any(|(_, r)| {
            let repo = match &r.worktree {
                Some(w) => Some(w.repo.clone()),
                None => repo_of(&r.project).ok().flatten(),
            };
            repo.is_some_and(|repo| repo == top)
        })
}

/// Make the planned worktree at `<state dir>/worktrees/<run id>`.
///
/// # Errors
/// [`Error::Usage`] when git refuses (the branch name, the base), an I/O
/// error otherwise.
pub fn make(plan: &WorktreePlan, run_id: &str, paths: &Paths) -> Result<RunWorktree> {
    let dir = paths.worktrees_dir();
    crate::core::store::fsutil::create_private_dir(&dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    git::create_worktree(
        &plan.repo,
        &plan.name_hint,
        plan.base.as_deref(),
        &dir.join(run_id),
    )
    .map_err(|e| match e {
        GitError::Io { .. } | GitError::Spawn { .. } => {
            Error::io("creating the run's worktree", std::io::Error::other(e))
        }
        other => Error::usage(format!("--worktree: {other}")),
    })
}

/// The `HEAD` commit of `project` as the agent starts: the base of "what
/// changed". `None` outside a repository or before its first commit; a git
/// failure is a warning, never the run's failure.
pub(crate) async fn head_at_launch(project: PathBuf) -> Option<String> {
    let head = tokio::task::spawn_blocking(move || {
        if !git::is_inside_work_tree(&project)? {
            return Ok(None);
        }
        match git::head(&project) {
            Ok(h) => Ok(Some(h.commit)),
            // A repository without a commit yet: nothing to measure from.
            Err(GitError::UnknownRevision { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    })
    .await;
    match head {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => {
            tracing::warn!("reading the project's HEAD failed ({e}): no change summary");
            None
        }
        Err(e) => {
            tracing::warn!("reading the project's HEAD failed ({e}): no change summary");
            None
        }
    }
}

/// What changed in `project` since `base` (see [`git::changes_since`]); a git
/// failure is a warning and leaves the summary out.
pub(crate) async fn changes_of(
    project: PathBuf,
    base: Option<String>,
) -> Option<git::ChangeSummary> {
    let base = base?;
    let changes = tokio::task::spawn_blocking(move || {
        git::changes_since(&project, &base, git::ChangeLimits::default())
    })
    .await;
    match changes {
        Ok(Ok(c)) => Some(c),
        Ok(Err(e)) => {
            tracing::warn!("measuring what changed failed ({e}): the result has no change summary");
            None
        }
        Err(e) => {
            tracing::warn!("measuring what changed failed ({e}): the result has no change summary");
            None
        }
    }
}
