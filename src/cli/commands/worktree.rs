//! `clawrun worktree list|merge|discard`: the runs' own git worktrees.

use crate::core::model::exit::ExitStatus;
use crate::core::ops::worktree;

use crate::cli::args::{WorktreeArgs, WorktreeCommand};
use crate::cli::{CmdResult, Ctx, render};

/// `clawrun worktree`.
pub fn worktree(args: &WorktreeArgs, ctx: &Ctx) -> CmdResult {
    let paths = &ctx.paths;
    match &args.command {
        WorktreeCommand::List { json } => {
            let runs = worktree::list(paths);
            if *json {
                render::json(&runs)?;
            } else {
                render::text(&render::worktree::list(&runs))?;
            }
        }
        WorktreeCommand::Merge { run, json } => {
            let report = worktree::merge(paths, run)?;
            if *json {
                render::json(&report)?;
            } else {
                render::text(&render::worktree::merged(&report))?;
            }
        }
        WorktreeCommand::Discard { run, force, json } => {
            let report = worktree::discard(paths, run, *force)?;
            if *json {
                render::json(&report)?;
            } else {
                render::text(&render::worktree::discarded(&report))?;
            }
        }
    }
    Ok(ExitStatus::Success)
}
