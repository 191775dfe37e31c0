//! Run directories and the run record (`run.json`).
//!
//! Each run gets `<state dir>/runs/<run id>/` (0700) holding:
//! - `request.json`: the validated request (what a detached runner executes);
//! - `run.json`: the [`RunRecord`], rewritten atomically on every change;
//! - `stream.jsonl`: the agent's raw stdout;
//! - `stderr.log`: the tail of the agent's stderr (bounded);
//! - `output.txt`: the final text (unless `-o` chose another path);
//! - `notifications.jsonl`: what the console channel delivered.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::backends::RunRequest;
use crate::core::config::{ChannelKind, Silence};
use crate::core::error::{Error, Result};
use crate::core::git::{ChangeSummary, RunWorktree};
use crate::core::model::events::Usage;
use crate::core::model::state::Outcome;
use crate::core::store::fsutil;
use crate::core::store::timefmt::format_utc_compact;

/// File names inside a run directory.
pub mod files {
    /// The validated request.
    pub const REQUEST: &str = "request.json";
    /// The run record.
    pub const RECORD: &str = "run.json";
    /// Raw agent stdout.
    pub const STREAM: &str = "stream.jsonl";
    /// Agent stderr tail.
    pub const STDERR: &str = "stderr.log";
    /// Default output file.
    pub const OUTPUT: &str = "output.txt";
    /// Every top-level assistant text of the run, as it arrived.
    pub const ASSISTANT_TEXT: &str = "assistant.txt";
    /// Log of a detached runner's own stderr.
    pub const RUNNER_LOG: &str = "runner.log";
    /// Space set aside while the run goes on, for its final record on a full
    /// disk (see [`super::RunDir::write_record`]).
    pub const RESERVE: &str = "final.reserve";
}

/// Bytes each run sets aside at its start ([`files::RESERVE`]): room for its
/// final `run.json` (a few KiB, written atomically) and registry entry.
pub const FINAL_RESERVE_BYTES: usize = 64 * 1024;

/// The validated request of a run, persisted so a detached runner can execute it.
///
/// Grouped by concern; the groups are flattened, so `request.json` is one flat
/// object (the same keys as before the groups existed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// Run id.
    pub run_id: String,
    /// Backend name.
    pub backend: String,
    /// What the backend is asked (prompt, project, model, resume, permission, …).
    #[serde(flatten)]
    pub request: RunRequest,
    /// Human label.
    pub label: Option<String>,
    /// OpenClaw session key of the requester.
    pub session_key: Option<String>,
    /// Where the final text goes.
    pub output_file: PathBuf,
    /// The user's backends.toml override, if any.
    pub backends_file: Option<PathBuf>,
    /// Created at (Unix seconds).
    pub created_at: i64,
    /// Time limits and turn handling.
    #[serde(flatten)]
    pub limits: RunLimits,
    /// What the human is told, and how.
    #[serde(flatten)]
    pub notify: NotifySettings,
    /// The run's place in its resume chain.
    #[serde(flatten)]
    pub chain: ChainPosition,
    /// Where messages go.
    pub route: crate::core::model::route::Route,
    /// The channel type that delivers them (`console`, `telegram-direct`, …).
    pub channel: ChannelKind,
    /// The run's own git worktree (`--worktree`); the request's project is
    /// its directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktree: Option<RunWorktree>,
}

impl RunSpec {
    /// What the run is called in messages: its label, else its id.
    pub fn name(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.run_id)
    }
}

/// Limits of a run and how its turns are handled (part of [`RunSpec`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunLimits {
    /// Time limit in seconds.
    pub timeout_secs: u64,
    /// Grace between SIGTERM and SIGKILL, seconds.
    pub grace_secs: u64,
    /// Seconds of agent silence after which the run is stopped (0 = never).
    #[serde(default)]
    pub idle_timeout_secs: u64,
    /// Multi-turn: stdin stays open and each result ends a turn, not the run;
    /// `clawrun respond` sends the next message.
    #[serde(default)]
    pub multi_turn: bool,
    /// Most consecutive automatic answers (`respond` without `--user`).
    #[serde(default = "default_max_auto_responds")]
    pub max_auto_responds: u32,
    /// On a usage limit with a known reset time: wait for it, then resume.
    #[serde(default)]
    pub auto_resume_on_limit: bool,
    /// `--approvals chat`: seconds a tool approval waits for the human
    /// before it is denied.
    /// (Left out of `request.json` at its default, so that files of earlier
    /// versions are written back as they were.)
    #[serde(
        default = "default_approval_timeout_secs",
        skip_serializing_if = "is_default_approval_timeout"
    )]
    pub approval_timeout_secs: u64,
}

