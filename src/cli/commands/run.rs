//! `clawrun run` (validate, route, launch in the foreground or detached) and
//! the hidden `__runner` that executes a detached run's directory.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clawrun::channels::Console;
use clawrun::core::notify::delivery::Configs;
use clawrun::core::ops::{capacity, gc};
use clawrun::core::runner::{self, Prepared, RunReport, RunnerEnd, process};
use clawrun::core::store::paths::Paths;
use clawrun::core::store::run::RunDir;

use crate::cli::args::RunArgs;
use crate::cli::exit::CliError;
use crate::cli::{CmdResult, Ctx, render, runtime};

/// `clawrun run`.
pub fn run(args: &RunArgs, ctx: &Ctx) -> CmdResult {
    let paths = &ctx.paths;
    let configs = Configs::load(paths)?;
    let mut opts = args.to_options(ctx.backends_file.clone());
    if args.heartbeat.is_none() {
        opts.heartbeat_secs = configs.config.notify.heartbeat.as_secs();
    }
    let mut prepared = runner::prepare(&opts, paths, &mut std::io::stdin().lock())?;
    let input = runner::route_input(&prepared.spec, &args.routing(), &configs);
    runtime()?.block_on(runner::route(&mut prepared, &input, &configs))?;
    let spec = &prepared.spec;
    for w in &spec.route.warnings {
        eprintln!("⚠ {w}");
    }
    if args.validate_only {
        if args.json {
            render::json(&serde_json::json!({
                "route": spec.route,
                "channel": spec.channel,
                "completion_mode": spec.chain.completion_mode.as_str(),
                "max_iterations": spec.chain.max_iterations,
                "iteration": spec.chain.iteration,
            }))?;
        } else {
            let extra = [
                ("channel_type", spec.channel.clone()),
                (
                    "completion_mode",
                    spec.chain.completion_mode.as_str().to_owned(),
                ),
                ("max_iterations", spec.chain.max_iterations.to_string()),
            ];
            render::text(&render::route::report(&spec.route, &input, &extra))?;
        }
        return Ok(0);
    }
    wait_for_capacity(args.queue, paths, configs.config.limits.max_sessions)?;
    if let Some(report) = gc::auto_gc(paths, &configs.config) {
        if report.runs_removed > 0 || report.registry_entries_removed > 0 {
            eprintln!(
                "🧹 daily clean-up: {} old run(s) and {} registry entr(ies) removed, {} freed",
                report.runs_removed,
                report.registry_entries_removed,
                render::gc::format_bytes(report.bytes_freed)
            );
        }
    }
    eprint!("{}", render::run::banner(spec));
    let dir = runner::create(&prepared)?;
    if args.detach {
        return detach(args, &dir, paths, &prepared);
    }
    let report = execute(&dir, paths)?;
    eprint!("{}", render::run::done(&report));
    if args.json {
        render::json(&report)?;
    }
    Ok(report.exit_code)
}

/// Refuse when `max` runs are running, or with `--queue` wait for a slot.
fn wait_for_capacity(queue: bool, paths: &Paths, max: u32) -> Result<(), CliError> {
    if !queue {
        capacity::check_capacity(paths, max)?;
    } else if capacity::check_capacity(paths, max).is_err() {
        eprintln!("⏳ {max} runs are running (the limit); waiting for one to finish…");
        runtime()?.block_on(capacity::wait_for_slot(paths, max, Duration::from_secs(2)));
    }
    Ok(())
}

/// Start the runner in the background and print the launch proof.
fn detach(args: &RunArgs, dir: &RunDir, paths: &Paths, prepared: &Prepared) -> CmdResult {
    let exe = std::env::current_exe().context("finding the clawrun executable")?;
    let proof = runner::spawn_detached(dir, &exe, &paths.state_dir, Duration::from_secs(30))?;
    if args.json {
        let mut v = serde_json::to_value(&proof)?;
        v["route"] = serde_json::to_value(&prepared.spec.route)?;
        v["channel"] = prepared.spec.channel.clone().into();
        render::json(&v)?;
    } else {
        let mut out = std::io::stdout().lock();
        write!(out, "{}", render::run::launched(&proof, &prepared.spec))?;
    }
    Ok(0)
}

/// `clawrun __runner DIR`: execute a prepared run directory (used by
/// `--detach`).
pub fn runner(dir: &std::path::Path, ctx: &Ctx) -> CmdResult {
    let dir = RunDir::open(PathBuf::from(dir));
    let report = execute(&dir, &ctx.paths)?;
    Ok(report.exit_code)
}

