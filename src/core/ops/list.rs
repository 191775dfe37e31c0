//! `list`: the running and recent runs, newest first, as data
//! (`src/cli/render` turns them into a table).

use std::path::PathBuf;

use serde::Serialize;

use super::resolve::{runner_alive, runs_newest_first};
use crate::core::error::{Error, Result};
use crate::core::model::state::Outcome;
use crate::core::store::paths::Paths;
use crate::core::store::run::{RunDir, RunRecord, RunStatus, mark_crashed};

/// `list` without `--all`: runs that ended (or started) within this many hours,
/// plus every active run.
pub const DEFAULT_LIST_HOURS: i64 = 24;

/// Which runs `list` shows, by status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Exactly this status.
    Is(RunStatus),
    /// Queued, starting or running.
    Active,
    /// Any finished run.
    Done,
    /// A running `--multi-turn` run waiting for input.
    Waiting,
}

/// Status words `--status` accepts.
pub const STATUS_WORDS: &[&str] = &[
    "active",
    "done",
    "queued",
    "starting",
    "running",
    "waiting",
    "completed",
    "failed",
    "timeout",
    "killed",
    "resume_failed",
    "crashed",
];

impl StatusFilter {
    /// Parse a `--status` word.
    ///
    /// # Errors
    /// [`Error::Usage`] for an unknown word (the message lists the valid ones).
    pub fn parse(word: &str) -> Result<Self> {
        let w = word.trim().to_lowercase().replace('-', "_");
        Ok(match w.as_str() {
            "active" => StatusFilter::Active,
            "done" | "finished" => StatusFilter::Done,
            "queued" => StatusFilter::Is(RunStatus::Queued),
            "starting" => StatusFilter::Is(RunStatus::Starting),
            "running" => StatusFilter::Is(RunStatus::Running),
            "waiting" => StatusFilter::Waiting,
            "completed" => StatusFilter::Is(RunStatus::Done(Outcome::Completed)),
            "failed" => StatusFilter::Is(RunStatus::Done(Outcome::Failed)),
            "timeout" => StatusFilter::Is(RunStatus::Done(Outcome::Timeout)),
            "killed" => StatusFilter::Is(RunStatus::Done(Outcome::Killed)),
            "resume_failed" => StatusFilter::Is(RunStatus::Done(Outcome::ResumeFailed)),
            "crashed" => StatusFilter::Is(RunStatus::Done(Outcome::Crashed)),
            _ => {
                return Err(Error::usage(format!(
                    "unknown status {word:?}; valid: {}",
                    STATUS_WORDS.join(", ")
                )));
            }
        })
    }

    /// Whether a run with this record passes. `running` takes the runs
    /// waiting for input too: their process runs.
    pub fn matches(self, record: &RunRecord) -> bool {
        let status = record.status;
        match self {
            StatusFilter::Is(s) => s == status,
            StatusFilter::Active => !status.is_done(),
            StatusFilter::Done => status.is_done(),
            StatusFilter::Waiting => record.shown_status() == "waiting",
        }
    }
}

/// One line of `list`.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct RunSummary {
    /// Run id.
    pub run_id: String,
    /// Status word.
    pub status: String,
    /// Backend.
    pub backend: String,
    /// Label.
    pub label: Option<String>,
    /// Project directory.
    pub project: PathBuf,
    /// First characters of the task.
    pub task_summary: String,
    /// Created at (Unix seconds).
    pub created_at: i64,
    /// Ended at, when finished.
    pub ended_at: Option<i64>,
    /// Seconds since creation.
    pub age_secs: i64,
    /// Seconds the agent ran (so far).
    pub duration_secs: i64,
    /// Cost in USD, when reported.
    pub cost_usd: Option<f64>,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Session / thread id.
    pub resume_id: Option<String>,
    /// Requester's OpenClaw session key.
    pub session_key: Option<String>,
    /// Runner pid.
    pub runner_pid: u32,
    /// Agent pid.
    pub agent_pid: Option<u32>,
    /// Run directory.
    pub run_dir: PathBuf,
    /// The branch of the run's own worktree (`--worktree`), if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktree_branch: Option<String>,
    /// The paired node the run is on (`run --node`); none: this machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

