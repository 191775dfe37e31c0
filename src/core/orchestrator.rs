//! The run lifecycle: validate, prepare the run directory, spawn the agent,
//! supervise it (stream, stderr, timeout, signals), decide the outcome, write the
//! output and the records, notify.
//!
//! [`prepare`] validates everything and touches nothing. [`create`] makes the run
//! directory. [`execute`] runs the agent to the end, in this process (foreground)
//! or in a detached runner started by [`spawn_detached`].

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;

use nix::sys::signal::Signal;
use serde::Serialize;
use tokio::io::AsyncReadExt;
use tokio::signal::unix::{SignalKind, signal};

use crate::backends::config;
use crate::backends::{AnyBackend, Backend, LineParser, Permission, RunRequest};
use crate::channels::{AnyChannel, ChannelKind, Console, Destination, console};
use crate::core::control::{self, NoteLimiter};
use crate::core::delivery::{self, Configs};
use crate::core::error::{Error, Result};
use crate::core::events::AgentEvent;
use crate::core::foreground::Foreground;
use crate::core::iterations::{self, Iterations};
use crate::core::notify::{self, Notifier, RunInfo, WakePayload};
use crate::core::outbox::{self, RetryPolicy, StaleCheck};
use crate::core::paths::Paths;
use crate::core::process;
use crate::core::route::{Route, RouteInput, RouteSource, TelegramRoutingMode};
use crate::core::run::{self, CompletionMode, RunDir, RunRecord, RunSpec, RunStatus, files};
use crate::core::sessions::SessionLog;
use crate::core::state::{Outcome, RunState};
use crate::core::version_guard::{self, VersionGuard};
use crate::core::{fsutil, now_secs};

/// Default time limit (seconds).
pub const DEFAULT_TIMEOUT_SECS: u64 = 7200;
/// Default grace between SIGTERM and SIGKILL (seconds).
pub const DEFAULT_GRACE_SECS: u64 = 10;
/// Longest time limit accepted (7 days).
pub const MAX_TIMEOUT_SECS: u64 = 7 * 24 * 3600;
/// Longest stdout line handed to the parser; longer lines are kept in
/// `stream.jsonl` but reported as a warning.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;
/// Bytes of stderr kept (the tail).
pub const STDERR_TAIL_BYTES: usize = 64 * 1024;
/// Largest task accepted (bytes).
pub const MAX_TASK_BYTES: usize = 16 * 1024 * 1024;
/// How long to keep reading stdout after the agent exited, for output still in
/// the pipe (a grandchild holding the pipe open must not hang the runner).
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);
/// Follow-ups queued with `clawrun respond` (one JSON line each), in the run dir.
pub const FOLLOWUPS_FILE_NAME: &str = "followups.jsonl";
/// Progress notes: one more per this interval (after a burst of 3).
const NOTE_EVERY: Duration = Duration::from_secs(10);
/// Progress notes: at most this many per run.
const MAX_NOTES: u32 = 100;
/// How long (seconds, default) a finishing run waits for its last notifications to be delivered;
/// what is left stays in the outbox for `clawrun outbox flush`.
pub const DEFAULT_DELIVERY_WAIT_SECS: u64 = 120;
/// Multi-turn runs: seconds without an answer before stdin is closed, when
/// `--idle-timeout` is 0.
pub const DEFAULT_MULTI_TURN_IDLE_SECS: u64 = 1800;
/// How often `run.json` is refreshed while the agent runs (when something changed).
const RECORD_REFRESH: Duration = Duration::from_secs(5);

/// Where the task text comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskSource {
    /// Given inline (`-t`).
    Inline(String),
    /// A file (`--task-file PATH`).
    File(PathBuf),
    /// Standard input (`--task-file -`).
    Stdin,
}

/// Everything `clawrun run` was asked, before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    /// Backend name.
    pub backend: String,
    /// The task.
    pub task: TaskSource,
    /// Project directory (default: `<state dir>/scratch/<backend>`).
    pub project: Option<PathBuf>,
    /// OpenClaw session key.
    pub session_key: Option<String>,
    /// Label.
    pub label: Option<String>,
    /// Resume id.
    pub resume: Option<String>,
    /// Fork on resume.
    pub fork: bool,
    /// Model.
    pub model: Option<String>,
    /// Time limit, seconds.
    pub timeout_secs: u64,
    /// Grace between SIGTERM and SIGKILL, seconds.
    pub grace_secs: u64,
    /// Output file.
    pub output: Option<PathBuf>,
    /// Claude permission mode.
    pub permission_mode: Option<String>,
    /// Codex sandbox mode.
    pub sandbox: Option<String>,
    /// Codex web search off.
    pub no_search: bool,
    /// The user's backends.toml.
    pub backends_file: Option<PathBuf>,
    /// Seconds between heartbeats (0 = none).
    pub heartbeat_secs: u64,
    /// Edit the heartbeat message in place.
    pub heartbeat_edit: bool,
    /// Seconds of silence before a stall alert (0 = none).
    pub stall_secs: u64,
    /// Seconds of silence after which the run is stopped (0 = never).
    pub idle_timeout_secs: u64,
    /// Seconds after which one "still running" reminder is sent (0 = none).
    pub remind_after_secs: u64,
    /// Completion mode.
    pub completion_mode: CompletionMode,
    /// Iteration limit in iterate mode.
    pub max_iterations: u32,
    /// Trace markers to the chat.
    pub trace_live: bool,
    /// Seconds a finishing run waits for its last messages to be delivered.
    pub delivery_wait_secs: u64,
    /// Stream the agent's text into the chat from the start.
    pub fg: bool,
    /// Claude `--allowedTools`.
    pub allowed_tools: Vec<String>,
    /// Claude `--append-system-prompt`.
    pub append_system_prompt: Option<String>,
    /// Stop when the run's cost passes this (Claude `--max-budget-usd`).
    pub max_budget_usd: Option<f64>,
    /// Multi-turn (claude only): keep stdin open for `clawrun respond`.
    pub multi_turn: bool,
    /// Most consecutive automatic answers before `respond` is refused.
    pub max_auto_responds: u32,
    /// Wait out a usage limit with a known reset time, then resume the session.
    pub auto_resume_on_limit: bool,
}

impl RunOptions {
    /// The options `clawrun run --backend BACKEND` uses by default, for `task`:
    /// the defaults of every flag. Set fields to change them.
    pub fn new(backend: impl Into<String>, task: TaskSource) -> Self {
        Self {
            backend: backend.into(),
            task,
            project: None,
            session_key: None,
            label: None,
            resume: None,
            fork: false,
            model: None,
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            grace_secs: DEFAULT_GRACE_SECS,
            output: None,
            permission_mode: None,
            sandbox: None,
            no_search: false,
            backends_file: None,
            heartbeat_secs: crate::core::config::DEFAULT_HEARTBEAT_SECS,
            heartbeat_edit: false,
            stall_secs: 600,
            idle_timeout_secs: 0,
            remind_after_secs: 600,
            completion_mode: CompletionMode::Single,
            max_iterations: 5,
            trace_live: false,
            delivery_wait_secs: DEFAULT_DELIVERY_WAIT_SECS,
            fg: false,
            allowed_tools: Vec::new(),
            append_system_prompt: None,
            max_budget_usd: None,
            multi_turn: false,
            max_auto_responds: run::DEFAULT_MAX_AUTO_RESPONDS,
            auto_resume_on_limit: false,
        }
    }
}

/// A validated run, ready to be created.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The request to persist.
    pub spec: RunSpec,
    /// The backend.
    pub backend: AnyBackend,
    /// Resolved paths.
    pub paths: Paths,
}

fn usage(msg: impl Into<String>) -> Error {
    Error::Usage(msg.into())
}

/// A flag value that must not be empty, start with `-` (it would be read as a
/// flag by the CLI), or contain whitespace or control characters.
fn check_token(flag: &str, value: &str, max: usize) -> Result<()> {
    if value.is_empty() {
        return Err(usage(format!("{flag} must not be empty")));
    }
    if value.starts_with('-') {
        return Err(usage(format!("{flag} must not start with '-': {value:?}")));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(usage(format!(
            "{flag} must not contain spaces or control characters: {value:?}"
        )));
    }
    if value.len() > max {
        return Err(usage(format!("{flag} is longer than {max} characters")));
    }
    Ok(())
}

/// Find `program` the way `execvp` would: a path is checked as is, a bare name
/// is looked up on `PATH`.
pub fn find_program(program: &str, path_var: Option<&str>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if program.contains('/') {
        let p = PathBuf::from(program);
        return executable(&p).then_some(p);
    }
    path_var?
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(program))
        .find(|p| executable(p))
}

