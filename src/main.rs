//! The `clawrun` binary: parse the command line, call the library, map errors to
//! exit codes (see README "Exit codes").

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

use clawrun::Error;
use clawrun::backends::config;
use clawrun::channels::Console;
use clawrun::cli::{
    Cli, Command, DoctorArgs, GcArgs, KillArgs, ListArgs, NotifyArgs, OutboxArgs, OutputArgs,
    RespondArgs, ResumeArgs, RouteArgs, RunArgs, RunRefArgs, SessionsArgs, SessionsCommand,
    ShowArgs, StatsArgs, StatusArgs,
};
use clawrun::core::notify;
use clawrun::core::notify::delivery::Configs;
use clawrun::core::notify::outbox::{self, RetryPolicy};
use clawrun::core::now_secs;
use clawrun::core::ops::{doctor, gc, manager};
use clawrun::core::routing;
use clawrun::core::runner::control;
use clawrun::core::runner::{self, RunReport};
use clawrun::core::store::paths::{Paths, ProcessEnv};
use clawrun::core::store::registry::{self, Registry};
use clawrun::core::store::run::{self, RunDir, files};

/// Exit code for bad input (nothing spawned, nothing written).
const EXIT_USAGE: u8 = 2;
/// Exit code for an internal error.
const EXIT_INTERNAL: u8 = 1;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CLAWRUN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .without_time()
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            if let Some(io) = err.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::BrokenPipe {
                    return ExitCode::SUCCESS;
                }
            }
            let code = match err.downcast_ref::<Error>() {
                Some(Error::Usage(_)) | Some(Error::Config(_)) => EXIT_USAGE,
                _ => EXIT_INTERNAL,
            };
            eprintln!("❌ {err:#}");
            ExitCode::from(code)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    // One thread: the runner waits on I/O, and the agent's parent-death signal is
    // tied to the thread that spawned it, which must live as long as the run.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let paths = Paths::resolve(&ProcessEnv, cli.state_dir.as_deref(), cli.config.as_deref());
    let backends_file = cli.backends.clone().or_else(|| {
        let default = paths.backends_file();
        default.is_file().then_some(default)
    });
    match &cli.command {
        Command::Run(args) => cmd_run(args, &paths, backends_file),
        Command::Runner { dir } => {
            let dir = RunDir::open(dir.clone());
            let report = execute(&dir, &paths)?;
            Ok(report.exit_code)
        }
        Command::Status(args) => cmd_status(args, &paths),
        Command::Route(args) => cmd_route(args, &paths),
        Command::Notify(args) => cmd_notify(args),
        Command::Respond(args) => cmd_respond(args, &paths),
        Command::Fg(args) => cmd_fg_bg(args, &paths, true),
        Command::Bg(args) => cmd_fg_bg(args, &paths, false),
        Command::Outbox(args) => cmd_outbox(args, &paths),
        Command::Sessions(args) => cmd_sessions(args, &paths, backends_file.as_deref()),
        Command::List(args) => cmd_list(args, &paths),
        Command::Show(args) => cmd_show(args, &paths),
        Command::Output(args) => cmd_output(args, &paths),
        Command::Kill(args) => cmd_kill(args, &paths),
        Command::Stats(args) => cmd_stats(args, &paths),
        Command::Resume(args) => cmd_resume(args, &paths, backends_file.as_deref()),
        Command::Gc(args) => cmd_gc(args, &paths),
        Command::Doctor(args) => cmd_doctor(args, &paths, backends_file),
    }
}

fn cmd_gc(args: &GcArgs, paths: &Paths) -> anyhow::Result<u8> {
    let config = clawrun::core::config::Config::load(&paths.config_file).map_err(Error::from)?;
    let opts = gc::GcOptions {
        older_than_days: args.older_than,
        dry_run: args.dry_run,
    };
    let report = gc::gc(paths, &config, &opts)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", report.render())?;
    }
    Ok(if report.errors.is_empty() {
        0
    } else {
        EXIT_INTERNAL
    })
}

fn cmd_doctor(
    args: &DoctorArgs,
    paths: &Paths,
    backends_file: Option<std::path::PathBuf>,
) -> anyhow::Result<u8> {
    let opts = doctor::DoctorOptions {
        backends_file,
        timeout: Duration::from_secs(args.timeout.max(1)),
    };
    let report = runtime()?.block_on(doctor::run(paths, &opts, &ProcessEnv));
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", report.render())?;
    }
    Ok(report.exit_code())
}

