//! Exec mode: a run started by OpenClaw's background `exec` (the agent's
//! `exec` tool with `background: true`, which sets `OPENCLAW_SHELL=exec`).
//!
//! OpenClaw makes such a process a task (listed, cancellable), and wakes the
//! session that started it when it exits. So the `clawrun run` it started
//! stays in the foreground as the run's *follower*: the agent and its runner
//! run detached as with `--detach` (a gateway restart kills everything in the
//! exec's process group, never a `setsid` child), and the follower waits for
//! the run's end, prints the compact result and exits with the run's code.
//!
//! This module owns the follower's side of that contract in the run
//! directory: its lock (`follower.lock`, held with `flock` for as long as the
//! follower lives, so the runner can tell it is there without talking to
//! it), the mark a cancel leaves (`follower.cancelled`), and what the runner
//! makes of both when it is about to wake the agent ([`FollowerState`]): a
//! follower that is still there delivers the result by its exit (no wake of
//! clawrun's own), a cancelled run wakes nobody (OpenClaw does not either), a
//! follower that is gone (the gateway went away) leaves the wake to the run.

use std::fs::File;
use std::path::Path;
use std::time::Duration;

use crate::core::error::{Error, Result};
pub use crate::core::openclaw::agent::in_openclaw_exec;
use crate::core::openclaw::gateway::{GatewayClient, Readiness};
use crate::core::store::fsutil;
use crate::core::store::run::{RunDir, RunRecord};
use crate::core::store::slots::try_flock;

/// The follower's lock in the run directory.
pub const FOLLOWER_LOCK: &str = "follower.lock";
/// The mark a follower leaves when it stopped its run for a cancel.
pub const FOLLOWER_CANCELLED: &str = "follower.cancelled";
/// How long the follower asks `/readyz` on SIGTERM (OpenClaw's grace before
/// SIGKILL is 5 s).
pub const READINESS_WAIT: Duration = Duration::from_millis(1500);
/// How long a cancelled follower waits for its run to record `killed`.
pub const CANCEL_WAIT: Duration = Duration::from_millis(3000);
/// How often the follower reads the run's record.
pub const FOLLOW_POLL: Duration = Duration::from_millis(100);

/// The follower's hold on its run: the lock, released when the follower's
/// process ends however it ends (the kernel drops the `flock`).
#[derive(Debug)]
pub struct FollowerLock {
    _file: File,
}

impl FollowerLock {
    /// Take the lock of the run in `dir`, before its runner starts (so the
    /// runner never sees a run of exec mode without its follower).
    ///
    /// # Errors
    /// When the lock file cannot be created or locked.
    pub fn take(dir: &RunDir) -> Result<Self> {
        let path = dir.file(FOLLOWER_LOCK);
        let file = fsutil::open_private_rw(&path)
            .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
        match try_flock(&file, true) {
            Ok(true) => Ok(Self { _file: file }),
            Ok(false) => Err(Error::io(
                format!("locking {}", path.display()),
                std::io::Error::other("another follower holds it"),
            )),
            Err(e) => Err(Error::io(format!("locking {}", path.display()), e)),
        }
    }
}

/// The follower of a run, as its runner sees it when the run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowerState {
    /// Not a run of exec mode: clawrun wakes the agent as usual.
    None,
    /// The follower is there: its exit is the wake (OpenClaw's exit event).
    Following,
    /// The follower stopped the run for a cancel: nobody is woken.
    Cancelled,
    /// The follower is gone (the gateway stopped or restarted): no exit
    /// event will come, so the run wakes the agent itself.
    Gone,
}

impl FollowerState {
    /// Whether clawrun sends the run's final wake itself.
    pub fn run_wakes(self) -> bool {
        matches!(self, FollowerState::None | FollowerState::Gone)
    }
}

