//! `clawrun run` (validate, route, launch in the foreground or detached) and
//! the hidden `__runner` that executes a detached run's directory.

use crate::core::model::exit::ExitStatus;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::channels::Console;
use crate::core::model::text::count;
use crate::core::notify::delivery::Configs;
use crate::core::ops::capacity::Admit;
use crate::core::ops::{capacity, gc};
use crate::core::routing::input::RouteInput;
use crate::core::runner::follower;
use crate::core::runner::{self, Admission, Handover, Prepared, RunOptions, RunReport};
use crate::core::store::paths::{Paths, ProcessEnv};
use crate::core::store::run::{RunDir, RunSpec};
use crate::core::store::slots::Slots;
use anyhow::Context as _;

use crate::cli::args::RunArgs;
use crate::cli::commands::follow;
use crate::cli::exit::CliError;
use crate::cli::{CmdResult, Ctx, render, runtime};

/// Flags that mean something only in a mode the run is not in are refused,
/// naming the mode (`--max-iterations`, whose mode a resume may inherit, is
/// the library's to check).
fn check_mode_flags(args: &RunArgs, opts: &runner::RunOptions) -> Result<(), CliError> {
    use crate::core::model::approval::ApprovalMode;
    let refuse = |msg: &str| Err(CliError::from(crate::Error::usage(msg.to_owned())));
    if args.limits.approval_timeout.is_some() && opts.request.approvals != Some(ApprovalMode::Chat)
    {
        return refuse(
            "--approval-timeout needs --approvals chat (or `approvals = \"chat\"` under [run] in \
             clawrun.toml): without it no approval is asked",
        );
    }
    if args.limits.max_auto_responds.is_some() && !args.limits.multi_turn {
        return refuse(
            "--max-auto-responds needs --multi-turn: only a multi-turn run takes `clawrun \
             respond` answers",
        );
    }
    Ok(())
}

/// `clawrun run`.
pub fn run(args: &RunArgs, ctx: &Ctx) -> CmdResult {
    let paths = &ctx.paths;
    if args.request.full_auto {
        eprintln!(
            "ℹ️ --full-auto (the seed's codex flag) runs as --sandbox {} (no approval or sandbox \
             bypass)",
            crate::cli::args::FULL_AUTO_SANDBOX
        );
    }
    let configs = Configs::load(paths)?;
    let node = args
        .node
        .clone()
        .or_else(|| configs.config.run.node.clone())
        .filter(|_| !args.from_gateway);
    if let Some(node) = node {
        return crate::cli::commands::node_run::run(args, &node, &configs, ctx);
    }
    let opts = options(args, ctx, &configs)?;
    let mut prepared = runner::prepare(&opts, paths, &mut std::io::stdin().lock())?;
    let input = runner::route_input(&prepared.spec, &args.routing(), &configs);
    runtime()?.block_on(runner::route(&mut prepared, &input, &configs))?;
    let spec = &prepared.spec;
    for w in &spec.route.warnings {
        eprintln!("⚠ {w}");
    }
    // A foreground console run is watched; detached, nobody hears of it. Under
    // exec mode OpenClaw's exit event wakes the agent whatever the route.
    let exec_mode = args.exec_mode || follower::in_openclaw_exec(&ProcessEnv);
    let empty_route = runner::empty_route_warning(spec)
        .filter(|_| (args.detach || args.validate_only) && !exec_mode)
        .inspect(|w| eprintln!("⚠ {w}"));
    if args.validate_only {
        return validation(args, spec, &input, empty_route.as_slice());
    }
    let max = configs.config.limits.max_sessions;
    let slots = capacity::slots(paths, max);
    // The check takes the slot: nothing between here and the agent's start
    // can let another run past the cap.
    let admit = capacity::admit(&slots, args.queue)?;
    daily_clean_up(paths, &configs);
    let dir = runner::create(&mut prepared)?;
    // After `create`: the run's worktree exists now, and the banner names it.
    eprint!(
        "{}",
        render::run::banner(&prepared.spec, prepared.resume_run_id.as_deref())
    );
    if exec_mode {
        if args.detach {
            eprintln!(
                "ℹ️ exec mode (OpenClaw's background exec): --detach starts the run detached, and \
                 this process follows it to its end so the task ends with the run"
            );
        }
        return follow::follow(&dir, &configs, || {
            detach(args, &dir, paths, &prepared, (&slots, admit), empty_route)
        });
    }
    if args.detach {
        return detach(args, &dir, paths, &prepared, (&slots, admit), empty_route);
    }
    let admission = match admit {
        Admit::Slot(slot) => Admission::Slot(slot),
        Admit::Queue(full) => {
            eprintln!(
                "⏳ {} (the limit is {max}): run {id} waits in the queue and starts when a slot \
                 frees (cancel it with `clawrun kill {id}`)",
                capacity::describe(full),
                id = prepared.spec.run_id
            );
            Admission::Queue(slots)
        }
    };
    let report = execute(&dir, paths, admission)?;
    anstream::eprint!("{}", render::run::done(&report));
    if args.json {
        render::json(&report)?;
    } else {
        let (answer, note) = render::run::answer(&report);
        render::text(&answer)?;
        if let Some(note) = note {
            eprint!("{note}");
        }
    }
    Ok(report.exit_code)
}

