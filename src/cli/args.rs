//! The command line (clap derive), and its translation into the library's
//! options.
//!
//! `clawrun run` accepts the flag names of the seed `run-task.py` scripts, so a
//! user of those can switch by changing one word.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod worktree;
pub use worktree::{WorktreeArgs, WorktreeCommand, WorktreeFlags};
mod numbers;
use numbers::{duration_in, positive, whole_in};

use crate::core::config::Safety;
use crate::core::model::approval::{DEFAULT_APPROVAL_TIMEOUT_SECS, MAX_APPROVAL_TIMEOUT_SECS};
use crate::core::routing::TelegramRoutingMode;
use crate::core::runner::{
    ChainOptions, DEFAULT_DELIVERY_WAIT_SECS, DEFAULT_GRACE_SECS, DEFAULT_REMIND_AFTER_SECS,
    DEFAULT_STALL_SECS, DEFAULT_TIMEOUT_SECS, MAX_TIMEOUT_SECS, RequestOptions, RoutingOptions,
    RunOptions, TaskSource,
};
use crate::core::store::run::{CompletionMode, NotifySettings, RunLimits};

/// Run coding-agent CLIs in the background for OpenClaw, and keep the human
/// and the orchestrating agent informed until the work is done.
#[derive(Debug, Parser)]
#[command(name = "clawrun", version, about, long_about = None)]
pub struct Cli {
    /// State directory (default: ~/.openclaw/clawrun, or $OPENCLAW_HOME/clawrun).
    #[arg(long, global = true, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// clawrun config file (default: ~/.openclaw/clawrun.toml).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Backend definitions overriding the built-in ones (default: `<state dir>/backends.toml` if present).
    #[arg(long, global = true, value_name = "PATH")]
    pub backends: Option<PathBuf>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[allow(clippy::large_enum_variant)] // parsed once per process
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a task with a coding agent (in the foreground, or detached with --detach).
    Run(RunArgs),
    /// Show the runs that are running now (stale records are reaped).
    Status(StatusArgs),
    /// List running and recent runs (default: running + the last 24 hours).
    List(ListArgs),
    /// Show one run: status, route, pids, usage, cost, output path, error, how to resume.
    Show(ShowArgs),
    /// Print a run's text so far (--full: the raw stream); --follow until it is done.
    Output(OutputArgs),
    /// Stop a running run through its runner (notification, registry and record as usual).
    Kill(KillArgs),
    /// Counts, durations, cost and tokens per day and per backend, most expensive runs.
    Stats(StatsArgs),
    /// Continue a run's session with a new task (a new `clawrun run --resume`).
    Resume(ResumeArgs),
    /// List, find and show sessions in the registry.
    Sessions(SessionsArgs),
    /// Resolve and print the route of an OpenClaw session key (like `run --validate-only`).
    Route(RouteArgs),
    /// Stream a running run's text into its chat (after a catch-up of what was missed).
    Fg(RunRefArgs),
    /// Stop streaming a run's text; lifecycle messages and heartbeats go on.
    Bg(RunRefArgs),
    /// Send a progress note to the person who asked for the task (called by the agent inside its run).
    Notify(NotifyArgs),
    /// Answer a multi-turn run that is waiting for input (or interrupt its turn).
    Respond(RespondArgs),
    /// List or deliver notifications that earlier runs could not deliver.
    Outbox(OutboxArgs),
    /// Remove finished runs and registry entries older than the retention (`[retention]` in clawrun.toml).
    Gc(GcArgs),
    /// Check the CLIs, the gateway, Telegram, the config and permissions, and say how to fix each problem.
    Doctor(DoctorArgs),
    /// The runs' own git worktrees (`run --worktree`): list, merge into the base branch, discard.
    Worktree(WorktreeArgs),
    /// The paired OpenClaw nodes (`run --node`): connected or not, their clawrun and agent CLIs.
    Nodes(NodesArgs),
    /// Internal: execute a prepared run directory (used by --detach).
    #[command(name = "__runner", hide = true)]
    #[command(group(clap::ArgGroup::new("admission").required(true).args(["slot_fd", "queue"])))]
    Runner {
        /// The run directory.
        dir: PathBuf,
        /// The `[limits] max_sessions` slot the launcher holds, as this descriptor.
        #[arg(long, value_name = "FD")]
        slot_fd: Option<i32>,
        /// No slot yet: wait for one in the queue.
        #[arg(long)]
        queue: bool,
    },
    /// Internal: watch a runner (stdin is a pipe it holds); if it dies, record
    /// the crash and tell the chat and the orchestrating agent.
    #[command(name = "__watch", hide = true)]
    Watch {
        /// The run directory.
        dir: PathBuf,
    },
}

