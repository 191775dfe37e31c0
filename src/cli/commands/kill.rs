//! `clawrun kill`: stop a run through its runner.

use crate::core::model::exit::ExitStatus;
use std::time::Duration;

use crate::core::ops::{kill, resolve::resolve_run};

use crate::cli::args::KillArgs;
use crate::cli::commands::nodes::{ASK_TIMEOUT, forward_if_node_run};
use crate::cli::{CmdResult, Ctx, render};

/// `clawrun kill`.
pub fn kill(args: &KillArgs, ctx: &Ctx) -> CmdResult {
    let limit = ASK_TIMEOUT + Duration::from_secs(args.wait);
    if let Some(done) = forward_if_node_run(ctx, &args.run, "kill", limit) {
        return done;
    }
    let run = resolve_run(&ctx.paths, &args.run)?;
    let report = kill::kill_run(&ctx.paths, &run, Duration::from_secs(args.wait))?;
    if args.json {
        render::json(&report)?;
    } else {
        render::text(&render::runs::kill(&report))?;
    }
    Ok(ExitStatus::Success)
}
