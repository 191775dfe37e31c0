//! Spawning and stopping processes. All process-group, session and signal code
//! lives here: the agent's spawn and stop path, the detached runner's new
//! session and its watcher ([`spawn_watcher`]), and the helpers other
//! modules use to signal a runner or a group ([`terminate`],
//! [`stop_group_blocking`], [`kill_group`]).
//!
//! The agent runs in its own process group (so a stop reaches every process it
//! started: shells, MCP servers, subagents), with a parent-death signal (so it
//! does not outlive a runner that is SIGKILLed), stdin = the prompt then closed
//! (codex waits for end of input; claude waits 3 s on an open pipe), stdout and
//! stderr piped and read concurrently by the caller. A multi-turn run keeps
//! stdin open instead ([`spawn_keep_stdin`]): the caller writes the messages.

use std::io;
use std::os::fd::RawFd;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};

use crate::backends::CommandSpec;
use crate::core::error::ProcessError;

/// A spawned agent: the child, its pipes, and its process group.
#[derive(Debug)]
pub struct Agent {
    /// The direct child.
    pub child: Child,
    /// Its stdout.
    pub stdout: ChildStdout,
    /// Its stderr.
    pub stderr: ChildStderr,
    /// Its stdin, when kept open ([`spawn_keep_stdin`]); `None` once the prompt
    /// was written and stdin closed.
    pub stdin: Option<ChildStdin>,
    /// Its pid, which is also its process-group id.
    pub pid: u32,
    guard: GroupGuard,
}

/// Kills the process group with SIGKILL when dropped, unless disarmed: the last
/// line of defence if the runner unwinds (panic, early return) mid-run.
#[derive(Debug)]
struct GroupGuard {
    pgid: Option<i32>,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
    }
}

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

/// Spawn `spec` with the changes of `env`, in a new process group.
///
/// # Errors
/// [`ProcessError::Spawn`] when the program cannot be started (not found, not
/// executable).
pub fn spawn(spec: &CommandSpec, env: &AgentEnv) -> Result<Agent, ProcessError> {
    spawn_inner(spec, env, false)
}

/// Like [`spawn`], but nothing is written to stdin and it stays open: the
/// caller gets it in [`Agent::stdin`] and writes `spec.stdin` and whatever
/// follows itself (a multi-turn run). Dropping it closes the agent's input.
///
/// # Errors
/// As [`spawn`].
pub fn spawn_keep_stdin(spec: &CommandSpec, env: &AgentEnv) -> Result<Agent, ProcessError> {
    spawn_inner(spec, env, true)
}