/// `clawrun run`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("task_input").required(true).args(["task", "task_file", "from_gateway"])))]
pub struct RunArgs {
    /// Which coding agent: claude, codex, or the name of an ACP agent (`[acp.<name>]`) or
    /// generic CLI defined in backends.toml (an unknown name is refused, listing the
    /// configured ones).
    #[arg(long, default_value = "claude", value_name = "NAME")]
    pub backend: String,
    /// The task text. Prefer --task-file for anything long (argv is visible in `ps`).
    #[arg(short = 't', long, value_name = "TEXT")]
    pub task: Option<String>,
    /// Read the task from a file (`-` = standard input).
    #[arg(long, value_name = "PATH")]
    pub task_file: Option<PathBuf>,
    /// What the backend is asked.
    #[command(flatten)]
    pub request: RequestFlags,
    /// OpenClaw session key of the requester (routes notifications and the wake).
    #[arg(short = 's', long, value_name = "KEY")]
    pub session: Option<String>,
    /// A human label for the run and its session (searchable with `sessions find`).
    #[arg(long = "session-label", visible_alias = "label", value_name = "TEXT")]
    pub session_label: Option<String>,
    /// Output file for the final text (default: output.txt in the run directory).
    #[arg(short = 'o', long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Time limits and turn handling.
    #[command(flatten)]
    pub limits: LimitFlags,
    /// Where notifications go.
    #[command(flatten)]
    pub routing: RoutingFlags,
    /// Resolve and print the route, check the channel's settings, and exit without running anything.
    #[arg(long)]
    pub validate_only: bool,
    /// What the human is told, and how.
    #[command(flatten)]
    pub notify: NotifyFlags,
    /// The resume chain.
    #[command(flatten)]
    pub chain: ChainFlags,
    /// When `[limits] max_sessions` agents are already running, wait for a slot (first come, first
    /// served) instead of refusing; with --detach, return at once with the run `queued`.
    #[arg(long)]
    pub queue: bool,
    /// Launch even when the route's gateway is unreachable or refuses the token: the messages and
    /// the wake wait in the outbox (`clawrun outbox flush`). Without it such a launch is refused.
    #[arg(long)]
    pub queue_delivery: bool,
    /// Return once the agent has started, printing the launch proof; the run goes on in the background.
    /// Under OpenClaw's agent `exec` (exec mode) the run is detached but this process follows it.
    #[arg(long)]
    pub detach: bool,
    /// Exec mode (on by itself under OpenClaw's agent `exec`, `OPENCLAW_SHELL=exec`): the run goes on
    /// detached, this process follows it to its end, prints a compact result last and exits with
    /// the run's code; the process's exit is the wake (clawrun sends none of its own).
    #[arg(long)]
    pub exec_mode: bool,
    /// Print machine-readable JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// The run's own git worktree.
    #[command(flatten)]
    pub worktree: WorktreeFlags,
    /// Start the run on this paired OpenClaw node (its name or id; `clawrun nodes` lists
    /// them) instead of here; -p is then a path on the node. Default: `[run] node` in
    /// clawrun.toml.
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// Internal: started by `run --node` on this node; the task is in $CLAWRUN_TASK.
    #[arg(long, hide = true, conflicts_with = "node")]
    pub from_gateway: bool,
}

