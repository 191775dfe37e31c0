//! `clawrun gc`: retention.

use crate::core::context::RunContext;
use crate::core::model::exit::ExitStatus;
use crate::core::ops::gc;

use crate::cli::args::GcArgs;
use crate::cli::{CmdResult, Ctx, render};

/// `clawrun gc`.
pub fn gc(args: &GcArgs, ctx: &Ctx) -> CmdResult {
    let config = RunContext::load_config(&ctx.paths)?;
    let opts = gc::GcOptions {
        older_than_days: args.older_than,
        dry_run: args.dry_run,
    };
    let report = gc::gc(&ctx.paths, &config, &opts)?;
    if args.json {
        render::json(&report)?;
    } else {
        render::text(&render::gc::report(&report))?;
    }
    Ok(if report.errors.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
