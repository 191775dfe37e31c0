//! `clawrun run` (the flags become a library launch, `core::ops::launch`,
//! whose steps this prints) and the hidden `__runner` that executes a
//! detached run's directory.

use crate::core::model::exit::ExitStatus;
use std::io::Write;
use std::path::PathBuf;

use crate::core::context::RunContext;
use crate::core::model::text::count;
use crate::core::ops::gc::GcReport;
use crate::core::ops::launch::{
    self, Detached, Finished, LaunchHost, LaunchMode, LaunchOptions, Launched, RunWatch, Start,
    Validated,
};
use crate::core::routing::RouteInput;
use crate::core::runner::follower;
use crate::core::runner::{self, Admission, Prepared};
use crate::core::store::paths::{Paths, ProcessEnv};
use crate::core::store::run::RunDir;
use crate::core::store::slots::Full;
use anyhow::Context as _;

use crate::cli::args::RunArgs;
use crate::cli::commands::follow;
use crate::cli::exit::CliError;
use crate::cli::{CmdResult, Ctx, render};

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

/// How a launch is shown: the flags that change what is printed, and
/// whether it ends detached (`clawrun run` and `clawrun resume` alike).
#[derive(Debug, Clone, Copy)]
pub struct Shown {
    /// `--json`.
    pub json: bool,
    /// `--detach`.
    pub detach: bool,
    /// `--validate-only`.
    pub validate_only: bool,
    /// Under OpenClaw's agent `exec` (or `--exec-mode`): detach and follow.
    pub exec_mode: bool,
}

/// `clawrun run`.
pub fn run(args: &RunArgs, ctx: &Ctx) -> CmdResult {
    if args.request.full_auto {
        eprintln!(
            "ℹ️ --full-auto (the seed's codex flag) runs as --sandbox {} (no approval or sandbox \
             bypass)",
            crate::cli::args::FULL_AUTO_SANDBOX
        );
    }
    let rctx = ctx.run_context()?;
    let node = args
        .node
        .clone()
        .or_else(|| rctx.config.run.node.clone())
        .filter(|_| !args.from_gateway);
    if let Some(node) = node {
        return crate::cli::commands::node_run::run(args, &node, &rctx, ctx);
    }
    let opts = args.to_options(ctx.backends_file.clone());
    check_mode_flags(args, &opts.with_config_defaults(&rctx.config))?;
    let launch = LaunchOptions {
        run: opts,
        routing: args.routing(),
        queue: args.queue,
        mode: LaunchMode::Foreground,
    };
    let shown = Shown {
        json: args.json,
        detach: args.detach,
        validate_only: args.validate_only,
        // A foreground console run is watched; detached, nobody hears of it.
        // Under exec mode OpenClaw's exit event wakes the agent whatever the route.
        exec_mode: args.exec_mode || follower::in_openclaw_exec(&ProcessEnv),
    };
    launch_shown(&rctx, launch, shown)
}

/// Launch `opts` in the mode `shown` says, printing each step.
pub fn launch_shown(rctx: &RunContext, mut opts: LaunchOptions, shown: Shown) -> CmdResult {
    let exe = || std::env::current_exe().context("finding the clawrun executable");
    opts.mode = if shown.validate_only {
        LaunchMode::Validate
    } else if shown.detach || shown.exec_mode {
        LaunchMode::Detach { runner: exe()? }
    } else {
        LaunchMode::Foreground
    };
    let mut host = Printer {
        paths: rctx.paths.clone(),
        warn_empty_route: (shown.detach || shown.validate_only) && !shown.exec_mode,
        empty_route: None,
    };
    let stdin = &mut std::io::stdin().lock();
    if shown.exec_mode && !shown.validate_only {
        let started = match launch::start(rctx, &opts, stdin, &mut host)? {
            Start::Created(started) => started,
            Start::Validated(v) => return validation(shown, &v, &host),
        };
        if shown.detach {
            eprintln!(
                "ℹ️ exec mode (OpenClaw's background exec): --detach starts the run detached, and \
                 this process follows it to its end so the task ends with the run"
            );
        }
        let dir = started.dir.clone();
        return follow::follow(&dir, rctx, || {
            detached(shown, &started.detach(&exe()?)?, &host)
        });
    }
    match launch::launch(rctx, &opts, stdin, &mut host)? {
        Launched::Validated(v) => validation(shown, &v, &host),
        Launched::Detached(d) => detached(shown, &d, &host),
        Launched::Finished(f) => finished(shown, &f),
    }
}

/// What `clawrun run` prints as the launch goes.
struct Printer {
    paths: Paths,
    /// Whether a route that reaches nobody is worth a warning (detached or
    /// validating, outside exec mode).
    warn_empty_route: bool,
    /// That warning, when given.
    empty_route: Option<String>,
}

