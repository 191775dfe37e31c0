//! Before anything runs: build the run from what `clawrun run` was asked
//! ([`prepare`], which reads only: the checks are [`super::validate`]'s),
//! and create the run directory ([`create`]). The route is
//! [`super::route`]'s.
//!
//! Per-backend checks belong to the backend ([`Backend::validate`]); what a
//! backend can do at all is read from [`Backend::capabilities`], never from
//! its name.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::backends::{AnyBackend, Backend, Permission, RunRequest};
use crate::channels::ChannelKind;
use crate::core::config::Safety;
use crate::core::context::RunContext;
use crate::core::error::{Error, Result};
use crate::core::now_secs;
use crate::core::routing::{Route, RouteSource};
use crate::core::store::fsutil;
use crate::core::store::iterations::{self, Iterations};
use crate::core::store::paths::Paths;
use crate::core::store::run::{
    self, ChainPosition, CompletionMode, RunDir, RunLimits, RunRecord, RunSpec, RunStatus, files,
};

use super::inherit::{self, LastRun};
use super::validate::{
    check_capabilities, check_flags, check_program, check_project, check_token, read_task, usage,
};
use super::worktree::{self, Decision};
use super::{DEFAULT_MAX_ITERATIONS, DEFAULT_MULTI_TURN_IDLE_SECS, RunOptions};

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
    /// label and chain the new run inherits (see [`super::route`]).
    pub(crate) last_run: Option<LastRun>,
    /// With `--resume RUN_ID`: the run id given (the spec holds its session id).
    pub resume_run_id: Option<String>,
    /// Launch even when the route's gateway is down (messages wait in the outbox).
    pub queue_delivery: bool,
    /// The run's own worktree: none, one to make ([`create`] makes it), or
    /// the resumed run's (already in the spec).
    pub(crate) worktree: Decision,
}

/// Validate everything about a run, with `clawrun.toml`'s defaults: reads
/// the config files under `paths` (see [`RunContext::load`]), then as
/// `prepare_in`. Touches nothing on disk (reads only).
///
/// # Errors
/// [`Error::Usage`] for bad input, [`Error::Config`] for a bad config or
/// backends file.
pub fn prepare(opts: &RunOptions, paths: &Paths, stdin: &mut dyn Read) -> Result<Prepared> {
    let ctx = RunContext::load(paths, opts.backends_file.clone())?;
    prepare_in(&ctx, opts, stdin)
}

/// Validate everything about a run in `ctx`: `clawrun.toml`'s defaults where
/// `opts` gives nothing ([`RunOptions::with_config_defaults`], `[run]
/// safety`, `[notify] silent`), the task, the flags, the backend and its
/// program, the resume and its chain, the worktree. Touches nothing on disk.
///
/// # Errors
/// [`Error::Usage`] for bad input, [`Error::Config`] for a bad backends file.
pub fn prepare_in(ctx: &RunContext, opts: &RunOptions, stdin: &mut dyn Read) -> Result<Prepared> {
    let opts = &opts.with_config_defaults(&ctx.config);
    let paths = &ctx.paths;
    let backend = backend_of(ctx, opts)?;
    let prompt = read_task(&opts.task, stdin)?;
    check_flags(opts)?;
    check_capabilities(opts, backend.name(), backend.capabilities())?;
    let at = Location::of(opts, &backend, paths)?;
    check_program(&backend, paths)?;
    let resumed = Resumed::of(opts, &backend, paths)?;
    let chain = chain_position(
        opts,
        resumed.last_run.as_ref(),
        resumed.resume_id.as_deref(),
        paths,
        &at.run_id,
    )?;
    let label = opts
        .label
        .clone()
        .or_else(|| resumed.last_run.as_ref().and_then(|l| l.label.clone()));
    let hint = label.clone().unwrap_or_else(|| at.run_id.clone());
    let last_run = resumed.last_run;
    let worktree = worktree::decide(&opts.worktree, &at.project, last_run.as_ref(), &hint, paths)?;
    let mut project = at.project;
    if let Decision::Reuse(wt) = &worktree {
        project.clone_from(&wt.path);
    }
    let safety = opts
        .request
        .safety
        .or_else(|| last_run.as_ref().map(|l| l.safety))
        .unwrap_or(ctx.config.run.safety);
    let request = request_for(opts, &backend, prompt, project, resumed.resume_id, safety)?;
    backend.validate(&request).map_err(Error::usage_from)?;
    let spec = RunSpec {
        run_id: at.run_id,
        backend: backend.name().to_owned(),
        request,
        label,
        session_key: opts.session_key.clone(),
        output_file: at.output_file,
        backends_file: ctx_backends_file(ctx, opts),
        created_at: at.now,
        limits: limits(&opts.limits),
        notify: opts.notify.settings(&ctx.config.notify),
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
        resume_run_id: resumed.resume_run_id,
        queue_delivery: opts.queue_delivery,
        worktree,
    })
}

/// The backends file of a run: the one `opts` names, else the context's.
fn ctx_backends_file(ctx: &RunContext, opts: &RunOptions) -> Option<PathBuf> {
    opts.backends_file
        .clone()
        .or_else(|| ctx.backends_file.clone())
}

/// The backend `opts` names, from the context's backends (or, when `opts`
/// names another backends file, from that file).
fn backend_of(ctx: &RunContext, opts: &RunOptions) -> Result<AnyBackend> {
    ctx.backend(&opts.backend, ctx_backends_file(ctx, opts).as_deref())
}

/// Where a new run lives: its id, creation time, project and output file.
struct Location {
    run_id: String,
    now: i64,
    project: PathBuf,
    output_file: PathBuf,
}

impl Location {
    /// Relative paths are taken from the current directory; the project
    /// defaults to `<state dir>/scratch/<backend>`.
    fn of(opts: &RunOptions, backend: &AnyBackend, paths: &Paths) -> Result<Self> {
        let cwd =
            std::env::current_dir().map_err(|e| Error::io("reading the current directory", e))?;
        let absolute = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                cwd.join(p)
            }
        };
        let project = match &opts.request.project {
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
        Ok(Self {
            run_id,
            now,
            project,
            output_file,
        })
    }
}

/// What `--resume` continues: the session id, the run id given (when a run
/// was named), and the session's last run.
struct Resumed {
    resume_id: Option<String>,
    resume_run_id: Option<String>,
    last_run: Option<LastRun>,
}

impl Resumed {
    fn of(opts: &RunOptions, backend: &AnyBackend, paths: &Paths) -> Result<Self> {
        let resume_id = match &opts.request.resume {
            Some(v) => Some(inherit::session_id_of(v, backend.name(), paths)?),
            None => None,
        };
        super::agents::check_resume(backend, resume_id.is_some(), paths)?;
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
                .and_then(|sid| inherit::last_run(paths, backend, sid)),
        };
        Ok(Self {
            resume_id,
            resume_run_id,
            last_run,
        })
    }
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
    safety: Safety,
) -> Result<RunRequest> {
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
