//! `clawrun show`: one run.

use crate::core::model::exit::ExitStatus;
use crate::core::now_secs;
use crate::core::ops::{resolve::resolve_run, show};

use crate::cli::args::ShowArgs;
use crate::cli::commands::nodes::{ASK_TIMEOUT, forward_if_node_run};
use crate::cli::{CmdResult, Ctx, render};

/// `clawrun show`.
pub fn show(args: &ShowArgs, ctx: &Ctx) -> CmdResult {
    if let Some(done) = forward_if_node_run(ctx, &args.run, "show", ASK_TIMEOUT) {
        return done;
    }
    // Reap stale records first, so "running" is true.
    let _ = crate::core::ops::resolve::active_runs(&ctx.paths);
    let details = show::show(&resolve_run(&ctx.paths, &args.run)?);
    if args.json {
        render::json(&details)?;
    } else {
        render::text(&render::runs::details(&details, now_secs()))?;
    }
    Ok(ExitStatus::Success)
}