/// Validate everything about a run. Touches nothing on disk (reads only).
///
/// # Errors
/// [`Error::Usage`] for bad input, [`Error::Config`] for a bad backends file.
pub fn prepare(opts: &RunOptions, paths: &Paths, stdin: &mut dyn Read) -> Result<Prepared> {
    let backends = config::load(opts.backends_file.as_deref())?;
    let backend = backends.backend(&opts.backend)?;

    let prompt = match &opts.task {
        TaskSource::Inline(t) => t.clone(),
        TaskSource::File(p) => {
            let meta = std::fs::metadata(p)
                .map_err(|e| usage(format!("--task-file {}: {e}", p.display())))?;
            if meta.len() > MAX_TASK_BYTES as u64 {
                return Err(usage(format!(
                    "--task-file {} is larger than {MAX_TASK_BYTES} bytes",
                    p.display()
                )));
            }
            std::fs::read_to_string(p)
                .map_err(|e| usage(format!("--task-file {}: {e}", p.display())))?
        }
        TaskSource::Stdin => {
            let mut s = String::new();
            stdin
                .take(MAX_TASK_BYTES as u64 + 1)
                .read_to_string(&mut s)
                .map_err(|e| usage(format!("--task-file -: reading stdin: {e}")))?;
            if s.len() > MAX_TASK_BYTES {
                return Err(usage(format!(
                    "the task on stdin is larger than {MAX_TASK_BYTES} bytes"
                )));
            }
            s
        }
    };
    if prompt.trim().is_empty() {
        return Err(usage(
            "the task is empty: give it with -t TEXT or --task-file PATH",
        ));
    }
    if opts.timeout_secs == 0 || opts.timeout_secs > MAX_TIMEOUT_SECS {
        return Err(usage(format!(
            "--timeout must be between 1 and {MAX_TIMEOUT_SECS} seconds, got {}",
            opts.timeout_secs
        )));
    }
    if opts.grace_secs > 600 {
        return Err(usage("--grace must be at most 600 seconds"));
    }
    if let Some(r) = &opts.resume {
        check_token("--resume", r, 200)?;
    }
    if opts.fork && opts.resume.is_none() {
        return Err(usage("--fork needs --resume ID (the session to fork from)"));
    }
    if opts.fork && backend.name() != "claude" {
        return Err(usage("--fork is supported by the claude backend only"));
    }
    if let Some(m) = &opts.model {
        check_token("--model", m, 200)?;
    }
    if let Some(k) = &opts.session_key {
        check_token("--session", k, 1000)?;
    }
    if let Some(l) = &opts.label {
        if l.trim().is_empty() {
            return Err(usage("--label must not be empty"));
        }
        if l.chars().count() > 200 || l.chars().any(char::is_control) {
            return Err(usage(
                "--label must be at most 200 characters, without control characters",
            ));
        }
    }
    let permission = match (&opts.permission_mode, &opts.sandbox, backend.name()) {
        (Some(_), Some(_), _) => {
            return Err(usage(
                "--permission-mode (claude) and --sandbox (codex) exclude each other",
            ));
        }
        (Some(m), None, "claude") => {
            check_token("--permission-mode", m, 64)?;
            Permission::ClaudeMode(m.clone())
        }
        (Some(_), None, other) => {
            return Err(usage(format!(
                "--permission-mode is a claude option; for {other} use --sandbox MODE"
            )));
        }
        (None, Some(s), "codex") => {
            const MODES: [&str; 3] = ["read-only", "workspace-write", "danger-full-access"];
            if !MODES.contains(&s.as_str()) {
                return Err(usage(format!(
                    "--sandbox must be one of {}, got {s:?}",
                    MODES.join(", ")
                )));
            }
            Permission::CodexSandbox(s.clone())
        }
        (None, Some(_), other) => {
            return Err(usage(format!(
                "--sandbox is a codex option; for {other} use --permission-mode MODE"
            )));
        }
        (None, None, _) => Permission::Default,
    };
    if opts.no_search && backend.name() != "codex" {
        return Err(usage("--no-search is a codex option"));
    }
    if opts.multi_turn && backend.name() != "claude" {
        return Err(usage(format!(
            "--multi-turn is supported by the claude backend only ({} takes no input while it \
             runs); continue a finished {} run with `clawrun resume RUN \"message\"`",
            backend.name(),
            backend.name()
        )));
    }
    if opts.max_auto_responds > 1000 {
        return Err(usage("--max-auto-responds must be at most 1000"));
    }
    // Multi-turn runs wait for answers: an abandoned one closes after 30 minutes.
    let idle_timeout_secs = if opts.multi_turn && opts.idle_timeout_secs == 0 {
        DEFAULT_MULTI_TURN_IDLE_SECS
    } else {
        opts.idle_timeout_secs
    };

    let cwd = std::env::current_dir().map_err(|e| Error::io("reading the current directory", e))?;
    let absolute = |p: &Path| {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            cwd.join(p)
        }
    };
    let project = match &opts.project {
        Some(p) => absolute(p),
        None => paths.state_dir.join("scratch").join(backend.name()),
    };
    if project.exists() && !project.is_dir() {
        return Err(usage(format!(
            "--project {} exists and is not a directory",
            project.display()
        )));
    }
    if paths.state_dir.exists() && !paths.state_dir.is_dir() {
        return Err(usage(format!(
            "--state-dir {} exists and is not a directory",
            paths.state_dir.display()
        )));
    }
    let now = now_secs();
    let run_id = run::new_run_id(now);
    let output_file = match &opts.output {
        Some(o) => {
            let o = absolute(o);
            if o.is_dir() {
                return Err(usage(format!("--output {} is a directory", o.display())));
            }
            o
        }
        None => paths.runs_dir().join(&run_id).join(files::OUTPUT),
    };

    let program = backend.command(&RunRequest::default()).program;
    if find_program(&program, std::env::var("PATH").ok().as_deref()).is_none() {
        return Err(usage(format!(
            "{program} not found (PATH={}); install it, or set `program` under [{}] in {} or --backends FILE to its full path",
            std::env::var("PATH").unwrap_or_default(),
            backend.name(),
            paths.backends_file().display()
        )));
    }

    if opts.max_iterations == 0 || opts.max_iterations > 100 {
        return Err(usage("--max-iterations must be between 1 and 100"));
    }
    if opts.heartbeat_secs != 0 && opts.heartbeat_secs < 10 {
        return Err(usage("--heartbeat must be 0 (off) or at least 10 seconds"));
    }
    let max_iterations = match opts.completion_mode {
        CompletionMode::Single => 1,
        CompletionMode::Iterate => opts.max_iterations,
    };
    let plan = Iterations::new(&paths.state_dir).plan(
        opts.session_key.as_deref(),
        opts.resume.as_deref(),
        &run_id,
    )?;
    let iteration = match opts.completion_mode {
        CompletionMode::Single => 1,
        CompletionMode::Iterate => {
            iterations::check_limit(&plan, opts.session_key.as_deref(), max_iterations)?;
            plan.iteration
        }
    };
    let probe = RunRequest {
        prompt: prompt.clone(),
        project: project.clone(),
        model: opts.model.clone(),
        resume_id: opts.resume.clone(),
        fork: opts.fork,
        permission: permission.clone(),
        search: opts.no_search.then_some(false),
        allowed_tools: opts.allowed_tools.clone(),
        append_system_prompt: opts.append_system_prompt.clone(),
        max_budget_usd: opts.max_budget_usd,
    };
    backend
        .validate(&probe)
        .map_err(|e| usage(format!("{}: {}", e.backend, e.message)))?;
    let spec = RunSpec {
        run_id,
        backend: backend.name().to_owned(),
        prompt,
        project,
        model: opts.model.clone(),
        resume_id: opts.resume.clone(),
        fork: opts.fork,
        permission,
        search: opts.no_search.then_some(false),
        label: opts.label.clone(),
        session_key: opts.session_key.clone(),
        timeout_secs: opts.timeout_secs,
        grace_secs: opts.grace_secs,
        output_file,
        backends_file: opts.backends_file.clone(),
        created_at: now,
        heartbeat_secs: opts.heartbeat_secs,
        heartbeat_edit: opts.heartbeat_edit,
        stall_secs: opts.stall_secs,
        idle_timeout_secs,
        remind_after_secs: opts.remind_after_secs,
        completion_mode: opts.completion_mode,
        iteration,
        max_iterations,
        chain_root: plan.root,
        fg: opts.fg,
        allowed_tools: opts.allowed_tools.clone(),
        append_system_prompt: opts.append_system_prompt.clone(),
        max_budget_usd: opts.max_budget_usd,
        delivery_wait_secs: opts.delivery_wait_secs,
        route: Route::console(RouteSource::Default),
        channel: ChannelKind::Console.name().to_owned(),
        trace_live: opts.trace_live,
        multi_turn: opts.multi_turn,
        max_auto_responds: opts.max_auto_responds,
        auto_resume_on_limit: opts.auto_resume_on_limit,
    };
    Ok(Prepared {
        spec,
        backend,
        paths: paths.clone(),
    })
}

/// The routing flags of `clawrun run`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutingOptions {
    /// `--notify-channel`.
    pub notify_channel: Option<String>,
    /// `--notify-target`.
    pub notify_target: Option<String>,
    /// `--notify-thread-id`.
    pub notify_thread_id: Option<String>,
    /// `--notify-session-id`.
    pub notify_session_id: Option<String>,
    /// `--reply-to-message-id`.
    pub reply_to_message_id: Option<String>,
    /// `--telegram-routing-mode`.
    pub telegram_routing_mode: TelegramRoutingMode,
    /// `--allow-main-telegram`.
    pub allow_main_telegram: bool,
}

/// The routing input of a prepared run.
pub fn route_input(spec: &RunSpec, routing: &RoutingOptions, configs: &Configs) -> RouteInput {
    let (workdir_routes, fallback) = delivery::configured_routes(&configs.config);
    RouteInput {
        session_key: spec.session_key.clone(),
        notify_channel: routing.notify_channel.clone(),
        notify_target: routing.notify_target.clone(),
        notify_thread_id: routing.notify_thread_id.clone(),
        notify_session_id: routing.notify_session_id.clone(),
        reply_to_message_id: routing.reply_to_message_id.clone(),
        telegram_routing_mode: routing.telegram_routing_mode,
        allow_main_telegram: routing.allow_main_telegram,
        project_dir: spec.project.clone(),
        workdir_routes,
        fallback,
    }
}