fn default_approval_timeout_secs() -> u64 {
    crate::core::model::approval::DEFAULT_APPROVAL_TIMEOUT_SECS
}

fn is_default_approval_timeout(secs: &u64) -> bool {
    *secs == default_approval_timeout_secs()
}

/// What the human is told while the run goes on (part of [`RunSpec`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifySettings {
    /// Seconds between heartbeats (0 = none).
    pub heartbeat_secs: u64,
    /// Edit one heartbeat message in place (Telegram) instead of posting new ones.
    pub heartbeat_edit: bool,
    /// Seconds of agent silence before one stall alert (0 = none).
    pub stall_secs: u64,
    /// Seconds after which one "still running" reminder is sent (0 = none).
    #[serde(default)]
    pub remind_after_secs: u64,
    /// Seconds a finishing run waits for its last messages to be delivered
    /// (what is left stays in the outbox for `clawrun outbox flush`).
    pub delivery_wait_secs: u64,
    /// Start in the foreground: stream the agent's text into the chat.
    pub fg: bool,
    /// Send technical trace markers to the chat.
    pub trace_live: bool,
    /// Which messages are silent (`[notify] silent`; older runs: `progress`,
    /// what they did).
    #[serde(default = "legacy_silence", skip_serializing_if = "is_legacy_silence")]
    pub silent: Silence,
}

fn legacy_silence() -> Silence {
    Silence::Progress
}

fn is_legacy_silence(s: &Silence) -> bool {
    *s == legacy_silence()
}

/// A run's place in its resume chain (part of [`RunSpec`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainPosition {
    /// What the orchestrator should do with the result.
    pub completion_mode: CompletionMode,
    /// Iteration of this run in its chain (1-based).
    pub iteration: u32,
    /// The iteration limit (1 in single mode).
    pub max_iterations: u32,
    /// The first run of this run's resume chain (for iteration counting).
    pub chain_root: String,
}

/// Default for [`RunLimits::max_auto_responds`].
pub const DEFAULT_MAX_AUTO_RESPONDS: u32 = 10;

fn default_max_auto_responds() -> u32 {
    DEFAULT_MAX_AUTO_RESPONDS
}

/// What the orchestrating agent is asked to do when woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompletionMode {
    /// Report the outcome and stop.
    #[default]
    Single,
    /// Check the goal; if not met, launch exactly one next iteration (up to the limit).
    Iterate,
}

impl CompletionMode {
    /// The mode word.
    pub fn as_str(self) -> &'static str {
        match self {
            CompletionMode::Single => "single",
            CompletionMode::Iterate => "iterate",
        }
    }
}

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Waiting for a free slot (`run --queue` over `[limits] max_sessions`).
    Queued,
    /// Validated, run dir created, agent not yet spawned.
    Starting,
    /// The agent is running.
    Running,
    /// Finished with an outcome.
    #[serde(untagged)]
    Done(Outcome),
}

impl RunStatus {
    /// The status word.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Starting => "starting",
            RunStatus::Running => "running",
            RunStatus::Done(o) => o.as_str(),
        }
    }

    /// Whether the run has finished.
    pub fn is_done(self) -> bool {
        matches!(self, RunStatus::Done(_))
    }
}

