//! `clawrun run --detach`: start a runner in its own session for a created run
//! directory, and wait for proof that the agent started.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::core::error::{Error, Result};
use crate::core::store::fsutil;
use crate::core::store::run::{RunDir, files};

use super::process;

/// What `--detach` prints: proof that the agent started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LaunchProof {
    /// Run id.
    pub run_id: String,
    /// The detached runner's pid.
    pub runner_pid: u32,
    /// The agent's pid.
    pub agent_pid: u32,
    /// Run directory.
    pub run_dir: PathBuf,
    /// Output file.
    pub output_file: PathBuf,
    /// Backend.
    pub backend: String,
}

/// Start a detached runner for `dir` (`clawrun __runner DIR`, in its own
/// session, output to `runner.log`), and wait until the agent has started.
///
/// # Errors
/// When the runner cannot be started, or dies or fails before the agent starts
/// (its log is quoted), or the agent has not started within `wait`.
pub fn spawn_detached(
    dir: &RunDir,
    exe: &Path,
    state_dir: &Path,
    wait: Duration,
) -> Result<LaunchProof> {
    let log_path = dir.file(files::RUNNER_LOG);
    let log = fsutil::create_new_private(&log_path)
        .map_err(|e| Error::io(format!("creating {}", log_path.display()), e))?;
    let log2 = log
        .try_clone()
        .map_err(|e| Error::io("duplicating the log handle", e))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("--state-dir")
        .arg(state_dir)
        .arg("__runner")
        .arg(&dir.path)
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(log2);
    // A closing terminal or the caller's exit must not reach the runner.
    process::new_session(&mut cmd);
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::io(format!("starting the runner {}", exe.display()), e))?;
    let deadline = std::time::Instant::now() + wait;
    loop {
        if let Ok(rec) = dir.read_record() {
            if let Some(agent_pid) = rec.agent_pid {
                return Ok(LaunchProof {
                    run_id: rec.run_id,
                    runner_pid: child.id(),
                    agent_pid,
                    run_dir: dir.path.clone(),
                    output_file: rec.output_file,
                    backend: rec.backend,
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
