//! `clawrun resume`: continue a run's session (becomes `clawrun run --resume`).

use crate::core::ops::{resolve, resume};
use anyhow::Context as _;

use crate::cli::args::ResumeArgs;
use crate::cli::exit::CliError;
use crate::cli::{CmdResult, Ctx};

/// `clawrun resume`: returns only on failure (on success the process has
/// become the new run).
pub fn resume(args: &ResumeArgs, ctx: &Ctx) -> CmdResult {
    let target = resolve::resolve(&ctx.paths, &args.run)?;
    let plan = resume::plan_resume(
        &ctx.paths,
        ctx.backends_file.as_deref(),
        &target,
        &args.to_request(),
    )?;
    if !args.json {
        eprintln!(
            "↩️ Resuming {} session {} in {}",
            plan.backend,
            plan.resume_id,
            plan.project.display()
        );
    }
    let exe = std::env::current_exe().context("finding the clawrun executable")?;
    Err(CliError::from(resume::exec_resume(&plan, &exe)))
}