/// Resolve the route of a prepared run and choose its channel, checking that
/// the channel can be built (its token is there). Reads only.
///
/// # Errors
/// Routing refusals and channel configuration errors (exit 2).
pub async fn route(prepared: &mut Prepared, input: &RouteInput, configs: &Configs) -> Result<()> {
    let route = delivery::resolve(input, configs, &prepared.paths).await?;
    let kind = delivery::channel_kind(&route, configs)?;
    if kind != ChannelKind::Console {
        delivery::build(kind.name(), &prepared.paths.state_dir, configs)?;
    }
    prepared.spec.route = route;
    prepared.spec.channel = kind.name().to_owned();
    Ok(())
}

/// The first 200 characters of a task.
pub fn task_summary(prompt: &str) -> String {
    prompt.chars().take(200).collect()
}

/// Create the run directory, `request.json` and `run.json` (status `starting`).
///
/// # Errors
/// I/O errors.
pub fn create(prepared: &Prepared) -> Result<RunDir> {
    let spec = &prepared.spec;
    fsutil::create_private_dir(&prepared.paths.state_dir).map_err(|e| {
        Error::io(
            format!("creating {}", prepared.paths.state_dir.display()),
            e,
        )
    })?;
    if spec.completion_mode == CompletionMode::Iterate {
        // Counted under a lock: two resumes racing for the last iteration cannot both pass.
        Iterations::new(&prepared.paths.state_dir).start(
            spec.session_key.as_deref(),
            spec.resume_id.as_deref(),
            &spec.run_id,
            spec.max_iterations,
        )?;
    }
    let dir = RunDir::create(&prepared.paths.runs_dir(), &spec.run_id)?;
    dir.write_spec(spec)?;
    let record = RunRecord {
        run_id: spec.run_id.clone(),
        backend: spec.backend.clone(),
        status: RunStatus::Starting,
        label: spec.label.clone(),
        project: spec.project.clone(),
        task_summary: task_summary(&spec.prompt),
        session_key: spec.session_key.clone(),
        resumed_from: spec.resume_id.clone(),
        resume_id: None,
        model: spec.model.clone(),
        cli_version: None,
        runner_pid: std::process::id(),
        agent_pid: None,
        created_at: spec.created_at,
        created_ms: run::now_ms(),
        started_at: None,
        ended_at: None,
        updated_at: now_secs(),
        exit_code: None,
        usage: Default::default(),
        cost_usd: None,
        tool_calls: 0,
        subagents_running: 0,
        subagents_started: 0,
        replaced_ids: Vec::new(),
        timeout_secs: spec.timeout_secs,
        output_file: spec.output_file.clone(),
        error: None,
        runner_cpu_ms: None,
        runner_peak_rss_kb: None,
        waiting_since: None,
    };
    dir.write_record(&record)?;
    Ok(dir)
}

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
    use std::os::unix::process::CommandExt;
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
    // SAFETY: setsid is async-signal-safe; it detaches the runner from our
    // session so a closing terminal or the caller's exit does not reach it.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
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

/// Whether `dir` is inside a git work tree (a `.git` entry in it or a parent).
pub fn inside_git_work_tree(dir: &Path) -> bool {
    dir.ancestors().any(|d| d.join(".git").exists())
}

/// How a run finished, for the caller.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    /// Run id.
    pub run_id: String,
    /// Outcome.
    pub outcome: Outcome,
    /// The runner's exit code for it.
    pub exit_code: u8,
    /// The agent's exit code.
    pub agent_exit_code: Option<i32>,
    /// Resume id of the session.
    pub resume_id: Option<String>,
    /// Output file.
    pub output_file: PathBuf,
    /// Characters of output.
    pub output_chars: usize,
    /// Duration, seconds.
    pub duration_secs: i64,
    /// Cost.
    pub cost_usd: Option<f64>,
    /// Why it failed.
    pub error: Option<String>,
}

/// Why supervision stopped the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopReason {
    Timeout,
    Idle,
    Signal(i32),
}

/// A bounded ring of the last bytes of stderr.
#[derive(Debug, Default)]
struct Tail {
    buf: Vec<u8>,
    total: u64,
}

impl Tail {
    fn push(&mut self, data: &[u8]) {
        self.total += data.len() as u64;
        if data.len() >= STDERR_TAIL_BYTES {
            self.buf.clear();
            self.buf
                .extend_from_slice(&data[data.len() - STDERR_TAIL_BYTES..]);
            return;
        }
        let over = (self.buf.len() + data.len()).saturating_sub(STDERR_TAIL_BYTES);
        if over > 0 {
            self.buf.drain(..over);
        }
        self.buf.extend_from_slice(data);
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf).into_owned()
    }
}

/// Splits stdout into lines with bounded memory, handing each to `on_line`
/// (`Err(len)` for a line longer than [`MAX_LINE_BYTES`], which is not kept).
#[derive(Debug, Default)]
struct LineSplitter {
    pending: Vec<u8>,
    /// Length of an over-long line being skipped.
    overflow: Option<usize>,
}

impl LineSplitter {
    fn feed(
        &mut self,
        mut chunk: &[u8],
        on_line: &mut impl FnMut(std::result::Result<&[u8], usize>),
    ) {
        while let Some(pos) = memchr::memchr(b'\n', chunk) {
            let (line, rest) = chunk.split_at(pos);
            chunk = &rest[1..];
            if let Some(len) = self.overflow.take() {
                on_line(Err(len + line.len()));
            } else if self.pending.is_empty() {
                on_line(Ok(line));
            } else if self.pending.len() + line.len() > MAX_LINE_BYTES {
                on_line(Err(self.pending.len() + line.len()));
                self.pending = Vec::new();
            } else {
                self.pending.extend_from_slice(line);
                on_line(Ok(&self.pending));
                self.pending.clear();
            }
        }
        if chunk.is_empty() {
            return;
        }
        if let Some(len) = &mut self.overflow {
            *len += chunk.len();
        } else if self.pending.len() + chunk.len() > MAX_LINE_BYTES {
            self.overflow = Some(self.pending.len() + chunk.len());
            // Give the memory back: this line will not be parsed.
            self.pending = Vec::new();
        } else {
            self.pending.extend_from_slice(chunk);
        }
    }

    fn finish(&mut self, on_line: &mut impl FnMut(std::result::Result<&[u8], usize>)) {
        if let Some(len) = self.overflow.take() {
            on_line(Err(len));
        } else if !self.pending.is_empty() {
            on_line(Ok(&self.pending));
        }
        self.pending = Vec::new();
    }
}

/// Runs one agent to its end. Built by [`execute`].
struct Supervisor<'a> {
    dir: &'a RunDir,
    spec: RunSpec,
    record: RunRecord,
    state: RunState,
    parser: crate::backends::AnyParser,
    sessions: SessionLog,
    notifier: Notifier,
    record_dirty: bool,
    last_record_write: Instant,
    stalled: bool,
    rate_limited: bool,
    paths: Paths,
    fg: Foreground,
    stream_pos: u64,
    text_file: Option<std::io::BufWriter<std::fs::File>>,
    /// Follow-ups queued by `clawrun respond` for a run without live input.
    followups: std::collections::VecDeque<String>,
    /// The last attempt ended: no more follow-ups are accepted.
    finishing: bool,
    /// The backend's short tag for heartbeats ("CC", "Codex", …).
    tag: &'static str,
    /// Warns once when the CLI is newer than tested or prints unknown events.
    guard: VersionGuard,
    /// The backend's wake marker.
    result_marker: &'static str,
    /// Multi-turn state.
    turns: Turns,
}

/// Most automatic resumes after a usage limit, per run.
const MAX_LIMIT_RESUMES: u32 = 3;
/// The prompt of a resume after a usage limit.
pub const LIMIT_RESUME_PROMPT: &str = "Continue where you left off.";

/// The state of a multi-turn run.
#[derive(Debug, Default)]
struct Turns {
    /// Lines for the agent's stdin; dropping it closes stdin.
    input: Option<tokio::sync::mpsc::UnboundedSender<String>>,
    /// A turn is running (false while waiting for input).
    in_progress: bool,
    /// Since when the run waits for an answer.
    waiting_since: Option<Instant>,
    /// Automatic answers since the last human one.
    auto_count: u32,
    /// Interrupts sent whose turn end has not been seen yet (that turn end
    /// does not mean "waiting": the next message is already queued).
    interrupts_pending: u32,
    /// Interrupts sent in all (for request ids).
    interrupts_sent: u32,
}

/// Build the channel of type `kind` for the run in `run_dir` (used to deliver
/// what an earlier run left in its outbox).
///
/// # Errors
/// An unknown channel type, or a channel that cannot be configured.
pub fn channel_for(kind: &str, run_dir: &Path, paths: &Paths) -> Result<AnyChannel> {
    if kind == ChannelKind::Console.name() {
        return Ok(Console::new(Some(run_dir.join(console::NOTIFICATIONS_FILE_NAME))).into());
    }
    delivery::build(kind, run_dir, &Configs::load(paths)?)
}

