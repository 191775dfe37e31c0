//! Pids and process groups: a child spawned into a group of its own that
//! dies with this process ([`spawn_in_group`]), the stop path of a group
//! (SIGTERM, a grace, SIGKILL: [`GroupChild::stop`],
//! [`stop_group_blocking`]), and the probes and signals the rest of clawrun
//! sends to runs it did not spawn ([`pid_alive`], [`runner_alive`],
//! [`group_alive`], [`terminate`], [`kill_group`]).
//!
//! A group (the child's pid is its id) is how a stop reaches every process
//! the child started: shells, MCP servers, subagents.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};

use crate::core::error::ProcessError;

/// A child spawned by [`spawn_in_group`]: the child, its pipes, and its
/// process group.
#[derive(Debug)]
pub struct GroupChild {
    /// The direct child.
    pub child: Child,
    /// Its stdout.
    pub stdout: ChildStdout,
    /// Its stderr.
    pub stderr: ChildStderr,
    /// Its stdin, when kept open ([`Input::KeepOpen`]); `None` once the
    /// input was written and stdin closed.
    pub stdin: Option<ChildStdin>,
    /// Its pid, which is also its process-group id.
    pub pid: u32,
    guard: GroupGuard,
}

/// Kills the process group with SIGKILL when dropped, unless disarmed: the last
/// line of defence if the caller unwinds (panic, early return) mid-run.
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

/// What a child spawned by [`spawn_in_group`] reads.
#[derive(Debug)]
pub enum Input {
    /// These bytes, then end of input (written off the caller's task, so a
    /// large input never blocks the reader of the child's output).
    Once(Vec<u8>),
    /// Nothing yet: stdin stays open in [`GroupChild::stdin`] for the caller.
    KeepOpen,
}

/// Spawn `cmd` (program `program`, for errors) in a new process group, its
/// stdin, stdout and stderr piped, with a parent-death signal (it does not
/// outlive this process, even SIGKILLed) and killed when dropped.
///
/// # Errors
/// [`ProcessError::Spawn`] when the program cannot be started (not found, not
/// executable).
pub fn spawn_in_group(
    mut cmd: Command,
    program: &str,
    input: Input,
) -> Result<GroupChild, ProcessError> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    die_with_parent(&mut cmd);
    let mut child = cmd.spawn().map_err(|source| ProcessError::Spawn {
        program: program.to_owned(),
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
    let stdin = match input {
        Input::KeepOpen => Some(stdin),
        // A child that exits without reading gets EPIPE, which is not our
        // error to report (its exit status says what happened).
        Input::Once(bytes) => {
            tokio::spawn(async move {
                let _ = stdin.write_all(&bytes).await;
                let _ = stdin.shutdown().await;
                drop(stdin);
            });
            None
        }
    };
    Ok(GroupChild {
        child,
        stdout,
        stderr,
        stdin,
        pid,
        guard,
    })
}

/// The child of `cmd` gets SIGKILL when the thread that forked it ends (the
/// runner uses a current-thread runtime: its main thread).
fn die_with_parent(cmd: &mut Command) {
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe calls (prctl, getppid, raise).
    unsafe {
        cmd.pre_exec(|| {
            #[cfg(target_os = "linux")]
            {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // The parent may have died between fork and prctl.
                if libc::getppid() == 1 {
                    libc::raise(libc::SIGKILL);
                }
            }
            Ok(())
        });
    }
}

impl GroupChild {
    /// Send `signal` to the whole process group. Errors (the group is
    /// already gone) are ignored.
    pub fn signal_group(&self, signal: Signal) {
        let _ = killpg(Pid::from_raw(self.pid as i32), signal);
    }

    /// Whether any process of the group is still alive.
    pub fn group_alive(&self) -> bool {
        killpg(Pid::from_raw(self.pid as i32), None).is_ok()
    }

    /// The stop path: SIGTERM to the group, up to `grace` for the child to
    /// exit, then SIGKILL to the group, then reap. Returns the child's exit
    /// status.
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
