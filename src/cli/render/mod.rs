//! What the binary prints: tables and text for people, JSON for programs.
//! Each function takes the library's data and returns a `String` (or writes
//! JSON); the commands decide where it goes.

pub mod doctor;
pub mod gc;
pub mod outbox;
pub mod route;
pub mod run;
pub mod runs;
pub mod session_table;
pub mod sessions;
pub mod stats;
pub mod style;
pub mod worktree;

use std::io::Write;

use super::exit::CliError;

/// Print `value` as pretty JSON on stdout.
///
/// # Errors
/// Writing failed.
pub fn json(value: &impl serde::Serialize) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Print `text` on stdout (its colours only on a terminal, see [`style`]).
///
/// # Errors
/// Writing failed.
pub fn text(text: &str) -> Result<(), CliError> {
    let mut out = anstream::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}