/// The run's options: the flags, with `clawrun.toml`'s defaults where a flag
/// was not given, and the flags that need a mode checked.
fn options(args: &RunArgs, ctx: &Ctx, configs: &Configs) -> Result<RunOptions, CliError> {
    let mut opts = args.to_options(ctx.backends_file.clone());
    if args.notify.heartbeat.is_none() {
        opts.notify.heartbeat_secs = configs.config.notify.heartbeat.as_secs();
    }
    opts.notify.silent = configs.config.notify.silent;
    opts.worktree = args.worktree.to_options(configs.config.run.worktree);
    if opts.request.approvals.is_none() {
        opts.request.approvals = Some(configs.config.run.approvals);
    }
    opts.request.default_safety = configs.config.run.safety;
    check_mode_flags(args, &opts)?;
    Ok(opts)
}

/// `--validate-only`: print the route (and what the run would be), start nothing.
fn validation(
    args: &RunArgs,
    spec: &RunSpec,
    input: &RouteInput,
    warnings: &[String],
) -> CmdResult {
    if args.json {
        render::json(&serde_json::json!({
            "route": spec.route,
            "route_source": spec.route.source.to_string(),
            "channel": spec.channel,
            "completion_mode": spec.chain.completion_mode.as_str(),
            "max_iterations": spec.chain.max_iterations,
            "iteration": spec.chain.iteration,
            "warnings": warnings,
        }))?;
    } else {
        let extra = [
            ("channel_type", spec.channel.name().to_owned()),
            (
                "completion_mode",
                spec.chain.completion_mode.as_str().to_owned(),
            ),
            ("max_iterations", spec.chain.max_iterations.to_string()),
        ];
        render::text(&render::route::report(&spec.route, input, &extra))?;
    }
    Ok(ExitStatus::Success)
}

/// The daily retention pass, said on stderr when it removed anything.
fn daily_clean_up(paths: &Paths, configs: &Configs) {
    let Some(report) = gc::auto_gc(paths, &configs.config) else {
        return;
    };
    if report.runs_removed > 0 || report.registry_entries_removed > 0 {
        eprintln!(
            "🧹 daily clean-up: {} and {} removed, {} freed",
            count(report.runs_removed as u64, "old run", "old runs"),
            count(
                report.registry_entries_removed as u64,
                "registry entry",
                "registry entries"
            ),
            render::gc::format_bytes(report.bytes_freed)
        );
    }
}