/// The run record, `run.json`: kept current while the run goes on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRecord {
    /// Run id.
    pub run_id: String,
    /// Backend name.
    pub backend: String,
    /// Status.
    pub status: RunStatus,
    /// Human label.
    pub label: Option<String>,
    /// Project directory.
    pub project: PathBuf,
    /// First 200 characters of the task.
    pub task_summary: String,
    /// OpenClaw session key of the requester.
    pub session_key: Option<String>,
    /// Resume id the run was asked to resume.
    pub resumed_from: Option<String>,
    /// Resume id of this run's session, once known.
    pub resume_id: Option<String>,
    /// Model, once known.
    pub model: Option<String>,
    /// CLI version, once known.
    pub cli_version: Option<String>,
    /// The runner's pid.
    pub runner_pid: u32,
    /// The agent's pid (= its process group), once spawned.
    pub agent_pid: Option<u32>,
    /// Created at (Unix seconds).
    pub created_at: i64,
    /// Created at, Unix milliseconds (orders runs created in the same second).
    #[serde(default)]
    pub created_ms: i64,
    /// Agent spawned at.
    pub started_at: Option<i64>,
    /// Finished at.
    pub ended_at: Option<i64>,
    /// Last update of this record.
    pub updated_at: i64,
    /// Agent exit code (128 + n for signal n).
    pub exit_code: Option<i32>,
    /// Token usage.
    pub usage: Usage,
    /// Cost in USD.
    pub cost_usd: Option<f64>,
    /// Tool calls.
    pub tool_calls: u64,
    /// Subagents running now (started minus finished; Claude background tasks
    /// included).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub subagents_running: u64,
    /// Subagents started in all.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub subagents_started: u64,
    /// Resume ids this run's session had before the CLI moved it to the
    /// current one (`resume_id`), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaced_ids: Vec<String>,
    /// Time limit, seconds.
    pub timeout_secs: u64,
    /// Output file.
    pub output_file: PathBuf,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// CPU time the runner itself used (user + system, ms), written at the end.
    #[serde(default)]
    pub runner_cpu_ms: Option<u64>,
    /// Peak resident memory of the runner (KiB), written at the end.
    #[serde(default)]
    pub runner_peak_rss_kb: Option<u64>,
    /// A `--multi-turn` run whose turn has ended waits for input (`clawrun
    /// respond`) since then (Unix seconds); `None` while a turn runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_since: Option<i64>,
    /// `stream.jsonl` was cut at this size (`[limits] max_stream_mib`): what
    /// came after was parsed but not kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_cut_at_bytes: Option<u64>,
    /// Bytes of agent output not kept in `stream.jsonl` after the cut.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stream_dropped_bytes: u64,
    /// The run's own git worktree (`--worktree`): path, branch, base.
    /// (Boxed, like [`Self::changes`].)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktree: Option<Box<RunWorktree>>,
    /// The project's `HEAD` commit when the agent started: what "what
    /// changed" is measured against (`None` outside a repository or before
    /// its first commit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_base: Option<String>,
    /// What changed in the project since [`Self::git_base`], measured when
    /// the run ended (`None` when git could not tell).
    /// (Boxed: it is large, and most records are read for other fields.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Box<ChangeSummary>>,
    /// Follow-ups queued with `clawrun respond` that the run ended (killed,
    /// timed out, failed) before running, oldest first; written at the end.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub followups_not_run: Vec<String>,
    /// Warnings that matter to the agent (the result message and the wake
    /// show them: `Warnings:`), e.g. a limited run's session log that could
    /// not be read, so the calls its sandbox refused are not reported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Why this run's session cannot be resumed though it has an id (an ACP
    /// agent that does not advertise `loadSession`): messages, the wake and
    /// `show` say this instead of a resume command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_resume: Option<String>,
    /// The first run of this run's resume/iterate chain
    /// ([`ChainPosition::chain_root`]): whether a later run supersedes this
    /// one's wake. `None` in records of earlier versions: the run is then
    /// its own chain ([`RunRecord::chain`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_root: Option<String>,
}

impl RunRecord {
    /// The status as shown to people and in `--json` listings: `waiting` for a
    /// running multi-turn run that waits for input, else [`RunStatus::as_str`].
    pub fn shown_status(&self) -> &'static str {
        match (self.status, self.waiting_since) {
            (RunStatus::Running, Some(_)) => "waiting",
            (status, _) => status.as_str(),
        }
    }

    /// The root of this run's resume chain; a record without one (written
    /// by an earlier version) is its own chain.
    pub fn chain(&self) -> &str {
        self.chain_root.as_deref().unwrap_or(&self.run_id)
    }

    /// Seconds from creation to the end (or to now).
    pub fn duration_secs(&self, now: i64) -> i64 {
        let start = self.started_at.unwrap_or(self.created_at);
        (self.ended_at.unwrap_or(now) - start).max(0)
    }
}

/// A run directory on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    /// Its path.
    pub path: PathBuf,
}

