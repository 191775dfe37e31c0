//! Before anything runs: validate what `clawrun run` was asked ([`prepare`],
//! which reads only), resolve its route ([`route`]), and create the run
//! directory ([`create`]).
//!
//! Per-backend checks belong to the backend ([`Backend::validate`]); what a
//! backend can do at all is read from [`Backend::capabilities`], never from
//! its name.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::backends::config;
use crate::backends::{AnyBackend, Backend, Capabilities, Permission, PermissionStyle, RunRequest};
use crate::channels::ChannelKind;
use crate::core::config::Safety;
use crate::core::error::{Error, Result};
use crate::core::model::approval::{ApprovalMode, MAX_APPROVAL_TIMEOUT_SECS};
use crate::core::notify::delivery::{self, Configs};
use crate::core::now_secs;
use crate::core::routing::{Route, RouteInput, RouteSource, TelegramRoutingMode};
use crate::core::store::fsutil;
use crate::core::store::iterations::{self, Iterations};
use crate::core::store::paths::Paths;
use crate::core::store::run::{
    self, ChainPosition, CompletionMode, RunDir, RunLimits, RunRecord, RunSpec, RunStatus, files,
};
use crate::core::sys::programs::find_program;

use super::inherit::{self, LastRun};
use super::worktree::{self, Decision};
use super::{
    DEFAULT_MAX_ITERATIONS, DEFAULT_MULTI_TURN_IDLE_SECS, MAX_TASK_BYTES, MAX_TIMEOUT_SECS,
    RunOptions, TaskSource,
};

/// A validated run, ready to be created.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The request to persist.
    pub spec: RunSpec,
    /// The backend.
    pub backend: AnyBackend,
    /// Resolved paths.
    pub paths: Paths,
    /// With `--resume`: the session's last run, whose session key, route,
    /// label and chain the new run inherits (see [`route`]).
    pub(crate) last_run: Option<LastRun>,
    /// With `--resume RUN_ID`: the run id given (the spec holds its session id).
    pub resume_run_id: Option<String>,
    /// Launch even when the route's gateway is down (messages wait in the outbox).
    pub queue_delivery: bool,
    /// The run's own worktree: none, one to make ([`create`] makes it), or
    /// the resumed run's (already in the spec).
    pub(crate) worktree: Decision,
}

fn usage(msg: impl Into<String>) -> Error {
    Error::usage(msg)
}

/// A flag value that must not be empty, start with `-` (it would be read as a
/// flag by the CLI), or contain whitespace or control characters.
pub(super) fn check_token(flag: &str, value: &str, max: usize) -> Result<()> {
    if value.is_empty() {
        return Err(usage(format!("{flag} must not be empty")));
    }
    if value.starts_with('-') {
        return Err(usage(format!("{flag} must not start with '-': {value:?}")));
    }
    if value
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || is_format_control(c))
    {
        return Err(usage(format!(
            "{flag} must not contain spaces, control or invisible formatting characters: \
             {value:?}"
        )));
    }
    if value.len() > max {
        return Err(usage(format!("{flag} is longer than {max} characters")));
    }
    Ok(())
}

/// The project directory must be a directory, or be creatable: its nearest
/// existing ancestor is a directory (`-p FILE/sub` is refused here, not when
/// the runner tries to create it).
fn check_project(project: &Path) -> Result<()> {
    let bad = |what: &str| Err(usage(format!("--project {}: {what}", project.display())));
    match std::fs::metadata(project) {
        Ok(m) if m.is_dir() => return Ok(()),
        Ok(_) => return bad("exists and is not a directory"),
        Err(e) if !missing(&e) => {
            return bad(&format!("cannot be used as a directory ({e})"));
        }
        Err(_) => {}
    }
    for ancestor in project.ancestors().skip(1) {
        match std::fs::metadata(ancestor) {
            Ok(m) if m.is_dir() => return Ok(()),
            Ok(_) => {
                return bad(&format!(
                    "cannot be created: {} is not a directory",
                    ancestor.display()
                ));
            }
            Err(e) if missing(&e) => continue,
            Err(e) => {
                return bad(&format!("cannot be created: {}: {e}", ancestor.display()));
            }
        }
    }
    Ok(())
}

/// "No such file", or "a parent is not a directory" (`FILE/sub`): look further up.
fn missing(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
    )
}