impl RunSummary {
    fn new(dir: &RunDir, r: &RunRecord, now: i64) -> Self {
        RunSummary {
            run_id: r.run_id.clone(),
            status: r.shown_status().to_owned(),
            backend: r.backend.clone(),
            label: r.label.clone(),
            project: r.project.clone(),
            worktree_branch: r.worktree.as_ref().map(|w| w.branch.clone()),
            node: None,
            task_summary: r.task_summary.clone(),
            created_at: r.created_at,
            ended_at: r.ended_at,
            age_secs: (now - r.created_at).max(0),
            duration_secs: r.duration_secs(now),
            cost_usd: r.cost_usd,
            input_tokens: r.usage.input_tokens,
            output_tokens: r.usage.output_tokens,
            resume_id: r.resume_id.clone(),
            session_key: r.session_key.clone(),
            runner_pid: r.runner_pid,
            agent_pid: r.agent_pid,
            run_dir: dir.path.clone(),
        }
    }
}

/// The runs `list` shows, newest first: with `all`, every run; else the
/// active ones and those created or ended in the last `DEFAULT_LIST_HOURS`.
/// Stale records (runner gone) are reaped first, so "running" is true; one
/// the reaper could not write (a full disk) is shown as it judged it, as
/// `status` does: never `running` with its runner gone.
pub fn list(paths: &Paths, all: bool, status: Option<StatusFilter>, now: i64) -> Vec<RunSummary> {
    // Reaps records whose runner died (marks them crashed, kills leftovers).
    let _ = crate::core::ops::resolve::active_runs(paths);
    let since = now - DEFAULT_LIST_HOURS * 3600;
    let mut runs = runs_newest_first(paths);
    for (_, r) in &mut runs {
        if !r.status.is_done() && !runner_alive(r) {
            mark_crashed(r, now);
        }
    }
    runs.iter()
        .filter(|(_, r)| {
            all || !r.status.is_done()
                || r.ended_at.unwrap_or(r.created_at).max(r.created_at) >= since
        })
        .filter(|(_, r)| status.is_none_or(|f| f.matches(r)))
        .map(|(d, r)| RunSummary::new(d, r, now))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_filter_words() {
        assert_eq!(
            StatusFilter::parse("Resume-Failed").ok(),
            Some(StatusFilter::Is(RunStatus::Done(Outcome::ResumeFailed)))
        );
        let record = |status: &str, waiting_since: Option<i64>| -> RunRecord {
            let mut v = serde_json::json!({
                "run_id": "r", "backend": "claude", "status": status, "label": null,
                "project": "/p", "task_summary": "t", "session_key": null,
                "resumed_from": null, "resume_id": null, "model": null, "cli_version": null,
                "runner_pid": 1, "agent_pid": null, "created_at": 0, "started_at": null,
                "ended_at": null, "updated_at": 0, "exit_code": null,
                "usage": {"input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0},
                "cost_usd": null, "tool_calls": 0, "timeout_secs": 1, "output_file": "/o",
                "error": null,
            });
            if let Some(t) = waiting_since {
                v["waiting_since"] = t.into();
            }
            serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
        };
        assert!(StatusFilter::Active.matches(&record("starting", None)));
        assert!(!StatusFilter::Done.matches(&record("running", None)));
        let waiting = record("running", Some(5));
        assert_eq!(waiting.shown_status(), "waiting");
        assert_eq!(
            StatusFilter::parse("waiting").ok(),
            Some(StatusFilter::Waiting)
        );
        assert!(StatusFilter::Waiting.matches(&waiting));
        assert!(StatusFilter::parse("running").is_ok_and(|f| f.matches(&waiting)));
        assert!(!StatusFilter::Waiting.matches(&record("running", None)));
        // A finished run is its outcome, whatever the field says.
        assert_eq!(record("completed", Some(5)).shown_status(), "completed");
        let err = StatusFilter::parse("sleeping").err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("valid: active, done")));
    }
}