impl RunDir {
    /// Create a new run directory (0700) under `runs_dir`.
    ///
    /// # Errors
    /// I/O errors; an existing directory with the same id is an error.
    pub fn create(runs_dir: &Path, run_id: &str) -> Result<Self> {
        fsutil::create_private_dir(runs_dir)
            .map_err(|e| Error::io(format!("creating {}", runs_dir.display()), e))?;
        let path = runs_dir.join(run_id);
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
        let dir = Self { path };
        // Best effort: a disk already this full fails the run's first writes.
        let _ = fsutil::write_atomic(&dir.file(files::RESERVE), &[0; FINAL_RESERVE_BYTES]);
        Ok(dir)
    }

    /// Remove the run's reserve; whether there was one to remove.
    pub fn release_reserve(&self) -> bool {
        std::fs::remove_file(self.file(files::RESERVE)).is_ok()
    }

    /// Open an existing run directory.
    pub fn open(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Path of a file inside.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Write the request.
    ///
    /// # Errors
    /// I/O errors.
    pub fn write_spec(&self, spec: &RunSpec) -> Result<()> {
        write_json(&self.file(files::REQUEST), spec)
    }

    /// Read the request.
    ///
    /// # Errors
    /// I/O or parse errors.
    pub fn read_spec(&self) -> Result<RunSpec> {
        read_json(&self.file(files::REQUEST))
    }

    /// Write the run record atomically. The record that closes the run (its
    /// outcome, or `crashed`) goes, on a full disk, into the run's reserve
    /// (`files::RESERVE`), given up for it and the write tried again: a run
    /// that ended is never left `running` on disk, to be reaped later as a
    /// false crash. [`Self::release_reserve`] gives it up for good once the
    /// run is closed.
    ///
    /// # Errors
    /// I/O errors (of the second try, for a closing record).
    pub fn write_record(&self, record: &RunRecord) -> Result<()> {
        let path = self.file(files::RECORD);
        match write_json(&path, record) {
            Err(_) if record.status.is_done() && self.release_reserve() => {
                write_json(&path, record)
            }
            written => written,
        }
    }

    /// Read the run record.
    ///
    /// # Errors
    /// I/O or parse errors.
    pub fn read_record(&self) -> Result<RunRecord> {
        read_json(&self.file(files::RECORD))
    }
}

use std::os::unix::fs::DirBuilderExt;

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut data = serde_json::to_vec_pretty(value).map_err(|e| {
        Error::io(
            format!("encoding {}", path.display()),
            std::io::Error::other(e),
        )
    })?;
    data.push(b'\n');
    fsutil::write_atomic(path, &data)
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let data =
        std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    serde_json::from_slice(&data).map_err(|e| {
        Error::io(
            format!("parsing {}", path.display()),
            std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        )
    })
}

/// A new run id: sortable by time, unique (`20261121-233101-3f9a1c`).
pub fn new_run_id(now: i64) -> String {
    let rand = uuid::Uuid::new_v4().simple().to_string();
    format!("{}-{}", format_utc_compact(now), &rand[..6])
}

/// Every run directory under `runs_dir` with a readable record, newest first.
/// Unreadable records are skipped (a run being created has none yet).
pub fn list_runs(runs_dir: &Path) -> Vec<(RunDir, RunRecord)> {
    let Ok(entries) = std::fs::read_dir(runs_dir) else {
        return Vec::new();
    };
    let mut runs: Vec<(RunDir, RunRecord)> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .filter_map(|e| {
            let dir = RunDir::open(e.path());
            dir.read_record().ok().map(|r| (dir, r))
        })
        .collect();
    runs.sort_by(|a, b| b.1.run_id.cmp(&a.1.run_id));
    runs
}

/// A run directory whose `run.json` exists but cannot be read or parsed:
/// listed by `list` and `status`, named by `show`, never silently left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnreadableRun {
    /// The run directory.
    pub dir: PathBuf,
    /// Why its record cannot be read.
    pub error: String,
}

/// Every run directory under `runs_dir` whose record exists but cannot be
/// read. A directory without `run.json` is a run being created, not listed.
pub fn unreadable_runs(runs_dir: &Path) -> Vec<UnreadableRun> {
    let Ok(entries) = std::fs::read_dir(runs_dir) else {
        return Vec::new();
    };
    let mut out: Vec<UnreadableRun> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| {
            let dir = RunDir::open(e.path());
            match dir.read_record() {
                Ok(_) => None,
                Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                    None
                }
                Err(err) => Some(UnreadableRun {
                    dir: dir.path,
                    error: err.to_string(),
                }),
            }
        })
        .collect();
    out.sort_by(|a, b| b.dir.cmp(&a.dir));
    out
}