/// `clawrun run`: what the backend is asked.
#[derive(Debug, Args)]
pub struct RequestFlags {
    /// Project (working) directory; created if missing; `git init` only when it is not inside a work tree.
    #[arg(short = 'p', long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Resume this session (Claude session id / Codex thread id; a clawrun run id means its
    /// session). Without --session or --notify-* flags the run reports where the session's last
    /// run did, with its label, completion mode and iteration chain.
    #[arg(long, value_name = "ID")]
    pub resume: Option<String>,
    /// With --resume: fork into a new session (claude).
    #[arg(long)]
    pub fork: bool,
    /// Model name, passed to the CLI.
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// Claude permission mode (default, plan, acceptEdits, bypassPermissions…) instead of the
    /// default --dangerously-skip-permissions.
    #[arg(long, value_name = "MODE")]
    pub permission_mode: Option<String>,
    /// Codex sandbox (read-only, workspace-write, danger-full-access) instead of the default
    /// --dangerously-bypass-approvals-and-sandbox.
    #[arg(long, value_name = "MODE")]
    pub sandbox: Option<String>,
    /// Safety preset: full (no limits, the default), workspace (edits in the project only) or
    /// read-only (no edits); mapped to each CLI's own mode. --permission-mode / --sandbox win.
    /// Default: `[run] safety` in clawrun.toml; with --resume, the preset of the session's last run.
    #[arg(long, value_name = "PRESET", value_parser = ["full", "workspace", "read-only"])]
    pub safety: Option<String>,
    /// Codex, the seed's flag: the same as --sandbox workspace-write (no bypass).
    #[arg(long, conflicts_with = "sandbox")]
    pub full_auto: bool,
    /// Claude: tools allowed without asking (repeatable, or comma-separated).
    #[arg(long, value_name = "TOOL", value_delimiter = ',')]
    pub allowed_tools: Vec<String>,
    /// Claude: text appended to the system prompt.
    #[arg(long, value_name = "TEXT")]
    pub append_system_prompt: Option<String>,
    /// Claude: stop the run when its cost passes this many US dollars (the CLI's own --max-budget-usd).
    #[arg(long, value_name = "USD", allow_negative_numbers = true, value_parser = positive)]
    pub max_budget_usd: Option<f64>,
    /// Codex: turn web search off (on by default).
    #[arg(long)]
    pub no_search: bool,
    /// Who answers the agent's risky tool calls: `chat` asks the human in the run's chat (an
    /// OpenClaw approval; needs the clawrun plugin in the gateway), `off` leaves them to the
    /// permission mode. Default: `[run] approvals` in clawrun.toml, else off. Claude Code and ACP agents (not Codex).
    #[arg(long, value_name = "MODE", value_parser = ["off", "chat"])]
    pub approvals: Option<String>,
}

/// `clawrun run`: time limits and turn handling.
#[derive(Debug, Args)]
pub struct LimitFlags {
    /// Time limit: seconds, or with a unit (45s, 90m, 2h, 1d, 1h30m); then SIGTERM to the
    /// agent's process group, grace, SIGKILL.
    #[arg(long, default_value_t = DEFAULT_TIMEOUT_SECS, value_name = "DURATION",
          allow_negative_numbers = true, value_parser = duration_in(1, MAX_TIMEOUT_SECS))]
    pub timeout: u64,
    /// Seconds between SIGTERM and SIGKILL when stopping the agent.
    #[arg(long, default_value_t = DEFAULT_GRACE_SECS, value_name = "SECS",
          allow_negative_numbers = true, value_parser = whole_in::<u64>(0, 600, " seconds"))]
    pub grace: u64,
    /// Stop the run when the agent has been silent this many seconds (0 = never).
    #[arg(long, default_value_t = 0, value_name = "SECS",
          allow_negative_numbers = true, value_parser = whole_in::<u64>(0, u64::MAX, " seconds"))]
    pub idle_timeout: u64,
    /// Claude: keep the session open after each turn ("waiting for input"); answer with
    /// `clawrun respond RUN "message"`. Closes after --idle-timeout (default 1800 s here) without an answer.
    #[arg(long)]
    pub multi_turn: bool,
    /// With --multi-turn: the most consecutive `respond` answers not marked `--user`
    /// (default 10).
    #[arg(long, value_name = "N", allow_negative_numbers = true,
          value_parser = whole_in::<u32>(0, 1000, ""))]
    pub max_auto_responds: Option<u32>,
    /// When the agent hits a usage limit with a known reset time: wait for it (within --timeout),
    /// then resume the same session.
    #[arg(long)]
    pub auto_resume_on_limit: bool,
    /// With --approvals chat: how long one approval waits for the human before the call is
    /// denied (default 120s, at most 600s).
    #[arg(long, value_name = "DURATION", allow_negative_numbers = true,
          value_parser = duration_in(1, MAX_APPROVAL_TIMEOUT_SECS))]
    pub approval_timeout: Option<u64>,
}

