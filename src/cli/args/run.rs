//! `clawrun run`'s flags, grouped under the help headings of [`HEADINGS`],
//! and their translation into the library's [`RunOptions`].
//!
//! The groups are flattened `Args` structs (what the backend is asked, limits,
//! delivery, the resume chain, worktree, routing); a flag's heading says what
//! it is about, so a struct may spread over two headings. The help's first
//! paragraph (`-h`) is one line; details follow in the long help (`--help`).

use std::path::PathBuf;

use clap::Args;

use super::WorktreeFlags;
use super::numbers::{duration_in, positive, whole_in};
use super::routing::RoutingFlags;
use crate::core::config::Safety;
use crate::core::model::approval::{DEFAULT_APPROVAL_TIMEOUT_SECS, MAX_APPROVAL_TIMEOUT_SECS};
use crate::core::runner::{
    ChainOptions, DEFAULT_DELIVERY_WAIT_SECS, DEFAULT_GRACE_SECS, DEFAULT_REMIND_AFTER_SECS,
    DEFAULT_STALL_SECS, DEFAULT_TIMEOUT_SECS, MAX_TIMEOUT_SECS, RequestOptions, RoutingOptions,
    RunOptions, TaskSource,
};
use crate::core::store::run::{CompletionMode, NotifySettings, RunLimits};

/// The help headings of `clawrun run`, in the order `--help` shows them
/// (the most used first); every flag is under one of them.
pub const HEADINGS: &[&str] = &[
    heading::TASK,
    heading::LAUNCH,
    heading::ROUTING,
    heading::CHAIN,
    heading::LIMITS,
    heading::SAFETY,
    heading::DELIVERY,
    heading::WORKTREE,
    heading::GLOBAL,
];

/// The names of [`HEADINGS`].
pub mod heading {
    /// What to do, with which agent, where.
    pub const TASK: &str = "Task";
    /// How the run is started: detached, queued, on a node, checked only.
    pub const LAUNCH: &str = "Launch";
    /// Where notifications and the wake go.
    pub const ROUTING: &str = "Routing";
    /// Resuming a session, and the iterate chain.
    pub const CHAIN: &str = "Resume chain";
    /// Time, turns and money.
    pub const LIMITS: &str = "Limits";
    /// What the agent may do, and who approves it.
    pub const SAFETY: &str = "Safety";
    /// What the human is told while the run goes on.
    pub const DELIVERY: &str = "Delivery";
    /// The run's own git worktree.
    pub const WORKTREE: &str = "Worktree";
    /// The options of every command (help, state directory, config files).
    pub const GLOBAL: &str = "Global options";
}

/// Sorts a flag after the others of its heading (clap orders a heading's flags by
/// when they are declared, unless told).
const LAST: usize = 1000;

