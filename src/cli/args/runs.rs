//! The commands about runs that exist: `status`, `list`, `show`, `output`,
//! `kill`, `stats`, `fg`/`bg`, `respond`, `notify`, and `resume`.

use std::path::PathBuf;

use clap::Args;

use super::numbers::{duration_in, whole_in};
use crate::core::runner::MAX_TIMEOUT_SECS;

/// `clawrun status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
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

/// A command that names one run.
#[derive(Debug, Args)]
pub struct RunRefArgs {
    /// The run: run id, unique run-id prefix, session/thread id, or label.
    pub run: String,
    /// Print JSON.
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