/// Whether `c` is an invisible formatting character: bidirectional controls
/// (U+202E turns the rest of a line around), zero-width characters, the BOM.
/// `char::is_control` covers only the C0/C1 controls.
pub(crate) fn is_format_control(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// Validate everything about a run. Touches nothing on disk (reads only).
///
/// # Errors
/// [`Error::Usage`] for bad input, [`Error::Config`] for a bad backends file.
pub fn prepare(opts: &RunOptions, paths: &Paths, stdin: &mut dyn Read) -> Result<Prepared> {
    let backends = config::load(opts.backends_file.as_deref())?;
    let backend = backends.backend(&opts.backend)?;
    let prompt = read_task(&opts.task, stdin)?;
    check_flags(opts)?;
    check_capabilities(opts, backend.name(), backend.capabilities())?;
    let cwd = std::env::current_dir().map_err(|e| Error::io("reading the current directory", e))?;
    let absolute = |p: &Path| {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            cwd.join(p)
        }
    };
    let mut project = match &opts.request.project {
        Some(p) => absolute(p),
        None => paths.state_dir.join("scratch").join(backend.name()),
    };
    if paths.state_dir.exists() && !paths.state_dir.is_dir() {
        return Err(usage(format!(
            "--state-dir {} exists and is not a directory",
            paths.state_dir.display()
        )));
    }
    check_project(&project)?;
    let now = now_secs();
    let run_id = run::new_run_id(now);
    let output_file = match &opts.output {
        Some(o) => {
            let o = absolute(o);
            fsutil::check_output_target(&o).map_err(|e| usage(format!("--output {e}")))?;
            o
        }
        None => paths.runs_dir().join(&run_id).join(files::OUTPUT),
    };
    check_program(&backend, paths)?;
    let resume_id = match &opts.request.resume {
        Some(v) => Some(inherit::session_id_of(v, backend.name(), paths)?),
        None => None,
    };
    super::agents::check_resume(&backend, resume_id.is_some(), paths)?;
    let resume_run_id = opts
        .request
        .resume
        .clone()
        .filter(|v| Some(v) != resume_id.as_ref());
    // `--resume RUN_ID` continues that run; a session id, its newest run.
    let last_run = match &resume_run_id {
        Some(run) => inherit::named_last_run(paths, run),
        None => resume_id
            .as_deref()
            .and_then(|sid| inherit::last_run(paths, &backend, sid)),
    };
    let chain = chain_position(
        opts,
        last_run.as_ref(),
        resume_id.as_deref(),
        paths,
        &run_id,
    )?;
    let label = opts
        .label
        .clone()
        .or_else(|| last_run.as_ref().and_then(|l| l.label.clone()));
    let hint = label.clone().unwrap_or_else(|| run_id.clone());
    let worktree = worktree::decide(&opts.worktree, &project, last_run.as_ref(), &hint, paths)?;
    if let Decision::Reuse(wt) = &worktree {
        project.clone_from(&wt.path);
    }
    let request = request_for(
        opts,
        &backend,
        prompt,
        project,
        resume_id,
        last_run.as_ref(),
    )?;
    backend.validate(&request).map_err(Error::usage_from)?;
    let spec = RunSpec {
        run_id,
        backend: backend.name().to_owned(),
        request,
        label,
        session_key: opts.session_key.clone(),
        output_file,
        backends_file: opts.backends_file.clone(),
        created_at: now,
        limits: limits(&opts.limits),
        notify: opts.notify.clone(),
        chain,
        route: Route::console(RouteSource::Default),
        channel: ChannelKind::Console,
        worktree: match &worktree {
            Decision::Reuse(wt) => Some(wt.clone()),
            Decision::None | Decision::Make(_) => None,
        },
    };
    Ok(Prepared {
        spec,
        backend,
        paths: paths.clone(),
        last_run,
        resume_run_id,
        queue_delivery: opts.queue_delivery,
        worktree,
    })
}