/// `clawrun run`.
///
/// The fields' order is the headings' order: clap shows a heading where its
/// first flag is declared, so the launch and routing flags come before
/// [`RequestFlags`] (whose flags open the chain, limits and safety headings).
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("task_input").required(true).args(["task", "task_file", "from_gateway"])))]
pub struct RunArgs {
    /// Which coding agent: claude, codex, or an ACP agent / generic CLI of backends.toml.
    ///
    /// An ACP agent is `[acp.<name>]` in backends.toml; an unknown name is refused, listing the
    /// configured ones.
    #[arg(long, default_value = "claude", value_name = "NAME", help_heading = heading::TASK)]
    pub backend: String,
    /// The task text (prefer --task-file: argv is visible in `ps`).
    #[arg(short = 't', long, value_name = "TEXT", help_heading = heading::TASK)]
    pub task: Option<String>,
    /// Read the task from a file (`-` = standard input).
    #[arg(long, value_name = "PATH", help_heading = heading::TASK)]
    pub task_file: Option<PathBuf>,
    /// Return once the agent has started, printing the launch proof.
    ///
    /// The run goes on in the background. Under OpenClaw's agent `exec` (exec mode) the run is
    /// detached but this process follows it.
    #[arg(long, help_heading = heading::LAUNCH)]
    pub detach: bool,
    /// Print machine-readable JSON on stdout.
    #[arg(long, help_heading = heading::LAUNCH)]
    pub json: bool,
    /// Resolve and check the route, then exit without running anything.
    ///
    /// Prints the route and checks the channel's settings.
    #[arg(long, help_heading = heading::LAUNCH)]
    pub validate_only: bool,
    /// Follow the detached run to its end and exit with its code (on under OpenClaw's exec).
    ///
    /// Exec mode is on by itself under OpenClaw's agent `exec` (`OPENCLAW_SHELL=exec`): the run
    /// goes on detached, this process follows it to its end, prints a compact result last and
    /// exits with the run's code; the process's exit is the wake (clawrun sends none of its own).
    #[arg(long, help_heading = heading::LAUNCH)]
    pub exec_mode: bool,
    /// Wait for a free `[limits] max_sessions` slot instead of refusing.
    ///
    /// First come, first served; with --detach, return at once with the run `queued`.
    #[arg(long, help_heading = heading::LAUNCH)]
    pub queue: bool,
    /// Launch even when the route's gateway is unreachable; messages wait in the outbox.
    ///
    /// The messages and the wake wait in the outbox (`clawrun outbox flush`) when the gateway is
    /// unreachable or refuses the token. Without it such a launch is refused.
    #[arg(long, help_heading = heading::LAUNCH)]
    pub queue_delivery: bool,
    /// Start the run on this paired OpenClaw node (`clawrun nodes` lists them).
    ///
    /// The node's name or id, instead of here; -p is then a path on the node. Default:
    /// `[run] node` in clawrun.toml.
    #[arg(long, value_name = "NAME", help_heading = heading::LAUNCH)]
    pub node: Option<String>,
    /// Internal: started by `run --node` on this node; the task is in $CLAWRUN_TASK.
    #[arg(long, hide = true, conflicts_with = "node", help_heading = heading::LAUNCH)]
    pub from_gateway: bool,
    /// OpenClaw session key of the requester (routes notifications and the wake).
    #[arg(short = 's', long, value_name = "KEY", help_heading = heading::ROUTING)]
    pub session: Option<String>,
    /// Where notifications go.
    #[command(flatten)]
    pub routing: RoutingFlags,
    /// What the backend is asked.
    #[command(flatten)]
    pub request: RequestFlags,
    /// A human label for the run and its session.
    ///
    /// Searchable with `sessions find`; `run --resume` and the run commands take it too.
    #[arg(long = "session-label", visible_alias = "label", value_name = "TEXT",
          help_heading = heading::TASK)]
    pub session_label: Option<String>,
    /// Output file for the final text (default: output.txt in the run directory).
    #[arg(short = 'o', long, value_name = "PATH", help_heading = heading::TASK)]
    pub output: Option<PathBuf>,
    /// The resume chain.
    #[command(flatten)]
    pub chain: ChainFlags,
    /// Time limits and turn handling.
    #[command(flatten)]
    pub limits: LimitFlags,
    /// What the human is told, and how.
    #[command(flatten)]
    pub notify: NotifyFlags,
    /// The run's own git worktree.
    #[command(flatten)]
    pub worktree: WorktreeFlags,
}

/// `clawrun run`: what the backend is asked.
#[derive(Debug, Args)]
pub struct RequestFlags {
    /// Project (working) directory; created if missing.
    ///
    /// `git init` only when it is not inside a work tree.
    #[arg(short = 'p', long, value_name = "DIR", help_heading = heading::TASK)]
    pub project: Option<PathBuf>,
    /// Model name, passed to the CLI.
    #[arg(long, value_name = "NAME", help_heading = heading::TASK)]
    pub model: Option<String>,
    /// Claude: text appended to the system prompt.
    #[arg(long, value_name = "TEXT", help_heading = heading::TASK)]
    pub append_system_prompt: Option<String>,
    /// Resume this session (a session / thread id, or a clawrun run id).
    ///
    /// A Claude session id or Codex thread id; a clawrun run id means its session. Without
    /// --session or --notify-* flags the run reports where the session's last run did, with its
    /// label, completion mode and iteration chain.
    #[arg(long, value_name = "ID", help_heading = heading::CHAIN)]
    pub resume: Option<String>,
    /// With --resume: fork into a new session (claude).
    #[arg(long, help_heading = heading::CHAIN)]
    pub fork: bool,
    /// Claude: stop the run when its cost passes this many US dollars.
    ///
    /// The CLI's own --max-budget-usd.
    #[arg(long, value_name = "USD", allow_negative_numbers = true, value_parser = positive,
          help_heading = heading::LIMITS, display_order = LAST)]
    pub max_budget_usd: Option<f64>,
    /// Safety preset: full (the default), workspace or read-only.
    ///
    /// full: no limits; workspace: edits in the project only; read-only: no edits. Mapped to
    /// each CLI's own mode; --permission-mode / --sandbox win. Default: `[run] safety` in
    /// clawrun.toml; with --resume, the preset of the session's last run.
    #[arg(long, value_name = "PRESET", value_parser = ["full", "workspace", "read-only"],
          help_heading = heading::SAFETY)]
    pub safety: Option<String>,
    /// Claude permission mode (default, plan, acceptEdits, bypassPermissions…).
    ///
    /// Instead of the default --dangerously-skip-permissions.
    #[arg(long, value_name = "MODE", help_heading = heading::SAFETY)]
    pub permission_mode: Option<String>,
    /// Codex sandbox (read-only, workspace-write, danger-full-access).
    ///
    /// Instead of the default --dangerously-bypass-approvals-and-sandbox.
    #[arg(long, value_name = "MODE", help_heading = heading::SAFETY)]
    pub sandbox: Option<String>,
    /// Codex, the seed's flag: the same as --sandbox workspace-write (no bypass).
    #[arg(long, conflicts_with = "sandbox", help_heading = heading::SAFETY)]
    pub full_auto: bool,
    /// Claude: tools allowed without asking (repeatable, or comma-separated).
    #[arg(long, value_name = "TOOL", value_delimiter = ',', help_heading = heading::SAFETY)]
    pub allowed_tools: Vec<String>,
    /// Codex: turn web search off (on by default).
    #[arg(long, help_heading = heading::SAFETY)]
    pub no_search: bool,
    /// Who answers risky tool calls: `chat` (the human, in the run's chat) or `off`.
    ///
    /// `chat` asks the human in the run's chat (an OpenClaw approval; needs the clawrun plugin
    /// in the gateway), `off` leaves them to the permission mode. Default: `[run] approvals` in
    /// clawrun.toml, else off. Claude Code and ACP agents (not Codex).
    #[arg(long, value_name = "MODE", value_parser = ["off", "chat"],
          help_heading = heading::SAFETY)]
    pub approvals: Option<String>,
}