/// Execute the run in `dir` to its end: spawn, supervise, finish. Handles the
/// runner's own SIGTERM/SIGINT/SIGHUP as a kill (outcome `killed`).
///
/// # Errors
/// Only for failures before the agent could be supervised (unreadable request);
/// every later failure becomes an outcome in the report.
pub async fn execute(dir: &RunDir, paths: &Paths, channel: AnyChannel) -> Result<RunReport> {
    let spec = dir.read_spec()?;
    let mut record = dir.read_record()?;
    record.runner_pid = std::process::id();
    let backends = config::load(spec.backends_file.as_deref())?;
    let backend = backends.backend(&spec.backend)?;
    let sessions = SessionLog::new(paths, &backend);
    let notifier = Notifier::new(
        channel,
        &dir.path,
        RunInfo::new(&spec, backend.names()),
        spec.route.destination(),
        spec.session_key.as_ref().map(|key| StaleCheck {
            runs_dir: paths.runs_dir(),
            session_key: key.clone(),
            run_id: spec.run_id.clone(),
            created_at: spec.created_at,
            created_ms: record.created_ms,
        }),
    );
    // Deliver what earlier runs left pending, alongside this run.
    {
        let runs_dir = paths.runs_dir();
        let own = spec.run_id.clone();
        let paths = paths.clone();
        tokio::spawn(async move {
            let policy = RetryPolicy {
                budget: Duration::from_secs(60),
                ..RetryPolicy::default()
            };
            let build = |kind: &str, dir: &Path| channel_for(kind, dir, &paths);
            for f in outbox::flush_all(&runs_dir, Some(&own), &policy, &build).await {
                if let Some(e) = f.error {
                    tracing::warn!("flushing the outbox of {}: {e}", f.run_id);
                }
            }
        });
    }
    let mut notifier = notifier;
    notifier.reply_to = spec.route.reply_to.clone();
    notifier.heartbeat_edit = spec.heartbeat_edit;
    let mut sup = Supervisor {
        dir,
        parser: backend.parser(),
        spec,
        record,
        state: RunState::new(),
        sessions,
        notifier,
        record_dirty: false,
        last_record_write: Instant::now(),
        stalled: false,
        rate_limited: false,
        paths: paths.clone(),
        fg: Foreground::load(&dir.path),
        stream_pos: 0,
        text_file: None,
        followups: std::collections::VecDeque::new(),
        finishing: false,
        tag: backend.names().tag,
        guard: VersionGuard::new(backend.name(), backend.tested_version()),
        result_marker: backend.names().result_marker,
        turns: Turns::default(),
    };
    sup.state.cli_version = version_guard::program_version(&backend, paths).await;
    if sup.spec.fg && !sup.fg.enabled {
        sup.fg.enabled = true;
        sup.fg.save();
    }
    sup.run(&backend).await
}