/// `clawrun run`: what the human is told, and how.
#[derive(Debug, Args)]
pub struct NotifyFlags {
    /// Foreground: stream the agent's text into the chat as it is produced (see `clawrun fg`).
    #[arg(long)]
    pub fg: bool,
    /// Seconds between heartbeats (0 = none; default: `[notify] heartbeat_secs`, else 60).
    #[arg(long, value_name = "SECS", allow_negative_numbers = true,
          value_parser = whole_in::<u64>(0, u64::MAX, " seconds"))]
    pub heartbeat: Option<u64>,
    /// Edit one heartbeat message in place (Telegram) instead of posting a new one each time.
    #[arg(long)]
    pub heartbeat_edit: bool,
    /// Seconds of agent silence before one stall alert (0 = none).
    #[arg(long, default_value_t = DEFAULT_STALL_SECS, value_name = "SECS",
          allow_negative_numbers = true, value_parser = whole_in::<u64>(0, u64::MAX, " seconds"))]
    pub stall_secs: u64,
    /// Send one "still running" reminder after this many seconds (0 = none).
    #[arg(long, default_value_t = DEFAULT_REMIND_AFTER_SECS, value_name = "SECS",
          allow_negative_numbers = true, value_parser = whole_in::<u64>(0, u64::MAX, " seconds"))]
    pub remind_after: u64,
    /// Seconds a finishing run waits for its last notifications and the wake to be delivered;
    /// what is left stays queued for `clawrun outbox flush` (and the next run's start).
    #[arg(long, default_value_t = DEFAULT_DELIVERY_WAIT_SECS, value_name = "SECS",
          allow_negative_numbers = true, value_parser = whole_in::<u64>(0, u64::MAX, " seconds"))]
    pub delivery_wait: u64,
    /// Send technical trace markers (`[TRACE][TECH]…`) to the chat.
    #[arg(long)]
    pub trace_live: bool,
}

/// `clawrun run`: the resume chain.
#[derive(Debug, Args)]
pub struct ChainFlags {
    /// What the woken agent should do: `single` (report and stop) or `iterate` (continue until the
    /// goal is met). Default: single; with --resume, the mode of the session's last run.
    #[arg(long, value_parser = ["single", "iterate"])]
    pub completion_mode: Option<String>,
    /// In iterate mode: the most iterations of one resume chain (default 5; with --resume, the
    /// limit of the session's last run).
    #[arg(long, value_name = "N", allow_negative_numbers = true,
          value_parser = whole_in::<u32>(1, 100, ""))]
    pub max_iterations: Option<u32>,
}

impl RunArgs {
    /// The routing flags.
    pub fn routing(&self) -> RoutingOptions {
        self.routing.to_options()
    }

    /// The library's view of these flags.
    pub fn to_options(&self, backends_file: Option<PathBuf>) -> RunOptions {
        let task = match (&self.task, &self.task_file) {
            _ if self.from_gateway => TaskSource::Inline(
                std::env::var(crate::core::runner::NODE_TASK_ENV_NAME).unwrap_or_default(),
            ),
            (Some(t), _) => TaskSource::Inline(t.clone()),
            (None, Some(p)) if p.as_os_str() == "-" => TaskSource::Stdin,
            (None, Some(p)) => TaskSource::File(p.clone()),
            (None, None) => TaskSource::Inline(String::new()),
        };
        RunOptions {
            backend: self.backend.clone(),
            task,
            session_key: self.session.clone(),
            label: self.session_label.clone(),
            output: self.output.clone(),
            backends_file,
            queue_delivery: self.queue_delivery,
            request: self.request.to_options(),
            limits: self.limits.to_limits(),
            notify: self.notify.to_settings(),
            chain: self.chain.to_options(),
            worktree: self
                .worktree
                .to_options(crate::core::config::WorktreeMode::Never),
        }
    }
}

impl RequestFlags {
    /// The library's view of these flags.
    pub fn to_options(&self) -> RequestOptions {
        RequestOptions {
            project: self.project.clone(),
            resume: self.resume.clone(),
            fork: self.fork,
            model: self.model.clone(),
            permission_mode: self.permission_mode.clone(),
            sandbox: self
                .sandbox
                .clone()
                .or_else(|| self.full_auto.then(|| FULL_AUTO_SANDBOX.to_owned())),
            no_search: self.no_search,
            allowed_tools: self.allowed_tools.clone(),
            append_system_prompt: self.append_system_prompt.clone(),
            max_budget_usd: self.max_budget_usd,
            approvals: self.approvals.as_deref().and_then(|m| m.parse().ok()),
            safety: self.safety.as_deref().and_then(Safety::from_name),
            default_safety: Safety::default(),
        }
    }
}

