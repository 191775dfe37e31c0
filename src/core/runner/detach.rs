//! `clawrun run --detach`: start a runner in its own session for a created run
//! directory, and wait for proof that the agent started.

use std::os::fd::RawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::core::error::{Error, Result};
use crate::core::git::RunWorktree;
use crate::core::store::fsutil;
use crate::core::store::paths::Paths;
use crate::core::store::run::{RunDir, RunStatus, files};

use super::queue::Admission;
use crate::core::sys::session;

/// What `--detach` prints: proof that the agent started, or that the run
/// waits in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LaunchProof {
    /// Run id.
    pub run_id: String,
    /// Whether the agent started, or the run waits in the queue.
    pub status: LaunchStatus,
    /// The detached runner's pid.
    pub runner_pid: u32,
    /// The agent's pid (`None` while queued).
    pub agent_pid: Option<u32>,
    /// Run directory.
    pub run_dir: PathBuf,
    /// Output file.
    pub output_file: PathBuf,
    /// Backend.
    pub backend: String,
    /// The run's own git worktree (`--worktree`, or a resume going back into
    /// one): where the agent works, and its branch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worktree: Option<RunWorktree>,
}

/// Where a detached run stands once its runner took over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LaunchStatus {
    /// The agent started.
    Running,
    /// The run waits in the queue: it starts when a slot frees.
    Queued,
}

/// The descriptor number a handed-down slot has in the detached runner.
pub const HANDED_SLOT_FD: RawFd = 3;

/// Start a detached runner for `dir` (`clawrun __runner DIR`, in its own
/// session, output to `runner.log`), and wait until the agent has started
/// or, for [`Admission::Queue`], until the runner waits in the queue.
///
/// A held slot is handed down as descriptor [`HANDED_SLOT_FD`] (`__runner
/// --slot-fd 3`), so it stays taken from the launcher's check to the agent's
/// end; a queued run's runner waits itself (`__runner --queue`).
///
/// # Errors
/// When the runner cannot be started, or dies or fails before the agent starts
/// (its log is quoted), or the agent has not started within `wait`.
pub fn spawn_detached(
    dir: &RunDir,
    exe: &Path,
    paths: &Paths,
    admission: &Admission,
    wait: Duration,
) -> Result<LaunchProof> {
    let log_path = dir.file(files::RUNNER_LOG);
    let log = fsutil::create_new_private(&log_path)
        .map_err(|e| Error::io(format!("creating {}", log_path.display()), e))?;
    let log2 = log
        .try_clone()
        .map_err(|e| Error::io("duplicating the log handle", e))?;
    let mut cmd = super::scope::runner_command(exe, paths, &dir.path);
    cmd.arg("--state-dir").arg(&paths.state_dir);
    if paths.config_file.is_file() {
        // The runner reads the same clawrun.toml (its limits, its channels).
        cmd.arg("--config").arg(&paths.config_file);
    }
    cmd.arg("__runner")
        .arg(&dir.path)
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(log2);
    match admission {
        Admission::Slot(slot) => {
            cmd.arg("--slot-fd").arg(HANDED_SLOT_FD.to_string());
            session::hand_down_fd(&mut cmd, slot.as_raw_fd(), HANDED_SLOT_FD);
        }
        Admission::Queue(_) => {
            cmd.arg("--queue");
        }
    }
    // A closing terminal or the caller's exit must not reach the runner.
    session::new_session(&mut cmd);
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::io(format!("starting the runner {}", exe.display()), e))?;
    let deadline = std::time::Instant::now() + wait;
    loop {
        if let Ok(rec) = dir.read_record() {
            let queued = rec.status == RunStatus::Queued && rec.runner_pid == child.id();
            if rec.agent_pid.is_some() || queued {
                return Ok(LaunchProof {
                    run_id: rec.run_id,
                    status: if queued {
                        LaunchStatus::Queued
                    } else {
                        LaunchStatus::Running
                    },
                    runner_pid: child.id(),
                    agent_pid: rec.agent_pid,
                    run_dir: dir.path.clone(),
                    output_file: rec.output_file,
                    backend: rec.backend,
                    worktree: rec.worktree.map(|w| *w),
                });
            }
            if rec.status.is_done() {
                return Err(runner_failed(
                    dir,
                    &format!(
                        "run ended before the agent started ({})",
                        rec.status.as_str()
                    ),
                ));
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(runner_failed(
                dir,
                &format!("runner exited ({status}) before the agent started"),
            ));
        }
        if std::time::Instant::now() >= deadline {
            return Err(runner_failed(dir, "the agent did not start in time"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The error for a runner that failed to start the agent, quoting the last
/// lines of its log.
fn runner_failed(dir: &RunDir, what: &str) -> Error {
    let log = std::fs::read_to_string(dir.file(files::RUNNER_LOG)).unwrap_or_default();
    let tail: String = log
        .lines()
        .rev()
        .take(10)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n");
    Error::io(
        format!("{what}; see {}", dir.path.display()),
        std::io::Error::other(tail),
    )
}
