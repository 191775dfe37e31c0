//! `clawrun notify`: a progress note from the agent inside its run, through
//! the runner's control socket.

use crate::core::model::exit::ExitStatus;
use crate::core::runner::control;

use crate::cli::args::NotifyArgs;
use crate::cli::{CmdResult, render, runtime};

/// `clawrun notify`.
pub fn notify(args: &NotifyArgs) -> CmdResult {
    let Some(run_dir) = &args.run_dir else {
        return Err(crate::Error::usage(
            "not inside a clawrun run: CLAWRUN_RUN_DIR is not set (the runner sets it for the \
             agent it starts; elsewhere pass --run-dir DIR)"
                .to_owned(),
        )
        .into());
    };
    let req = control::Request::Notify {
        text: args.text.clone(),
    };
    let reply = runtime()?.block_on(control::request(run_dir, &req))?;
    let error = (!reply.ok).then(|| reply.error.unwrap_or_default());
    if args.json {
        let run_id = crate::core::store::run::RunDir::open(run_dir.clone())
            .read_record()
            .ok()
            .map(|r| r.run_id);
        render::json(&serde_json::json!({
            "ok": reply.ok,
            "run_id": run_id,
            "queued": reply.ok.then_some(&args.text),
            "error": error,
        }))?;
    }
    match error {
        None => {
            if !args.json {
                eprintln!("✓ note sent");
            }
            Ok(ExitStatus::Success)
        }
        Some(e) => {
            eprintln!("❌ note not sent: {e}");
            Ok(ExitStatus::Failure)
        }
    }
}