/// The backend's request: the flags, the safety preset (`--safety`, else the
/// session's last run's on `--resume`, else `[run] safety`) and the
/// permission it maps to (an explicit `--permission-mode` / `--sandbox` wins).
fn request_for(
    opts: &RunOptions,
    backend: &AnyBackend,
    prompt: String,
    project: PathBuf,
    resume_id: Option<String>,
    last_run: Option<&LastRun>,
) -> Result<RunRequest> {
    let safety = opts
        .request
        .safety
        .or_else(|| last_run.map(|l| l.safety))
        .unwrap_or(opts.request.default_safety);
    let permission = permission(opts, backend, safety)?;
    Ok(RunRequest {
        safety,
        permission_given: opts.request.permission_mode.is_some() || opts.request.sandbox.is_some(),
        prompt,
        project,
        model: opts.request.model.clone(),
        resume_id,
        fork: opts.request.fork,
        permission,
        search: opts.request.no_search.then_some(false),
        allowed_tools: opts.request.allowed_tools.clone(),
        append_system_prompt: opts.request.append_system_prompt.clone(),
        max_budget_usd: opts.request.max_budget_usd,
        approvals: opts.request.approvals.unwrap_or_default(),
    })
}

/// The task text, from where `task` says: at most [`MAX_TASK_BYTES`] (never
/// more than that is read: `--task-file /dev/zero` is refused, not read to
/// the end), UTF-8, without NUL bytes, not empty.
pub fn read_task(task: &TaskSource, stdin: &mut dyn Read) -> Result<String> {
    let prompt = match task {
        TaskSource::Inline(t) => t.clone(),
        TaskSource::File(p) => {
            let file = std::fs::File::open(p)
                .map_err(|e| usage(format!("--task-file {}: {e}", p.display())))?;
            read_capped(file, &format!("--task-file {}", p.display()))?
        }
        TaskSource::Stdin => read_capped(stdin, "the task on stdin (--task-file -)")?,
    };
    if prompt.contains('\0') {
        return Err(usage(
            "the task contains NUL bytes (a binary file?): give it as text",
        ));
    }
    if prompt.trim().is_empty() {
        return Err(usage(
            "the task is empty: give it with -t TEXT or --task-file PATH",
        ));
    }
    Ok(prompt)
}