/// The follower state of the run in `dir`. Ask before the final record is
/// written: a follower that sees the run end exits, and must not be taken
/// for one that is gone.
pub fn follower_state(dir: &Path) -> FollowerState {
    if dir.join(FOLLOWER_CANCELLED).exists() {
        return FollowerState::Cancelled;
    }
    let Ok(file) = File::open(dir.join(FOLLOWER_LOCK)) else {
        return FollowerState::None;
    };
    match try_flock(&file, true) {
        Ok(false) => FollowerState::Following,
        // Free (the follower's process ended), or unreadable: the run must
        // not stay silent, so it wakes.
        Ok(true) | Err(_) => FollowerState::Gone,
    }
}

/// Leave the cancel mark in `dir` (before the run is stopped).
///
/// # Errors
/// When it cannot be written.
pub fn mark_cancelled(dir: &RunDir) -> Result<()> {
    let path = dir.file(FOLLOWER_CANCELLED);
    fsutil::write_atomic(&path, b"cancelled\n")
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

/// Why the follower got SIGTERM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TermCause {
    /// A stop of the task (`openclaw tasks cancel`, or anyone else while the
    /// gateway serves): the run is stopped as killed.
    Cancel,
    /// The gateway stops or restarts (draining, or gone): the run goes on
    /// and reports by itself. The text says what was seen.
    Shutdown(String),
}

/// Decide at once why SIGTERM came: OpenClaw's cancel leaves the gateway
/// ready (`/readyz` 200), a stop or restart drains it (503) or takes it away.
/// Without a gateway to ask (exec mode forced on another host), a SIGTERM is
/// a stop.
pub async fn term_cause(gateway: Option<&GatewayClient>) -> TermCause {
    let Some(gateway) = gateway else {
        return TermCause::Cancel;
    };
    match gateway.readiness(READINESS_WAIT).await {
        Readiness::Ready => TermCause::Cancel,
        Readiness::NotReady { status, body } => {
            TermCause::Shutdown(format!("the gateway is not ready (HTTP {status} {body})"))
        }
        Readiness::Unreachable(why) => TermCause::Shutdown(why),
    }
}

/// How long the follower waits, once the record says the run is done, for
/// its runner to exit: the runner sends the result message after the record,
/// and the human should see it before OpenClaw wakes the agent.
pub const RUNNER_EXIT_WAIT: Duration = Duration::from_secs(30);

/// Wait until the run in `dir` has ended (its record says so), reading it
/// every [`FOLLOW_POLL`], then for its runner to exit (it is delivering the
/// result), at most `RUNNER_EXIT_WAIT`.
pub async fn wait_for_end(dir: &RunDir) -> RunRecord {
    let rec = loop {
        if let Ok(rec) = dir.read_record()
            && rec.status.is_done()
        {
            break rec;
        }
        tokio::time::sleep(FOLLOW_POLL).await;
    };
    let runner_gone = async {
        while crate::core::sys::group::runner_alive(rec.runner_pid) {
            tokio::time::sleep(FOLLOW_POLL).await;
        }
    };
    let _ = tokio::time::timeout(RUNNER_EXIT_WAIT, runner_gone).await;
    // The runner may have added to the record on its way out.
    dir.read_record()
        .ok()
        .filter(|r| r.status.is_done())
        .unwrap_or(rec)
}

/// [`wait_for_end`] for at most `limit`.
pub async fn wait_for_end_within(dir: &RunDir, limit: Duration) -> Option<RunRecord> {
    tokio::time::timeout(limit, wait_for_end(dir)).await.ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_runner_sees_its_follower_come_and_go() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = RunDir::open(tmp.path());
        assert_eq!(follower_state(tmp.path()), FollowerState::None);
        let lock = FollowerLock::take(&dir).unwrap();
        assert_eq!(follower_state(tmp.path()), FollowerState::Following);
        assert!(!follower_state(tmp.path()).run_wakes());
        drop(lock);
        assert_eq!(follower_state(tmp.path()), FollowerState::Gone);
        assert!(follower_state(tmp.path()).run_wakes());
        mark_cancelled(&dir).unwrap();
        assert_eq!(follower_state(tmp.path()), FollowerState::Cancelled);
        assert!(!follower_state(tmp.path()).run_wakes());
    }
}
