//! A worktree per run: a new branch under [`BRANCH_PREFIX`] and a directory
//! clawrun owns, plus listing ours.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::cmd;
use super::repo::{self, branch_exists, resolve_commit, toplevel};
use super::{BRANCH_PREFIX, GitError, include};

/// Longest sanitized name (before a uniqueness suffix), in bytes.
const MAX_NAME: usize = 48;
/// How many `-2`, `-3`, … suffixes are tried before giving up.
const MAX_SUFFIX: usize = 999;

/// A run's worktree, as created: what the run record keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunWorktree {
    /// The worktree directory (absolute).
    pub path: PathBuf,
    /// The branch checked out there, e.g. `clawrun/fix-login`.
    pub branch: String,
    /// The full commit the branch started from: the base of "what changed".
    pub base_commit: String,
    /// The local branch the worktree started from (the one checked out in
    /// the repository, or `--base` when it names a local branch); the target
    /// of a merge. `None` for a detached `HEAD`, a tag or a remote ref.
    pub base_branch: Option<String>,
    /// The top level of the repository the worktree was made from.
    pub repo: PathBuf,
    /// Paths (relative) copied in because `.worktreeinclude` lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub copied: Vec<String>,
}

impl RunWorktree {
    /// What "merged" is measured against: the base branch, else the base commit.
    pub fn merge_target(&self) -> &str {
        self.base_branch.as_deref().unwrap_or(&self.base_commit)
    }
}

/// One of our worktrees, as `git worktree list` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorktreeEntry {
    /// The worktree directory.
    pub path: PathBuf,
    /// Its branch (short name, under [`BRANCH_PREFIX`]).
    pub branch: String,
    /// The commit checked out there.
    pub head: String,
    /// Whether the worktree is locked (`git worktree lock`).
    pub locked: bool,
    /// Whether git considers it prunable (its directory is gone).
    pub prunable: bool,
}

/// Creates a worktree for a run at `path` (which must not exist; its parents
/// are created), on a new branch `clawrun/<sanitized name_hint>` (with a
/// `-2`, `-3`, … suffix when taken), starting at `base` (default: the `HEAD`
/// of `repo`). Then copies the files `.worktreeinclude` selects (see
/// [`include`](mod@super::include)).
///
/// # Errors
/// [`GitError::NotARepository`] when `repo` is not in a work tree,
/// [`GitError::UnknownRevision`] for a bad `base`, [`GitError::PathExists`],
/// [`GitError::NoFreeBranch`], [`GitError::Command`] when `git worktree add`
/// fails, [`GitError::Io`] when the parent directories cannot be made. A
/// failed `.worktreeinclude` copy is logged, not an error.
pub fn create_worktree(
    repo: &Path,
    name_hint: &str,
    base: Option<&str>,
    path: &Path,
) -> Result<RunWorktree, GitError> {
    let top = toplevel(repo)?;
    let base_commit = resolve_commit(&top, base.unwrap_or("HEAD"))?;
    let base_branch = match base {
        None => repo::head(&top)?.branch,
        Some(b) if branch_exists(&top, b)? => Some(b.to_owned()),
        Some(_) => None,
    };
    if path.exists() {
        return Err(GitError::PathExists {
            path: path.to_path_buf(),
        });
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| GitError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let branch = add_on_free_branch(&top, &sanitize_branch_name(name_hint), &base_commit, path)?;
    let path = std::fs::canonicalize(path).map_err(|source| GitError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    // Like Claude Code and the other tools reading `.worktreeinclude`, a
    // failed copy does not fail the worktree: it is logged and the run goes on.
    let copied = include::copy_included(&top, &path).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "copying .worktreeinclude files failed");
        Vec::new()
    });
    Ok(RunWorktree {
        path,
        branch,
        base_commit,
        base_branch,
        repo: top,
        copied,
    })
}

