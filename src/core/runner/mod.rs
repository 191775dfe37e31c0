//! One run, start to end. The front door: [`RunOptions`] (what `clawrun run`
//! was asked), then
//!
//! 1. [`prepare`] validates everything and touches nothing;
//! 2. [`route`] resolves where messages go; [`create`] makes the run directory;
//! 3. [`execute`] runs the agent to its end, in this process (foreground) or in
//!    a detached runner started by [`spawn_detached`].
//!
//! The whole launch (config defaults, admission, clean-up, detach or execute)
//! is [`crate::core::ops::launch`]; the config files it reads once are
//! [`crate::core::context::RunContext`].
//!
//! Modules: `validate` (the checks of what was asked, the task text),
//! `setup` (prepare, create), `routed` (the route of a prepared run),
//! `preflight` (what a routed run needs from outside), `inherit` (what a
//! resume takes over from the session's last run), `queue` (the one
//! [`Admission`] under `[limits] max_sessions`, or the wait for a slot) and
//! `detach` before the run; `channel` (the flush of earlier runs' outboxes);
//! inside [`execute`], `supervisor` (the select loop, one method per event
//! source, one stop path, composing the owners: `record` for `run.json`,
//! `transcript` for the agent's output on disk, `turns`, `approvals`,
//! `liveness`; `attempt`: one agent process), `io` (stdout lines, stderr tail, stdin writer),
//! `reactions` (events to effects, pure), `agents` (what the agent said
//! about itself, for the next `--resume`), `turns` (live input, follow-ups, the
//! one restart), `finish` (a pure `decide_outcome`, the output and the final
//! record), `session_denials` (the calls a sandbox refused that the stream
//! left out, from the CLI's own session log), `crash` (a runner that died: its
//! watcher, the crash path), and [`process`] (all spawn, kill, session and
//! signal code). Which
//! CLI runs is the backend's business ([`crate::backends::Backend`]): nothing
//! here asks for its name.

mod agents;
pub mod approvals;
mod attempt;
mod channel;
pub mod control;
mod crash;
mod detach;
mod finish;
pub mod follower;
mod idle;
mod inherit;
mod io;
mod liveness;
mod preflight;
pub mod process;
mod queue;
mod reactions;
mod record;
mod requests;
mod routed;
pub mod scope;
mod session_denials;
mod setup;
mod supervisor;
mod transcript;
mod turns;
mod validate;
pub mod version_guard;
pub mod worktree;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::core::model::exit::ExitStatus;
use crate::core::model::state::Outcome;
use crate::core::store::run::{self, CompletionMode, NotifySettings, RunLimits};

pub use crash::{RunnerEnd, WATCH_DONE, close_reaped, record_crash, wait_for_runner};
pub use detach::{LaunchProof, LaunchStatus, spawn_detached};
pub(crate) use inherit::named_run;
pub(crate) use io::MAX_LINE_BYTES;
pub use preflight::check as preflight;
pub use queue::{Admission, admit, describe, slots};
pub use routed::{RoutingOptions, route, route_input};
pub use setup::{Prepared, create, prepare, prepare_in};
pub use supervisor::{execute, execute_admitted};
pub use validate::read_task;
pub use worktree::WorktreeOptions;

/// The variable a run started on a node (`run --node`) receives its task in
/// (not argv, which every user can read); never passed on to the agent.
pub const NODE_TASK_ENV_NAME: &str = "CLAWRUN_TASK";

