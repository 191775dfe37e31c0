//! `clawrun list`: running and recent runs.

use clawrun::core::now_secs;
use clawrun::core::ops::list::{self, StatusFilter};
use clawrun::core::store::run::unreadable_runs;

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
    let unreadable = unreadable_runs(&ctx.paths.runs_dir());
    if args.json {
        render::json(&runs)?;
        // Not in the JSON (its shape is one object per readable run): on stderr.
        eprint!("{}", render::runs::unreadable(&unreadable));
    } else if !unreadable.is_empty() {
        if !runs.is_empty() {
            render::text(&render::runs::list(&runs))?;
        }
        render::text(&render::runs::unreadable(&unreadable))?;
    } else if runs.is_empty() {
        let text = match (&args.status, args.all) {
            (Some(s), true) => format!("No {s} runs.\n"),
            (Some(s), false) => {
                format!("No {s} runs in the last 24 hours (--all lists older ones).\n")
            }
            (None, true) => "No runs.\n".to_owned(),
            (None, false) => {
                "No runs running or in the last 24 hours (--all lists older ones).\n".to_owned()
            }
        };
        render::text(&text)?;
    } else {
        render::text(&render::runs::list(&runs))?;
    }
    Ok(0)
}
