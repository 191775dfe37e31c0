//! Exit status: how a command's result becomes the process's exit code. The
//! codes are [`ExitStatus`]'s, documented in README "Exit codes"; a run's own
//! outcome (3–6) comes from [`crate::core::runner::RunReport::exit_code`].

use std::process::ExitCode;

use crate::Error;
use crate::core::model::exit::ExitStatus;

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

/// The exit status for `err`; `None` when it is no failure at all (the reader
/// of our output went away: exit 0, like `head` expects).
pub fn code(err: &CliError) -> Option<ExitStatus> {
    if is_broken_pipe(err) {
        return None;
    }
    match err {
        CliError::Lib(e) => Some(match e {
            Error::Usage(_) | Error::Config(_) => ExitStatus::Usage,
            Error::Registry(_) | Error::Process(_) | Error::Io { .. } => ExitStatus::Failure,
        }),
        CliError::Output(_) | CliError::Json(_) | CliError::Other(_) => Some(ExitStatus::Failure),
    }
}

/// Whether `err` is, anywhere in its chain, a write to a closed pipe (the
/// reader went away: `clawrun stats --json | head`).
fn is_broken_pipe(err: &CliError) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    if let CliError::Other(e) = err {
        cause = Some(e.as_ref());
    }
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::BrokenPipe {
                return true;
            }
        }
        if let Some(j) = c.downcast_ref::<serde_json::Error>() {
            if j.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe) {
                return true;
            }
        }
        cause = c.source();
    }
    false
}

/// The message for `err`: its chain of causes joined with `: `, where a cause
/// already said by the context before it is not said again (`writing X: Read-only
/// file system (os error 30)` once, not twice), without a leading `❌` (the
/// caller adds one).
pub fn message(err: anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        let text = text.trim();
        if text.is_empty() || out.contains(text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(text);
    }
    strip_marks(&out).to_owned()
}

/// `text` without the status emoji it may start with (`❌ Invalid routing` →
/// `Invalid routing`), so a printed error carries exactly one.
pub fn strip_marks(text: &str) -> &str {
    let mut t = text.trim_start();
    loop {
        let next = ["❌", "⚠️", "⚠"]
            .iter()
            .find_map(|m| t.strip_prefix(m))
            .map(str::trim_start);
        match next {
            Some(rest) => t = rest,
            None => return t,
        }
    }
}

/// The process's exit status for a command's result; a failure is printed
/// on stderr first.
pub fn status(result: Result<ExitStatus, CliError>) -> ExitCode {
    match result {
        Ok(status) => status.into(),
        Err(err) => match code(&err) {
            None => ExitCode::SUCCESS,
            Some(code) => {
                eprintln!("❌ {}", message(err.into_anyhow()));
                code.into()
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_said_by_its_context_is_not_repeated() {
        let io = std::io::Error::from_raw_os_error(30);
        let e: anyhow::Error = Error::io("writing /x", io).into();
        let m = message(e);
        assert_eq!(m.matches("os error 30").count(), 1, "{m}");
        assert_eq!(
            message(Error::usage("❌ ❌ Invalid routing: x").into()),
            "Invalid routing: x"
        );
    }
}