/// Default time limit (seconds).
pub const DEFAULT_TIMEOUT_SECS: u64 = 7200;
/// Default grace between SIGTERM and SIGKILL (seconds).
pub const DEFAULT_GRACE_SECS: u64 = 10;
/// Longest time limit accepted (7 days).
pub const MAX_TIMEOUT_SECS: u64 = 7 * 24 * 3600;
/// Default iteration limit of `--completion-mode iterate`.
pub const DEFAULT_MAX_ITERATIONS: u32 = 5;
/// Largest task accepted (bytes).
pub const MAX_TASK_BYTES: usize = 16 * 1024 * 1024;
/// Follow-ups queued with `clawrun respond` (one JSON line each), in the run dir.
pub const FOLLOWUPS_FILE_NAME: &str = "followups.jsonl";
/// How long (seconds, default) a finishing run waits for its last notifications to be delivered;
/// what is left stays in the outbox for `clawrun outbox flush`.
pub const DEFAULT_DELIVERY_WAIT_SECS: u64 = 120;
/// Default seconds of agent silence before one stall alert.
pub const DEFAULT_STALL_SECS: u64 = 600;
/// Default seconds after which one "still running" reminder is sent.
pub const DEFAULT_REMIND_AFTER_SECS: u64 = 600;
/// Multi-turn runs: seconds without an answer before stdin is closed, when
/// `--idle-timeout` is 0.
pub const DEFAULT_MULTI_TURN_IDLE_SECS: u64 = 1800;
/// The prompt of a resume after a usage limit.
pub const LIMIT_RESUME_PROMPT: &str = "Continue where you left off.";

/// The warning for a run whose route reaches nobody: its messages go to the
/// console only and no agent is woken when it ends (no `--session`, no
/// notification flags). Detached, nobody hears of it; the CLI prints this for
/// `--detach` and `--validate-only` (a foreground console run is watched).
pub fn empty_route_warning(spec: &run::RunSpec) -> Option<String> {
    use crate::core::model::route::{Network, RouteSource};
    let route = &spec.route;
    let reaches_nobody = route.channel == Network::Console
        && route.session_key.is_none()
        && spec.session_key.is_none()
        && route.source != RouteSource::Flags;
    reaches_nobody.then(|| {
        "no route: nobody will be told or woken when this run ends (no --session, so its \
         messages go to this console only and no agent is woken). To report to a chat, add \
         --session KEY (`clawrun route --list` lists the gateway's sessions)."
            .to_owned()
    })
}

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
///
/// Grouped like the [`run::RunSpec`] it becomes: [`prepare`] validates the
/// parts and moves them into the spec. Limits and notification settings are
/// the spec's own parts; the request and the chain are "as given" parts
/// (`None` where a value is inherited or defaulted when not given).
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    /// Backend name.
    pub backend: String,
    /// The task.
    pub task: TaskSource,
    /// OpenClaw session key.
    pub session_key: Option<String>,
    /// Label.
    pub label: Option<String>,
    /// Output file.
    pub output: Option<PathBuf>,
    /// The user's backends.toml.
    pub backends_file: Option<PathBuf>,
    /// Launch even when the route's gateway cannot be reached or refuses the
    /// token: the messages and the wake wait in the outbox.
    pub queue_delivery: bool,
    /// What the backend is asked (project, model, resume, permission, …).
    pub request: RequestOptions,
    /// Time limits and turn handling. A multi-turn run given no idle timeout
    /// gets `DEFAULT_MULTI_TURN_IDLE_SECS`.
    pub limits: RunLimits,
    /// What the human is told, and how.
    pub notify: NotifyOptions,
    /// The completion mode and iteration limit, when given.
    pub chain: ChainOptions,
    /// The run's own git worktree (`--worktree`, `--base`, `[run] worktree`).
    pub worktree: WorktreeOptions,
}

/// What the backend is asked, as given (part of [`RunOptions`]; validated
/// into a [`crate::backends::RunRequest`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestOptions {
    /// Project directory (default: `<state dir>/scratch/<backend>`).
    pub project: Option<PathBuf>,
    /// Resume id (a session id, or a clawrun run id meaning its session).
    pub resume: Option<String>,
    /// Fork on resume.
    pub fork: bool,
    /// Model.
    pub model: Option<String>,
    /// Claude permission mode.
    pub permission_mode: Option<String>,
    /// Codex sandbox mode.
    pub sandbox: Option<String>,
    /// Codex web search off.
    pub no_search: bool,
    /// Claude `--allowedTools`.
    pub allowed_tools: Vec<String>,
    /// Claude `--append-system-prompt`.
    pub append_system_prompt: Option<String>,
    /// Stop when the run's cost passes this (Claude `--max-budget-usd`).
    pub max_budget_usd: Option<f64>,
    /// `--approvals` (`None`: `[run] approvals` in clawrun.toml, else off).
    pub approvals: Option<crate::core::model::approval::ApprovalMode>,
    /// The safety preset (`None`: on `--resume` the preset of the session's
    /// last run, else `[run] safety` in clawrun.toml, else `full`).
    /// `permission_mode` / `sandbox` win over it.
    pub safety: Option<crate::core::config::Safety>,
}