/// Print `value` as pretty JSON on stdout.
fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Print `text` on stdout.
fn print_text(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

fn cmd_list(args: &ListArgs, paths: &Paths) -> anyhow::Result<u8> {
    let filter = args
        .status
        .as_deref()
        .map(manager::StatusFilter::parse)
        .transpose()?;
    let runs = manager::list(paths, args.all, filter, now_secs());
    if args.json {
        print_json(&runs)?;
    } else if runs.is_empty() {
        print_text(if args.all {
            "No runs.\n"
        } else {
            "No runs running or in the last 24 hours (--all lists older ones).\n"
        })?;
    } else {
        print_text(&manager::render_list(&runs))?;
    }
    Ok(0)
}

fn cmd_show(args: &ShowArgs, paths: &Paths) -> anyhow::Result<u8> {
    let _ = run::active_runs(&paths.runs_dir());
    let details = manager::show(&manager::resolve_run(paths, &args.run)?);
    if args.json {
        print_json(&details)?;
    } else {
        print_text(&manager::render_details(&details, now_secs()))?;
    }
    Ok(0)
}

fn cmd_output(args: &OutputArgs, paths: &Paths) -> anyhow::Result<u8> {
    let _ = run::active_runs(&paths.runs_dir());
    let run = manager::resolve_run(paths, &args.run)?;
    if args.follow {
        let opts = manager::FollowOptions {
            lines: args.lines,
            raw: args.full,
            json: args.json,
            poll: manager::DEFAULT_FOLLOW_POLL,
        };
        let end = manager::follow(&run, &opts, &mut std::io::stdout().lock())?;
        if !args.json && !end.reader_gone {
            if end.runner_gone {
                eprintln!(
                    "— run {}: its runner died without finishing ({})",
                    end.run_id, end.status
                );
            } else {
                eprintln!("— run {} ended: {}", end.run_id, end.status);
            }
        }
        return Ok(0);
    }
    if args.full {
        manager::copy_stream(&run, &mut std::io::stdout().lock())?;
        return Ok(0);
    }
    let text = manager::output_text(&run, args.lines)?;
    if args.json {
        print_json(&text)?;
    } else {
        let mut body = text.lines.join("\n");
        if !body.is_empty() {
            body.push('\n');
        }
        print_text(&body)?;
        if text.lines.is_empty() {
            eprintln!("(no text yet; run {} is {})", text.run_id, text.status);
        }
    }
    Ok(0)
}

fn cmd_kill(args: &KillArgs, paths: &Paths) -> anyhow::Result<u8> {
    let run = manager::resolve_run(paths, &args.run)?;
    let report = manager::kill_run(paths, &run, Duration::from_secs(args.wait))?;
    if args.json {
        print_json(&report)?;
    } else {
        let icon = if report.outcome == "killed" {
            "⛔"
        } else {
            "ℹ"
        };
        print_text(&format!(
            "{icon} run {} {} ({:.1}s, via {})\n",
            report.run_id,
            report.outcome,
            report.seconds,
            match report.via {
                manager::KillPath::Runner => "its runner",
                manager::KillPath::AgentGroup => "the agent's process group; the runner was gone",
                manager::KillPath::NothingAlive => "nothing: runner and agent were already gone",
            }
        ))?;
    }
    Ok(0)
}

fn cmd_stats(args: &StatsArgs, paths: &Paths) -> anyhow::Result<u8> {
    let days = (args.days > 0).then_some(args.days);
    let stats = manager::stats(paths, days, now_secs())?;
    if args.json {
        print_json(&stats)?;
    } else {
        print_text(&manager::render_stats(&stats))?;
    }
    Ok(0)
}

fn cmd_resume(
    args: &ResumeArgs,
    paths: &Paths,
    backends_file: Option<&std::path::Path>,
) -> anyhow::Result<u8> {
    let target = manager::resolve(paths, &args.run)?;
    let plan = manager::plan_resume(paths, backends_file, &target, &args.to_request())?;
    if !args.json {
        eprintln!(
            "↩️ Resuming {} session {} in {}",
            plan.backend,
            plan.resume_id,
            plan.project.display()
        );
    }
    let exe = std::env::current_exe().context("finding the clawrun executable")?;
    Err(manager::exec_resume(&plan, &exe).into())
}

fn execute(dir: &RunDir, paths: &Paths) -> anyhow::Result<RunReport> {
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
                "❌ channel {} unavailable ({e:#}); notifications go to the console",
                spec.channel
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
            let rt = runtime()?;
            rt.block_on(runner::record_crash(dir, paths, channel, &message))?;
            anyhow::bail!("{message}")
        }
    }
}

