//! `clawrun doctor`: check the environment.

use std::time::Duration;

use crate::core::ops::doctor;
use crate::core::store::paths::ProcessEnv;

use crate::cli::args::DoctorArgs;
use crate::cli::{CmdResult, Ctx, render, runtime};

/// `clawrun doctor`.
pub fn doctor(args: &DoctorArgs, ctx: &Ctx) -> CmdResult {
    let opts = doctor::DoctorOptions {
        backends_file: ctx.backends_file.clone(),
        timeout: Duration::from_secs(args.timeout.max(1)),
    };
    let report = runtime()?.block_on(doctor::run(&ctx.paths, &opts, &ProcessEnv));
    if args.json {
        render::json(&report)?;
    } else {
        render::text(&render::doctor::report(&report))?;
    }
    Ok(report.exit_code())
}
