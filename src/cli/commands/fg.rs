//! `clawrun fg` / `clawrun bg`: stream a running run's text into its chat,
//! or stop streaming it.

use crate::core::model::exit::ExitStatus;
use crate::core::ops::resolve::resolve_run;
use crate::core::runner::control;

use crate::cli::args::RunRefArgs;
use crate::cli::{CmdResult, Ctx, runtime};

/// `clawrun fg` (`fg` = true) or `clawrun bg`.
pub fn fg_bg(args: &RunRefArgs, ctx: &Ctx, fg: bool) -> CmdResult {
    let dir = resolve_run(&ctx.paths, &args.run)?.dir;
    let req = if fg {
        control::Request::Fg
    } else {
        control::Request::Bg
    };
    let reply = runtime()?
        .block_on(control::request(&dir.path, &req))
        .map_err(|_| {
            crate::Error::usage(format!(
                "run {} is not running (no live runner to stream from)",
                args.run
            ))
        })?;
    let what = if fg {
        "foreground: its text streams into the chat"
    } else {
        "background"
    };
    if args.json {
        let v = serde_json::json!({"run_dir": dir.path, "fg": fg, "ok": reply.ok, "error": reply.error});
        crate::cli::render::text(&format!("{v}\n"))?;
    } else if reply.ok {
        eprintln!("✓ run is in the {what}");
    } else {
        eprintln!("❌ {}", reply.error.clone().unwrap_or_default());
    }
    Ok(if reply.ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
