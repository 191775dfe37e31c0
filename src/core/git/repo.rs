//! Repository facts: is a directory in a work tree, its top level, `HEAD`
//! (commit and branch), and what is left uncommitted.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::GitError;
use super::cmd::{self, nul_fields};

/// The commit and branch checked out in a work tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// The full commit id.
    pub commit: String,
    /// The short branch name (`main`), `None` on a detached `HEAD`.
    pub branch: Option<String>,
}

/// Uncommitted changes in a work tree, counted per kind (a file both staged
/// and modified again counts in both).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uncommitted {
    /// Paths with staged changes.
    pub staged: usize,
    /// Tracked paths modified or deleted but not staged (and unmerged paths).
    pub unstaged: usize,
    /// Untracked paths (ignored files are not counted).
    pub untracked: usize,
}

impl Uncommitted {
    /// True when nothing at all is uncommitted.
    pub fn is_empty(&self) -> bool {
        self.staged == 0 && self.unstaged == 0 && self.untracked == 0
    }

    /// True when tracked files have staged or unstaged changes (untracked
    /// files aside): what makes a checkout unfit to merge into.
    pub fn touches_tracked(&self) -> bool {
        self.staged > 0 || self.unstaged > 0
    }
}

/// One entry of `git status --porcelain`: its two status letters and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatusEntry {
    pub(crate) index: char,
    pub(crate) worktree: char,
    pub(crate) path: String,
}

/// Whether `dir` is inside a git work tree. A missing directory or one
/// outside any repository gives `Ok(false)`.
///
/// # Errors
/// [`GitError::Spawn`] when git cannot be run, [`GitError::Command`] for other
/// git failures.
pub fn is_inside_work_tree(dir: &Path) -> Result<bool, GitError> {
    match cmd::run(dir, ["rev-parse", "--is-inside-work-tree"]) {
        Ok(out) => Ok(out.trim() == "true"),
        Err(GitError::NotARepository { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Make `dir` a new repository (`git init -q`).
///
/// # Errors
/// [`GitError`] when git cannot be started or fails.
pub fn init(dir: &Path) -> Result<(), GitError> {
    super::cmd::run(dir, ["init", "-q"]).map(drop)
}

/// The top-level directory of the work tree containing `dir` (a linked
/// worktree's own root when `dir` is inside one).
///
/// # Errors
/// [`GitError::NotARepository`] outside a work tree; [`GitError::Spawn`] or
/// [`GitError::Command`] otherwise.
pub fn toplevel(dir: &Path) -> Result<PathBuf, GitError> {
    let out = cmd::run(dir, ["rev-parse", "--show-toplevel"])?;
    let top = out.trim_end_matches('\n');
    if top.is_empty() {
        // A bare repository, or inside `.git`: no work tree.
        return Err(GitError::NotARepository {
            dir: dir.to_path_buf(),
        });
    }
    Ok(PathBuf::from(top))
}

/// The commit and branch checked out in the work tree containing `dir`.
///
/// # Errors
/// [`GitError::NotARepository`] outside a repository,
/// [`GitError::UnknownRevision`] when the branch has no commit yet.
pub fn head(dir: &Path) -> Result<Head, GitError> {
    let commit = resolve_commit(dir, "HEAD")?;
    let (out, _) = cmd::output(dir, ["symbolic-ref", "--quiet", "--short", "HEAD"])?;
    let branch = out
        .status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|b| !b.is_empty());
    Ok(Head { commit, branch })
}

#[cfg(test)]
/// Whether the work tree containing `dir` has anything uncommitted (staged,
/// unstaged or untracked; ignored files do not count).
///
/// # Errors
/// As [`uncommitted`].
pub fn is_dirty(dir: &Path) -> Result<bool, GitError> {
    Ok(!uncommitted(dir)?.is_empty())
}

/// The uncommitted changes in the work tree containing `dir`, counted.
///
/// # Errors
/// [`GitError::NotARepository`] outside a work tree; [`GitError::Command`]
/// when `git status` fails.
pub fn uncommitted(dir: &Path) -> Result<Uncommitted, GitError> {
    Ok(count(&status_entries(dir)?))
}

pub(crate) fn count(entries: &[StatusEntry]) -> Uncommitted {
    let mut n = Uncommitted::default();
    for e in entries {
        if e.index == '?' {
            n.untracked += 1;
            continue;
        }
        if e.index != ' ' {
            n.staged += 1;
        }
        if e.worktree != ' ' {
            n.unstaged += 1;
        }
    }
    n
}

/// `git status --porcelain=v1 -z --untracked-files=all`, parsed.
pub(crate) fn status_entries(dir: &Path) -> Result<Vec<StatusEntry>, GitError> {
    let out = cmd::run(
        dir,
        [
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
            "--ignore-submodules=none",
        ],
    )?;
    let mut entries = Vec::new();
    let mut fields = nul_fields(&out);
    while let Some(field) = fields.next() {
        let mut chars = field.chars();
        let (Some(index), Some(worktree)) = (chars.next(), chars.next()) else {
            continue;
        };
        let path = field.get(3..).unwrap_or_default().to_owned();
        if matches!(index, 'R' | 'C') {
            // A rename or copy is followed by its source path: skip it.
            fields.next();
        }
        entries.push(StatusEntry {
            index,
            worktree,
            path,
        });
    }
    Ok(entries)
}

/// The full commit id a revision names.
///
/// # Errors
/// [`GitError::UnknownRevision`] when it names no commit;
/// [`GitError::NotARepository`] outside a repository.
pub fn resolve_commit(dir: &Path, rev: &str) -> Result<String, GitError> {
    let spec = format!("{rev}^{{commit}}");
    let (out, shown) = cmd::output(
        dir,
        [
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &spec,
        ],
    )?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned());
    }
    match cmd::failure(dir, shown, &out) {
        e @ GitError::NotARepository { .. } => Err(e),
        _ => Err(GitError::UnknownRevision {
            rev: rev.to_owned(),
            dir: dir.to_path_buf(),
        }),
    }
}

/// Whether a local branch of that short name exists.
///
/// # Errors
/// [`GitError::Spawn`] when git cannot be run.
pub fn branch_exists(dir: &Path, branch: &str) -> Result<bool, GitError> {
    let full = format!("refs/heads/{branch}");
    let (out, _) = cmd::output(dir, ["show-ref", "--verify", "--quiet", &full])?;
    Ok(out.status.success())
}

/// The number of commits reachable from `to` and not from `from` (`from..to`).
pub(crate) fn count_between(dir: &Path, from: &str, to: &str) -> Result<usize, GitError> {
    let range = format!("{from}..{to}");
    let out = cmd::run(dir, ["rev-list", "--count", &range, "--"])?;
    out.trim().parse().map_err(|_| GitError::Parse {
        args: format!("rev-list --count {range}"),
        message: format!("not a count: {:?}", out.trim()),
    })
}