impl LaunchHost for Printer {
    fn routed(&mut self, prepared: &Prepared, _input: &RouteInput) {
        for w in &prepared.spec.route.warnings {
            eprintln!("⚠ {w}");
        }
        self.empty_route = runner::empty_route_warning(&prepared.spec)
            .filter(|_| self.warn_empty_route)
            .inspect(|w| eprintln!("⚠ {w}"));
    }

    fn cleaned_up(&mut self, report: &GcReport) {
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

    fn created(&mut self, prepared: &Prepared, _dir: &RunDir) {
        // After `create`: the run's worktree exists now, and the banner names it.
        eprint!(
            "{}",
            render::run::banner(&prepared.spec, prepared.resume_run_id.as_deref())
        );
    }

    fn queued(&mut self, prepared: &Prepared, full: Full, max: u32) {
        eprintln!(
            "⏳ {} (the limit is {max}): run {id} waits in the queue and starts when a slot \
             frees (cancel it with `clawrun kill {id}`)",
            runner::describe(full),
            id = prepared.spec.run_id
        );
    }

    fn watcher(&mut self, dir: &RunDir) -> Option<Box<dyn RunWatch>> {
        super::watch::spawn(dir, &self.paths).map(|w| Box::new(w) as Box<dyn RunWatch>)
    }

    fn channel_unavailable(&mut self, kind: crate::channels::ChannelKind, error: &crate::Error) {
        // The settings checked at launch are gone (token removed?): say so
        // loudly; every message stays on the console and in the outbox.
        eprintln!(
            "❌ channel {kind} unavailable ({}); notifications go to the console",
            {
                let mut text = error.to_string();
                let mut cause = std::error::Error::source(error);
                while let Some(c) = cause {
                    text = format!("{text}: {c}");
                    cause = c.source();
                }
                text
            }
        );
    }
}

/// `--validate-only`: print the route (and what the run would be), start nothing.
fn validation(shown: Shown, v: &Validated, host: &Printer) -> CmdResult {
    let spec = &v.prepared.spec;
    if shown.json {
        render::json(&serde_json::json!({
            "route": spec.route,
            "route_source": spec.route.source.to_string(),
            "channel": spec.channel,
            "completion_mode": spec.chain.completion_mode.as_str(),
            "max_iterations": spec.chain.max_iterations,
            "iteration": spec.chain.iteration,
            "warnings": host.empty_route.as_slice(),
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
        render::text(&render::route::report(&spec.route, &v.input, &extra))?;
    }
    Ok(ExitStatus::Success)
}

/// The launch proof of a detached run.
fn detached(shown: Shown, d: &Detached, host: &Printer) -> CmdResult {
    let spec = &d.prepared.spec;
    if shown.json {
        let mut v = serde_json::to_value(&d.proof)?;
        v["route"] = serde_json::to_value(&spec.route)?;
        v["route_source"] = spec.route.source.to_string().into();
        v["channel"] = spec.channel.name().into();
        v["resume_id"] = serde_json::to_value(&spec.request.resume_id)?;
        if let Some(p) = d.queue_position {
            v["queue_position"] = p.into();
        }
        v["warnings"] = serde_json::to_value(host.empty_route.as_slice())?;
        render::json(&v)?;
    } else {
        let mut out = std::io::stdout().lock();
        write!(
            out,
            "{}",
            render::run::launched(&d.proof, spec, d.queue_position, d.max_sessions)
        )?;
    }
    Ok(ExitStatus::Success)
}

/// How a foreground run ended.
fn finished(shown: Shown, f: &Finished) -> CmdResult {
    let report = &f.report;
    for w in &report.warnings {
        eprintln!("{w}");
    }
    anstream::eprint!("{}", render::run::done(report));
    if shown.json {
        render::json(report)?;
    } else {
        let (answer, note) = render::run::answer(report);
        render::text(&answer)?;
        if let Some(note) = note {
            eprint!("{note}");
        }
    }
    Ok(report.exit_code)
}

/// `clawrun __runner DIR`: execute a prepared run directory (used by
/// `--detach`), in the slot the launcher handed down (`--slot-fd`) or after
/// waiting in the queue (`--queue`).
pub fn runner(dir: &std::path::Path, slot_fd: Option<i32>, ctx: &Ctx) -> CmdResult {
    let dir = RunDir::open(PathBuf::from(dir));
    let rctx = ctx.run_context()?;
    let admission = match slot_fd {
        Some(fd) => Admission::Slot(
            runner::slots(&rctx)
                .adopt(fd)
                .with_context(|| format!("taking over the run slot (descriptor {fd})"))?,
        ),
        None => Admission::Queue(None),
    };
    let mut host = Printer {
        paths: rctx.paths.clone(),
        warn_empty_route: false,
        empty_route: None,
    };
    let report = launch::run_admitted(&rctx, &dir, admission, &mut host)?;
    for w in &report.warnings {
        eprintln!("{w}");
    }
    Ok(report.exit_code)
}