impl Supervisor<'_> {
    async fn run(&mut self, backend: &AnyBackend) -> Result<RunReport> {
        let spec = self.spec.clone();
        if let Err(e) = fsutil::create_private_dir(&spec.project).or_else(|e| {
            if spec.project.is_dir() {
                Ok(())
            } else {
                Err(e)
            }
        }) {
            return self
                .crash(format!("creating project {}: {e}", spec.project.display()))
                .await;
        }
        if let Some(parent) = spec.output_file.parent() {
            if let Err(e) = std::fs::create_dir_all(parent) {
                return self
                    .crash(format!("creating {}: {e}", parent.display()))
                    .await;
            }
        }
        if !inside_git_work_tree(&spec.project) {
            // Codex refuses to run outside a git work tree; Claude benefits from one.
            // Never nested: only when no parent is a work tree already.
            let ok = std::process::Command::new("git")
                .args(["init", "-q"])
                .current_dir(&spec.project)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if !ok {
                tracing::warn!(project = %spec.project.display(), "git init failed; continuing");
            }
        }

        // The agent may relay progress notes through our control socket.
        let control = match control::serve(&self.dir.path) {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("⚠ progress notes unavailable: {e}");
                None
            }
        };
        let (mut requests, _socket_guard) = match control {
            Some((rx, guard)) => (Some(rx), Some(guard)),
            None => (None, None),
        };
        let prompt = match (&requests, std::env::current_exe()) {
            (Some(_), Ok(exe)) => format!(
                "[Automation context: you run in the background for a person who is not watching. \
                 To send them a short progress note at a milestone, run: {} notify \"your note\" \
                 (at most one every {}s).]\n\n{}",
                shell_quote(&exe.display().to_string()),
                NOTE_EVERY.as_secs(),
                spec.prompt
            ),
            _ => spec.prompt.clone(),
        };
        let mut limiter = NoteLimiter::new(3, NOTE_EVERY, MAX_NOTES);

        let req = RunRequest {
            prompt,
            project: spec.project.clone(),
            model: spec.model.clone(),
            resume_id: spec.resume_id.clone(),
            fork: spec.fork,
            permission: spec.permission.clone(),
            search: spec.search,
            allowed_tools: spec.allowed_tools.clone(),
            append_system_prompt: spec.append_system_prompt.clone(),
            max_budget_usd: spec.max_budget_usd,
        };
        let cmd = self.agent_command(backend, &req);
        let extra_env = vec![(
            "CLAWRUN_RUN_DIR".to_owned(),
            self.dir.path.display().to_string(),
        )];

        // Signals first: a SIGTERM between spawn and the select loop must not be lost.
        let mut sigterm = signal(SignalKind::terminate())
            .map_err(|e| Error::io("installing SIGTERM handler", e))?;
        let mut sigint = signal(SignalKind::interrupt())
            .map_err(|e| Error::io("installing SIGINT handler", e))?;
        let mut sighup =
            signal(SignalKind::hangup()).map_err(|e| Error::io("installing SIGHUP handler", e))?;

        let mut agent = match self.start_agent(&cmd, &extra_env) {
            Ok(a) => a,
            Err(e) => return self.crash(e.to_string()).await,
        };
        let started = Instant::now();
        self.record.status = RunStatus::Running;
        self.record.started_at = Some(now_secs());
        self.write_record();
        self.notifier.launch(agent.pid);
        if std::env::var_os("CLAWRUN_FAULT").is_some_and(|v| v == "panic-after-spawn") {
            // Fault injection for the crash-path test: the runner's own bug.
            panic!("injected fault: panic after spawn");
        }
        if spec.trace_live {
            self.notifier.trace(&format!(
                "[RUN_TASK][START] project={} mode={} limit={} run_id={}",
                spec.project.display(),
                spec.completion_mode.as_str(),
                spec.max_iterations,
                spec.run_id
            ));
        }

        let stream_path = self.dir.file(files::STREAM);
        let mut stream = match fsutil::open_append(&stream_path) {
            Ok(f) => f,
            Err(e) => {
                agent.stop(Duration::from_secs(spec.grace_secs)).await.ok();
                return self
                    .crash(format!("opening {}: {e}", stream_path.display()))
                    .await;
            }
        };

        let deadline = Instant::now() + Duration::from_secs(spec.timeout_secs);
        let mut out_buf = vec![0u8; 64 * 1024];
        let mut err_buf = vec![0u8; 16 * 1024];
        let mut tail = Tail::default();
        let mut limit_resumes = 0u32;
        let heartbeat_period = Duration::from_secs(spec.heartbeat_secs.max(1));
        let mut heartbeat =
            tokio::time::interval_at(Instant::now() + heartbeat_period, heartbeat_period);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut fg_tick = tokio::time::interval(Duration::from_millis(500));
        fg_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut refresh = tokio::time::interval(Duration::from_secs(1));
        let mut reminded = false;
        refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut stream_error: Option<String> = None;

        // One pass per agent process: the first, then one per resume after a usage limit.
        let (exit_status, stop_reason) = loop {
            let mut splitter = LineSplitter::default();
            let mut stdout_open = true;
            let mut stderr_open = true;
            let mut exit_status = None;
            let mut stop_reason = None;
            let mut drain_deadline: Option<Instant> = None;
            while stdout_open || stderr_open || exit_status.is_none() {
                let drain_sleep = async {
                    match drain_deadline {
                        Some(d) => tokio::time::sleep_until(d).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    n = agent.stdout.read(&mut out_buf), if stdout_open => match n {
                        Ok(0) | Err(_) => stdout_open = false,
                        Ok(n) => {
                            let chunk = &out_buf[..n];
                            self.stream_pos += n as u64;
                            if stream_error.is_none() {
                                if let Err(e) = stream.write_all(chunk) {
                                    stream_error = Some(format!("writing {}: {e}", stream_path.display()));
                                }
                            }
                            let now = Instant::now();
                            let mut events = Vec::new();
                            let parser = &mut self.parser;
                            splitter.feed(chunk, &mut |line| parse_one(parser, line, &mut events));
                            self.apply_events(events, now);
                        }
                    },
                    n = agent.stderr.read(&mut err_buf), if stderr_open => match n {
                        Ok(0) | Err(_) => stderr_open = false,
                        Ok(n) => tail.push(&err_buf[..n]),
                    },
                    status = agent.child.wait(), if exit_status.is_none() => {
                        exit_status = Some(status.map_err(|e| Error::io("waiting for the agent", e)));
                        drain_deadline = Some(Instant::now() + DRAIN_AFTER_EXIT);
                        self.turns.input = None;
                    },
                    () = drain_sleep => {
                        // The agent exited but something it started still holds the pipes.
                        agent.kill_leftovers(Duration::from_secs(spec.grace_secs.min(2))).await;
                        stdout_open = false;
                        stderr_open = false;
                    },
                    () = tokio::time::sleep_until(deadline), if stop_reason.is_none() && exit_status.is_none() => {
                        stop_reason = Some(StopReason::Timeout);
                        self.notifier.notice(&format!("⏰ Timeout ({}s) reached, stopping the agent", spec.timeout_secs));
                        exit_status = Some(agent.stop(Duration::from_secs(spec.grace_secs)).await.map_err(|e| Error::io("stopping the agent", e)));
                        drain_deadline = Some(Instant::now() + DRAIN_AFTER_EXIT);
                    },
                    _ = sigterm.recv(), if stop_reason.is_none() && exit_status.is_none() => {
                        stop_reason = Some(StopReason::Signal(libc::SIGTERM));
                        exit_status = Some(agent.stop(Duration::from_secs(spec.grace_secs)).await.map_err(|e| Error::io("stopping the agent", e)));
                        drain_deadline = Some(Instant::now() + DRAIN_AFTER_EXIT);
                    },
                    _ = sigint.recv(), if stop_reason.is_none() && exit_status.is_none() => {
                        stop_reason = Some(StopReason::Signal(libc::SIGINT));
                        exit_status = Some(agent.stop(Duration::from_secs(spec.grace_secs)).await.map_err(|e| Error::io("stopping the agent", e)));
                        drain_deadline = Some(Instant::now() + DRAIN_AFTER_EXIT);
                    },
                    _ = sighup.recv(), if stop_reason.is_none() && exit_status.is_none() => {
                        stop_reason = Some(StopReason::Signal(libc::SIGHUP));
                        exit_status = Some(agent.stop(Duration::from_secs(spec.grace_secs)).await.map_err(|e| Error::io("stopping the agent", e)));
                        drain_deadline = Some(Instant::now() + DRAIN_AFTER_EXIT);
                    },
                    _ = heartbeat.tick(), if spec.heartbeat_secs > 0 && exit_status.is_none() => {
                        self.on_heartbeat(started);
                    },
                    Some((req, reply)) = recv_opt(&mut requests) => {
                        let answer = match req {
                            control::Request::Notify { text } => {
                                let text = text.trim();
                                if text.is_empty() {
                                    control::Reply::err("empty note")
                                } else if text.chars().count() > control::MAX_NOTE_CHARS {
                                    control::Reply::err(format!("note longer than {} characters", control::MAX_NOTE_CHARS))
                                } else {
                                    match limiter.take() {
                                        Ok(()) => {
                                            self.notifier.progress(text);
                                            control::Reply::ok()
                                        }
                                        Err(e) => control::Reply::err(e),
                                    }
                                }
                            }
                            control::Request::Fg => {
                                match self.fg.enable(&stream_path, self.stream_pos, backend.parser()) {
                                    Ok(catchup) => {
                                        if let Some(c) = catchup {
                                            self.notifier.stream(c);
                                        }
                                        control::Reply::ok()
                                    }
                                    Err(e) => control::Reply::err(e.to_string()),
                                }
                            }
                            control::Request::Bg => {
                                if let Some(text) = self.fg.disable(Instant::now(), self.stream_pos) {
                                    self.notifier.stream(text);
                                }
                                control::Reply::ok()
                            }
                            control::Request::Respond { text, interrupt, user } => {
                                self.on_respond(&text, interrupt, user)
                            }
                        };
                        let _ = reply.send(answer);
                    },
                    _ = fg_tick.tick(), if self.fg.enabled => {
                        if let Some(text) = self.fg.take_due(Instant::now(), self.stream_pos, false) {
                            self.notifier.stream(text);
                        }
                    },
                    _ = refresh.tick() => {
                        if self.record_dirty && self.last_record_write.elapsed() >= RECORD_REFRESH {
                            self.write_record();
                        }
                        // assistant.txt is buffered; keep it at most a second behind.
                        if let Some(f) = &mut self.text_file {
                            let _ = f.flush();
                        }
                        let now = Instant::now();
                        if spec.remind_after_secs > 0
                            && !reminded
                            && now.saturating_duration_since(started) >= Duration::from_secs(spec.remind_after_secs)
                        {
                            reminded = true;
                            self.notifier.notice(&format!(
                                "⏱️ {} is still running ({}). Watch it with `clawrun fg {}`, or stop it with `clawrun kill {}`.",
                                spec.label.as_deref().unwrap_or(&spec.run_id),
                                notify::fmt_duration(now.saturating_duration_since(started).as_secs() as i64),
                                spec.run_id,
                                spec.run_id
                            ));
                        }
                        if spec.multi_turn && spec.idle_timeout_secs > 0 && self.turns.input.is_some() {
                            if let Some(since) = self.turns.waiting_since {
                                let waited = now.saturating_duration_since(since);
                                if waited >= Duration::from_secs(spec.idle_timeout_secs) {
                                    // Closing stdin ends the session the normal way.
                                    self.turns.input = None;
                                    self.notifier.notice(&format!(
                                        "💤 No answer for {}: closing the session (--idle-timeout). \
                                         Continue it later with `clawrun resume {} \"…\"`.",
                                        notify::fmt_duration(waited.as_secs() as i64),
                                        spec.run_id
                                    ));
                                }
                            }
                        }
                        let idle = now.saturating_duration_since(self.state.last_event_at);
                        if spec.idle_timeout_secs > 0
                            && !spec.multi_turn
                            && stop_reason.is_none()
                            && exit_status.is_none()
                            && idle >= Duration::from_secs(spec.idle_timeout_secs)
                        {
                            stop_reason = Some(StopReason::Idle);
                            self.notifier.notice(&format!(
                                "💤 The agent has been silent for {}: stopping it (--idle-timeout).",
                                notify::fmt_duration(idle.as_secs() as i64)
                            ));
                            exit_status = Some(agent.stop(Duration::from_secs(spec.grace_secs)).await.map_err(|e| Error::io("stopping the agent", e)));
                            drain_deadline = Some(Instant::now() + DRAIN_AFTER_EXIT);
                        }
                    },
                }
            }
            {
                let now = Instant::now();
                let mut events = Vec::new();
                let parser = &mut self.parser;
                splitter.finish(&mut |line| parse_one(parser, line, &mut events));
                self.apply_events(events, now);
            }
            self.turns.input = None;
            // Nothing of the run may survive it.
            agent
                .kill_leftovers(Duration::from_secs(spec.grace_secs.min(2)))
                .await;
            agent.disarm();

            if stop_reason.is_none() && limit_resumes < MAX_LIMIT_RESUMES {
                if let Some(wait) = self.limit_wait(deadline) {
                    // Let the parser see the end of this process first: a failure it
                    // reports now belongs to this attempt.
                    let code = exit_status
                        .as_ref()
                        .and_then(|s| s.as_ref().ok())
                        .and_then(|s| s.code());
                    let closing = self.parser.finish(code, &tail.text());
                    self.apply_events(closing, Instant::now());
                    limit_resumes += 1;
                    let until = self.state.rate_limited_until.unwrap_or_default();
                    self.notifier.notice(&format!(
                        "⏳ usage limit until {}; will resume then",
                        hh_mm_utc(until)
                    ));
                    let woke = tokio::select! {
                        () = tokio::time::sleep(wait) => None,
                        _ = sigterm.recv() => Some(libc::SIGTERM),
                        _ = sigint.recv() => Some(libc::SIGINT),
                        _ = sighup.recv() => Some(libc::SIGHUP),
                    };
                    if let Some(sig) = woke {
                        break (exit_status, Some(StopReason::Signal(sig)));
                    }
                    let resume_req = RunRequest {
                        prompt: LIMIT_RESUME_PROMPT.to_owned(),
                        resume_id: self.state.resume_id.clone(),
                        fork: false,
                        ..req.clone()
                    };
                    let cmd = self.agent_command(backend, &resume_req);
                    match self.start_agent(&cmd, &extra_env) {
                        Ok(a) => agent = a,
                        Err(e) => {
                            self.notifier
                                .notice(&format!("⚠️ resuming after the usage limit failed: {e}"));
                            break (exit_status, None);
                        }
                    }
                    self.parser = backend.parser();
                    self.state.terminal = None;
                    self.state.rate_limited_until = None;
                    self.rate_limited = false;
                    self.state.touch(Instant::now());
                    self.write_record();
                    self.notifier.notice("▶️ resumed");
                    continue;
                }
            }
            // A follow-up queued with `clawrun respond` while the turn ran: resume
            // the same session with it, once the turn completed.
            if stop_reason.is_none()
                && matches!(self.state.terminal, Some(Ok(())))
                && self.state.resume_id.is_some()
            {
                if let Some(next) = self.followups.pop_front() {
                    let resume_req = RunRequest {
                        prompt: next.clone(),
                        resume_id: self.state.resume_id.clone(),
                        fork: false,
                        ..req.clone()
                    };
                    let cmd = self.agent_command(backend, &resume_req);
                    match self.start_agent(&cmd, &extra_env) {
                        Ok(a) => {
                            agent = a;
                            self.parser = backend.parser();
                            self.state.terminal = None;
                            self.state.final_text = None;
                            self.state.touch(Instant::now());
                            self.write_record();
                            self.notifier.notice(&format!(
                                "↩️ Running the queued follow-up:\n{}",
                                notify::preview(&next, 200)
                            ));
                            continue;
                        }
                        Err(e) => {
                            self.notifier
                                .notice(&format!("⚠️ the queued follow-up could not start: {e}"));
                        }
                    }
                }
            }
            self.finishing = true;
            break (exit_status, stop_reason);
        };
        let _ = stream.flush();
        drop(stream);
        let _ = agent;

        let stderr_tail = tail.text();
        if let Err(e) = fsutil::write_atomic(&self.dir.file(files::STDERR), stderr_tail.as_bytes())
        {
            tracing::warn!("writing stderr tail: {e}");
        }
        let status = match exit_status {
            Some(Ok(s)) => Some(s),
            Some(Err(e)) => {
                tracing::warn!("{e}");
                None
            }
            None => None,
        };
        let agent_exit = status.as_ref().map(process::exit_code);
        let code_for_parser = status.as_ref().and_then(|s| s.code());
        let closing = self.parser.finish(code_for_parser, &stderr_tail);
        self.apply_events(closing, Instant::now());

        let (outcome, error) = match stop_reason {
            Some(StopReason::Timeout) => (
                Outcome::Timeout,
                Some(match self.state.background_note() {
                    Some(note) => format!("timed out after {}s; {note}", spec.timeout_secs),
                    None => format!("timed out after {}s", spec.timeout_secs),
                }),
            ),
            Some(StopReason::Idle) => (
                Outcome::Timeout,
                Some(format!(
                    "stopped after {}s without output from the agent (--idle-timeout)",
                    spec.idle_timeout_secs
                )),
            ),
            Some(StopReason::Signal(n)) => (
                Outcome::Killed,
                Some(format!(
                    "stopped by signal {} to the runner",
                    signal_name(n)
                )),
            ),
            None => match &self.state.terminal {
                Some(Ok(())) => (Outcome::Completed, None),
                Some(Err((msg, crate::core::events::FailureKind::ResumeNotFound))) => {
                    (Outcome::ResumeFailed, Some(msg.clone()))
                }
                Some(Err((msg, _))) => (Outcome::Failed, Some(msg.clone())),
                None => (
                    Outcome::Failed,
                    Some(format!(
                        "the agent exited ({}) without a result",
                        agent_exit.map_or("unknown status".to_owned(), |c| format!("code {c}"))
                    )),
                ),
            },
        };
        let error = match (error, stream_error) {
            (Some(e), Some(s)) => Some(format!("{e}; {s}")),
            (e, s) => e.or(s),
        };

        // The output file: the final answer, else every assistant text so far
        // (copied from assistant.txt, never held whole in memory), else why not.
        let final_text = self.state.final_text.clone().filter(|t| !t.is_empty());
        if let Some(f) = &mut self.text_file {
            let _ = f.flush();
        }
        self.text_file = None;
        let text_file = self.dir.file(files::ASSISTANT_TEXT);
        let (text, output_chars) = match (&final_text, self.state.assistant_chars) {
            (Some(t), _) => {
                if let Err(e) = fsutil::write_atomic(&spec.output_file, t.as_bytes()) {
                    tracing::warn!("writing {}: {e}", spec.output_file.display());
                }
                (t.clone(), t.chars().count())
            }
            (None, n) if n > 0 => {
                if let Err(e) = copy_atomic(&text_file, &spec.output_file) {
                    tracing::warn!("writing {}: {e}", spec.output_file.display());
                }
                (self.state.assistant_text.clone(), n as usize)
            }
            (None, _) => {
                let t = error
                    .clone()
                    .or_else(|| Some(stderr_tail.trim().to_owned()).filter(|s| !s.is_empty()))
                    .unwrap_or_else(|| "(no output captured)".to_owned());
                if let Err(e) = fsutil::write_atomic(&spec.output_file, t.as_bytes()) {
                    tracing::warn!("writing {}: {e}", spec.output_file.display());
                }
                let n = t.chars().count();
                (t, n)
            }
        };

        self.record.status = RunStatus::Done(outcome);
        self.record.waiting_since = None;
        self.record.ended_at = Some(now_secs());
        self.record.exit_code = agent_exit;
        self.record.error = error.clone();
        let (cpu_ms, rss_kb) = run::self_usage();
        self.record.runner_cpu_ms = Some(cpu_ms);
        self.record.runner_peak_rss_kb = Some(rss_kb);
        self.sync_state();
        self.write_record();
        if self.state.resume_id.is_some() {
            if let Err(e) = self.sessions.record(&self.record, &spec) {
                tracing::warn!("{e}");
                eprintln!("⚠ session registry: {e}");
            }
        }
        let duration = started.elapsed().as_secs() as i64;
        if let Some(text) = self.fg.take_due(Instant::now(), self.stream_pos, true) {
            self.notifier.stream(text);
        }
        if spec.trace_live {
            self.notifier.trace(&format!(
                "[RUN_TASK][COMPLETE] exit={} output={} size={} run_id={}",
                agent_exit.map_or("-".to_owned(), |c| c.to_string()),
                spec.output_file.display(),
                text.chars().count(),
                spec.run_id
            ));
        }
        self.notifier
            .result(outcome, &self.record, &self.state, &text, duration);
        self.send_wake(
            outcome.as_str(),
            agent_exit,
            notify::preview(&text, notify::WAKE_PREVIEW_CHARS),
        );
        self.notifier
            .finish(
                Duration::from_secs(self.spec.delivery_wait_secs),
                &self.spec.output_file.clone(),
            )
            .await;

        Ok(RunReport {
            run_id: spec.run_id.clone(),
            outcome,
            exit_code: outcome.exit_code(),
            agent_exit_code: agent_exit,
            resume_id: self.state.resume_id.clone(),
            output_file: spec.output_file.clone(),
            output_chars,
            duration_secs: duration,
            cost_usd: self.state.cost_usd,
            error,
        })
    }

    /// The backend's command for `req`, in multi-turn form when asked.
    fn agent_command(
        &self,
        backend: &AnyBackend,
        req: &RunRequest,
    ) -> crate::backends::CommandSpec {
        let cmd = backend.command(req);
        if self.spec.multi_turn {
            crate::backends::claude::multi_turn_command(cmd)
        } else {
            cmd
        }
    }

    /// Spawn the agent; in multi-turn mode keep its stdin and feed it from a
    /// channel (the first line is the prompt). Records the agent's pid.
    fn start_agent(
        &mut self,
        cmd: &crate::backends::CommandSpec,
        extra_env: &[(String, String)],
    ) -> std::result::Result<process::Agent, crate::core::error::ProcessError> {
        let agent = if self.spec.multi_turn {
            let mut agent = process::spawn_keep_stdin(cmd, extra_env)?;
            if let Some(mut stdin) = agent.stdin.take() {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
                let _ = tx.send(cmd.stdin.clone());
                tokio::spawn(async move {
                    use tokio::io::AsyncWriteExt;
                    while let Some(line) = rx.recv().await {
                        if stdin.write_all(line.as_bytes()).await.is_err()
                            || stdin.flush().await.is_err()
                        {
                            break;
                        }
                    }
                    let _ = stdin.shutdown().await;
                });
                self.turns.input = Some(tx);
                self.turns.in_progress = true;
                self.turns.waiting_since = None;
                self.record.waiting_since = None;
            }
            agent
        } else {
            process::spawn(cmd, extra_env)?
        };
        self.record.agent_pid = Some(agent.pid);
        Ok(agent)
    }

    /// How long to wait before resuming after a usage limit, when the run
    /// should: `--auto-resume-on-limit`, the last attempt failed (or gave no
    /// result) after a limit with a known reset, the session id is known, and
    /// the reset comes before the run's deadline.
    fn limit_wait(&self, deadline: Instant) -> Option<Duration> {
        if !self.spec.auto_resume_on_limit || self.state.resume_id.is_none() {
            return None;
        }
        if matches!(self.state.terminal, Some(Ok(()))) {
            return None;
        }
        let resets_at = self.state.rate_limited_until?;
        // One second of margin past the reset.
        let wait = Duration::from_secs(resets_at.saturating_sub(now_secs()).max(0) as u64 + 1);
        (Instant::now() + wait < deadline).then_some(wait)
    }

    /// A multi-turn turn ended: the run waits for input. Tell the human once,
    /// and wake the orchestrator.
    fn on_waiting(&mut self, now: Instant) {
        self.turns.in_progress = false;
        self.turns.waiting_since = Some(now);
        // On disk before anyone is told, so that `list` agrees with the wake.
        self.record.waiting_since = Some(now_secs());
        self.write_record();
        let text = match &self.state.terminal {
            Some(Err((msg, _))) => msg.clone(),
            _ => self
                .state
                .final_text
                .clone()
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| self.state.assistant_text.clone()),
        };
        let label = self
            .spec
            .label
            .clone()
            .unwrap_or_else(|| self.spec.run_id.clone());
        self.notifier
            .notice(&notify::render_waiting(&label, &self.spec.run_id, &text));
        let preview = notify::tail_chars(text.trim(), notify::WAITING_PREVIEW_CHARS);
        self.send_wake(notify::WAITING_STATUS, None, preview);
    }

    /// Wake the orchestrating agent (when the run has a session key to wake).
    fn send_wake(&mut self, status: &str, exit_code: Option<i32>, preview: String) {
        let spec = &self.spec;
        let Some(key) = spec
            .route
            .session_key
            .clone()
            .or_else(|| spec.session_key.clone())
        else {
            return;
        };
        let payload = WakePayload {
            run_id: spec.run_id.clone(),
            wake_id: String::new(),
            backend: spec.backend.clone(),
            status: status.to_owned(),
            exit_code,
            resume_id: self.state.resume_id.clone(),
            output: spec.output_file.display().to_string(),
            preview,
            mode: spec.completion_mode,
            iteration: spec.iteration,
            max_iterations: spec.max_iterations,
            project: spec.project.display().to_string(),
            label: spec.label.clone(),
        };
        if spec.trace_live {
            let t = format!(
                "[WAKE] dispatching wake (session={key}, output={})",
                spec.output_file.display()
            );
            self.notifier.trace(&t);
        }
        let session_id = self.spec.route.session_id.clone();
        self.notifier
            .wake_with(Some(key), session_id, self.result_marker, payload);
    }

    /// `clawrun respond`: send the next user message to a multi-turn run.
    fn on_respond(&mut self, text: &str, interrupt: bool, user: bool) -> control::Reply {
        let id = self.spec.run_id.clone();
        if !self.spec.multi_turn && self.turns.input.is_none() && !self.finishing {
            return self.queue_followup(text, interrupt, user);
        }
        let Some(input) = &self.turns.input else {
            return control::Reply::err(if self.spec.multi_turn {
                format!(
                    "run {id} is closing (its input is closed); once it has ended, continue it \
                     with `clawrun resume {id} \"message\"`"
                )
            } else {
                format!(
                    "run {id} ({}) takes no input while it runs (not a --multi-turn run); once \
                     its turn has ended, continue it with `clawrun resume {id} \"message\"`",
                    self.spec.backend
                )
            });
        };
        let text = text.trim();
        if text.is_empty() {
            return control::Reply::err("empty message");
        }
        if text.len() > control::MAX_RESPOND_BYTES {
            return control::Reply::err(format!(
                "message longer than {} bytes",
                control::MAX_RESPOND_BYTES
            ));
        }
        let max = self.spec.max_auto_responds;
        if user {
            self.turns.auto_count = 0;
        } else if self.turns.auto_count >= max {
            return control::Reply::err(format!(
                "⚠️ Auto-respond limit reached ({}/{max}): the agent has been answered \
                 automatically {max} times in a row. Ask the user, then answer with \
                 `clawrun respond {id} --user \"…\"` (which resets the count).",
                self.turns.auto_count
            ));
        }
        let mut lines = String::new();
        if interrupt && self.turns.in_progress {
            self.turns.interrupts_sent += 1;
            lines.push_str(&crate::backends::claude::interrupt_request_line(&format!(
                "clawrun-interrupt-{}",
                self.turns.interrupts_sent
            )));
        }
        lines.push_str(&crate::backends::claude::user_message_line(text));
        if input.send(lines).is_err() {
            return control::Reply::err(format!("run {id} is closing (its input is closed)"));
        }
        if !user {
            self.turns.auto_count += 1;
        }
        if interrupt && self.turns.in_progress {
            self.turns.interrupts_pending += 1;
        }
        self.turns.in_progress = true;
        self.turns.waiting_since = None;
        if self.record.waiting_since.take().is_some() {
            self.write_record();
        }
        self.state.touch(Instant::now());
        let label = self.spec.label.clone().unwrap_or(id);
        self.notifier.notice(&format!(
            "↩️ {label} Responded:\n{}",
            notify::preview(text, 200)
        ));
        control::Reply::ok()
    }

    /// A run that takes no live input (codex exec, single-turn claude): queue
    /// the message; when the current turn completes, the runner resumes the same
    /// session with it (in the same run directory).
    fn queue_followup(&mut self, text: &str, interrupt: bool, user: bool) -> control::Reply {
        let id = self.spec.run_id.clone();
        let text = text.trim();
        if text.is_empty() {
            return control::Reply::err("empty message");
        }
        if text.len() > control::MAX_RESPOND_BYTES {
            return control::Reply::err(format!(
                "message longer than {} bytes",
                control::MAX_RESPOND_BYTES
            ));
        }
        if interrupt {
            return control::Reply::err(format!(
                "run {id} ({}) cannot be interrupted with a message; the follow-up is queued only \
                 without --interrupt (or stop the run with `clawrun kill {id}`)",
                self.spec.backend
            ));
        }
        let max = self.spec.max_auto_responds;
        if user {
            self.turns.auto_count = 0;
        } else if self.turns.auto_count >= max {
            return control::Reply::err(format!(
                "⚠️ Auto-respond limit reached ({}/{max}): ask the user, then answer with \
                 `clawrun respond {id} --user \"…\"` (which resets the count).",
                self.turns.auto_count
            ));
        }
        if !user {
            self.turns.auto_count += 1;
        }
        let line = serde_json::json!({"at": now_secs(), "text": text}).to_string();
        let _ = fsutil::append_line(&self.dir.file(FOLLOWUPS_FILE_NAME), &line);
        self.followups.push_back(text.to_owned());
        let label = self.spec.label.clone().unwrap_or(id);
        self.notifier.notice(&format!(
            "↩️ {label}: follow-up queued; it runs in the same session when the current turn ends:\n{}",
            notify::preview(text, 200)
        ));
        control::Reply::ok()
    }

    fn on_heartbeat(&mut self, started: Instant) {
        let now = Instant::now();
        let idle = now.saturating_duration_since(self.state.last_event_at);
        let show_sub = self.spec.backend == "claude";
        let text = notify::render_heartbeat(
            self.notifier_tag(),
            now.saturating_duration_since(started),
            &self.state,
            now,
            show_sub,
        );
        self.notifier.heartbeat(text);
        self.state.events_since_mark = 0;
        if self.spec.stall_secs > 0
            && self.turns.waiting_since.is_none()
            && !self.stalled
            && idle >= Duration::from_secs(self.spec.stall_secs)
        {
            self.stalled = true;
            self.notifier.notice(&format!(
                "⚠️ The agent has been silent for {}; it may be stuck. Stop it with `clawrun kill {}` if needed.",
                notify::fmt_duration(idle.as_secs() as i64),
                self.spec.run_id
            ));
        }
    }

    /// Append top-level assistant text to `assistant.txt` (the whole text of
    /// the run, on disk rather than in memory).
    fn save_text(&mut self, text: &str) {
        if self.text_file.is_none() {
            self.text_file = fsutil::open_append(&self.dir.file(files::ASSISTANT_TEXT))
                .ok()
                .map(|f| std::io::BufWriter::with_capacity(64 * 1024, f));
        }
        if let Some(f) = &mut self.text_file {
            // Called before the state counts this text: anything counted came earlier.
            let sep: &[u8] = if self.state.assistant_chars > 0 {
                b"\n"
            } else {
                b""
            };
            if f.write_all(sep)
                .and_then(|()| f.write_all(text.as_bytes()))
                .is_err()
            {
                self.text_file = None;
            }
        }
    }

    fn notifier_tag(&self) -> &'static str {
        self.tag
    }

    fn apply_events(&mut self, events: Vec<AgentEvent>, now: Instant) {
        if events.is_empty() {
            return;
        }
        if self.stalled {
            self.stalled = false;
            self.notifier.notice("✅ The agent is active again.");
        }
        // Turn ends in this batch (one chunk may hold several).
        let mut turn_ends = 0u32;
        for ev in &events {
            self.state.touch(now);
            if matches!(
                ev,
                AgentEvent::TurnCompleted { .. } | AgentEvent::TurnFailed { .. }
            ) {
                turn_ends += 1;
            }
            if let AgentEvent::AssistantText {
                text,
                parent_tool_id: None,
            } = ev
            {
                self.fg.push(text, now);
                self.save_text(text);
            }
            match ev {
                AgentEvent::RateLimited { resets_at, .. }
                    if !self.rate_limited
                        && self.spec.auto_resume_on_limit
                        && resets_at.is_some() =>
                {
                    // Announced once, when the run stops on it and waits (or not at all).
                    self.rate_limited = true;
                }
                AgentEvent::RateLimited { resets_at, message } if !self.rate_limited => {
                    self.rate_limited = true;
                    let until = resets_at.map_or(String::new(), |t| {
                        format!(" until {}", run::format_utc_compact(t))
                    });
                    self.notifier.notice(&format!(
                        "⏳ Rate limited{until}: {}",
                        notify::preview(message, 200)
                    ));
                }
                AgentEvent::AssistantText { .. }
                | AgentEvent::ToolStarted { .. }
                | AgentEvent::TurnCompleted { .. }
                    if self.rate_limited =>
                {
                    self.rate_limited = false;
                    self.notifier.notice("▶️ Resumed after the rate limit.");
                }
                _ => {}
            }
            if let AgentEvent::Warning { message } = ev {
                tracing::debug!("agent stream: {message}");
            }
            if self.state.apply(ev) {
                // The resume id is known: record it now, so a crash later still
                // leaves a resumable entry.
                self.sync_state();
                self.write_record();
                if let Err(e) = self.sessions.record(&self.record, &self.spec) {
                    eprintln!("⚠ session registry: {e}");
                }
                if let Some(id) = &self.state.resume_id {
                    let its = Iterations::new(&self.paths.state_dir);
                    if let Err(e) = its.link(id, &self.spec.chain_root) {
                        eprintln!("⚠ iterations: {e}");
                    }
                }
            }
            if let Some(warning) = self.guard.check(&self.state) {
                eprintln!("{warning}");
            }
        }
        self.record_dirty = true;
        if self.spec.multi_turn && self.turns.input.is_some() {
            // Interrupted turns end first: the answers that interrupted them are queued.
            let interrupted = turn_ends.min(self.turns.interrupts_pending);
            self.turns.interrupts_pending -= interrupted;
            // While background subagents run, the CLI goes on by itself.
            if turn_ends > interrupted && !self.state.background_busy() {
                self.on_waiting(now);
            }
        }
    }

    fn sync_state(&mut self) {
        self.record.resume_id.clone_from(&self.state.resume_id);
        if self.state.model.is_some() {
            self.record.model.clone_from(&self.state.model);
        }
        self.record.cli_version.clone_from(&self.state.cli_version);
        self.record.usage = self.state.usage();
        self.record.cost_usd = self.state.cost_usd;
        self.record.tool_calls = self.state.tool_calls;
        self.record.subagents_running = self.state.open_subagents.len() as u64;
        self.record.subagents_started = self.state.subagents_started;
        self.record
            .replaced_ids
            .clone_from(&self.state.replaced_ids);
    }

    fn write_record(&mut self) {
        self.sync_state();
        self.record.updated_at = now_secs();
        if let Err(e) = self.dir.write_record(&self.record) {
            tracing::warn!("{e}");
        }
        self.record_dirty = false;
        self.last_record_write = Instant::now();
    }

    async fn crash(&mut self, message: String) -> Result<RunReport> {
        eprintln!("💥 {message}");
        self.record.status = RunStatus::Done(Outcome::Crashed);
        self.record.ended_at = Some(now_secs());
        self.record.error = Some(message.clone());
        self.write_record();
        let _ = fsutil::write_atomic(&self.spec.output_file, message.as_bytes());
        self.notifier.crash(&message);
        self.notifier
            .finish(
                Duration::from_secs(self.spec.delivery_wait_secs),
                &self.spec.output_file.clone(),
            )
            .await;
        Ok(RunReport {
            run_id: self.spec.run_id.clone(),
            outcome: Outcome::Crashed,
            exit_code: Outcome::Crashed.exit_code(),
            agent_exit_code: None,
            resume_id: None,
            output_file: self.spec.output_file.clone(),
            output_chars: message.chars().count(),
            duration_secs: 0,
            cost_usd: None,
            error: Some(message),
        })
    }
}

