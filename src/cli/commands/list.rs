//! `clawrun list`: running and recent runs.

use clawrun::core::now_secs;
use clawrun::core::ops::list::{self, StatusFilter};

use crate::cli::args::ListArgs;
use crate::cli::{CmdResult, Ctx, render};

/// `clawrun list`.
pub fn list(args: &ListArgs, ctx: &Ctx) -> CmdResult {
    let filter = args
        .status
        .as_deref()
        .map(StatusFilter::parse)
        .transpose()?;
    let runs = list::list(&ctx.paths, args.all, filter, now_secs());
    if args.json {
        render::json(&runs)?;
    } else if runs.is_empty() {
        render::text(if args.all {
            "No runs.\n"
        } else {
            "No runs running or in the last 24 hours (--all lists older ones).\n"
        })?;
    } else {
        render::text(&render::runs::list(&runs))?;
    }
    Ok(0)
}