fn cmd_run(
    args: &RunArgs,
    paths: &Paths,
    backends_file: Option<std::path::PathBuf>,
) -> anyhow::Result<u8> {
    let configs = Configs::load(paths)?;
    let mut opts = args.to_options(backends_file);
    if args.heartbeat.is_none() {
        opts.heartbeat_secs = configs.config.notify.heartbeat.as_secs();
    }
    let mut prepared = runner::prepare(&opts, paths, &mut std::io::stdin().lock())?;
    let input = runner::route_input(&prepared.spec, &args.routing(), &configs);
    {
        let rt = runtime()?;
        rt.block_on(runner::route(&mut prepared, &input, &configs))?;
    }
    let spec = &prepared.spec;
    for w in &spec.route.warnings {
        eprintln!("⚠ {w}");
    }
    if args.validate_only {
        let mut out = std::io::stdout().lock();
        if args.json {
            let v = serde_json::json!({
                "route": spec.route,
                "channel": spec.channel,
                "completion_mode": spec.chain.completion_mode.as_str(),
                "max_iterations": spec.chain.max_iterations,
                "iteration": spec.chain.iteration,
            });
            serde_json::to_writer_pretty(&mut out, &v)?;
            writeln!(out)?;
        } else {
            write!(out, "{}", routing::render_report(&spec.route, &input))?;
            writeln!(out, "   channel_type: {}", spec.channel)?;
            writeln!(
                out,
                "   completion_mode: {}",
                spec.chain.completion_mode.as_str()
            )?;
            writeln!(out, "   max_iterations: {}", spec.chain.max_iterations)?;
        }
        return Ok(0);
    }
    let max = configs.config.limits.max_sessions;
    if args.queue {
        if manager::check_capacity(paths, max).is_err() {
            eprintln!("⏳ {max} runs are running (the limit); waiting for one to finish…");
            let rt = runtime()?;
            rt.block_on(manager::wait_for_slot(paths, max, Duration::from_secs(2)));
        }
    } else {
        manager::check_capacity(paths, max)?;
    }
    if let Some(report) = clawrun::core::ops::gc::auto_gc(paths, &configs.config) {
        if report.runs_removed > 0 || report.registry_entries_removed > 0 {
            eprintln!(
                "🧹 daily clean-up: {} old run(s) and {} registry entr(ies) removed, {} freed",
                report.runs_removed,
                report.registry_entries_removed,
                clawrun::core::ops::gc::format_bytes(report.bytes_freed)
            );
        }
    }
    banner(spec);
    let dir = runner::create(&prepared)?;
    if args.detach {
        let exe = std::env::current_exe().context("finding the clawrun executable")?;
        let proof = runner::spawn_detached(&dir, &exe, &paths.state_dir, Duration::from_secs(30))?;
        let mut out = std::io::stdout().lock();
        if args.json {
            let mut v = serde_json::to_value(&proof)?;
            v["route"] = serde_json::to_value(&prepared.spec.route)?;
            v["channel"] = prepared.spec.channel.clone().into();
            serde_json::to_writer_pretty(&mut out, &v)?;
            writeln!(out)?;
        } else {
            writeln!(out, "✅ Launched {} run {}", proof.backend, proof.run_id)?;
            writeln!(out, "   runner pid: {}", proof.runner_pid)?;
            writeln!(out, "   agent pid:  {}", proof.agent_pid)?;
            writeln!(out, "   run dir:    {}", proof.run_dir.display())?;
            writeln!(out, "   output:     {}", proof.output_file.display())?;
            writeln!(
                out,
                "   route:      {} via {}",
                prepared.spec.route.channel.as_str(),
                prepared.spec.channel
            )?;
        }
        return Ok(0);
    }
    let report = execute(&dir, paths)?;
    let icon = match report.outcome {
        clawrun::core::model::state::Outcome::Completed => "✅",
        clawrun::core::model::state::Outcome::Timeout => "⏰ TIMEOUT",
        _ => "❌",
    };
    eprintln!(
        "{icon} Done ({}, exit {}, {} chars, {})",
        report.outcome.as_str(),
        report
            .agent_exit_code
            .map_or("-".to_owned(), |c| c.to_string()),
        report.output_chars,
        notify::fmt_duration(report.duration_secs)
    );
    if let Some(id) = &report.resume_id {
        eprintln!("📝 Session registered: {id}");
    }
    if args.json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    }
    Ok(report.exit_code)
}

