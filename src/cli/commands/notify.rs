//! `clawrun notify`: a progress note from the agent inside its run, through
//! the runner's control socket.

use clawrun::core::runner::control;

use crate::cli::args::NotifyArgs;
use crate::cli::exit::EXIT_INTERNAL;
use crate::cli::{CmdResult, runtime};

/// `clawrun notify`.
pub fn notify(args: &NotifyArgs) -> CmdResult {
    let Some(run_dir) = &args.run_dir else {
        return Err(clawrun::Error::usage(
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
    if reply.ok {
        eprintln!("✓ note sent");
        Ok(0)
    } else {
        eprintln!("❌ note not sent: {}", reply.error.unwrap_or_default());
        Ok(EXIT_INTERNAL)
    }
}
