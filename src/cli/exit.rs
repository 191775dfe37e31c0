//! Exit status: how a command's result becomes the process's exit code. The
//! codes are documented in README "Exit codes"; a run's own outcome (3–6)
//! comes from [`clawrun::core::runner::RunReport::exit_code`].

use std::process::ExitCode;

use clawrun::Error;

/// Exit code for bad input (nothing spawned, nothing written).
pub const EXIT_USAGE: u8 = 2;
/// Exit code for an internal error, or a command's check that failed.
pub const EXIT_INTERNAL: u8 = 1;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The library refused or failed (typed, so the exit code is a `match`).
    #[error(transparent)]
    Lib(#[from] Error),
    /// Writing our own output failed (a closed pipe is not a failure).
    #[error("writing the output: {0}")]
    Output(#[from] std::io::Error),
    /// Serializing JSON output failed.
    #[error("writing JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Something the binary itself ran into (no runtime, no executable path,
    /// a crashed runner), with its context.
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
}

impl CliError {
    /// The inner error with its chain of causes, printed as `{:#}`.
    fn into_anyhow(self) -> anyhow::Error {
        match self {
            CliError::Lib(e) => e.into(),
            CliError::Output(e) => e.into(),
            CliError::Json(e) => e.into(),
            CliError::Other(e) => e,
        }
    }
}

/// The exit code for `err`; `None` when it is no failure at all (the reader
/// of our output went away: exit 0, like `head` expects).
pub fn code(err: &CliError) -> Option<u8> {
    match err {
        CliError::Lib(e) => Some(match e {
            Error::Usage(_) | Error::Config(_) => EXIT_USAGE,
            Error::Registry(_) | Error::Process(_) | Error::Io { .. } => EXIT_INTERNAL,
        }),
        CliError::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe => None,
        CliError::Output(_) | CliError::Json(_) | CliError::Other(_) => Some(EXIT_INTERNAL),
    }
}

/// The process's exit status for a command's result; a failure is printed
/// on stderr first.
pub fn status(result: Result<u8, CliError>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => match code(&err) {
            None => ExitCode::SUCCESS,
            Some(code) => {
                eprintln!("❌ {:#}", err.into_anyhow());
                ExitCode::from(code)
            }
        },
    }
}
