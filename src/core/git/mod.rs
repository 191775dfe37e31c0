//! The git layer: repository facts, a worktree per run, "what changed" since
//! a base commit, and a worktree's lifecycle (merge, discard, safe removal).
//! A leaf: it uses nothing else of clawrun, and every function runs the `git`
//! CLI synchronously (wrap in `spawn_blocking` from async code).
//!
//! # Design
//!
//! - **clawrun makes its own worktrees** with `git worktree add`, rather than
//!   passing the agent CLI's own flag (claude `-w, --worktree [name]`,
//!   `codex exec --worktree`, "Run the session in a new managed Git
//!   worktree", per their `--help` in claude 2.1.197–2.1.332 and codex
//!   0.169–0.171). Neither `--help` says where the worktree goes or which
//!   branch it gets (codex's flag takes no name at all), and neither
//!   documents printing them in its stream; generic and ACP backends have
//!   no such flag. Our own worktree, made before the agent starts and used as
//!   its working directory, gives the path, branch and base commit for
//!   certain, identically for every backend, and resuming a run is simply
//!   running in the same directory again.
//! - **Our branches** live under [`BRANCH_PREFIX`] (`clawrun/<label or run
//!   id>`, sanitized, with `-2`, `-3`, … when taken); only those are ever
//!   listed, merged or deleted. The directory is the caller's choice (a
//!   clawrun-owned state dir, e.g. `<state>/worktrees/<run id>`), never inside
//!   the repository.
//! - **`.worktreeinclude`** follows Claude Code's convention: see [`include`](mod@include).
//! - **Merges are all or nothing**: a trial merge with
//!   `git merge-tree --write-tree` (git ≥ 2.38; written against 2.47) names the
//!   conflicting files before any ref, index or file changes.
//! - **Commands** run as `git --no-pager -C <dir> <args>`: no shell, stdin
//!   closed, `LC_ALL=C`, no prompts, optional locks off (so status does not
//!   race an agent's own git), and `GIT_DIR`/`GIT_WORK_TREE`/… removed from
//!   the environment (the private `cmd` module).

mod changes;
mod cmd;
mod error;
pub mod include;
mod merge;
mod repo;
mod worktree;

pub use changes::{ChangeLimits, ChangeSummary, CommitLine, changes_since};
pub use error::GitError;
pub use merge::{Discarded, MergeKind, MergeOutcome, Removal, discard, merge, removal_check};
pub use repo::{
    Uncommitted, branch_exists, head, init, is_inside_work_tree, resolve_commit, toplevel,
    uncommitted,
};
pub use worktree::{RunWorktree, create_worktree};
// Oracles of the tests (git's own answers), not used by clawrun itself.
#[cfg(test)]
pub(crate) use merge::is_merged;
#[cfg(test)]
pub(crate) use repo::is_dirty;
#[cfg(test)]
pub(crate) use worktree::{is_valid_branch_name, list_worktrees, sanitize_branch_name};

/// The prefix of every branch clawrun creates (and the only ones it merges
/// or deletes).
pub const BRANCH_PREFIX: &str = "clawrun/";

#[cfg(test)]
mod run_tests;
#[cfg(test)]
mod tests;
