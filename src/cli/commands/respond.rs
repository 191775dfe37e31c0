//! `clawrun respond`: answer a multi-turn run waiting for input.

use crate::core::model::exit::ExitStatus;
use crate::core::ops::resolve::resolve_run;
use crate::core::runner::control;

use crate::cli::args::RespondArgs;
use crate::cli::{CmdResult, Ctx, render, runtime};

/// `clawrun respond`.
pub fn respond(args: &RespondArgs, ctx: &Ctx) -> CmdResult {
    let run = resolve_run(&ctx.paths, &args.run)?;
    let id = run.record.run_id.clone();
    let outcome = |error: Option<String>| -> CmdResult {
        if args.json {
            render::json(&serde_json::json!({
                "ok": error.is_none(),
                "run_id": id,
                "sent": error.is_none().then_some(&args.message),
                "interrupt": args.interrupt,
                "user": args.user,
                "error": error,
            }))?;
        }
        match error {
            None => {
                if !args.json {
                    eprintln!("✓ sent to run {id}");
                }
                Ok(ExitStatus::Success)
            }
            Some(e) => {
                eprintln!("❌ {e}");
                Ok(ExitStatus::Failure)
            }
        }
    };
    let finished = |what: &str| {
        outcome(Some(format!(
            "run {id} {what}: it takes no more input. Continue its session with \
             `clawrun resume {id} \"message\"`."
        )))
    };
    if run.record.status.is_done() {
        return finished(&format!("has finished ({})", run.record.status.as_str()));
    }
    let req = control::Request::Respond {
        text: args.message.clone(),
        interrupt: args.interrupt,
        user: args.user,
    };
    let Ok(reply) = runtime()?.block_on(control::request(&run.dir.path, &req)) else {
        return finished("is not running (no live runner)");
    };
    if reply.ok {
        outcome(None)
    } else {
        outcome(Some(format!(
            "not sent: {}",
            reply.error.unwrap_or_default()
        )))
    }
}