/// Start the runner in the background, handing it the slot (or leaving it
/// to wait in the queue), and print the launch proof.
fn detach(
    args: &RunArgs,
    dir: &RunDir,
    paths: &Paths,
    prepared: &Prepared,
    (slots, admit): (&Slots, Admit),
    warning: Option<String>,
) -> CmdResult {
    let exe = std::env::current_exe().context("finding the clawrun executable")?;
    let handover = match &admit {
        Admit::Slot(slot) => Handover::Slot(slot),
        Admit::Queue(_) => Handover::Queue,
    };
    let proof = runner::spawn_detached(dir, &exe, paths, handover, Duration::from_secs(30))?;
    // The runner holds the slot now; this process only closes its copy.
    drop(admit);
    let position = (proof.status == "queued")
        .then(|| slots.waiting().ok())
        .flatten()
        .and_then(|w| w.iter().position(|w| w.run_id == proof.run_id))
        .map(|p| p + 1);
    if args.json {
        let mut v = serde_json::to_value(&proof)?;
        v["route"] = serde_json::to_value(&prepared.spec.route)?;
        v["route_source"] = prepared.spec.route.source.to_string().into();
        v["channel"] = prepared.spec.channel.name().into();
        v["resume_id"] = serde_json::to_value(&prepared.spec.request.resume_id)?;
        if let Some(p) = position {
            v["queue_position"] = p.into();
        }
        v["warnings"] = serde_json::to_value(warning.as_slice())?;
        render::json(&v)?;
    } else {
        let mut out = std::io::stdout().lock();
        write!(
            out,
            "{}",
            render::run::launched(&proof, &prepared.spec, position, slots.max())
        )?;
    }
    Ok(ExitStatus::Success)
}

/// `clawrun __runner DIR`: execute a prepared run directory (used by
/// `--detach`), in the slot the launcher handed down (`--slot-fd`) or after
/// waiting in the queue (`--queue`).
pub fn runner(dir: &std::path::Path, slot_fd: Option<i32>, ctx: &Ctx) -> CmdResult {
    let dir = RunDir::open(PathBuf::from(dir));
    let configs = Configs::load(&ctx.paths)?;
    let slots = capacity::slots(&ctx.paths, configs.config.limits.max_sessions);
    let admission = match slot_fd {
        Some(fd) => Admission::Slot(
            slots
                .adopt(fd)
                .with_context(|| format!("taking over the run slot (descriptor {fd})"))?,
        ),
        None => Admission::Queue(slots),
    };
    let report = execute(&dir, &ctx.paths, admission)?;
    Ok(report.exit_code)
}

/// Execute `dir` to its end with its channel, watched by a `__watch` process
/// (told when the run is over); a panic of the runner is recorded as a crash
/// (and notified) before it is reported.
fn execute(dir: &RunDir, paths: &Paths, admission: Admission) -> Result<RunReport, CliError> {
    let watcher = super::watch::spawn(dir, paths);
    let result = execute_watched(dir, paths, admission);
    // Finished, however it went (an error before the run started is the
    // watcher's to record: no `done` then).
    if result.is_ok() || dir.read_record().is_ok_and(|r| r.status.is_done()) {
        if let Some(w) = watcher {
            w.done();
        }
    }
    result
}

fn execute_watched(
    dir: &RunDir,
    paths: &Paths,
    admission: Admission,
) -> Result<RunReport, CliError> {
    let console = || {
        Console::new(Some(
            dir.file(crate::channels::console::NOTIFICATIONS_FILE_NAME),
        ))
    };
    let spec = dir.read_spec()?;
    let channel = match runner::channel_for(spec.channel, &dir.path, paths) {
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
        rt.block_on(runner::execute_admitted(dir, paths, channel, admission))
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
            let channel = runner::channel_for(spec.channel, &dir.path, paths)
                .unwrap_or_else(|_| console().into());
            runtime()?.block_on(runner::record_crash(dir, paths, channel, &message))?;
            Err(anyhow::anyhow!("{message}").into())
        }
    }
}