/// Tries `clawrun/<name>`, `clawrun/<name>-2`, … and runs
/// `git worktree add -b` on the first free one. A name taken between the
/// check and the add (another run racing) moves on to the next suffix.
fn add_on_free_branch(
    top: &Path,
    name: &str,
    base_commit: &str,
    path: &Path,
) -> Result<String, GitError> {
    let mut last = String::new();
    for n in 1..=MAX_SUFFIX {
        let candidate = match n {
            1 => format!("{BRANCH_PREFIX}{name}"),
            _ => format!("{BRANCH_PREFIX}{name}-{n}"),
        };
        last.clone_from(&candidate);
        if branch_exists(top, &candidate)? {
            continue;
        }
        let args = [
            "worktree".as_ref(),
            "add".as_ref(),
            "--quiet".as_ref(),
            "--no-track".as_ref(),
            "-b".as_ref(),
            candidate.as_ref(),
            path.as_os_str(),
            base_commit.as_ref(),
        ];
        match cmd::run::<_, &std::ffi::OsStr>(top, args) {
            Ok(_) => return Ok(candidate),
            Err(_) if branch_exists(top, &candidate)? && !path.exists() => continue,
            Err(e) => return Err(e),
        }
    }
    Err(GitError::NoFreeBranch {
        hint: name.to_owned(),
        last,
    })
}

/// Turns a label or run id into a branch name component: ASCII letters,
/// digits, `.`, `_` and `-` only (anything else becomes `-`), runs of `-`
/// and `.` collapsed, no leading/trailing `-`/`.`, no `.lock` ending, at most
/// 48 bytes, lowercase; `run` when nothing is left. No `/`, so the result
/// never clashes with a branch *directory* (`clawrun/a` vs `clawrun/a/b`).
/// The result always passes `git check-ref-format` under [`BRANCH_PREFIX`].
pub fn sanitize_branch_name(hint: &str) -> String {
    let mut out = String::with_capacity(hint.len().min(MAX_NAME));
    for c in hint.chars() {
        let c = match c {
            'a'..='z' | '0'..='9' | '_' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            '.' => '.',
            _ => '-',
        };
        let prev = out.chars().last();
        if matches!((prev, c), (Some('-' | '.'), '-' | '.')) {
            continue;
        }
        if out.is_empty() && matches!(c, '-' | '.') {
            continue;
        }
        out.push(c);
    }
    out.truncate(MAX_NAME);
    loop {
        let trimmed = out.trim_end_matches(['-', '.']).len();
        out.truncate(trimmed);
        match out.strip_suffix(".lock") {
            Some(rest) => out.truncate(rest.len()),
            None => break,
        }
    }
    if out.is_empty() {
        "run".to_owned()
    } else {
        out
    }
}

#[cfg(test)]
/// Whether git accepts `name` as a branch name (`git check-ref-format --branch`).
///
/// # Errors
/// [`GitError::Spawn`] when git cannot be run.
pub fn is_valid_branch_name(dir: &Path, name: &str) -> Result<bool, GitError> {
    let (out, _) = cmd::output(dir, ["check-ref-format", "--branch", name])?;
    Ok(out.status.success())
}

#[cfg(test)]
/// Our worktrees in the repository containing `repo`: those whose branch is
/// under [`BRANCH_PREFIX`].
///
/// # Errors
/// [`GitError::NotARepository`] outside a repository; [`GitError::Command`]
/// when `git worktree list` fails.
pub fn list_worktrees(repo: &Path) -> Result<Vec<WorktreeEntry>, GitError> {
    Ok(all_worktrees(repo)?
        .into_iter()
        .filter(|w| w.branch.starts_with(BRANCH_PREFIX))
        .collect())
}

/// Every worktree (main and linked) with a branch checked out.
pub(crate) fn all_worktrees(repo: &Path) -> Result<Vec<WorktreeEntry>, GitError> {
    let out = cmd::run(repo, ["worktree", "list", "--porcelain", "-z"])?;
    let mut list = Vec::new();
    let mut cur: Option<WorktreeEntry> = None;
    // Records are runs of fields, separated by an empty field.
    for field in out.split('\0') {
        if field.is_empty() {
            list.extend(cur.take().filter(|w| !w.branch.is_empty()));
            continue;
        }
        let (key, value) = field.split_once(' ').unwrap_or((field, ""));
        match (key, cur.as_mut()) {
            ("worktree", _) => {
                list.extend(cur.take().filter(|w| !w.branch.is_empty()));
                cur = Some(WorktreeEntry {
                    path: PathBuf::from(value),
                    branch: String::new(),
                    head: String::new(),
                    locked: false,
                    prunable: false,
                });
            }
            ("HEAD", Some(w)) => w.head = value.to_owned(),
            ("branch", Some(w)) => {
                w.branch = value
                    .strip_prefix("refs/heads/")
                    .unwrap_or(value)
                    .to_owned();
            }
            ("locked", Some(w)) => w.locked = true,
            ("prunable", Some(w)) => w.prunable = true,
            _ => {}
        }
    }
    list.extend(cur.take().filter(|w| !w.branch.is_empty()));
    Ok(list)
}