/// Record that the runner of `dir` crashed (a panic or an internal error
/// outside the supervised path): the run is marked `crashed`, the output file
/// says why, and the crash message is sent. Used by the binary's panic guard.
///
/// # Errors
/// When the run directory cannot be read.
pub async fn record_crash(
    dir: &RunDir,
    paths: &Paths,
    channel: AnyChannel,
    message: &str,
) -> Result<()> {
    let spec = dir.read_spec()?;
    let mut record = dir.read_record()?;
    if record.status.is_done() {
        return Ok(());
    }
    if let Some(pid) = record.agent_pid {
        process::kill_group(pid);
    }
    record.status = RunStatus::Done(Outcome::Crashed);
    record.ended_at = Some(now_secs());
    record.updated_at = now_secs();
    record.error = Some(message.to_owned());
    dir.write_record(&record)?;
    if !spec.output_file.exists() {
        let _ = fsutil::write_atomic(&spec.output_file, message.as_bytes());
    }
    let backends = config::load(spec.backends_file.as_deref())?;
    let names = backends.backend(&spec.backend)?.names();
    let mut notifier = Notifier::new(
        channel,
        &dir.path,
        RunInfo::new(&spec, names),
        Destination::default(),
        None,
    );
    let _ = paths;
    notifier.crash(message);
    notifier
        .finish(
            Duration::from_secs(spec.delivery_wait_secs),
            &spec.output_file,
        )
        .await;
    Ok(())
}

