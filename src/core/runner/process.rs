//! The runner's own processes, built on [`crate::core::sys`]: the agent
//! (its command line and environment, spawned into a process group of its
//! own that dies with the runner: [`spawn`]), the crash watcher
//! ([`spawn_watcher`]) and the runner's stop signals ([`Signals`]).
//!
//! The agent's stdin is the prompt then closed (codex waits for end of input;
//! claude waits 3 s on an open pipe), stdout and stderr piped and read
//! concurrently by the caller. A multi-turn run keeps stdin open instead
//! ([`spawn_keep_stdin`]): the caller writes the messages.

use std::io;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use crate::backends::CommandSpec;
use crate::core::error::ProcessError;
use crate::core::sys::group::{GroupChild, Input, spawn_in_group};
use crate::core::sys::session::new_session;
use crate::core::sys::signals::StopSignals;

/// A spawned agent: the child, its pipes, and its process group (its pid),
/// SIGKILLed when dropped unless disarmed.
pub type Agent = GroupChild;

/// What the runner changes in the environment the agent inherits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentEnv {
    /// Variables added (after the backend's own).
    pub set: Vec<(String, String)>,
    /// Variables removed, whatever set them (the runner's environment or the
    /// backend's): the tokens clawrun delivers with, which the agent (running
    /// with permissions bypassed) must never see.
    pub remove: Vec<String>,
}

/// Spawn `spec` with the changes of `env`, in a new process group; the
/// prompt (`spec.stdin`) is written, then stdin closed.
///
/// # Errors
/// [`ProcessError::Spawn`] when the program cannot be started (not found, not
/// executable).
pub fn spawn(spec: &CommandSpec, env: &AgentEnv) -> Result<Agent, ProcessError> {
    let prompt = spec.stdin.clone().into_bytes();
    spawn_in_group(command(spec, env), &spec.program, Input::Once(prompt))
}

/// Like [`spawn`], but nothing is written to stdin and it stays open: the
/// caller gets it in [`Agent::stdin`] and writes `spec.stdin` and whatever
/// follows itself (a multi-turn run). Dropping it closes the agent's input.
///
/// # Errors
/// As [`spawn`].
pub fn spawn_keep_stdin(spec: &CommandSpec, env: &AgentEnv) -> Result<Agent, ProcessError> {
    spawn_in_group(command(spec, env), &spec.program, Input::KeepOpen)
}

/// The agent's command line, directory and environment.
fn command(spec: &CommandSpec, env: &AgentEnv) -> Command {
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .current_dir(&spec.cwd)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .envs(env.set.iter().map(|(k, v)| (k, v)));
    for name in &env.remove {
        cmd.env_remove(name);
    }
    cmd
}

/// A runner's watcher (see the `crash` module): a process in its own session
/// whose stdin is a pipe only this process holds. Dropping it without
/// [`Watcher::done`] closes the pipe, which the watcher takes as the
/// runner's death.
#[derive(Debug)]
pub struct Watcher {
    child: std::process::Child,
    pipe: Option<std::process::ChildStdin>,
}

/// Start `exe args…` as the watcher of this process: in a new session (a
/// signal to the runner's group or terminal does not reach it), stdin a pipe
/// whose write end stays here, close-on-exec (the agent and every other child
/// never inherit it, so end of file means this process is gone), stdout to
/// /dev/null, stderr inherited (the runner's log). No parent-death signal:
/// it must outlive the runner.
///
/// # Errors
/// When the program cannot be started.
pub fn spawn_watcher(exe: &std::path::Path, args: &[std::ffi::OsString]) -> io::Result<Watcher> {
    let mut cmd = std::process::Command::new(exe);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    new_session(&mut cmd);
    // std creates the pipe with O_CLOEXEC on both ends; the child's end is
    // dup'ed onto its stdin, our end stays close-on-exec.
    let mut child = cmd.spawn()?;
    let pipe = child.stdin.take();
    Ok(Watcher { child, pipe })
}

/// How long [`Watcher::done`] waits for the watcher to exit (it does at once).
const WATCHER_EXIT_WAIT: Duration = Duration::from_secs(1);

impl Watcher {
    /// Tell the watcher the run ended normally (it exits quietly), and reap it.
    pub fn done(mut self) {
        use std::io::Write;
        if let Some(mut pipe) = self.pipe.take() {
            let _ = pipe.write_all(&[super::WATCH_DONE]);
        }
        let until = std::time::Instant::now() + WATCHER_EXIT_WAIT;
        while matches!(self.child.try_wait(), Ok(None)) && std::time::Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// The runner's own stop signals (SIGTERM, SIGINT, SIGHUP), handled as a kill
/// of its run. Installed before the agent is spawned, so none is lost.
#[derive(Debug)]
pub struct Signals(StopSignals);

impl Signals {
    /// Install the handlers.
    ///
    /// # Errors
    /// When a handler cannot be installed.
    pub fn install() -> crate::core::error::Result<Self> {
        StopSignals::install(&[libc::SIGTERM, libc::SIGINT, libc::SIGHUP]).map(Self)
    }

    /// The next of these signals to arrive (its number).
    pub async fn recv(&mut self) -> i32 {
        self.0.recv().await
    }
}
