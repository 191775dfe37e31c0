//! `clawrun stats`: counts, durations, cost and tokens.

use crate::core::model::exit::ExitStatus;
use crate::core::now_secs;
use crate::core::ops::stats;

use crate::cli::args::StatsArgs;
use crate::cli::{CmdResult, Ctx, render};

/// `clawrun stats`.
pub fn stats(args: &StatsArgs, ctx: &Ctx) -> CmdResult {
    let days = (args.days > 0).then_some(args.days);
    let stats = stats::stats(&ctx.paths, days, now_secs())?;
    if args.json {
        render::json(&stats)?;
    } else {
        render::text(&render::stats::stats(&stats))?;
    }
    Ok(ExitStatus::Success)
}