impl LimitFlags {
    /// The library's view of these flags.
    pub fn to_limits(&self) -> RunLimits {
        RunLimits {
            timeout_secs: self.timeout,
            grace_secs: self.grace,
            idle_timeout_secs: self.idle_timeout,
            multi_turn: self.multi_turn,
            max_auto_responds: self
                .max_auto_responds
                .unwrap_or(crate::core::store::run::DEFAULT_MAX_AUTO_RESPONDS),
            auto_resume_on_limit: self.auto_resume_on_limit,
            approval_timeout_secs: self
                .approval_timeout
                .unwrap_or(DEFAULT_APPROVAL_TIMEOUT_SECS),
        }
    }
}

impl NotifyFlags {
    /// The library's view of these flags (`--heartbeat` not given: the
    /// built-in default; the command puts `[notify] heartbeat_secs` and
    /// `[notify] silent` in).
    pub fn to_settings(&self) -> NotifySettings {
        NotifySettings {
            heartbeat_secs: self
                .heartbeat
                .unwrap_or(crate::core::config::DEFAULT_HEARTBEAT_SECS),
            heartbeat_edit: self.heartbeat_edit,
            stall_secs: self.stall_secs,
            remind_after_secs: self.remind_after,
            delivery_wait_secs: self.delivery_wait,
            fg: self.fg,
            trace_live: self.trace_live,
            silent: crate::core::config::Silence::default(),
        }
    }
}

impl ChainFlags {
    /// The library's view of these flags.
    pub fn to_options(&self) -> ChainOptions {
        ChainOptions {
            completion_mode: self.completion_mode.as_deref().map(|m| {
                if m == "iterate" {
                    CompletionMode::Iterate
                } else {
                    CompletionMode::Single
                }
            }),
            max_iterations: self.max_iterations,
        }
    }
}

/// What `--full-auto` (the seed's codex flag) means here.
pub const FULL_AUTO_SANDBOX: &str = "workspace-write";