fn spawn_inner(
    spec: &CommandSpec,
    env: &AgentEnv,
    keep_stdin: bool,
) -> Result<Agent, ProcessError> {
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .current_dir(&spec.cwd)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .envs(env.set.iter().map(|(k, v)| (k, v)));
    for name in &env.remove {
        cmd.env_remove(name);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe calls (prctl, getppid, raise).
    unsafe {
        cmd.pre_exec(|| {
            // Die with the runner. The signal is tied to the thread that forked:
            // the runner uses a current-thread runtime, so that is the main thread.
            #[cfg(target_os = "linux")]
            {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // The runner may have died between fork and prctl.
                if libc::getppid() == 1 {
                    libc::raise(libc::SIGKILL);
                }
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|source| ProcessError::Spawn {
        program: spec.program.clone(),
        source,
    })?;
    let pid = child.id().ok_or_else(|| ProcessError::Io {
        context: "agent exited before its pid was read".to_owned(),
        source: io::Error::other("no pid"),
    })?;
    let guard = GroupGuard {
        pgid: Some(pid as i32),
    };
    let (Some(stdout), Some(stderr), Some(mut stdin)) =
        (child.stdout.take(), child.stderr.take(), child.stdin.take())
    else {
        return Err(ProcessError::Io {
            context: "agent pipes missing".to_owned(),
            source: io::Error::other("pipe"),
        });
    };
    // Write the prompt, then close stdin. In a task: a large prompt must not
    // block the reader of stdout. A child that exits without reading gets EPIPE,
    // which is not our error to report (its exit status says what happened).
    if keep_stdin {
        return Ok(Agent {
            child,
            stdout,
            stderr,
            stdin: Some(stdin),
            pid,
            guard,
        });
    }
    let prompt = spec.stdin.clone().into_bytes();
    tokio::spawn(async move {
        let _ = stdin.write_all(&prompt).await;
        let _ = stdin.shutdown().await;
        drop(stdin);
    });
    Ok(Agent {
        child,
        stdout,
        stderr,
        stdin: None,
        pid,
        guard,
    })
}

impl Agent {
    /// Send `signal` to the agent's whole process group. Errors (the group is
    /// already gone) are ignored.
    pub fn signal_group(&self, signal: Signal) {
        let _ = killpg(Pid::from_raw(self.pid as i32), signal);
    }

    /// Whether any process of the group is still alive.
    pub fn group_alive(&self) -> bool {
        killpg(Pid::from_raw(self.pid as i32), None).is_ok()
    }

    /// The stop path shared by timeout, `kill` and the runner's own signals:
    /// SIGTERM to the group, up to `grace` for the child to exit, then SIGKILL to
    /// the group, then reap. Returns the child's exit status.
    ///
    /// # Errors
    /// An I/O error from waiting on the child.
    pub async fn stop(&mut self, grace: Duration) -> io::Result<ExitStatus> {
        self.signal_group(Signal::SIGTERM);
        let status = match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(status) => status?,
            Err(_elapsed) => {
                self.signal_group(Signal::SIGKILL);
                self.child.wait().await?
            }
        };
        // Grandchildren that ignore SIGTERM, or that the child left behind.
        self.kill_leftovers(grace).await;
        Ok(status)
    }

    /// After the direct child has exited: give leftover processes of the group
    /// `grace` to go after a SIGTERM, then SIGKILL them. Never leaves anything
    /// running.
    pub async fn kill_leftovers(&mut self, grace: Duration) {
        if !self.group_alive() {
            self.guard.pgid = None;
            return;
        }
        self.signal_group(Signal::SIGTERM);
        let deadline = tokio::time::Instant::now() + grace;
        while self.group_alive() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.signal_group(Signal::SIGKILL);
        self.guard.pgid = None;
    }

    /// Disarm the drop guard (the group is known to be gone).
    pub fn disarm(&mut self) {
        self.guard.pgid = None;
    }
}

/// Exit code of a status: the code, or `128 + signal` for a signal exit.
pub fn exit_code(status: &ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

/// Whether `pid` names a live process.
pub fn pid_alive(pid: u32) -> bool {
    if pid == 0 || pid > i32::MAX as u32 {
        return false;
    }
    match nix::sys::signal::kill(Pid::from_raw(pid as i32), None) {
        Ok(()) => true,
        Err(nix::errno::Errno::EPERM) => true,
        Err(_) => false,
    }
}

/// SIGKILL the process group `pgid` (errors ignored: it may be gone).
pub fn kill_group(pgid: u32) {
    if pgid > 1 && pgid <= i32::MAX as u32 {
        let _ = killpg(Pid::from_raw(pgid as i32), Signal::SIGKILL);
    }
}

/// Whether `pid` is a live clawrun runner: alive, and its command line names
/// clawrun (a reused pid is not our runner; a zombie's command line is empty).
/// Without /proc, a live pid is trusted.
pub fn runner_alive(pid: u32) -> bool {
    if !pid_alive(pid) {
        return false;
    }
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(cmdline) => {
            String::from_utf8_lossy(&cmdline).contains("clawrun")
                || cmdline
                    .split(|b| *b == 0)
                    .any(|arg| arg.ends_with(b"__runner"))
        }
        Err(_) => true,
    }
}

/// Whether any process of the process group `pgid` is alive.
pub fn group_alive(pgid: u32) -> bool {
    pgid > 1 && pgid <= i32::MAX as u32 && killpg(Pid::from_raw(pgid as i32), None).is_ok()
}

/// Send SIGTERM to the process `pid` (a runner: it handles SIGTERM as a kill
/// of its run).
///
/// # Errors
/// When the signal cannot be sent (no such process, not permitted).
pub fn terminate(pid: u32) -> io::Result<()> {
    let pid = i32::try_from(pid).map_err(|_| io::Error::other("pid out of range"))?;
    nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGTERM).map_err(io::Error::from)
}

/// The stop path for a group this process did not spawn: SIGTERM to the
/// group `pgid`, up to `grace` (polling every `poll`) for it to go, then
/// SIGKILL to whatever is left. Blocks the thread.
pub fn stop_group_blocking(pgid: u32, grace: Duration, poll: Duration) {
    if pgid <= 1 || pgid > i32::MAX as u32 {
        return;
    }
    let _ = killpg(Pid::from_raw(pgid as i32), Signal::SIGTERM);
    let until = std::time::Instant::now() + grace;
    while group_alive(pgid) && std::time::Instant::now() < until {
        std::thread::sleep(poll);
    }
    kill_group(pgid);
}

/// What `<program> --version` answered.
#[derive(Debug)]
pub struct VersionOutput {
    /// Exit code (`None` after a signal).
    pub code: Option<i32>,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

/// Why `<program> --version` gave no answer.
#[derive(Debug)]
pub enum VersionError {
    /// No such program.
    NotFound,
    /// It did not answer within the time given; its process group was killed.
    Timeout,
    /// It could not be started or read.
    Spawn(io::Error),
}

/// Run `program --version` in its own process group (stdin closed); on
/// timeout the whole group is killed. At most
/// [`VERSION_OUTPUT_CAP`](crate::core::child_output::VERSION_OUTPUT_CAP) bytes
/// of each stream are kept (the program is untrusted: a wrapper may flood).
///
/// # Errors
/// [`VersionError`] when it cannot be started, or does not end in `timeout`.
pub async fn run_version(program: &Path, timeout: Duration) -> Result<VersionOutput, VersionError> {
    use crate::core::child_output::{VERSION_OUTPUT_CAP, wait_capped};
    let mut cmd = tokio::process::Command::new(program);
    cmd.arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let child = cmd.spawn().map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => VersionError::NotFound,
        _ => VersionError::Spawn(e),
    })?;
    let pid = child.id();
    match tokio::time::timeout(timeout, wait_capped(child, VERSION_OUTPUT_CAP)).await {
        Ok(Ok(out)) => Ok(VersionOutput {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }),
        Ok(Err(e)) => Err(VersionError::Spawn(e)),
        Err(_) => {
            if let Some(pid) = pid {
                kill_group(pid);
            }
            Err(VersionError::Timeout)
        }
    }
}

/// Make the child of `cmd` the leader of a new session (`setsid` before
/// exec): a closing terminal or the parent's exit does not reach it.
pub fn new_session(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid is async-signal-safe, and the closure makes no other call.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Give the child of `cmd` the open file `fd` as descriptor `target`
/// (`dup2` before exec; the copy is not closed on exec). The parent's `fd`
/// is untouched.
pub fn hand_down_fd(cmd: &mut std::process::Command, fd: RawFd, target: RawFd) {
    use std::os::unix::process::CommandExt;
    // SAFETY: dup2 and fcntl are async-signal-safe, and the closure makes no
    // other call.
    unsafe {
        cmd.pre_exec(move || {
            if fd == target {
                // dup2 onto itself keeps close-on-exec: clear it instead.
                if libc::fcntl(target, libc::F_SETFD, 0) < 0 {
                    return Err(io::Error::last_os_error());
                }
            } else if libc::dup2(fd, target) < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
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

/// This process's parent (a watcher's: its runner).
pub fn parent_pid() -> u32 {
    nix::unistd::getppid().as_raw().unsigned_abs()
}

/// Whether this process's parent `parent` has exited: this process was
/// handed to another parent (init or a subreaper). The kernel closes an
/// exiting process's files before it reparents its children, so a watcher
/// that just saw its pipe close waits up to `wait` for that. `false` when
/// `parent` still runs after `wait` (someone else closed the pipe).
pub fn parent_exited(parent: u32, wait: Duration) -> bool {
    let until = std::time::Instant::now() + wait;
    loop {
        if parent_pid() != parent {
            return true;
        }
        if std::time::Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
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
pub struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    /// Install the handlers.
    ///
    /// # Errors
    /// When a handler cannot be installed.
    pub fn install() -> crate::core::error::Result<Self> {
        use crate::core::error::Error;
        use tokio::signal::unix::{SignalKind, signal};
        let install = |kind: SignalKind, name: &str| {
            signal(kind).map_err(|e| Error::io(format!("installing {name} handler"), e))
        };
        Ok(Self {
            term: install(SignalKind::terminate(), "SIGTERM")?,
            int: install(SignalKind::interrupt(), "SIGINT")?,
            hup: install(SignalKind::hangup(), "SIGHUP")?,
        })
    }

    /// The next of these signals to arrive (its number).
    pub async fn recv(&mut self) -> i32 {
        tokio::select! {
            _ = self.term.recv() => libc::SIGTERM,
            _ = self.int.recv() => libc::SIGINT,
            _ = self.hup.recv() => libc::SIGHUP,
        }
    }
}