/// What the human is told, and how, as given (part of [`RunOptions`];
/// completed by `clawrun.toml` into the spec's [`NotifySettings`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyOptions {
    /// Seconds between heartbeats, 0 = none (`None`: `[notify] heartbeat` in
    /// clawrun.toml, else 60 s).
    pub heartbeat_secs: Option<u64>,
    /// Edit one heartbeat message in place (Telegram) instead of posting new ones.
    pub heartbeat_edit: bool,
    /// Seconds of agent silence before one stall alert (0 = none).
    pub stall_secs: u64,
    /// Seconds after which one "still running" reminder is sent (0 = none).
    pub remind_after_secs: u64,
    /// Seconds a finishing run waits for its last messages to be delivered.
    pub delivery_wait_secs: u64,
    /// Start in the foreground: stream the agent's text into the chat.
    pub fg: bool,
    /// Send technical trace markers to the chat.
    pub trace_live: bool,
}

impl Default for NotifyOptions {
    fn default() -> Self {
        Self {
            heartbeat_secs: None,
            heartbeat_edit: false,
            stall_secs: DEFAULT_STALL_SECS,
            remind_after_secs: DEFAULT_REMIND_AFTER_SECS,
            delivery_wait_secs: DEFAULT_DELIVERY_WAIT_SECS,
            fg: false,
            trace_live: false,
        }
    }
}

impl NotifyOptions {
    /// The run's settings: these, `[notify] heartbeat` where none was given,
    /// and `[notify] silent`.
    pub fn settings(&self, config: &crate::core::config::NotifyConfig) -> NotifySettings {
        NotifySettings {
            heartbeat_secs: self.heartbeat_secs.unwrap_or(config.heartbeat.as_secs()),
            heartbeat_edit: self.heartbeat_edit,
            stall_secs: self.stall_secs,
            remind_after_secs: self.remind_after_secs,
            delivery_wait_secs: self.delivery_wait_secs,
            fg: self.fg,
            trace_live: self.trace_live,
            silent: config.silent,
        }
    }
}

/// The resume chain settings, as given (part of [`RunOptions`]; resolved into
/// a [`run::ChainPosition`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChainOptions {
    /// Completion mode (`None`: single, or on `--resume` the mode of the
    /// session's last run).
    pub completion_mode: Option<CompletionMode>,
    /// Iteration limit in iterate mode (`None`: `DEFAULT_MAX_ITERATIONS`,
    /// or on `--resume` the limit of the session's last run).
    pub max_iterations: Option<u32>,
}

/// The limits `clawrun run` uses by default.
pub fn default_limits() -> RunLimits {
    RunLimits {
        timeout_secs: DEFAULT_TIMEOUT_SECS,
        grace_secs: DEFAULT_GRACE_SECS,
        idle_timeout_secs: 0,
        multi_turn: false,
        max_auto_responds: run::DEFAULT_MAX_AUTO_RESPONDS,
        auto_resume_on_limit: false,
        approval_timeout_secs: crate::core::model::approval::DEFAULT_APPROVAL_TIMEOUT_SECS,
    }
}

impl RunOptions {
    /// The options `clawrun run --backend BACKEND` uses by default, for `task`:
    /// the defaults of every flag. Set fields to change them; what is left
    /// `None` takes `clawrun.toml`'s default when the run is prepared
    /// ([`RunOptions::with_config_defaults`]).
    pub fn new(backend: impl Into<String>, task: TaskSource) -> Self {
        Self {
            backend: backend.into(),
            task,
            session_key: None,
            label: None,
            output: None,
            backends_file: None,
            queue_delivery: false,
            request: RequestOptions::default(),
            limits: default_limits(),
            notify: NotifyOptions::default(),
            chain: ChainOptions::default(),
            worktree: WorktreeOptions::default(),
        }
    }
}

