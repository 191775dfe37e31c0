//! `clawrun status`: the runs that are running now (stale records reaped).

use crate::core::model::exit::ExitStatus;
use crate::core::now_secs;

use crate::cli::args::StatusArgs;
use crate::cli::{CmdResult, Ctx, render};

/// `clawrun status`.
pub fn status(args: &StatusArgs, ctx: &Ctx) -> CmdResult {
    let active = crate::core::ops::resolve::active_runs(&ctx.paths);
    // A run whose record cannot be read may be running: name it, with its path.
    let unreadable = render::runs::unreadable(&crate::core::store::run::unreadable_runs(
        &ctx.paths.runs_dir(),
    ));
    if args.json {
        let records: Vec<_> = active.iter().map(|(_, r)| r).collect();
        render::json(&records)?;
        eprint!("{unreadable}");
        return Ok(ExitStatus::Success);
    }
    if active.is_empty() {
        render::text(&format!("No runs are running.\n{unreadable}"))?;
        return Ok(ExitStatus::Success);
    }
    let now = now_secs();
    let lines: String = active
        .iter()
        .map(|(dir, r)| render::runs::status_line(dir, r, now))
        .collect();
    render::text(&format!("{lines}{unreadable}"))?;
    Ok(ExitStatus::Success)
}