async fn recv_opt(
    rx: &mut Option<tokio::sync::mpsc::Receiver<control::Pending>>,
) -> Option<control::Pending> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Quote a path for a POSIX shell when it needs it.
fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Copy `from` to `to` atomically (temp file in `to`'s directory, 0600, fsync, rename).
fn copy_atomic(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = to
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".clawrun-")
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)?;
    std::io::copy(&mut std::fs::File::open(from)?, tmp.as_file_mut())?;
    tmp.as_file().sync_all()?;
    tmp.persist(to).map_err(|e| e.error)?;
    Ok(())
}

/// The events of one stdout line (`Err`: the length of a line too long to
/// parse), appended to `out`.
fn parse_one(
    parser: &mut crate::backends::AnyParser,
    line: std::result::Result<&[u8], usize>,
    out: &mut Vec<AgentEvent>,
) {
    match line {
        Ok(bytes) => match std::str::from_utf8(bytes) {
            Ok(s) => parser.parse_line_into(s, out),
            Err(_) => parser.parse_line_into(&String::from_utf8_lossy(bytes), out),
        },
        Err(len) => out.push(AgentEvent::Warning {
            message: format!(
                "skipped a {len}-byte line longer than {MAX_LINE_BYTES} bytes (kept in stream.jsonl)"
            ),
        }),
    }
}