/// Read at most [`MAX_TASK_BYTES`] + 1 bytes of `what` as UTF-8 text.
fn read_capped(input: impl Read, what: &str) -> Result<String> {
    let mut bytes = Vec::new();
    input
        .take(MAX_TASK_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| usage(format!("{what}: {e}")))?;
    if bytes.len() > MAX_TASK_BYTES {
        return Err(usage(format!(
            "{what} is larger than {MAX_TASK_BYTES} bytes (16 MiB)"
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        usage(format!(
            "{what} is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// The checks of single flags and of flags against each other, whatever the backend.
fn check_flags(opts: &RunOptions) -> Result<()> {
    if opts.limits.timeout_secs == 0 || opts.limits.timeout_secs > MAX_TIMEOUT_SECS {
        return Err(usage(format!(
            "--timeout must be between 1 and {MAX_TIMEOUT_SECS} seconds, got {}",
            opts.limits.timeout_secs
        )));
    }
    if opts.limits.grace_secs > 600 {
        return Err(usage("--grace must be at most 600 seconds"));
    }
    if let Some(r) = &opts.request.resume {
        check_token("--resume", r, 200)?;
        check_resume_value(r)?;
    }
    if opts.request.fork && opts.request.resume.is_none() {
        return Err(usage("--fork needs --resume ID (the session to fork from)"));
    }
    if let Some(m) = &opts.request.model {
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
    if opts.limits.max_auto_responds > 1000 {
        return Err(usage("--max-auto-responds must be at most 1000"));
    }
    if opts.chain.max_iterations.is_some_and(|n| n == 0 || n > 100) {
        return Err(usage("--max-iterations must be between 1 and 100"));
    }
    if opts.notify.heartbeat_secs != 0 && opts.notify.heartbeat_secs < 10 {
        return Err(usage("--heartbeat must be 0 (off) or at least 10 seconds"));
    }
    Ok(())
}

/// A `--resume` value names a session (or a run, or a wake: `RUN:wake:N`),
/// never a path: the same check as a session id read from a stream.
fn check_resume_value(value: &str) -> Result<()> {
    use crate::core::model::events::{check_resume_id, shown_resume_id};
    check_resume_id(value).map_err(|why| {
        usage(format!(
            "--resume {} is not a session id or run id: {why} (give the resume id of a result \
             message, or a run id from `clawrun list`)",
            shown_resume_id(value)
        ))
    })
}

/// The flags a backend must be able to honour, by its capabilities (`name`
/// only names it in the messages).
fn check_capabilities(opts: &RunOptions, name: &str, caps: Capabilities) -> Result<()> {
    if opts.request.fork && !caps.fork {
        return Err(usage(format!(
            "--fork is not supported by the {name} backend (it cannot fork a session)"
        )));
    }
    let other_flag = |style: Option<PermissionStyle>| match style {
        Some(PermissionStyle::Mode) => format!("; for {name} use --permission-mode MODE"),
        Some(PermissionStyle::Sandbox) => format!("; for {name} use --sandbox MODE"),
        None => String::new(),
    };
    if opts.request.permission_mode.is_some()
        && opts.request.sandbox.is_none()
        && caps.permission != Some(PermissionStyle::Mode)
    {
        return Err(usage(format!(
            "--permission-mode is not an option of the {name} backend{}",
            other_flag(caps.permission)
        )));
    }
    if opts.request.sandbox.is_some()
        && opts.request.permission_mode.is_none()
        && caps.permission != Some(PermissionStyle::Sandbox)
    {
        return Err(usage(format!(
            "--sandbox is not an option of the {name} backend{}",
            other_flag(caps.permission)
        )));
    }
    if opts.request.no_search && !caps.search_toggle {
        return Err(usage(format!(
            "--no-search is not an option of the {name} backend (its web search has no switch)"
        )));
    }
    check_approvals(opts, name, caps)?;
    if opts.limits.multi_turn && !caps.live_input {
        return Err(usage(format!(
            "--multi-turn is not supported by the {name} backend ({name} takes no input while it \
             runs); continue a finished {name} run with `clawrun resume RUN \"message\"`"
        )));
    }
    Ok(())
}

/// `--approvals chat` needs a backend that asks over its live protocol; the
/// timeout is bounded. (A permission mode that bypasses every prompt is the
/// backend's to refuse, in `validate`.)
fn check_approvals(opts: &RunOptions, name: &str, caps: Capabilities) -> Result<()> {
    if opts.request.approvals != Some(ApprovalMode::Chat) {
        return Ok(());
    }
    if !caps.approvals {
        return Err(usage(format!(
            "--approvals chat is not supported by the {name} backend: it cannot ask before a \
             tool call while it runs (`codex exec` reads nothing while it runs and has no \
             approval request in its stream; use --sandbox to bound what it may do)"
        )));
    }
    let secs = opts.limits.approval_timeout_secs;
    if secs == 0 || secs > MAX_APPROVAL_TIMEOUT_SECS {
        return Err(usage(format!(
            "--approval-timeout must be between 1s and {MAX_APPROVAL_TIMEOUT_SECS}s, not {secs}s"
        )));
    }
    Ok(())
}

/// The permission asked for (the backend checks the mode itself): the explicit
/// flag, else what the backend maps the safety preset to.
fn permission(opts: &RunOptions, backend: &AnyBackend, safety: Safety) -> Result<Permission> {
    match (&opts.request.permission_mode, &opts.request.sandbox) {
        (Some(_), Some(_)) => Err(usage("--permission-mode and --sandbox exclude each other")),
        (Some(m), None) => {
            check_token("--permission-mode", m, 64)?;
            Ok(Permission::Mode(m.clone()))
        }
        (None, Some(s)) => {
            check_token("--sandbox", s, 64)?;
            Ok(Permission::Sandbox(s.clone()))
        }
        (None, None) => backend.safety_permission(safety).map_err(Error::usage_from),
    }
}

/// The backend's program must be there (found on `PATH`, or a path).
fn check_program(backend: &AnyBackend, paths: &Paths) -> Result<()> {
    let program = backend.command(&RunRequest::default()).program;
    if find_program(&program, std::env::var("PATH").ok().as_deref()).is_none() {
        return Err(usage(format!(
            "{program} not found (PATH={}); install it, or set `program` under [{}] in {} or --backends FILE to its full path",
            std::env::var("PATH").unwrap_or_default(),
            backend.name(),
            paths.backends_file().display()
        )));
    }
    Ok(())
}

/// Where the run stands in its resume chain (checks the iteration limit). A
/// resume without `--completion-mode` / `--max-iterations` continues the mode
/// and limit of the session's last run.
fn chain_position(
    opts: &RunOptions,
    last_run: Option<&LastRun>,
    resume: Option<&str>,
    paths: &Paths,
    run_id: &str,
) -> Result<ChainPosition> {
    let last_chain = last_run.and_then(|l| l.chain.as_ref());
    let mode = opts
        .chain
        .completion_mode
        .or(last_chain.map(|c| c.completion_mode))
        .unwrap_or(CompletionMode::Single);
    if mode == CompletionMode::Single && opts.chain.max_iterations.is_some() {
        return Err(usage(
            "--max-iterations needs --completion-mode iterate (a single-mode run is one \
             iteration; a resume continues the mode of the session's last run)",
        ));
    }
    let max_iterations = match mode {
        CompletionMode::Single => 1,
        CompletionMode::Iterate => opts
            .chain
            .max_iterations
            .or(last_chain
                .filter(|c| c.completion_mode == CompletionMode::Iterate)
                .map(|c| c.max_iterations))
            .unwrap_or(DEFAULT_MAX_ITERATIONS),
    };
    let known_root = last_chain.map(|c| c.chain_root.as_str());
    let plan = Iterations::new(&paths.state_dir).plan(resume, known_root, run_id)?;
    let iteration = match mode {
        CompletionMode::Single => 1,
        CompletionMode::Iterate => {
            iterations::check_limit(&plan, opts.session_key.as_deref(), max_iterations)?;
            plan.iteration
        }
    };
    Ok(ChainPosition {
        completion_mode: mode,
        iteration,
        max_iterations,
        chain_root: plan.root,
    })
}

/// The limits as given, but a multi-turn run given no idle timeout waits
/// [`DEFAULT_MULTI_TURN_IDLE_SECS`] for an answer (an abandoned one closes).
fn limits(given: &RunLimits) -> RunLimits {
    let mut limits = given.clone();
    if limits.multi_turn && limits.idle_timeout_secs == 0 {
        limits.idle_timeout_secs = DEFAULT_MULTI_TURN_IDLE_SECS;
    }
    limits
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
        project_dir: spec.request.project.clone(),
        workdir_routes,
        fallback,
    }
}

/// Resolve the route of a prepared run and choose its channel, checking that
/// the channel can be built (its token is there) and, when its messages go
/// through the gateway, that the gateway answers and takes the token. Reads
/// only.
///
/// A resume given no `--session` and no `--notify-*` flag inherits the
/// session key and route of the session's last run
/// ([`RouteSource::Inherited`]); any of those flags overrides it.
///
/// # Errors
/// Routing refusals, channel configuration errors, and a gateway that is down
/// or refuses the token unless [`Prepared::queue_delivery`] (exit 2).
pub async fn route(prepared: &mut Prepared, input: &RouteInput, configs: &Configs) -> Result<()> {
    let explicit = input.session_key.is_some()
        || input.notify_channel.is_some()
        || input.notify_target.is_some()
        || input.notify_thread_id.is_some()
        || input.notify_session_id.is_some();
    let last = prepared.last_run.as_ref().filter(|_| !explicit);
    let route = match last.and_then(LastRun::inherited_route) {
        Some((route, _)) => route,
        None => {
            let mut input = input.clone();
            if let Some(l) = last {
                input.session_key.clone_from(&l.session_key);
            }
            delivery::resolve(&input, configs, &prepared.paths).await?
        }
    };
    let kind = delivery::channel_kind(&route, configs)?;
    if kind != ChannelKind::Console {
        delivery::build_kind(kind, &prepared.paths.state_dir, configs)?;
    }
    if let Some(l) = last {
        // Nothing given: the key comes with the inherited route.
        prepared.spec.session_key = route.session_key.clone().or_else(|| l.session_key.clone());
    }
    prepared.spec.route = route;
    prepared.spec.channel = kind;
    if let Some(down) = delivery::delivery_blocked(kind, configs).await {
        if !prepared.queue_delivery {
            return Err(usage(format!(
                "❌ {down}: this run's messages and wake go through it ({} to {}).\n   Fix: {}.\n   \
                 Or launch anyway with --queue-delivery: the messages wait in the outbox until \
                 the gateway is back (`clawrun outbox flush`, or the next run's start, delivers them).",
                kind.name(),
                prepared.spec.route.channel,
                down.fix()
            )));
        }
        prepared.spec.route.warnings.push(format!(
            "{down}: --queue-delivery: the launch, result and wake wait in the outbox until \
             the gateway is back (`clawrun outbox flush` delivers them)"
        ));
    }
    super::preflight::check(&prepared.spec, configs).await
}

/// The first 200 characters of a task.
pub fn task_summary(prompt: &str) -> String {
    prompt.chars().take(200).collect()
}

/// Create the run directory, the run's worktree when one is planned (the
/// spec's project becomes its directory), `request.json` and `run.json`
/// (status `starting`).
///
/// # Errors
/// I/O errors; [`Error::Usage`] when git refuses to make the worktree.
pub fn create(prepared: &mut Prepared) -> Result<RunDir> {
    fsutil::create_private_dir(&prepared.paths.state_dir).map_err(|e| {
        Error::io(
            format!("creating {}", prepared.paths.state_dir.display()),
            e,
        )
    })?;
    let spec = &prepared.spec;
    if spec.chain.completion_mode == CompletionMode::Iterate {
        // Counted under a lock: two resumes racing for the last iteration cannot both pass.
        Iterations::new(&prepared.paths.state_dir).start(
            spec.session_key.as_deref(),
            spec.request.resume_id.as_deref(),
            Some(&spec.chain.chain_root),
            &spec.run_id,
            spec.chain.max_iterations,
        )?;
    }
    let dir = RunDir::create(&prepared.paths.runs_dir(), &prepared.spec.run_id)?;
    if let Decision::Make(plan) = &prepared.worktree {
        let wt = match worktree::make(plan, &prepared.spec.run_id, &prepared.paths) {
            Ok(wt) => wt,
            Err(e) => {
                // Nothing ran: no half-made run directory is left behind.
                let _ = std::fs::remove_dir_all(&dir.path);
                return Err(e);
            }
        };
        prepared.spec.request.project.clone_from(&wt.path);
        prepared.spec.worktree = Some(wt.clone());
        prepared.worktree = Decision::Reuse(wt);
    }
    let spec = &prepared.spec;
    dir.write_spec(spec)?;
    dir.write_record(&first_record(spec))?;
    Ok(dir)
}

/// The record of a run that has not started yet.
fn first_record(spec: &RunSpec) -> RunRecord {
    RunRecord {
        run_id: spec.run_id.clone(),
        backend: spec.backend.clone(),
        status: RunStatus::Starting,
        label: spec.label.clone(),
        project: spec.request.project.clone(),
        task_summary: task_summary(&spec.request.prompt),
        session_key: spec.session_key.clone(),
        resumed_from: spec.request.resume_id.clone(),
        resume_id: None,
        model: spec.request.model.clone(),
        cli_version: None,
        runner_pid: std::process::id(),
        agent_pid: None,
        created_at: spec.created_at,
        created_ms: crate::core::store::timefmt::now_ms(),
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
        timeout_secs: spec.limits.timeout_secs,
        output_file: spec.output_file.clone(),
        error: None,
        runner_cpu_ms: None,
        runner_peak_rss_kb: None,
        waiting_since: None,
        stream_cut_at_bytes: None,
        stream_dropped_bytes: 0,
        worktree: spec.worktree.clone().map(Box::new),
        git_base: None,
        changes: None,
        followups_not_run: Vec::new(),
        warnings: Vec::new(),
        no_resume: None,
        chain_root: Some(spec.chain.chain_root.clone()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn capabilities_decide_the_backend_flags() {
        let mut opts = RunOptions::new("x", TaskSource::Inline("t".into()));
        opts.request.fork = true;
        opts.request.resume = Some("r".into());
        let none = Capabilities::default();
        let err = check_capabilities(&opts, "x", none)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--fork is not supported by the x backend"),
            "{err}"
        );
        let fork = Capabilities {
            fork: true,
            ..Capabilities::default()
        };
        assert!(check_capabilities(&opts, "x", fork).is_ok());
        opts.request.fork = false;
        opts.request.sandbox = Some("read-only".into());
        let mode = Capabilities {
            permission: Some(PermissionStyle::Mode),
            ..Capabilities::default()
        };
        let err = check_capabilities(&opts, "x", mode)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "--sandbox is not an option of the x backend; for x use --permission-mode"
            ),
            "{err}"
        );
    }
}