/// `clawrun __watch DIR`: wait for the runner at the other end of stdin; if
/// it dies without saying it is done, record the crash and deliver the crash
/// message and the wake (see `clawrun::core::runner::wait_for_runner`).
pub fn watch(dir: &std::path::Path, ctx: &Ctx) -> CmdResult {
    let parent = process::parent_pid();
    let end = runner::wait_for_runner(&mut std::io::stdin().lock());
    if end == RunnerEnd::Finished {
        return Ok(0);
    }
    if !process::parent_exited(parent, Duration::from_secs(2)) {
        // Not the runner's death (a watcher started by hand, stdin closed):
        // a live run is never marked crashed.
        eprintln!(
            "⚠ the watcher's input closed while its runner (pid {parent}) runs: nothing recorded"
        );
        return Ok(0);
    }
    let dir = RunDir::open(PathBuf::from(dir));
    let spec = dir.read_spec()?;
    let runner_pid = dir.read_record().map(|r| r.runner_pid).unwrap_or(0);
    let message = format!(
        "the runner (pid {runner_pid}) died without finishing the run \
         (killed, out of memory, or the machine stopped)"
    );
    let channel = runner::channel_for(&spec.channel, &dir.path, &ctx.paths).unwrap_or_else(|e| {
        eprintln!(
            "❌ channel {} unavailable ({:#}); the crash goes to the console",
            spec.channel,
            anyhow::Error::from(e)
        );
        Console::new(Some(
            dir.file(clawrun::channels::console::NOTIFICATIONS_FILE_NAME),
        ))
        .into()
    });
    runtime()?.block_on(runner::record_crash(&dir, &ctx.paths, channel, &message))?;
    Ok(0)
}

/// Start the watcher of this runner (`clawrun __watch DIR`). A watcher that
/// cannot start is a warning: the run goes on, and a command that reaps
/// stale runs closes it if the runner dies.
fn spawn_watcher(dir: &RunDir, paths: &Paths) -> Option<process::Watcher> {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("⚠ no crash watcher for this run: finding the clawrun executable: {e}");
            return None;
        }
    };
    let mut args: Vec<OsString> = vec!["--state-dir".into(), paths.state_dir.clone().into()];
    if paths.config_file.is_file() {
        args.extend(["--config".into(), paths.config_file.clone().into()]);
    }
    args.extend(["__watch".into(), dir.path.clone().into()]);
    match process::spawn_watcher(&exe, &args) {
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

/// Execute `dir` to its end with its channel, watched by a `__watch` process
/// (told when the run is over); a panic of the runner is recorded as a crash
/// (and notified) before it is reported.
fn execute(dir: &RunDir, paths: &Paths) -> Result<RunReport, CliError> {
    let watcher = spawn_watcher(dir, paths);
    let result = execute_watched(dir, paths);
    // Finished, however it went (an error before the run started is the
    // watcher's to record: no `done` then).
    if result.is_ok() || dir.read_record().is_ok_and(|r| r.status.is_done()) {
        if let Some(w) = watcher {
            w.done();
        }
    }
    result
}

fn execute_watched(dir: &RunDir, paths: &Paths) -> Result<RunReport, CliError> {
    let console = || {
        Console::new(Some(
            dir.file(clawrun::channels::console::NOTIFICATIONS_FILE_NAME),
        ))
    };
    let spec = dir.read_spec()?;
    let channel = match runner::channel_for(&spec.channel, &dir.path, paths) {
        Ok(c) => c,
        Err(e) => {
            // The settings checked at launch are gone (token removed?): say so
            // loudly, and keep every message on the console and in the outbox.
            eprintln!(
                "❌ channel {} unavailable ({:#}); notifications go to the console",
                spec.channel,
                anyhow::Error::from(e)
            );
            console().into()
        }
    };
    let rt = runtime()?;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(runner::execute(dir, paths, channel))
    }));
    drop(rt);
    match outcome {
        Ok(report) => {
            let report = report?;
            for w in &report.warnings {
                eprintln!("{w}");
            }
            Ok(report)
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            let message = format!("the runner crashed: {what}");
            let channel = runner::channel_for(&spec.channel, &dir.path, paths)
                .unwrap_or_else(|_| console().into());
            runtime()?.block_on(runner::record_crash(dir, paths, channel, &message))?;
            Err(anyhow::anyhow!("{message}").into())
        }
    }
}
