//! The crash watcher of a runner: `clawrun __watch DIR`, started by the runner
//! ([`spawn`]) with a pipe only the runner holds as its stdin.
//!
//! A waiting run is a runner and this watcher, for hours sometimes, so the
//! watcher costs as little as a process can: `main` recognises the exact
//! command line [`spawn`] builds ([`wait_early`]) and blocks in one `read`
//! on the pipe before the logger, the command-line parser or anything else is
//! set up (no runtime, no config, a few pages of heap). A runner that
//! finishes says so and the watcher exits at once; only when the runner dies
//! does it parse its command line and build what it needs ([`watch`]) to
//! record the crash and deliver the crash message and the wake.

use crate::core::model::exit::ExitStatus;
use std::ffi::OsString;
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use crate::core::context::RunContext;
use crate::core::runner::{self, RunnerEnd, process};
use crate::core::store::paths::Paths;
use crate::core::store::run::RunDir;
use crate::core::sys::group;

use crate::cli::{CmdResult, Ctx, runtime};

/// The subcommand's name.
const WATCH: &str = "__watch";

/// What [`wait_early`] saw: the runner's pid (this process's parent when it
/// started) and how the runner ended.
static WAITED: OnceLock<(u32, RunnerEnd)> = OnceLock::new();

/// Whether `args` (without the program name) are the command line [`spawn`]
/// builds: `--state-dir S [--config C] __watch DIR`.
fn is_watcher_argv(args: &[OsString]) -> bool {
    match args {
        [flag, _, cmd, _] => flag == "--state-dir" && cmd == WATCH,
        [flag, _, config, _, cmd, _] => {
            flag == "--state-dir" && config == "--config" && cmd == WATCH
        }
        _ => false,
    }
}

/// Called first thing in `main`: when this process is a runner's watcher,
/// wait for the runner (stdin, one blocking read) and return how it ended;
/// `None` for any other command. After [`RunnerEnd::Died`] `main` goes on
/// as usual, and [`watch`] records the crash without waiting again.
pub fn wait_early() -> Option<RunnerEnd> {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if !is_watcher_argv(&args) {
        return None;
    }
    drop(args);
    let parent = group::parent_pid();
    let end = wait_on_stdin();
    let _ = WAITED.set((parent, end));
    Some(end)
}

/// Block until the runner at the other end of stdin finishes or dies: one
/// `read` on the descriptor itself, without std's buffered stdin (8 KiB).
fn wait_on_stdin() -> RunnerEnd {
    // SAFETY: descriptor 0 is open for the life of the process; the
    // `ManuallyDrop` keeps this borrow from closing it.
    let mut stdin = ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(0) });
    runner::wait_for_runner(&mut *stdin)
}

/// `clawrun __watch DIR`: wait for the runner at the other end of stdin
/// (unless [`wait_early`] did); if it dies without saying it is done, record
/// the crash and deliver the crash message and the wake (see
/// `crate::core::runner::wait_for_runner`).
pub fn watch(dir: &std::path::Path, ctx: &Ctx) -> CmdResult {
    let (parent, end) = *WAITED.get_or_init(|| (group::parent_pid(), wait_on_stdin()));
    if end == RunnerEnd::Finished {
        return Ok(ExitStatus::Success);
    }
    if !group::parent_exited(parent, Duration::from_secs(2)) {
        // Not the runner's death (a watcher started by hand, stdin closed):
        // a live run is never marked crashed.
        eprintln!(
            "⚠ the watcher's input closed while its runner (pid {parent}) runs: nothing recorded"
        );
        return Ok(ExitStatus::Success);
    }
    let dir = RunDir::open(PathBuf::from(dir));
    let spec = dir.read_spec()?;
    let runner_pid = dir.read_record().map(|r| r.runner_pid).unwrap_or(0);
    let message = format!(
        "the runner (pid {runner_pid}) died without finishing the run \
         (killed, out of memory, or the machine stopped)"
    );
    // A config that went bad since the launch must not lose the crash.
    let rctx = ctx.run_context().unwrap_or_else(|e| {
        eprintln!("⚠ {e}: the crash is recorded with the built-in settings");
        RunContext::defaults(&ctx.paths, ctx.backends_file.clone())
    });
    let (channel, unavailable) =
        crate::channels::for_run_or_console(spec.channel, &dir.path, &rctx);
    if let Some(e) = unavailable {
        eprintln!(
            "❌ channel {} unavailable ({:#}); the crash goes to the console",
            spec.channel,
            anyhow::Error::from(e)
        );
    }
    runtime()?.block_on(runner::record_crash(&dir, &rctx, channel, &message))?;
    Ok(ExitStatus::Success)
}

/// Start the watcher of this runner (`clawrun __watch DIR`). A watcher that
/// cannot start is a warning: the run goes on, and a command that reaps
/// stale runs closes it if the runner dies.
pub fn spawn(dir: &RunDir, paths: &Paths) -> Option<process::Watcher> {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("⚠ no crash watcher for this run: finding the clawrun executable: {e}");
            return None;
        }
    };
    match process::spawn_watcher(&exe, &watcher_argv(dir, paths)) {
        Ok(w) => Some(w),
        Err(e) => {
            eprintln!(
                "⚠ no crash watcher for this run: starting {}: {e}",
                exe.display()
            );
            None
        }
    }
}

/// The watcher's command line (without the program): the shape
/// [`is_watcher_argv`] recognises.
fn watcher_argv(dir: &RunDir, paths: &Paths) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["--state-dir".into(), paths.state_dir.clone().into()];
    if paths.config_file.is_file() {
        args.extend(["--config".into(), paths.config_file.clone().into()]);
    }
    args.extend([WATCH.into(), dir.path.clone().into()]);
    args
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_early_wait_knows_the_watchers_command_line_and_no_other() {
        let os = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(is_watcher_argv(&os(&[
            "--state-dir",
            "/s",
            "__watch",
            "/d"
        ])));
        assert!(is_watcher_argv(&os(&[
            "--state-dir",
            "/s",
            "--config",
            "/c",
            "__watch",
            "/d"
        ])));
        assert!(!is_watcher_argv(&os(&["run", "-t", "__watch", "/d"])));
        assert!(!is_watcher_argv(&os(&[
            "--state-dir",
            "/s",
            "run",
            "__watch"
        ])));
        assert!(!is_watcher_argv(&os(&["__watch", "/d"])));
    }

    #[test]
    fn the_argv_spawn_builds_is_the_one_the_early_wait_knows() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = Paths::resolve(
            &crate::core::store::paths::ProcessEnv,
            Some(tmp.path()),
            Some(&tmp.path().join("clawrun.toml")),
        );
        let dir = RunDir::open(tmp.path().join("run"));
        assert!(is_watcher_argv(&watcher_argv(&dir, &paths)));
        std::fs::write(tmp.path().join("clawrun.toml"), "").unwrap();
        assert!(is_watcher_argv(&watcher_argv(&dir, &paths)));
    }
}