/// The runs that are active now (`starting` or `running`), after reaping stale
/// ones. `runner_alive(pid)` says whether a record's runner still runs; a
/// record whose runner is gone is marked `crashed` (see [`mark_crashed`]) and
/// written, then handed to `reap`, which stops what is left of its agent's
/// process group and closes the rest of the run (registry, notifications).
/// Both come from the layers above: the store reads and writes files and never
/// signals a process.
pub fn active_runs_with(
    runs_dir: &Path,
    runner_alive: impl Fn(u32) -> bool,
    mut reap: impl FnMut(&RunDir, &RunRecord),
) -> Vec<(RunDir, RunRecord)> {
    let mut active = Vec::new();
    for (dir, mut rec) in list_runs(runs_dir) {
        if rec.status.is_done() {
            continue;
        }
        if runner_alive(rec.runner_pid) {
            active.push((dir, rec));
            continue;
        }
        mark_crashed(&mut rec, crate::core::now_secs());
        if dir.write_record(&rec).is_ok() {
            dir.release_reserve();
            reap(&dir, &rec);
        }
    }
    active
}

/// Close a record whose runner exited without finishing the run: status
/// `crashed`, ended and updated `now`, and an error naming the runner.
pub fn mark_crashed(rec: &mut RunRecord, now: i64) {
    rec.status = RunStatus::Done(Outcome::Crashed);
    rec.ended_at = Some(now);
    rec.updated_at = now;
    rec.error = Some(format!(
        "the runner (pid {}) exited without finishing the run",
        rec.runner_pid
    ));
}

/// Zero counts are left out of `run.json`, so records of runs without
/// subagents keep the shape older versions wrote.
fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_start_with_the_utc_time() {
        let id = new_run_id(1_795_303_502);
        assert!(id.starts_with("20261121-232502-") && id.len() == 22, "{id}");
    }

    #[test]
    fn status_words_round_trip() {
        for s in [
            RunStatus::Queued,
            RunStatus::Starting,
            RunStatus::Running,
            RunStatus::Done(Outcome::Timeout),
            RunStatus::Done(Outcome::ResumeFailed),
        ] {
            let j = serde_json::to_string(&s).unwrap_or_default();
            assert_eq!(j, format!("\"{}\"", s.as_str()));
            let back: RunStatus = serde_json::from_str(&j).unwrap_or(RunStatus::Starting);
            assert_eq!(back, s);
        }
    }

    #[test]
    fn reaping_marks_runs_of_dead_runners_crashed_and_stops_their_agents() {
        #![allow(clippy::unwrap_used)]
        let tmp = tempfile::tempdir().unwrap();
        let mk = |id: &str, runner: u32, status: &str| {
            let dir = RunDir::create(tmp.path(), id).unwrap();
            let rec: RunRecord = serde_json::from_value(serde_json::json!({
                "run_id": id, "backend": "claude", "status": status, "label": null,
                "project": "/p", "task_summary": "t", "session_key": null, "resumed_from": null,
                "resume_id": null, "model": null, "cli_version": null, "runner_pid": runner,
                "agent_pid": runner + 1, "created_at": 100, "created_ms": 100_000,
                "started_at": null, "ended_at": null, "updated_at": 100, "exit_code": null,
                "usage": {"input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0},
                "cost_usd": null, "tool_calls": 0, "timeout_secs": 1, "output_file": "/o",
                "error": null, "runner_cpu_ms": null, "runner_peak_rss_kb": null
            }))
            .unwrap();
            dir.write_record(&rec).unwrap();
            dir
        };
        mk("a-live", 10, "running");
        let dead = mk("b-dead", 20, "running");
        mk("c-done", 30, "completed");
        let mut stopped = Vec::new();
        let active = active_runs_with(
            tmp.path(),
            |pid| pid == 10,
            |dir, rec| {
                assert_eq!(dir.read_record().unwrap().status, rec.status);
                stopped.push(rec.agent_pid.unwrap());
            },
        );
        let ids: Vec<&str> = active.iter().map(|(_, r)| r.run_id.as_str()).collect();
        assert_eq!(ids, vec!["a-live"]);
        assert_eq!(stopped, vec![21]);
        let rec = dead.read_record().unwrap();
        assert_eq!(rec.status, RunStatus::Done(Outcome::Crashed));
        assert!(rec.ended_at.is_some());
        assert!(rec.error.unwrap().contains("runner (pid 20)"));
    }
}