/// `clawrun nodes`.
#[derive(Debug, Args)]
pub struct NodesArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `clawrun status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `clawrun sessions`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SessionsArgs {
    /// Only this backend's registry.
    #[arg(long, value_name = "NAME")]
    pub backend: Option<String>,
    /// Only sessions used in the last H hours (default 72).
    #[arg(long, value_name = "H", allow_negative_numbers = true, value_parser = positive)]
    pub hours: Option<f64>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Find or show.
    #[command(subcommand)]
    pub command: Option<SessionsCommand>,
}

/// `clawrun sessions find|show`.
#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// Find sessions by label: case-insensitive exact matches, then substring matches; newest first.
    Find {
        /// The label.
        label: String,
        /// Only this backend's registry.
        #[arg(long, value_name = "NAME")]
        backend: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one session by its id, or by a run's id (or wake id) as `run --resume` takes it.
    Show {
        /// Session / thread id, run id or wake id (`RUN:wake:N`).
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `clawrun notify`.
#[derive(Debug, Args)]
pub struct NotifyArgs {
    /// The note (at most 2000 characters).
    pub text: String,
    /// The run directory (default: $CLAWRUN_RUN_DIR, set by the runner for the agent).
    #[arg(long, value_name = "DIR", env = "CLAWRUN_RUN_DIR")]
    pub run_dir: Option<PathBuf>,
    /// Print the result as JSON on stdout (`ok`, `run_id`, `queued`, `error`).
    #[arg(long)]
    pub json: bool,
}

/// `clawrun respond`.
#[derive(Debug, Args)]
pub struct RespondArgs {
    /// The run: run id, label, or session id.
    pub run: String,
    /// The message for the agent.
    pub message: String,
    /// Interrupt the turn in progress first (a stream-json interrupt request; the
    /// interrupted turn ends and the message starts the next one).
    #[arg(long)]
    pub interrupt: bool,
    /// The answer comes from the human: resets the auto-respond counter.
    #[arg(long)]
    pub user: bool,
    /// Print the result as JSON on stdout (`ok`, `run_id`, `sent`, `interrupt`, `error`).
    #[arg(long)]
    pub json: bool,
}

/// `clawrun outbox`.
#[derive(Debug, Args)]
pub struct OutboxArgs {
    /// `list` (default) or `flush`.
    #[arg(value_parser = ["list", "flush"], default_value = "list")]
    pub action: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// `flush`: stop retrying after this many seconds; what is left stays queued.
    #[arg(long, default_value_t = 120, value_name = "SECS", allow_negative_numbers = true,
          value_parser = whole_in::<u64>(0, u64::MAX, " seconds"))]
    pub wait: u64,
}

/// `clawrun route`.
#[derive(Debug, Args)]
pub struct RouteArgs {
    /// The OpenClaw session key (`clawrun route --list` lists them).
    pub key: Option<String>,
    /// List the gateway's sessions (key, channel, name, last update): the
    /// keys a run can report to with `--session`.
    #[arg(long, conflicts_with = "key")]
    pub list: bool,
    /// Project directory (for the workdir route map; default: the current directory).
    #[arg(short = 'p', long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Where notifications go.
    #[command(flatten)]
    pub routing: RoutingFlags,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// A command that names one run.
#[derive(Debug, Args)]
pub struct RunRefArgs {
    /// The run: run id, unique run-id prefix, session/thread id, or label.
    pub run: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `clawrun gc`.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// Remove runs finished, and registry entries unused, more than DAYS days ago
    /// (overrides both `[retention] run_days` and `registry_days` for this call).
    #[arg(long, value_name = "DAYS", allow_negative_numbers = true,
          value_parser = whole_in::<u32>(0, u64::MAX, " days"))]
    pub older_than: Option<u32>,
    /// Show what would be removed; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `clawrun doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Seconds each external check (a CLI's --version, an HTTP call) may take.
    #[arg(long, default_value_t = 5, value_name = "SECS", allow_negative_numbers = true,
          value_parser = whole_in::<u64>(1, 600, " seconds"))]
    pub timeout: u64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `clawrun list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Every run, not just running ones and those of the last 24 hours.
    #[arg(long)]
    pub all: bool,
    /// Only runs with this status: running, waiting (a multi-turn run waiting for input;
    /// also counted as running), queued, starting, completed, failed, timeout, killed,
    /// resume_failed, crashed, or active / done.
    #[arg(long, value_name = "STATUS")]
    pub status: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `clawrun show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The run. Run id, unique run-id prefix, session/thread id, or label
    /// (case-insensitive; exact, then substring; newest first).
    #[arg(value_name = "RUN")]
    pub run: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `clawrun output`.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// The run. Run id, unique run-id prefix, session/thread id, or label
    /// (case-insensitive; exact, then substring; newest first).
    #[arg(value_name = "RUN")]
    pub run: String,
    /// Keep printing new text as the agent writes it; stop when the run is done.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Print the whole raw stream (the agent's JSON lines) instead of its text.
    #[arg(long)]
    pub full: bool,
    /// How many of the last lines of text to print (0 = all).
    #[arg(short = 'n', long, default_value_t = crate::core::ops::output::DEFAULT_OUTPUT_LINES,
          value_name = "N", allow_negative_numbers = true, value_parser = whole_in::<usize>(0, u64::MAX, ""))]
    pub lines: usize,
    /// Print JSON (with --follow: one JSON object per line).
    #[arg(long)]
    pub json: bool,
}