fn cmd_route(args: &RouteArgs, paths: &Paths) -> anyhow::Result<u8> {
    let configs = Configs::load(paths)?;
    let project = match &args.project {
        Some(p) => std::path::absolute(p)?,
        None => std::env::current_dir()?,
    };
    let (workdir_routes, fallback) =
        clawrun::core::notify::delivery::configured_routes(&configs.config);
    let routing = args.routing.to_options();
    let input = routing::RouteInput {
        session_key: args.key.clone(),
        notify_channel: routing.notify_channel,
        notify_target: routing.notify_target,
        notify_thread_id: routing.notify_thread_id,
        notify_session_id: routing.notify_session_id,
        reply_to_message_id: routing.reply_to_message_id,
        telegram_routing_mode: routing.telegram_routing_mode,
        allow_main_telegram: routing.allow_main_telegram,
        project_dir: project,
        workdir_routes,
        fallback,
    };
    let rt = runtime()?;
    let resolved = rt.block_on(clawrun::core::notify::delivery::resolve(
        &input, &configs, paths,
    ))?;
    let kind = clawrun::core::notify::delivery::channel_kind(&resolved, &configs)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let v = serde_json::json!({"route": resolved, "channel": kind.name()});
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", routing::render_report(&resolved, &input))?;
        writeln!(out, "   channel_type: {}", kind.name())?;
    }
    Ok(0)
}

/// The seed's stderr banner (the skill's launch check greps for "Starting").
fn banner(spec: &clawrun::core::store::run::RunSpec) {
    let name = match spec.backend.as_str() {
        "claude" => "Claude Code",
        "codex" => "OpenAI Codex",
        other => other,
    };
    eprintln!("🔧 Starting {name}...");
    eprintln!(
        "   Task: {}",
        notify::preview(&spec.request.prompt, 100).replace('\n', " ")
    );
    eprintln!("   Project: {}", spec.request.project.display());
    eprintln!("   Output: {}", spec.output_file.display());
    eprintln!(
        "   Timeout: {}s ({}min)",
        spec.limits.timeout_secs,
        spec.limits.timeout_secs / 60
    );
    if let Some(r) = &spec.request.resume_id {
        eprintln!(
            "   Resume: {r}{}",
            if spec.request.fork { " (fork)" } else { "" }
        );
    }
    if let Some(l) = &spec.label {
        eprintln!("   Label: {l}");
    }
    if let Some(m) = &spec.request.model {
        eprintln!("   Model: {m}");
    }
    eprintln!("   Run: {}", spec.run_id);
}

fn cmd_status(args: &StatusArgs, paths: &Paths) -> anyhow::Result<u8> {
    let active = run::active_runs(&paths.runs_dir());
    let mut out = std::io::stdout().lock();
    if args.json {
        let records: Vec<_> = active.iter().map(|(_, r)| r).collect();
        serde_json::to_writer_pretty(&mut out, &records)?;
        writeln!(out)?;
        return Ok(0);
    }
    if active.is_empty() {
        writeln!(out, "No runs are running.")?;
        return Ok(0);
    }
    let now = now_secs();
    for (dir, r) in &active {
        writeln!(
            out,
            "{}  {:<7} {:<8} {:>6}  pid {}/{}  {}  {}",
            r.run_id,
            r.backend,
            r.shown_status(),
            notify::fmt_duration(r.duration_secs(now)),
            r.runner_pid,
            r.agent_pid.map_or("-".to_owned(), |p| p.to_string()),
            r.label.as_deref().unwrap_or("-"),
            dir.file(files::OUTPUT).display()
        )?;
    }
    Ok(0)
}