impl RunOptions {
    /// These options with `clawrun.toml`'s defaults where nothing was given:
    /// `[run] approvals`, `[run] worktree` and `[notify] heartbeat` (`[run]
    /// safety` and `[notify] silent` apply when the run is prepared: a resume
    /// inherits its session's preset first).
    pub fn with_config_defaults(&self, config: &crate::core::config::Config) -> Self {
        let mut opts = self.clone();
        opts.request.approvals.get_or_insert(config.run.approvals);
        opts.worktree.mode.get_or_insert(config.run.worktree);
        opts.notify
            .heartbeat_secs
            .get_or_insert(config.notify.heartbeat.as_secs());
        opts
    }
}

/// How a run finished, for the caller.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    /// Run id.
    pub run_id: String,
    /// Outcome.
    pub outcome: Outcome,
    /// The runner's exit status for it (what `clawrun run` exits with).
    pub exit_code: ExitStatus,
    /// The agent's exit code.
    pub agent_exit_code: Option<i32>,
    /// Resume id of the session.
    pub resume_id: Option<String>,
    /// Whether the session's registry entry was written at the end.
    pub session_registered: bool,
    /// Output file.
    pub output_file: PathBuf,
    /// Whether the output file was written (else `storage_errors` says why).
    pub output_written: bool,
    /// Characters of output.
    pub output_chars: usize,
    /// Duration, seconds.
    pub duration_secs: i64,
    /// Cost.
    pub cost_usd: Option<f64>,
    /// Why it failed.
    pub error: Option<String>,
    /// What could not be made durable at the end (the output file, the run
    /// record, the registry entry); any of them makes a success exit 1.
    pub storage_errors: Vec<String>,
    /// Warnings for the person running clawrun (a CLI newer than tested, …);
    /// the library does not print them.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// Whether `dir` is inside a git work tree (a `.git` entry in it or a parent).
pub fn inside_git_work_tree(dir: &Path) -> bool {
    dir.ancestors().any(|d| d.join(".git").exists())
}

/// The agent's environment changes: `CLAWRUN_RUN_DIR` set, and every variable
/// that may hold a token clawrun delivers with removed (the well-known
/// `OPENCLAW_GATEWAY_TOKEN` / `TELEGRAM_BOT_TOKEN`, and the names
/// `[gateway] token_env` / `[telegram] bot_token_env` give in `clawrun.toml`).
/// The runner keeps them; the agent runs with permissions bypassed and must
/// never see them.
pub(crate) fn agent_env(run_dir: &Path, config: &crate::core::config::Config) -> process::AgentEnv {
    use crate::core::openclaw::config::{GATEWAY_TOKEN_ENV_NAME, TELEGRAM_BOT_TOKEN_ENV_NAME};
    let mut remove = vec![
        GATEWAY_TOKEN_ENV_NAME.to_owned(),
        TELEGRAM_BOT_TOKEN_ENV_NAME.to_owned(),
        NODE_TASK_ENV_NAME.to_owned(),
    ];
    remove.extend(
        [&config.gateway.token_env, &config.telegram.bot_token_env]
            .into_iter()
            .flatten()
            .cloned(),
    );
    remove.sort();
    remove.dedup();
    process::AgentEnv {
        set: vec![("CLAWRUN_RUN_DIR".to_owned(), run_dir.display().to_string())],
        remove,
    }
}

/// The async runtime a run (or a launch) runs in. One thread: the runner
/// waits on I/O, and the agent's parent-death signal is tied to the thread
/// that spawned it, which must live as long as the run. The blocking pool
/// (file and git work off the loop) starts threads on demand; an idle one
/// ends after a second instead of ten, so a run that waits on its agent is
/// one thread.
///
/// # Errors
/// The runtime cannot start.
pub fn runtime() -> crate::core::error::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .thread_keep_alive(std::time::Duration::from_secs(1))
        .enable_all()
        .build()
        .map_err(|e| crate::core::error::Error::io("starting the async runtime", e))
}