/// `clawrun kill`.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// The run. Run id, unique run-id prefix, session/thread id, or label
    /// (case-insensitive; exact, then substring; newest first).
    #[arg(value_name = "RUN")]
    pub run: String,
    /// Seconds to wait for the run to finish stopping.
    #[arg(long, default_value_t = crate::core::ops::kill::DEFAULT_KILL_WAIT.as_secs(),
          value_name = "SECS", allow_negative_numbers = true,
          value_parser = whole_in::<u64>(0, u64::MAX, " seconds"))]
    pub wait: u64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `clawrun stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Runs created in the last N days (0 = all).
    #[arg(long, default_value_t = crate::core::ops::stats::DEFAULT_STATS_DAYS, value_name = "N",
          allow_negative_numbers = true, value_parser = whole_in::<u32>(0, u64::MAX, " days"))]
    pub days: u32,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `clawrun resume`.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The run (or registry session) to continue. Run id, unique run-id prefix, session/thread id, or label
    /// (case-insensitive; exact, then substring; newest first).
    #[arg(value_name = "RUN")]
    pub run: String,
    /// The next task (default: "Continue where you left off."); goes to the agent on stdin.
    #[arg(value_name = "TASK", conflicts_with_all = ["task_file", "task_flag"])]
    pub task: Option<String>,
    /// The next task, as `run -t` takes it (the same as the positional TASK).
    #[arg(
        short = 't',
        long = "task",
        id = "task_flag",
        value_name = "TEXT",
        conflicts_with = "task_file"
    )]
    pub task_flag: Option<String>,
    /// Read the task from a file (`-` = standard input).
    #[arg(long, value_name = "PATH")]
    pub task_file: Option<PathBuf>,
    /// Fork into a new session instead of continuing the same one (claude).
    #[arg(long)]
    pub fork: bool,
    /// Return once the agent has started (as `run --detach`).
    #[arg(long)]
    pub detach: bool,
    /// Time limit: seconds, or with a unit (45s, 90m, 2h) (default: as `run`).
    #[arg(long, value_name = "DURATION", allow_negative_numbers = true,
          value_parser = duration_in(1, MAX_TIMEOUT_SECS))]
    pub timeout: Option<u64>,
    /// Model name.
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// OpenClaw session key to report to (default: the resumed run's).
    #[arg(short = 's', long, value_name = "KEY")]
    pub session: Option<String>,
    /// Print JSON (as `run --json`).
    #[arg(long)]
    pub json: bool,
}

impl ResumeArgs {
    /// The library's view of these flags.
    pub(crate) fn to_request(&self) -> crate::core::ops::resume::ResumeRequest {
        crate::core::ops::resume::ResumeRequest {
            task: self.task.clone().or_else(|| self.task_flag.clone()),
            task_file: self.task_file.clone(),
            fork: self.fork,
            detach: self.detach,
            json: self.json,
            timeout_secs: self.timeout,
            model: self.model.clone(),
            session: self.session.clone(),
        }
    }
}

/// The routing flags shared by `clawrun run` and `clawrun route`.
#[derive(Debug, Args)]
pub struct RoutingFlags {
    /// Notification channel hint: telegram, whatsapp, console, or another gateway channel (with --notify-target).
    #[arg(long, value_name = "CHANNEL")]
    pub notify_channel: Option<String>,
    /// Chat id / group JID / target to notify (overrides what the session key resolves to only when consistent).
    /// Telegram group ids are negative: `--notify-target -1001234567890` works as written.
    #[arg(long, value_name = "TARGET", allow_hyphen_values = true)]
    pub notify_target: Option<String>,
    /// Telegram topic / DM thread id (must match the session key's thread).
    #[arg(long, value_name = "ID")]
    pub notify_thread_id: Option<String>,
    /// OpenClaw session uuid to wake (`openclaw agent --session-id`).
    #[arg(long, value_name = "UUID")]
    pub notify_session_id: Option<String>,
    /// Telegram message id to reply to (not with thread routing).
    #[arg(long, value_name = "ID")]
    pub reply_to_message_id: Option<String>,
    /// Telegram guard: auto (block likely misroutes), thread-only, allow-non-thread.
    #[arg(long, value_enum, default_value_t = RoutingModeArg::Auto)]
    pub telegram_routing_mode: RoutingModeArg,
    /// Allow a non-thread Telegram route that the auto guard would block.
    #[arg(long)]
    pub allow_main_telegram: bool,
}

impl RoutingFlags {
    /// The library's view of these flags.
    pub fn to_options(&self) -> RoutingOptions {
        RoutingOptions {
            notify_channel: self.notify_channel.clone(),
            notify_target: self.notify_target.clone(),
            notify_thread_id: self.notify_thread_id.clone(),
            notify_session_id: self.notify_session_id.clone(),
            reply_to_message_id: self.reply_to_message_id.clone(),
            telegram_routing_mode: self.telegram_routing_mode.into(),
            allow_main_telegram: self.allow_main_telegram,
        }
    }
}

/// `--telegram-routing-mode`: the clap side of the library's
/// [`TelegramRoutingMode`], so the library needs no clap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoutingModeArg {
    /// Non-thread Telegram is allowed unless it looks like a misroute.
    Auto,
    /// Telegram runs must come from a thread session.
    ThreadOnly,
    /// Non-thread Telegram is allowed without checks.
    AllowNonThread,
}

impl From<RoutingModeArg> for TelegramRoutingMode {
    fn from(arg: RoutingModeArg) -> Self {
        match arg {
            RoutingModeArg::Auto => TelegramRoutingMode::Auto,
            RoutingModeArg::ThreadOnly => TelegramRoutingMode::ThreadOnly,
            RoutingModeArg::AllowNonThread => TelegramRoutingMode::AllowNonThread,
        }
    }
}
