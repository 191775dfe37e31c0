//! The command line (clap derive), and its translation into the library's
//! options: the top-level [`Cli`] and its [`Command`]s here, each command
//! family's flags (and their `to_options`) in a file of its own.
//!
//! `clawrun run` accepts the flag names of the seed `run-task.py` scripts, so a
//! user of those can switch by changing one word.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

mod numbers;
mod routing;
mod run;
mod runs;
mod upkeep;
mod worktree;

pub use routing::{RouteArgs, RoutingFlags, RoutingModeArg};
pub use run::{
    ChainFlags, FULL_AUTO_SANDBOX, HEADINGS, LimitFlags, NotifyFlags, RequestFlags, RunArgs,
    heading,
};
pub use runs::{
    KillArgs, ListArgs, NotifyArgs, OutputArgs, RespondArgs, ResumeArgs, RunRefArgs, ShowArgs,
    StatsArgs, StatusArgs,
};
pub use upkeep::{DoctorArgs, GcArgs, NodesArgs, OutboxArgs, SessionsArgs, SessionsCommand};
pub use worktree::{WorktreeArgs, WorktreeCommand, WorktreeFlags};

/// Run coding-agent CLIs in the background for OpenClaw, and keep the human
/// and the orchestrating agent informed until the work is done.
#[derive(Debug, Parser)]
#[command(name = "clawrun", version, about, long_about = None)]
pub struct Cli {
    /// State directory (default: ~/.openclaw/clawrun, or $OPENCLAW_HOME/clawrun).
    #[arg(long, global = true, value_name = "DIR", help_heading = heading::GLOBAL)]
    pub state_dir: Option<PathBuf>,
    /// clawrun config file (default: ~/.openclaw/clawrun.toml).
    #[arg(long, global = true, value_name = "PATH", help_heading = heading::GLOBAL)]
    pub config: Option<PathBuf>,
    /// Backend definitions overriding the built-in ones (default: `<state dir>/backends.toml`).
    ///
    /// The file is read only when it exists.
    #[arg(long, global = true, value_name = "PATH", help_heading = heading::GLOBAL)]
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
    /// Show the runs that are running now, here and on the paired nodes runs were
    /// started on (stale records are reaped).
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

#[cfg(test)]
mod tests;