/// `clawrun run`: time limits and turn handling.
#[derive(Debug, Args)]
#[command(next_help_heading = heading::LIMITS)]
pub struct LimitFlags {
    /// Time limit: seconds, or with a unit (45s, 90m, 2h, 1d, 1h30m).
    ///
    /// Then SIGTERM to the agent's process group, --grace, SIGKILL.
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
    /// Claude: keep the session open after each turn; answer with `clawrun respond`.
    ///
    /// The run is "waiting for input" between turns; answer with `clawrun respond RUN "message"`.
    /// Closes after --idle-timeout (default 1800 s here) without an answer.
    #[arg(long)]
    pub multi_turn: bool,
    /// With --multi-turn: the most consecutive `respond` answers not marked `--user` (default 10).
    #[arg(long, value_name = "N", allow_negative_numbers = true,
          value_parser = whole_in::<u32>(0, 1000, ""))]
    pub max_auto_responds: Option<u32>,
    /// On a usage limit with a known reset time: wait for it, then resume the session.
    ///
    /// The wait stays within --timeout.
    #[arg(long)]
    pub auto_resume_on_limit: bool,
    /// With --approvals chat: how long one approval waits before the call is denied.
    ///
    /// Default 120s, at most 600s.
    #[arg(long, value_name = "DURATION", allow_negative_numbers = true,
          value_parser = duration_in(1, MAX_APPROVAL_TIMEOUT_SECS), help_heading = heading::SAFETY)]
    pub approval_timeout: Option<u64>,
}

/// `clawrun run`: what the human is told, and how.
#[derive(Debug, Args)]
#[command(next_help_heading = heading::DELIVERY)]
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
    /// Seconds a finishing run waits for its last notifications and the wake to be delivered.
    ///
    /// What is left stays queued for `clawrun outbox flush` (and the next run's start).
    #[arg(long, default_value_t = DEFAULT_DELIVERY_WAIT_SECS, value_name = "SECS",
          allow_negative_numbers = true, value_parser = whole_in::<u64>(0, u64::MAX, " seconds"))]
    pub delivery_wait: u64,
    /// Send technical trace markers (`[TRACE][TECH]…`) to the chat.
    #[arg(long)]
    pub trace_live: bool,
}

/// `clawrun run`: the resume chain.
#[derive(Debug, Args)]
#[command(next_help_heading = heading::CHAIN)]
pub struct ChainFlags {
    /// What the woken agent should do: `single` (report and stop) or `iterate`.
    ///
    /// `iterate`: continue until the goal is met. Default: single; with --resume, the mode of
    /// the session's last run.
    #[arg(long, value_name = "MODE", value_parser = ["single", "iterate"])]
    pub completion_mode: Option<String>,
    /// In iterate mode: the most iterations of one resume chain (default 5).
    ///
    /// With --resume, the default is the limit of the session's last run.
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
