//! [`GitError`]: what can go wrong in the git layer, with the failing command
//! and git's own words.

use std::path::PathBuf;

/// Errors from the git layer. A failed `git` command keeps its arguments,
/// directory, exit code and stderr, so the message says what to run by hand.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The `git` program could not be started (not installed, not on `PATH`).
    #[error("running git: {source}")]
    Spawn {
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The directory is not inside a git work tree (or does not exist).
    #[error("{} is not inside a git work tree", dir.display())]
    NotARepository {
        /// The directory asked about.
        dir: PathBuf,
    },
    /// A `git` command exited unsuccessfully.
    #[error("`git {args}` in {} failed (exit {}): {stderr}", dir.display(), code_text(*code))]
    Command {
        /// The arguments after `git`, space-separated.
        args: String,
        /// The directory it ran in (`-C`).
        dir: PathBuf,
        /// The exit code, `None` when killed by a signal.
        code: Option<i32>,
        /// git's stderr, trimmed.
        stderr: String,
    },
    /// A revision (`--base REF`, a branch) does not name a commit.
    #[error("{rev:?} does not name a commit in {}", dir.display())]
    UnknownRevision {
        /// The revision as given.
        rev: String,
        /// The repository.
        dir: PathBuf,
    },
    /// git printed something we could not parse.
    #[error("unexpected output from `git {args}`: {message}")]
    Parse {
        /// The arguments after `git`.
        args: String,
        /// What was wrong.
        message: String,
    },
    /// A file operation (copying `.worktreeinclude` files, creating dirs) failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The worktree directory to create already exists.
    #[error("worktree directory {} already exists", path.display())]
    PathExists {
        /// The directory.
        path: PathBuf,
    },
    /// No free branch name was found for the hint (all suffixes taken).
    #[error("no free branch name for {hint:?} (tried up to {last})")]
    NoFreeBranch {
        /// The sanitized name.
        hint: String,
        /// The last candidate tried.
        last: String,
    },
    /// The branch is not one of ours (not under [`BRANCH_PREFIX`](super::BRANCH_PREFIX)):
    /// clawrun never deletes or merges other branches.
    #[error(
        "{branch} is not a clawrun branch (expected the prefix {})",
        super::BRANCH_PREFIX
    )]
    NotOurs {
        /// The branch.
        branch: String,
    },
    /// A merge would conflict; nothing was changed.
    #[error("merging {branch} into {into} would conflict in {}; nothing was changed", files.join(", "))]
    Conflict {
        /// The branch to merge.
        branch: String,
        /// The target branch.
        into: String,
        /// The conflicting paths.
        files: Vec<String>,
    },
    /// A work tree has uncommitted changes to tracked files, so it is not touched.
    #[error("{} has uncommitted changes; commit or stash them first", path.display())]
    Dirty {
        /// The work tree.
        path: PathBuf,
    },
    /// The branch has commits not merged into its base; discarding needs `force`.
    #[error(
        "{branch} has {commits} commit(s) not merged into {into}; merge it or force the discard"
    )]
    Unmerged {
        /// The branch.
        branch: String,
        /// The base it was compared with.
        into: String,
        /// How many commits would be lost.
        commits: usize,
    },
    /// The worktree has uncommitted or untracked changes; discarding needs `force`.
    #[error("worktree {} has uncommitted changes; force the discard to lose them", path.display())]
    UncommittedLeft {
        /// The worktree.
        path: PathBuf,
    },
    /// A merge needs a base branch and the worktree has none (its base was a
    /// detached `HEAD` or a tag/remote ref).
    #[error("{branch} has no base branch to merge into (it started from a detached commit)")]
    NoBaseBranch {
        /// The worktree's branch.
        branch: String,
    },
}

fn code_text(code: Option<i32>) -> String {
    code.map_or_else(|| "signal".to_owned(), |c| c.to_string())
}