/// The numeric parts of a version (`2.1.197`, `v0.169.0`, `2.2.0-beta.1` →
/// `[2, 2, 0]`); `None` when it does not start with a number.
fn version_parts(v: &str) -> Option<Vec<u64>> {
    let core = v.trim().trim_start_matches('v');
    let core = core.split(['-', '+', ' ']).next().unwrap_or_default();
    let parts: Option<Vec<u64>> = core.split('.').map(|p| p.parse().ok()).collect();
    parts.filter(|p| !p.is_empty())
}

/// The warning for a CLI `seen` newer than the newest version clawrun was
/// `tested` with, or `None` (same or older, or a version we cannot read).
/// Claude names its version in its stream; Codex's comes from `codex --version`
/// (see [`crate::core::version_guard`]).
pub fn version_warning(backend: &str, seen: Option<&str>, tested: &str) -> Option<String> {
    let seen = seen?;
    let (s, t) = (version_parts(seen)?, version_parts(tested)?);
    (s > t).then(|| {
        format!(
            "⚠ {backend} {seen} is newer than the newest version clawrun was tested with \
             ({tested}); if results look wrong, report it"
        )
    })
}

/// `HH:MM UTC` of a Unix time.
fn hh_mm_utc(t: i64) -> String {
    let day = t.rem_euclid(86_400);
    format!("{:02}:{:02} UTC", day / 3600, (day % 3600) / 60)
}

fn signal_name(n: i32) -> &'static str {
    match Signal::try_from(n) {
        Ok(Signal::SIGTERM) => "SIGTERM",
        Ok(Signal::SIGINT) => "SIGINT",
        Ok(Signal::SIGHUP) => "SIGHUP",
        _ => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(chunks: &[&[u8]]) -> Vec<std::result::Result<Vec<u8>, usize>> {
        let mut out = Vec::new();
        let mut s = LineSplitter::default();
        for c in chunks {
            s.feed(c, &mut |l| out.push(l.map(<[u8]>::to_vec)));
        }
        s.finish(&mut |l| out.push(l.map(<[u8]>::to_vec)));
        out
    }

    #[test]
    fn splitter_joins_chunks_and_keeps_last_partial_line() {
        let got = lines(&[b"ab", b"c\nde", b"f\n\ngh"]);
        assert_eq!(
            got,
            vec![
                Ok(b"abc".to_vec()),
                Ok(b"def".to_vec()),
                Ok(vec![]),
                Ok(b"gh".to_vec())
            ]
        );
    }

    #[test]
    fn tail_keeps_last_bytes() {
        let mut t = Tail::default();
        t.push(&vec![b'a'; STDERR_TAIL_BYTES]);
        t.push(b"xyz");
        assert_eq!(t.buf.len(), STDERR_TAIL_BYTES);
        assert!(t.text().ends_with("axyz"));
        assert_eq!(t.total, STDERR_TAIL_BYTES as u64 + 3);
    }

    #[test]
    fn warns_only_for_a_newer_cli() {
        let w = version_warning("claude", Some("2.2.0"), "2.1.197");
        assert_eq!(
            w.as_deref(),
            Some(
                "⚠ claude 2.2.0 is newer than the newest version clawrun was tested with \
                 (2.1.197); if results look wrong, report it"
            )
        );
        assert!(version_warning("claude", Some("2.1.197"), "2.1.197").is_none());
        assert!(version_warning("claude", Some("2.1.99"), "2.1.197").is_none());
        assert!(version_warning("claude", Some("2.1.198-beta"), "2.1.197").is_some());
        assert!(version_warning("claude", Some("2.1.197.1"), "2.1.197").is_some());
        assert!(version_warning("claude", Some("unknown"), "2.1.197").is_none());
        assert!(version_warning("codex", None, "0.169.0").is_none());
    }

    #[test]
    fn finds_programs_on_path() {
        assert!(find_program("sh", Some("/nonexistent:/bin:/usr/bin")).is_some());
        assert!(find_program("definitely-not-a-program-xyz", Some("/bin:/usr/bin")).is_none());
        assert!(find_program("/bin/sh", None).is_some());
        assert!(find_program("sh", None).is_none());
    }
}