fn cmd_notify(args: &NotifyArgs) -> anyhow::Result<u8> {
    let rt = runtime()?;
    let req = control::Request::Notify {
        text: args.text.clone(),
    };
    let reply = rt.block_on(control::request(&args.run_dir, &req))?;
    if reply.ok {
        eprintln!("✓ note sent");
        Ok(0)
    } else {
        eprintln!("❌ note not sent: {}", reply.error.unwrap_or_default());
        Ok(EXIT_INTERNAL)
    }
}

fn cmd_respond(args: &RespondArgs, paths: &Paths) -> anyhow::Result<u8> {
    let run = manager::resolve_run(paths, &args.run)?;
    let id = run.record.run_id.clone();
    let finished = |what: &str| {
        eprintln!(
            "❌ run {id} {what}: it takes no more input. Continue its session with \
             `clawrun resume {id} \"message\"`."
        );
        Ok(EXIT_INTERNAL)
    };
    if run.record.status.is_done() {
        return finished(&format!("has finished ({})", run.record.status.as_str()));
    }
    let rt = runtime()?;
    let req = control::Request::Respond {
        text: args.message.clone(),
        interrupt: args.interrupt,
        user: args.user,
    };
    let Ok(reply) = rt.block_on(control::request(&run.dir.path, &req)) else {
        return finished("is not running (no live runner)");
    };
    if reply.ok {
        eprintln!("✓ sent to run {id}");
        Ok(0)
    } else {
        eprintln!("❌ not sent: {}", reply.error.unwrap_or_default());
        Ok(EXIT_INTERNAL)
    }
}

fn cmd_outbox(args: &OutboxArgs, paths: &Paths) -> anyhow::Result<u8> {
    let runs_dir = paths.runs_dir();
    let mut out = std::io::stdout().lock();
    if args.action == "list" {
        let pending = outbox::runs_with_pending(&runs_dir);
        if args.json {
            let v: Vec<_> = pending
                .iter()
                .map(|(dir, entries)| serde_json::json!({"run_dir": dir, "pending": entries}))
                .collect();
            serde_json::to_writer_pretty(&mut out, &v)?;
            writeln!(out)?;
        } else if pending.is_empty() {
            writeln!(out, "Nothing pending.")?;
        } else {
            for (dir, entries) in &pending {
                writeln!(out, "{}:", dir.display())?;
                for e in entries {
                    writeln!(
                        out,
                        "  {}  {} attempt(s){}{}",
                        e.key,
                        e.attempts,
                        if e.in_doubt { ", in doubt" } else { "" },
                        e.last_error
                            .as_deref()
                            .map(|x| format!(", last error: {x}"))
                            .unwrap_or_default()
                    )?;
                }
            }
        }
        return Ok(0);
    }
    let rt = runtime()?;
    let build = |kind: &str, dir: &std::path::Path| runner::channel_for(kind, dir, paths);
    let results = rt.block_on(outbox::flush_all(
        &runs_dir,
        None,
        &RetryPolicy {
            budget: Duration::from_secs(args.wait),
            ..RetryPolicy::default()
        },
        &build,
    ));
    let still_pending: usize = results
        .iter()
        .map(|r| r.report.as_ref().map_or(0, |p| p.pending))
        .sum();
    let errors = results.iter().filter(|r| r.error.is_some()).count();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &results)?;
        writeln!(out)?;
    } else {
        for r in &results {
            match (&r.report, &r.error) {
                (_, Some(e)) => writeln!(out, "{}: ❌ {e}", r.run_id)?,
                (None, None) => {
                    writeln!(out, "{}: busy (another process is delivering)", r.run_id)?
                }
                (Some(p), None) => writeln!(
                    out,
                    "{}: {} delivered, {} abandoned, {} pending{}",
                    r.run_id,
                    p.delivered.len(),
                    p.abandoned.len(),
                    p.pending,
                    p.last_error
                        .as_deref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                )?,
            }
        }
        if results.is_empty() {
            writeln!(out, "Nothing pending.")?;
        }
    }
    Ok(if still_pending > 0 || errors > 0 {
        EXIT_INTERNAL
    } else {
        0
    })
}

