//! `clawrun resume`: continue a run's session — launched as `clawrun run
//! --resume …` would be (the library plans the run, `run` shows it).

use crate::core::ops::{resolve, resume};
use crate::core::runner::follower;
use crate::core::store::paths::ProcessEnv;

use crate::cli::args::ResumeArgs;
use crate::cli::commands::run::{Shown, launch_shown};
use crate::cli::{CmdResult, Ctx};

/// `clawrun resume`: the new run's exit code, as `clawrun run` gives it.
pub fn resume(args: &ResumeArgs, ctx: &Ctx) -> CmdResult {
    let target = resolve::resolve(&ctx.paths, &args.run)?;
    let plan = resume::plan_resume(ctx.backends_file.as_deref(), &target, &args.to_request())?;
    if !args.json {
        eprintln!(
            "↩️ Resuming {} session {} in {}",
            plan.backend,
            plan.resume_id,
            plan.project.display()
        );
    }
    let rctx = ctx.run_context()?;
    let shown = Shown {
        json: args.json,
        detach: args.detach,
        validate_only: false,
        exec_mode: follower::in_openclaw_exec(&ProcessEnv),
    };
    launch_shown(&rctx, plan.launch_options(), shown)
}
