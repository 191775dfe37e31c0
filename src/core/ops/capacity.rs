//! The cap on runs running at once (`[limits] max_sessions`): count, refuse,
//! or wait for a slot (`run --queue`).

use std::time::Duration;

use crate::core::error::{Error, Result};
use crate::core::store::paths::Paths;

/// How many runs are active now (stale records are reaped first).
pub fn active_count(paths: &Paths) -> usize {
    crate::core::ops::resolve::active_runs(paths).len()
}

/// Refuse a new run when `max` runs are already active.
///
/// # Errors
/// [`Error::Usage`] saying how many run, the limit, and what to do.
pub fn check_capacity(paths: &Paths, max: u32) -> Result<()> {
    let n = active_count(paths);
    if n < max as usize {
        return Ok(());
    }
    let runs = if n == 1 {
        "1 run is running".to_owned()
    } else {
        format!("{n} runs are running")
    };
    Err(Error::Usage(format!(
        "{runs} (the limit is {max}): wait, stop one with `clawrun kill`, or pass --queue"
    )))
}

/// Wait until fewer than `max` runs are active, looking every `poll`.
/// Returns how many were active when a slot opened.
pub async fn wait_for_slot(paths: &Paths, max: u32, poll: Duration) -> usize {
    loop {
        let n = active_count(paths);
        if n < max as usize {
            return n;
        }
        tokio::time::sleep(poll).await;
    }
}