/// The registries to read: one backend's, or all.
fn registries(
    paths: &Paths,
    backend: Option<&str>,
    backends_file: Option<&std::path::Path>,
) -> anyhow::Result<Vec<Registry>> {
    let config = config::load(backends_file)?;
    let names: Vec<&str> = match backend {
        Some(b) => vec![b],
        None => config.names(),
    };
    names
        .into_iter()
        .map(|n| Ok(Registry::for_backend(paths, &config.backend(n)?)))
        .collect()
}

fn cmd_sessions(
    args: &SessionsArgs,
    paths: &Paths,
    backends_file: Option<&std::path::Path>,
) -> anyhow::Result<u8> {
    let mut out = std::io::stdout().lock();
    match &args.command {
        None => {
            let hours = args.hours.unwrap_or(72.0);
            let mut any = false;
            let mut all = Vec::new();
            for reg in registries(paths, args.backend.as_deref(), backends_file)? {
                let entries = reg.list(Some(hours))?;
                if args.json {
                    all.extend(entries);
                } else if !entries.is_empty() {
                    any = true;
                    writeln!(out, "{}:", reg.path().display())?;
                    write!(out, "{}", registry::render_table(&entries, reg.id_field()))?;
                }
            }
            if args.json {
                serde_json::to_writer_pretty(&mut out, &all)?;
                writeln!(out)?;
            } else if !any {
                writeln!(out, "No sessions in the last {hours} hours.")?;
            }
            Ok(0)
        }
        Some(SessionsCommand::Find {
            label,
            backend,
            json,
        }) => {
            let mut found = Vec::new();
            for reg in registries(
                paths,
                backend.as_deref().or(args.backend.as_deref()),
                backends_file,
            )? {
                for e in reg.find_by_label(label)? {
                    found.push((reg.id_field(), e));
                }
            }
            if *json {
                let v: Vec<_> = found.iter().map(|(_, e)| e).collect();
                serde_json::to_writer_pretty(&mut out, &v)?;
                writeln!(out)?;
            } else if found.is_empty() {
                writeln!(out, "No session labelled like {label:?}.")?;
            } else {
                let field = found[0].0;
                let entries: Vec<_> = found.into_iter().map(|(_, e)| e).collect();
                write!(out, "{}", registry::render_table(&entries, field))?;
            }
            Ok(0)
        }
        Some(SessionsCommand::Show { id, json }) => {
            for reg in registries(paths, args.backend.as_deref(), backends_file)? {
                if let Some(e) = reg.get(id)? {
                    if *json {
                        serde_json::to_writer_pretty(&mut out, &e)?;
                        writeln!(out)?;
                    } else {
                        let v = serde_json::to_value(&e)?;
                        if let Some(map) = v.as_object() {
                            for (k, v) in map {
                                let shown = match v {
                                    serde_json::Value::String(s) => s.clone(),
                                    other => other.to_string(),
                                };
                                writeln!(out, "{k:>16}: {shown}")?;
                            }
                        }
                    }
                    return Ok(0);
                }
            }
            Err(clawrun::core::error::RegistryError::NotFound(id.clone()).into())
        }
    }
}

fn cmd_fg_bg(args: &RunRefArgs, paths: &Paths, fg: bool) -> anyhow::Result<u8> {
    let dir = manager::resolve_run(paths, &args.run)?.dir;
    let rt = runtime()?;
    let req = if fg {
        control::Request::Fg
    } else {
        control::Request::Bg
    };
    let reply = rt
        .block_on(control::request(&dir.path, &req))
        .map_err(|_| {
            clawrun::Error::Usage(format!(
                "run {} is not running (no live runner to stream from)",
                args.run
            ))
        })?;
    let what = if fg {
        "foreground: its text streams into the chat"
    } else {
        "background"
    };
    if args.json {
        println!(
            "{}",
            serde_json::json!({"run_dir": dir.path, "fg": fg, "ok": reply.ok, "error": reply.error})
        );
    } else if reply.ok {
        eprintln!("✓ run is in the {what}");
    } else {
        eprintln!("❌ {}", reply.error.clone().unwrap_or_default());
    }
    Ok(if reply.ok { 0 } else { EXIT_INTERNAL })
}
