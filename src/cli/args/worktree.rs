//! The worktree flags of `clawrun run` and the `clawrun worktree` subcommand.

use crate::core::config::WorktreeMode;
use crate::core::runner::WorktreeOptions;
use clap::{Args, Subcommand};

/// `clawrun run`: the run's own git worktree.
#[derive(Debug, Args)]
#[command(next_help_heading = super::heading::WORKTREE)]
pub struct WorktreeFlags {
    /// Run in a new git worktree of the project, on a new branch `clawrun/NAME`.
    ///
    /// NAME defaults to the label, else the run id; see `clawrun worktree`. Without this flag:
    /// `[run] worktree` in clawrun.toml (never, auto, always).
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "")]
    pub worktree: Option<String>,
    /// Run in the project directory itself, whatever `[run] worktree` says.
    #[arg(long, conflicts_with = "worktree")]
    pub no_worktree: bool,
    /// With a worktree: the commit (branch, tag, …) it starts from (default: HEAD).
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,
}

impl WorktreeFlags {
    /// The library's view of these flags; `default` is `[run] worktree`.
    pub fn to_options(&self, default: WorktreeMode) -> WorktreeOptions {
        let mode = match (&self.worktree, self.no_worktree) {
            (Some(_), _) => WorktreeMode::Always,
            (None, true) => WorktreeMode::Never,
            (None, false) => default,
        };
        WorktreeOptions {
            mode,
            name: self.worktree.clone().filter(|n| !n.is_empty()),
            base: self.base.clone(),
        }
    }
}

/// `clawrun worktree`.
#[derive(Debug, Args)]
pub struct WorktreeArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: WorktreeCommand,
}

/// `clawrun worktree list|merge|discard`.
#[derive(Debug, Subcommand)]
pub enum WorktreeCommand {
    /// The runs with a worktree of their own: branch, path, and whether it is merged.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Merge a finished run's branch into the branch it started from (fast-forward, else a merge
    /// commit); a conflict is refused with the files named, and nothing is changed.
    Merge {
        /// Run id (or label).
        run: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a finished run's worktree and delete its branch; refused when the branch has
    /// unmerged commits or the worktree uncommitted changes, unless --force.
    Discard {
        /// Run id (or label).
        run: String,
        /// Discard unmerged commits and uncommitted changes too.
        #[arg(long)]
        force: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}
