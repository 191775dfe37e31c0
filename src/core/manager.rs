//! The session manager: what a person (or the orchestrating agent) does with
//! runs once they exist — `list`, `show`, `output` (with `--follow`), `kill`,
//! `stats`, `resume` — and the cap on runs running at once.
//!
//! Everything here reads the run directories (`<state dir>/runs/<id>/`) and,
//! for sessions whose run directory is gone, the session registries. Nothing
//! keeps state in memory between commands, so every figure survives restarts
//! (unlike the plugin's in-memory sessions and metrics, seed-behaviour E.7).
//!
//! A run is named by its run id, a unique run-id prefix, its resume id
//! (Claude session id / Codex thread id), or its label (case-insensitive:
//! exact matches first, then substring matches; newest first). A name that
//! fits several runs is refused with the candidates listed, never guessed
//! (the seed's label search silently took the oldest match, E.2). See
//! [`resolve`].
//!
//! What the plugin got wrong and this module does not:
//! - `kill` goes through the run's own stop path (SIGTERM to the runner), so a
//!   killed run gets its notification, its registry status and its record
//!   like any other ending; a run whose runner is gone is still stopped (its
//!   agent's process group) and recorded.
//! - `stats` prints the cost it tracks, and says where its figures come from.
//! - `output` reads the whole stream from disk (no 200-block ring buffer), and
//!   includes the final result text.

use std::collections::{BTreeMap, VecDeque};
use std::ffi::OsString;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use serde::Serialize;

use crate::backends::config::{self as backends_config, BACKEND_NAMES};
use crate::backends::{AnyParser, Backend, LineParser};
use crate::core::error::{Error, Result};
use crate::core::events::AgentEvent;
use crate::core::paths::Paths;
use crate::core::registry::{Entry, Registry, Status};
use crate::core::route::Route;
use crate::core::run::{self, RunDir, RunRecord, RunStatus, files};
use crate::core::sessions::registry_status;
use crate::core::state::Outcome;
use crate::core::{now_secs, process, timefmt};

/// `list` without `--all`: runs that ended (or started) within this many hours,
/// plus every active run.
pub const DEFAULT_LIST_HOURS: i64 = 24;
/// `output` without `--lines`: this many lines of text.
pub const DEFAULT_OUTPUT_LINES: usize = 50;
/// How long `kill` waits for the run to finish.
pub const DEFAULT_KILL_WAIT: Duration = Duration::from_secs(30);
/// The task of `resume` when none is given (the plugin's `/claude_resume`).
pub const DEFAULT_RESUME_TASK: &str = "Continue where you left off.";
/// How often `output --follow` looks for new lines.
pub const DEFAULT_FOLLOW_POLL: Duration = Duration::from_millis(200);
/// How many of the most expensive runs `stats` lists.
pub const TOP_EXPENSIVE: usize = 5;
/// `stats` without `--days`.
pub const DEFAULT_STATS_DAYS: u32 = 30;

/// A stream line longer than this is skipped by `output` (a partial line is
/// buffered until its newline arrives; this bounds that buffer).
const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;
/// Read size for the stream.
const CHUNK_BYTES: usize = 64 * 1024;
/// At most this many candidates are listed in an "ambiguous" error.
const MAX_CANDIDATES_SHOWN: usize = 10;
/// After `kill` sees the run done, how long it waits for the runner to exit
/// (its last notifications and registry write happen after the record).
const RUNNER_EXIT_WAIT: Duration = Duration::from_secs(10);
/// How long `kill` lets a `starting` record whose runner is gone settle (a
/// detached runner takes over the record from the process that created it).
const STARTING_SETTLE: Duration = Duration::from_secs(2);
/// Poll period of `kill`.
const KILL_POLL: Duration = Duration::from_millis(50);
/// When the runner is gone: the most `kill` waits between SIGTERM and SIGKILL
/// of the agent's group.
const MAX_ORPHAN_GRACE: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// Liveness
// ---------------------------------------------------------------------------

/// Whether the runner of `record` is alive and is still a clawrun process (a
/// reused pid is not our runner; a zombie is dead). Without /proc, the pid
/// alone decides.
pub fn runner_alive(record: &RunRecord) -> bool {
    process::runner_alive(record.runner_pid)
}

/// Whether any process of the agent's process group is alive.
pub fn agent_alive(record: &RunRecord) -> bool {
    record.agent_pid.is_some_and(process::group_alive)
}

/// Every run with a readable record, newest first. Run ids sort by their
/// creation second only (the suffix is random), so runs created in the same
/// second are ordered by when their `request.json` was written.
pub fn runs_newest_first(paths: &Paths) -> Vec<(RunDir, RunRecord)> {
    let mut runs: Vec<_> = run::list_runs(&paths.runs_dir())
        .into_iter()
        .map(|(dir, rec)| {
            let written = std::fs::metadata(dir.file(files::REQUEST))
                .and_then(|m| m.modified())
                .ok();
            (rec.created_at, written, dir, rec)
        })
        .collect();
    runs.sort_by_key(|r| std::cmp::Reverse((r.0, r.1)));
    runs.into_iter().map(|(_, _, d, r)| (d, r)).collect()
}

// ---------------------------------------------------------------------------
// Resolution
// ---------------------------------------------------------------------------

/// A run on disk: its directory and its record as last read.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// The run directory.
    pub dir: RunDir,
    /// Its record.
    pub record: RunRecord,
}

/// What a name given on the command line refers to.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A run with a run directory.
    Run(Run),
    /// A session known only from a registry (its run directories are gone,
    /// or a seed script made it).
    Session {
        /// Backend whose registry holds it.
        backend: String,
        /// The registry entry.
        entry: Entry,
    },
}

/// The registries of every backend, with their backend names.
fn registries(paths: &Paths) -> Result<Vec<(&'static str, Registry)>> {
    // Registry file names and id fields are fixed per backend; a user's
    // backends.toml cannot change them, so the built-in definitions suffice.
    let config = backends_config::load(/*user file*/ None)?;
    BACKEND_NAMES
        .iter()
        .map(|name| {
            let backend = config.backend(name)?;
            Ok((*name, Registry::for_backend(paths, &backend)))
        })
        .collect()
}

fn norm_label(label: &str) -> String {
    label.trim().to_lowercase()
}

fn ambiguous(query: &str, what: &str, candidates: &[String]) -> Error {
    let mut msg = format!(
        "{query:?} is ambiguous: it matches {} {what} (newest first):",
        candidates.len()
    );
    for c in candidates.iter().take(MAX_CANDIDATES_SHOWN) {
        msg.push_str("\n  ");
        msg.push_str(c);
    }
    if candidates.len() > MAX_CANDIDATES_SHOWN {
        msg.push_str(&format!(
            "\n  … and {} more",
            candidates.len() - MAX_CANDIDATES_SHOWN
        ));
    }
    msg.push_str("\nName one by its full run id (or a longer prefix of it).");
    Error::Usage(msg)
}

fn describe_run(r: &RunRecord) -> String {
    format!(
        "{}  {:<9} {:<6} {}",
        r.run_id,
        r.shown_status(),
        r.backend,
        r.label.as_deref().unwrap_or("-")
    )
}

fn describe_entry(backend: &str, e: &Entry) -> String {
    format!(
        "{}  {:<9} {:<6} {}  (registry only)",
        e.id,
        e.status.as_ref().map_or("-", |s| s.as_str()),
        backend,
        e.label.as_deref().unwrap_or("-")
    )
}

/// Find what `query` names, in this order:
/// 1. a run id;
/// 2. a resume id (session/thread id) of a run (the newest run of it);
/// 3. a session id in a registry (a session without a run directory);
/// 4. a unique run-id prefix;
/// 5. a run label, case-insensitive exact (the newest such run: a resumed
///    session's runs share their label);
/// 6. a run label substring, when every match carries the same label (else
///    ambiguous);
/// 7. the same two label steps over the registries.
///
/// # Errors
/// [`Error::Usage`] when nothing matches, or when the name is ambiguous (the
/// message lists the candidates, newest first).
pub fn resolve(paths: &Paths, query: &str) -> Result<Target> {
    let q = query.trim();
    if q.is_empty() {
        return Err(Error::Usage(
            "empty run name: give a run id, a run-id prefix, a label or a session id".to_owned(),
        ));
    }
    let runs = runs_newest_first(paths);
    let found = |i: usize| {
        let (dir, record) = runs[i].clone();
        Ok(Target::Run(Run { dir, record }))
    };
    if let Some(i) = runs.iter().position(|(_, r)| r.run_id == q) {
        return found(i);
    }
    if let Some(i) = runs
        .iter()
        .position(|(_, r)| r.resume_id.as_deref() == Some(q))
    {
        return found(i);
    }
    // Registries are a fallback: one that cannot be read must not hide runs.
    let regs = registries(paths)?;
    for (backend, reg) in &regs {
        match reg.get(q) {
            Ok(Some(entry)) => {
                return Ok(Target::Session {
                    backend: (*backend).to_owned(),
                    entry,
                });
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("{e}"),
        }
    }
    let prefixed: Vec<usize> = (0..runs.len())
        .filter(|&i| runs[i].1.run_id.starts_with(q))
        .collect();
    if prefixed.len() == 1 {
        return found(prefixed[0]);
    }
    let ql = norm_label(q);
    let label_of = |i: usize| runs[i].1.label.as_deref().map(norm_label);
    if let Some(i) = (0..runs.len()).find(|&i| label_of(i).as_deref() == Some(ql.as_str())) {
        return found(i);
    }
    if prefixed.len() > 1 {
        let c: Vec<String> = prefixed.iter().map(|&i| describe_run(&runs[i].1)).collect();
        return Err(ambiguous(q, "runs by run-id prefix", &c));
    }
    let partial: Vec<usize> = (0..runs.len())
        .filter(|&i| label_of(i).is_some_and(|l| l.contains(&ql)))
        .collect();
    if let Some(&first) = partial.first() {
        if partial.iter().all(|&i| label_of(i) == label_of(first)) {
            return found(first);
        }
        let c: Vec<String> = partial.iter().map(|&i| describe_run(&runs[i].1)).collect();
        return Err(ambiguous(q, "runs by label", &c));
    }
    // Sessions whose runs are gone, by label.
    let mut exact: Vec<(&str, Entry)> = Vec::new();
    let mut part: Vec<(&str, Entry)> = Vec::new();
    for (backend, reg) in &regs {
        match reg.find_by_label(q) {
            Ok(entries) => {
                for e in entries {
                    if e.label.as_deref().map(norm_label).as_deref() == Some(ql.as_str()) {
                        exact.push((backend, e));
                    } else {
                        part.push((backend, e));
                    }
                }
            }
            Err(e) => tracing::warn!("{e}"),
        }
    }
    let newest_first = |v: &mut Vec<(&str, Entry)>| {
        v.sort_by_key(|(_, e)| std::cmp::Reverse(e.last_accessed_micros().unwrap_or(i64::MIN)));
    };
    newest_first(&mut exact);
    newest_first(&mut part);
    let pick = |(backend, entry): (&str, Entry)| Target::Session {
        backend: backend.to_owned(),
        entry,
    };
    if let Some(first) = exact.into_iter().next() {
        return Ok(pick(first));
    }
    if let Some(first) = part.first() {
        let first_label = first.1.label.as_deref().map(norm_label);
        if part
            .iter()
            .all(|(_, e)| e.label.as_deref().map(norm_label) == first_label)
        {
            let first = part.swap_remove(0);
            return Ok(pick(first));
        }
        let c: Vec<String> = part.iter().map(|(b, e)| describe_entry(b, e)).collect();
        return Err(ambiguous(q, "sessions by label", &c));
    }
    Err(Error::Usage(format!(
        "no run or session matches {q:?} (tried run ids, run-id prefixes, session ids and \
         labels); see `clawrun list --all`"
    )))
}

/// Like [`resolve`], but the name must be a run with a run directory.
///
/// # Errors
/// As [`resolve`]; also [`Error::Usage`] for a session known only from a
/// registry.
pub fn resolve_run(paths: &Paths, query: &str) -> Result<Run> {
    match resolve(paths, query)? {
        Target::Run(run) => Ok(run),
        Target::Session { backend, entry } => Err(Error::Usage(format!(
            "{:?} is a {backend} session in the registry without a run directory (deleted, or \
             started by another tool): see `clawrun sessions show {}`, or continue it with \
             `clawrun resume {}`",
            entry.id, entry.id, entry.id
        ))),
    }
}

// ---------------------------------------------------------------------------
// list
// ---------------------------------------------------------------------------

/// Which runs `list` shows, by status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Exactly this status.
    Is(RunStatus),
    /// Starting or running.
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
                return Err(Error::Usage(format!(
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
#[derive(Debug, Clone, PartialEq, Serialize)]
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
}

impl RunSummary {
    fn new(dir: &RunDir, r: &RunRecord, now: i64) -> Self {
        RunSummary {
            run_id: r.run_id.clone(),
            status: r.shown_status().to_owned(),
            backend: r.backend.clone(),
            label: r.label.clone(),
            project: r.project.clone(),
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
/// active ones and those created or ended in the last [`DEFAULT_LIST_HOURS`].
/// Stale records (runner gone) are reaped first, so "running" is true.
pub fn list(paths: &Paths, all: bool, status: Option<StatusFilter>, now: i64) -> Vec<RunSummary> {
    let runs_dir = paths.runs_dir();
    // Reaps records whose runner died (marks them crashed, kills leftovers).
    let _ = run::active_runs(&runs_dir);
    let since = now - DEFAULT_LIST_HOURS * 3600;
    runs_newest_first(paths)
        .iter()
        .filter(|(_, r)| {
            all || !r.status.is_done()
                || r.ended_at.unwrap_or(r.created_at).max(r.created_at) >= since
        })
        .filter(|(_, r)| status.is_none_or(|f| f.matches(r)))
        .map(|(d, r)| RunSummary::new(d, r, now))
        .collect()
}

fn fmt_cost(cost: Option<f64>) -> String {
    match cost {
        Some(c) => format!("${c:.4}"),
        None => "-".to_owned(),
    }
}

fn clip(s: &str, n: usize) -> String {
    let mut it = s.chars();
    let head: String = it.by_ref().take(n).collect();
    if it.next().is_some() {
        format!(
            "{}…",
            head.chars().take(n.saturating_sub(1)).collect::<String>()
        )
    } else {
        head
    }
}

/// `list` as a table.
pub fn render_list(runs: &[RunSummary]) -> String {
    let mut out = format!(
        "{:<13} {:<7} {:>5} {:>5} {:>9}  {:<22}  {:<24}  {}\n",
        "STATUS", "BACKEND", "AGE", "DUR", "COST", "RUN ID", "LABEL", "PROJECT"
    );
    for r in runs {
        out.push_str(&format!(
            "{:<13} {:<7} {:>5} {:>5} {:>9}  {:<22}  {:<24}  {}\n",
            r.status,
            r.backend,
            timefmt::format_age(r.age_secs),
            timefmt::format_age(r.duration_secs),
            fmt_cost(r.cost_usd),
            r.run_id,
            clip(r.label.as_deref().unwrap_or("-"), 24),
            r.project.display()
        ));
    }
    out
}

// ---------------------------------------------------------------------------
// show
// ---------------------------------------------------------------------------

/// Everything `show` prints about a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunDetails {
    /// The run record.
    #[serde(flatten)]
    pub record: RunRecord,
    /// The run directory.
    pub run_dir: PathBuf,
    /// Where its messages go (from request.json).
    pub route: Option<Route>,
    /// The channel type delivering them.
    pub channel: Option<String>,
    /// Whether the runner process is alive.
    pub runner_alive: bool,
    /// Whether the agent's process group is alive.
    pub agent_alive: bool,
    /// Size of the raw stream so far, bytes.
    pub stream_bytes: u64,
    /// How to continue the session, once its id is known.
    pub resume_command: Option<String>,
}

/// Quote `s` for a POSIX shell when it needs it.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:@%+=,".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The details of `run`.
pub fn show(run: &Run) -> RunDetails {
    let spec = run.dir.read_spec().ok();
    let r = &run.record;
    let resume_command = r.resume_id.as_ref().map(|id| {
        format!(
            "clawrun resume {} \"<next task>\"   (= clawrun run --backend {} -p {} --resume {} -t \"<next task>\")",
            r.run_id,
            r.backend,
            shell_quote(&r.project.display().to_string()),
            shell_quote(id)
        )
    });
    RunDetails {
        record: r.clone(),
        run_dir: run.dir.path.clone(),
        route: spec.as_ref().map(|s| s.route.clone()),
        channel: spec.map(|s| s.channel),
        runner_alive: !r.status.is_done() && runner_alive(r),
        agent_alive: agent_alive(r),
        stream_bytes: std::fs::metadata(run.dir.file(files::STREAM)).map_or(0, |m| m.len()),
        resume_command,
    }
}

fn local_time(secs: i64) -> String {
    timefmt::format_local_iso(secs.saturating_mul(1_000_000)).unwrap_or_else(|| secs.to_string())
}

/// `show` as text.
pub fn render_details(d: &RunDetails, now: i64) -> String {
    let r = &d.record;
    let mut lines: Vec<(&str, String)> = Vec::new();
    let alive = |b: bool| if b { "alive" } else { "gone" };
    let mut status = r.shown_status().to_owned();
    if let Some(since) = r.waiting_since {
        status.push_str(&format!(
            " for input since {} (`clawrun respond {}`)",
            local_time(since),
            r.run_id
        ));
    }
    lines.push(("status", status));
    let mut backend = r.backend.clone();
    if let Some(m) = &r.model {
        backend.push_str(&format!(", model {m}"));
    }
    if let Some(v) = &r.cli_version {
        backend.push_str(&format!(", CLI {v}"));
    }
    lines.push(("backend", backend));
    if let Some(l) = &r.label {
        lines.push(("label", l.clone()));
    }
    lines.push(("project", r.project.display().to_string()));
    lines.push(("task", r.task_summary.replace('\n', " ")));
    if let Some(k) = &r.session_key {
        lines.push(("session key", k.clone()));
    }
    if let Some(route) = &d.route {
        let mut s = route.channel.as_str().to_owned();
        if let Some(t) = &route.target {
            s.push_str(&format!(" → {t}"));
        }
        if let Some(t) = &route.thread_id {
            s.push_str(&format!(" (thread {t})"));
        }
        if let Some(c) = &d.channel {
            s.push_str(&format!(" via {c}"));
        }
        lines.push(("route", s));
    }
    lines.push((
        "runner pid",
        format!("{} ({})", r.runner_pid, alive(d.runner_alive)),
    ));
    if let Some(p) = r.agent_pid {
        lines.push(("agent pid", format!("{p} ({})", alive(d.agent_alive))));
    }
    lines.push((
        "created",
        format!(
            "{} ({} ago)",
            local_time(r.created_at),
            timefmt::format_age(now - r.created_at)
        ),
    ));
    if let Some(e) = r.ended_at {
        lines.push(("ended", local_time(e)));
    }
    lines.push((
        "duration",
        format!(
            "{}{}",
            timefmt::format_age(r.duration_secs(now)),
            if r.status.is_done() { "" } else { " so far" }
        ),
    ));
    lines.push((
        "usage",
        format!(
            "{} input ({} cached), {} output tokens; {} tool calls",
            r.usage.input_tokens, r.usage.cached_input_tokens, r.usage.output_tokens, r.tool_calls
        ),
    ));
    lines.push(("cost", fmt_cost(r.cost_usd)));
    if let Some(c) = r.exit_code {
        lines.push(("exit code", c.to_string()));
    }
    lines.push(("output", r.output_file.display().to_string()));
    lines.push(("stream", format!("{} bytes", d.stream_bytes)));
    if let Some(e) = &r.error {
        lines.push(("error", e.clone()));
    }
    if let Some(f) = &r.resumed_from {
        lines.push(("resumed from", f.clone()));
    }
    if let Some(id) = &r.resume_id {
        lines.push(("session id", id.clone()));
    }
    if let Some(c) = &d.resume_command {
        lines.push(("resume", c.clone()));
    }
    lines.push(("run dir", d.run_dir.display().to_string()));
    let mut out = format!("Run {}\n", r.run_id);
    for (k, v) in lines {
        out.push_str(&format!("  {k:>12}: {v}\n"));
    }
    out
}

// ---------------------------------------------------------------------------
// output
// ---------------------------------------------------------------------------

/// Reads a run's `stream.jsonl` incrementally and turns it into the agent's
/// text with the run's own backend parser: top-level assistant texts, and the
/// final result text when it adds something. Memory is bounded by one chunk
/// plus one partial line (at most 16 MiB; a longer line is
/// skipped with a warning).
#[derive(Debug)]
pub struct StreamText {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
    skipping: bool,
    parser: AnyParser,
    last_text: Option<String>,
    max_line: usize,
}

/// The parser `run` was parsed with: its backend, with its backends.toml.
fn parser_for(run: &Run) -> Result<AnyParser> {
    let (backend, file) = match run.dir.read_spec() {
        Ok(spec) => (spec.backend, spec.backends_file),
        Err(_) => (run.record.backend.clone(), None),
    };
    let config = match backends_config::load(file.as_deref()) {
        Ok(c) => c,
        // The user's file may have changed since; the parser does not depend on it.
        Err(_) => backends_config::load(/*user file*/ None)?,
    };
    Ok(config.backend(&backend)?.parser())
}

impl StreamText {
    /// Start reading `run`'s stream from its beginning.
    ///
    /// # Errors
    /// When the run's backend is unknown.
    pub fn open(run: &Run) -> Result<Self> {
        Ok(Self::new(run.dir.file(files::STREAM), parser_for(run)?))
    }

    /// Read the stream at `path` with `parser`, from its beginning.
    pub fn new(path: PathBuf, parser: AnyParser) -> Self {
        Self {
            path,
            offset: 0,
            partial: Vec::new(),
            skipping: false,
            parser,
            last_text: None,
            max_line: MAX_LINE_BYTES,
        }
    }

    /// Read at most one chunk of new bytes and return the text pieces it
    /// completes; `None` at the current end of the file (or when there is no
    /// stream yet).
    ///
    /// # Errors
    /// I/O errors other than a missing file.
    pub fn read_chunk(&mut self) -> Result<Option<Vec<String>>> {
        let mut file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("opening {}", self.path.display()), e)),
        };
        file.seek(SeekFrom::Start(self.offset))
            .map_err(|e| Error::io(format!("reading {}", self.path.display()), e))?;
        let mut buf = vec![0u8; CHUNK_BYTES];
        let n = loop {
            match file.read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(format!("reading {}", self.path.display()), e)),
            }
        };
        if n == 0 {
            return Ok(None);
        }
        self.offset += n as u64;
        let mut pieces = Vec::new();
        let mut rest = &buf[..n];
        while let Some(i) = memchr::memchr(b'\n', rest) {
            let (head, tail) = rest.split_at(i);
            rest = &tail[1..];
            if self.skipping {
                self.skipping = false;
                self.partial.clear();
                continue;
            }
            if self.partial.is_empty() {
                self.line(head, &mut pieces);
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(head);
                self.line(&line, &mut pieces);
            }
        }
        if !self.skipping {
            if self.partial.len() + rest.len() > self.max_line {
                tracing::warn!(
                    "a line of {} is longer than {} bytes; skipped",
                    self.path.display(),
                    self.max_line
                );
                self.partial = Vec::new();
                self.skipping = true;
            } else {
                self.partial.extend_from_slice(rest);
            }
        }
        Ok(Some(pieces))
    }

    /// The stream is complete: parse a last line that had no newline.
    pub fn finish(&mut self) -> Vec<String> {
        let mut pieces = Vec::new();
        if !self.skipping && !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line, &mut pieces);
        }
        pieces
    }

    fn line(&mut self, bytes: &[u8], pieces: &mut Vec<String>) {
        let text = String::from_utf8_lossy(bytes);
        let line = text.trim_end_matches('\r');
        if line.trim().is_empty() {
            return;
        }
        for event in self.parser.parse_line(line) {
            let (text, is_final) = match event {
                AgentEvent::AssistantText {
                    text,
                    parent_tool_id: None,
                } => (text, false),
                AgentEvent::TurnCompleted {
                    final_text: Some(text),
                    ..
                } => (text, true),
                // Not text for the reader: a subagent's texts are its own
                // business, deltas are repeated by the complete text.
                AgentEvent::AssistantText {
                    parent_tool_id: Some(_),
                    ..
                }
                | AgentEvent::TurnCompleted {
                    final_text: None, ..
                }
                | AgentEvent::SessionStarted { .. }
                | AgentEvent::TextDelta { .. }
                | AgentEvent::Thinking
                | AgentEvent::ToolStarted { .. }
                | AgentEvent::ToolFinished { .. }
                | AgentEvent::SubagentStarted { .. }
                | AgentEvent::SubagentFinished { .. }
                | AgentEvent::SubagentProgress { .. }
                | AgentEvent::UnknownEvent { .. }
                | AgentEvent::Usage { .. }
                | AgentEvent::ApiRetry { .. }
                | AgentEvent::RateLimited { .. }
                | AgentEvent::TurnFailed { .. }
                | AgentEvent::Warning { .. } => continue,
            };
            if text.trim().is_empty() {
                continue;
            }
            // Claude's result repeats the last text: print it once.
            let repeat = is_final
                && self
                    .last_text
                    .as_deref()
                    .is_some_and(|l| l.trim() == text.trim());
            if !repeat {
                self.last_text = Some(text.clone());
                pieces.push(text);
            }
        }
    }
}

/// The agent's text of a run (`output` without `--follow`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputText {
    /// Run id.
    pub run_id: String,
    /// Status word when read.
    pub status: String,
    /// The last lines of text.
    pub lines: Vec<String>,
    /// Whether earlier lines were left out.
    pub truncated: bool,
}

/// Keeps the last `max` lines (0 = all).
#[derive(Debug)]
struct TailLines {
    max: usize,
    lines: VecDeque<String>,
    truncated: bool,
}

impl TailLines {
    fn new(max: usize) -> Self {
        Self {
            max,
            lines: VecDeque::new(),
            truncated: false,
        }
    }

    fn push(&mut self, piece: &str) {
        for l in piece.lines() {
            self.lines.push_back(l.to_owned());
            if self.max > 0 && self.lines.len() > self.max {
                self.lines.pop_front();
                self.truncated = true;
            }
        }
    }
}

/// The last `max_lines` lines (0 = all) of the agent's text so far.
///
/// # Errors
/// I/O errors reading the stream; an unknown backend.
pub fn output_text(run: &Run, max_lines: usize) -> Result<OutputText> {
    let record = run.dir.read_record().unwrap_or_else(|_| run.record.clone());
    let mut reader = StreamText::open(run)?;
    let mut tail = TailLines::new(max_lines);
    while let Some(pieces) = reader.read_chunk()? {
        pieces.iter().for_each(|p| tail.push(p));
    }
    if record.status.is_done() {
        reader.finish().iter().for_each(|p| tail.push(p));
    }
    Ok(OutputText {
        run_id: record.run_id,
        status: record.status.as_str().to_owned(),
        lines: tail.lines.into(),
        truncated: tail.truncated,
    })
}

/// Copy the raw stream (`output --full`) to `out`; returns the bytes copied.
///
/// # Errors
/// I/O errors (a missing stream copies nothing).
pub fn copy_stream(run: &Run, out: &mut dyn Write) -> Result<u64> {
    let path = run.dir.file(files::STREAM);
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::io(format!("opening {}", path.display()), e)),
    };
    io::copy(&mut file, out).map_err(|e| Error::io(format!("copying {}", path.display()), e))
}

/// Options of `output --follow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowOptions {
    /// Lines of the text so far to print first (0 = all). Ignored with `raw`.
    pub lines: usize,
    /// Follow the raw stream instead of the text.
    pub raw: bool,
    /// One JSON object per line: `{"type":"text","text":…}`, then
    /// `{"type":"end",…}`. Ignored with `raw` (the stream is JSON lines already).
    pub json: bool,
    /// How often to look for new lines.
    pub poll: Duration,
}

/// How `output --follow` ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FollowEnd {
    /// Run id.
    pub run_id: String,
    /// The run's status word at the end.
    pub status: String,
    /// The runner died without finishing the run (its record says so now).
    pub runner_gone: bool,
    /// The reader of our output went away (broken pipe): we stopped early.
    #[serde(skip)]
    pub reader_gone: bool,
}

/// Print the agent's text (or the raw stream) and keep printing what is
/// appended until the run is done, like `tail -f` that knows when to stop.
/// The stream file is polled (it is a plain file the runner appends to);
/// partial lines wait for their newline. Stops when `run.json` says done
/// (after reading everything written before that), or when the runner is gone
/// without finishing (the record is then reaped to `crashed`).
///
/// # Errors
/// I/O errors reading the stream or writing `out` (except a broken pipe,
/// which ends the follow quietly).
pub fn follow(run: &Run, opts: &FollowOptions, out: &mut dyn Write) -> Result<FollowEnd> {
    let mut end = FollowEnd {
        run_id: run.record.run_id.clone(),
        status: run.record.status.as_str().to_owned(),
        runner_gone: false,
        reader_gone: false,
    };
    match follow_inner(run, opts, out, &mut end) {
        Ok(()) => Ok(end),
        Err(FollowError::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
            end.reader_gone = true;
            Ok(end)
        }
        Err(FollowError::Write(e)) => Err(Error::io("writing the output", e)),
        Err(FollowError::Other(e)) => Err(e),
    }
}

enum FollowError {
    Write(io::Error),
    Other(Error),
}

impl From<Error> for FollowError {
    fn from(e: Error) -> Self {
        FollowError::Other(e)
    }
}

fn follow_inner(
    run: &Run,
    opts: &FollowOptions,
    out: &mut dyn Write,
    end: &mut FollowEnd,
) -> std::result::Result<(), FollowError> {
    let w = |r: io::Result<()>| r.map_err(FollowError::Write);
    let emit = |out: &mut dyn Write, piece: &str| -> io::Result<()> {
        if opts.json {
            let v = serde_json::json!({"type": "text", "text": piece});
            writeln!(out, "{v}")
        } else {
            writeln!(out, "{}", piece.trim_end_matches('\n'))
        }
    };
    let mut raw_offset = 0u64;
    let mut reader = if opts.raw {
        None
    } else {
        Some(StreamText::open(run)?)
    };
    // The text so far: only its last `lines` lines.
    if let Some(reader) = reader.as_mut() {
        let mut tail = TailLines::new(opts.lines);
        while let Some(pieces) = reader.read_chunk()? {
            pieces.iter().for_each(|p| tail.push(p));
        }
        for l in &tail.lines {
            w(emit(out, l))?;
        }
        w(out.flush())?;
    }
    loop {
        // Read the record first: when it says done, the runner has flushed
        // and closed the stream, so what we read next is all there is.
        let record = run.dir.read_record().ok();
        let done = record.as_ref().is_some_and(|r| r.status.is_done());
        match reader.as_mut() {
            Some(reader) => {
                while let Some(pieces) = reader.read_chunk()? {
                    for p in &pieces {
                        w(emit(out, p))?;
                    }
                }
                if done {
                    for p in reader.finish() {
                        w(emit(out, &p))?;
                    }
                }
            }
            None => raw_offset += copy_from(run, raw_offset, out)?,
        }
        w(out.flush())?;
        if let Some(r) = &record {
            end.status = r.status.as_str().to_owned();
        }
        if done {
            break;
        }
        if let Some(r) = &record {
            if !runner_alive(r) {
                // Maybe it finished between our two reads.
                if run.dir.read_record().is_ok_and(|r| r.status.is_done()) {
                    continue;
                }
                let _ = run::active_runs(run.dir.path.parent().unwrap_or(Path::new(".")));
                end.runner_gone = true;
                if let Ok(r) = run.dir.read_record() {
                    end.status = r.status.as_str().to_owned();
                }
                break;
            }
        }
        std::thread::sleep(opts.poll);
    }
    if opts.json && !opts.raw {
        let v = serde_json::json!({
            "type": "end",
            "run_id": end.run_id,
            "status": end.status,
            "runner_gone": end.runner_gone,
        });
        w(writeln!(out, "{v}"))?;
        w(out.flush())?;
    }
    Ok(())
}

/// Copy the raw stream from `offset` to its current end; returns the bytes copied.
fn copy_from(run: &Run, offset: u64, out: &mut dyn Write) -> std::result::Result<u64, FollowError> {
    let path = run.dir.file(files::STREAM);
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => {
            return Err(FollowError::Other(Error::io(
                format!("opening {}", path.display()),
                e,
            )));
        }
    };
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| FollowError::Other(Error::io(format!("reading {}", path.display()), e)))?;
    let mut buf = vec![0u8; CHUNK_BYTES];
    let mut copied = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => return Ok(copied),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(FollowError::Other(Error::io(
                    format!("reading {}", path.display()),
                    e,
                )));
            }
        };
        out.write_all(&buf[..n]).map_err(FollowError::Write)?;
        copied += n as u64;
    }
}

// ---------------------------------------------------------------------------
// kill
// ---------------------------------------------------------------------------

/// How `kill` stopped a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KillPath {
    /// SIGTERM to the runner, which stopped its agent and finished the run
    /// (notification, registry, record).
    Runner,
    /// The runner was gone: the agent's process group was stopped directly
    /// and the record (and registry entry) marked here.
    AgentGroup,
    /// Neither runner nor agent was alive: the stale record was closed.
    NothingAlive,
}

/// What `kill` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KillReport {
    /// Run id.
    pub run_id: String,
    /// The run's final status word (`killed` normally; the run's own outcome
    /// when it finished before the signal took effect).
    pub outcome: String,
    /// How it was stopped.
    pub via: KillPath,
    /// Seconds from the request to the record saying done.
    pub seconds: f64,
    /// The run's error text, as recorded.
    pub error: Option<String>,
    /// Whether the runner exited within the wait (its notifications were
    /// then handed to the channel or left in the outbox).
    pub runner_exited: bool,
}

/// Stop `run` and wait (at most `wait`) until its record says done.
///
/// A live runner gets SIGTERM: its stop path stops the agent's process group
/// (SIGTERM, grace, SIGKILL), and records outcome `killed`, sends the
/// notification and updates the registry, exactly as on a timeout. When the
/// runner is gone but the agent lives, the agent's group is stopped here and
/// the run is recorded `killed` (record and registry; no notification: the
/// runner that owned the channel is gone).
///
/// # Errors
/// [`Error::Usage`] for a finished run; an I/O error when the run is not done
/// within `wait`.
pub fn kill_run(paths: &Paths, run: &Run, wait: Duration) -> Result<KillReport> {
    let started = Instant::now();
    let deadline = started + wait;
    let first = run.dir.read_record()?;
    if first.status.is_done() {
        // A label names the newest run; say so when an older one is the live one.
        let same_label: Vec<String> = match first.label.as_deref().map(norm_label) {
            Some(label) => run::active_runs(&paths.runs_dir())
                .into_iter()
                .filter(|(_, r)| r.label.as_deref().map(norm_label).as_deref() == Some(&label))
                .map(|(_, r)| r.run_id)
                .collect(),
            None => Vec::new(),
        };
        return Err(Error::Usage(format!(
            "run {} already finished ({}{}); there is nothing to kill{}",
            first.run_id,
            first.status.as_str(),
            first
                .ended_at
                .map(|e| format!(", {} ago", timefmt::format_age(now_secs() - e)))
                .unwrap_or_default(),
            if same_label.is_empty() {
                String::new()
            } else {
                format!(
                    "; running with the same label: {} (name it by run id)",
                    same_label.join(", ")
                )
            }
        )));
    }
    let mut signalled: Option<u32> = None;
    let orphan = loop {
        let rec = run.dir.read_record()?;
        if rec.status.is_done() {
            // The runner finished the run: its notification and registry
            // write come right after the record, so wait for it to exit.
            let exit_by = (Instant::now() + RUNNER_EXIT_WAIT).min(deadline.max(Instant::now()));
            let mut runner_exited = !runner_alive(&rec);
            while !runner_exited && Instant::now() < exit_by {
                std::thread::sleep(KILL_POLL);
                runner_exited = !runner_alive(&rec);
            }
            return Ok(KillReport {
                run_id: rec.run_id.clone(),
                outcome: rec.status.as_str().to_owned(),
                via: KillPath::Runner,
                seconds: started.elapsed().as_secs_f64(),
                error: rec.error.clone(),
                runner_exited,
            });
        }
        if runner_alive(&rec) {
            // The runner handles SIGTERM as "kill": the same stop path as its
            // timeout. A record naming a new runner (a detached runner takes
            // over from the `run --detach` that created the record) gets it too.
            if signalled != Some(rec.runner_pid) {
                kill(Pid::from_raw(rec.runner_pid as i32), Signal::SIGTERM).map_err(|e| {
                    Error::io(
                        format!("signalling the runner (pid {})", rec.runner_pid),
                        io::Error::from(e),
                    )
                })?;
                signalled = Some(rec.runner_pid);
            }
        } else if let Some(orphan) = settled_without_runner(run, &rec, deadline)? {
            break orphan;
        } else {
            continue;
        }
        if Instant::now() >= deadline {
            return Err(Error::io(
                format!(
                    "sent SIGTERM to the runner (pid {}), but run {} is not done after {}s; \
                     see `clawrun show {}`",
                    rec.runner_pid,
                    rec.run_id,
                    wait.as_secs(),
                    rec.run_id
                ),
                io::Error::from(io::ErrorKind::TimedOut),
            ));
        }
        std::thread::sleep(KILL_POLL);
    };
    // The runner is gone: stop what is left of the agent, then close the record.
    let mut rec = orphan;
    let agent_was_alive = agent_alive(&rec);
    if agent_was_alive {
        let grace = run
            .dir
            .read_spec()
            .map(|s| Duration::from_secs(s.grace_secs))
            .unwrap_or(MAX_ORPHAN_GRACE)
            .min(MAX_ORPHAN_GRACE)
            .min(deadline.saturating_duration_since(Instant::now()));
        stop_group(&rec, grace);
    }
    let (outcome, via, error) = if agent_was_alive {
        (
            Outcome::Killed,
            KillPath::AgentGroup,
            format!(
                "stopped by `clawrun kill`: the runner (pid {}) was gone, so the agent's process \
                 group was stopped directly",
                rec.runner_pid
            ),
        )
    } else if signalled.is_some() {
        (
            Outcome::Killed,
            KillPath::Runner,
            format!(
                "stopped by `clawrun kill`: the runner (pid {}) exited on SIGTERM before it could \
                 record the run",
                rec.runner_pid
            ),
        )
    } else {
        (
            Outcome::Crashed,
            KillPath::NothingAlive,
            format!(
                "the runner (pid {}) exited without finishing the run",
                rec.runner_pid
            ),
        )
    };
    let now = now_secs();
    rec.status = RunStatus::Done(outcome);
    rec.ended_at = Some(now);
    rec.updated_at = now;
    rec.error = Some(error.clone());
    run.dir.write_record(&rec)?;
    mark_registry(paths, &rec);
    Ok(KillReport {
        run_id: rec.run_id.clone(),
        outcome: outcome.as_str().to_owned(),
        via,
        seconds: started.elapsed().as_secs_f64(),
        error: Some(error),
        runner_exited: true,
    })
}

/// The runner named by `rec` is gone. `Some(record)` when the run is really
/// orphaned; `None` when the record changed meanwhile (finished, or taken over
/// by a new runner), so the caller looks again. A `starting` record is given a
/// moment: its detached runner may be about to write its own pid.
fn settled_without_runner(
    run: &Run,
    rec: &RunRecord,
    deadline: Instant,
) -> Result<Option<RunRecord>> {
    let settle_until = if rec.status == RunStatus::Starting {
        (Instant::now() + STARTING_SETTLE).min(deadline)
    } else {
        Instant::now()
    };
    loop {
        let again = run.dir.read_record()?;
        if again.status.is_done() || again.runner_pid != rec.runner_pid {
            return Ok(None);
        }
        if Instant::now() >= settle_until {
            return Ok(Some(again));
        }
        std::thread::sleep(KILL_POLL);
    }
}

/// SIGTERM the agent's group, wait up to `grace`, SIGKILL whatever is left.
fn stop_group(rec: &RunRecord, grace: Duration) {
    let Some(pgid) = rec.agent_pid else {
        return;
    };
    let pg = Pid::from_raw(pgid as i32);
    let _ = killpg(pg, Signal::SIGTERM);
    let until = Instant::now() + grace;
    while agent_alive(rec) && Instant::now() < until {
        std::thread::sleep(KILL_POLL);
    }
    process::kill_group(pgid);
}

/// Set the registry status of `rec`'s session to the run's, unless a newer
/// run of the session has taken the entry over.
fn mark_registry(paths: &Paths, rec: &RunRecord) {
    let Some(id) = &rec.resume_id else {
        return;
    };
    let Ok(regs) = registries(paths) else {
        return;
    };
    let Some((_, reg)) = regs.iter().find(|(b, _)| *b == rec.backend) else {
        return;
    };
    let status: Status = registry_status(rec.status);
    let result = reg.update(id, |e| {
        if e.run_id.as_deref().is_none_or(|r| r == rec.run_id) {
            e.status = Some(status);
            e.duration_s = Some(rec.duration_secs(now_secs()) as f64);
        }
    });
    if let Err(e) = result {
        tracing::warn!("updating the registry entry of {id}: {e}");
    }
}

// ---------------------------------------------------------------------------
// stats
// ---------------------------------------------------------------------------

/// Where `stats` figures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A run directory's `run.json`.
    Run,
    /// A registry entry whose run directory is gone (its latest run only).
    Registry,
}

#[derive(Debug, Clone)]
struct Sample {
    source: Source,
    run_id: Option<String>,
    session_id: Option<String>,
    label: Option<String>,
    backend: String,
    status: String,
    done: bool,
    at: i64,
    duration: Option<f64>,
    cost: Option<f64>,
    input: u64,
    output: u64,
}

/// How many samples each source gave.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Sources {
    /// Runs with a run directory.
    pub runs: u64,
    /// Registry entries without one.
    pub registry: u64,
}

/// Durations of finished runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct DurationStats {
    /// Finished runs with a known duration.
    pub count: u64,
    /// Median, seconds.
    pub median_secs: Option<f64>,
    /// Mean, seconds.
    pub mean_secs: Option<f64>,
}

/// Cost and tokens of a group of runs (one day, one backend).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Runs.
    pub runs: u64,
    /// Cost in USD (runs without a reported cost count as 0).
    pub cost_usd: f64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
}

impl Totals {
    fn add(&mut self, s: &Sample) {
        self.runs += 1;
        self.cost_usd += s.cost.unwrap_or(0.0);
        self.input_tokens += s.input;
        self.output_tokens += s.output;
    }

    fn rounded(mut self) -> Self {
        self.cost_usd = round_usd(self.cost_usd);
        self
    }
}

/// One of the most expensive runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostlyRun {
    /// Where it comes from.
    pub source: Source,
    /// Run id, when known.
    pub run_id: Option<String>,
    /// Session id, when known.
    pub session_id: Option<String>,
    /// Label.
    pub label: Option<String>,
    /// Backend.
    pub backend: String,
    /// Status word.
    pub status: String,
    /// Cost in USD.
    pub cost_usd: f64,
    /// Local day (`YYYY-MM-DD`).
    pub day: String,
}

/// `stats` figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    /// The window in days (`None` = everything).
    pub days: Option<u32>,
    /// Start of the window (Unix seconds).
    pub since: Option<i64>,
    /// How many runs came from each source.
    pub sources: Sources,
    /// Runs counted.
    pub runs: u64,
    /// Runs by status word.
    pub by_status: BTreeMap<String, u64>,
    /// Durations of finished runs.
    pub duration: DurationStats,
    /// Cost of all counted runs, USD.
    pub total_cost_usd: f64,
    /// Runs with a reported cost.
    pub runs_with_cost: u64,
    /// Tokens of all counted runs.
    pub input_tokens: u64,
    /// Tokens of all counted runs.
    pub output_tokens: u64,
    /// Per local day, oldest first.
    pub per_day: BTreeMap<String, Totals>,
    /// Per backend.
    pub per_backend: BTreeMap<String, Totals>,
    /// The [`TOP_EXPENSIVE`] most expensive runs, most expensive first.
    pub most_expensive: Vec<CostlyRun>,
}

fn round_usd(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn local_day(secs: i64) -> String {
    timefmt::format_local_iso(secs.saturating_mul(1_000_000))
        .map(|s| s.chars().take(10).collect())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Figures over the runs of the last `days` days (`None` = all): run records
/// first, then registry entries of sessions whose latest run has no run
/// directory any more (for those only the latest run is known).
///
/// # Errors
/// Registry errors (a corrupt registry is reported, not skipped: the figures
/// would be silently wrong).
pub fn stats(paths: &Paths, days: Option<u32>, now: i64) -> Result<Stats> {
    let runs_dir = paths.runs_dir();
    let _ = run::active_runs(&runs_dir);
    let since = days.map(|d| now - i64::from(d) * 86_400);
    let in_window = |at: i64| since.is_none_or(|s| at >= s);
    let runs = runs_newest_first(paths);
    let mut samples: Vec<Sample> = Vec::new();
    for (_, r) in &runs {
        if !in_window(r.created_at) {
            continue;
        }
        let done = r.status.is_done();
        samples.push(Sample {
            source: Source::Run,
            run_id: Some(r.run_id.clone()),
            session_id: r.resume_id.clone(),
            label: r.label.clone(),
            backend: r.backend.clone(),
            status: r.status.as_str().to_owned(),
            done,
            at: r.created_at,
            duration: done.then(|| r.duration_secs(now) as f64),
            cost: r.cost_usd,
            input: r.usage.input_tokens,
            output: r.usage.output_tokens,
        });
    }
    let known: std::collections::HashSet<&str> =
        runs.iter().map(|(_, r)| r.run_id.as_str()).collect();
    for (backend, reg) in registries(paths)? {
        for e in reg.list(None)? {
            if e.run_id.as_deref().is_some_and(|id| known.contains(id)) {
                continue;
            }
            let Some(at) = e
                .last_accessed_micros()
                .or_else(|| e.created_at.as_deref().and_then(timefmt::parse_iso_micros))
                .map(|us| us.div_euclid(1_000_000))
            else {
                continue;
            };
            if !in_window(at) {
                continue;
            }
            let status = e
                .status
                .as_ref()
                .map_or("unknown".to_owned(), |s| s.as_str().to_owned());
            samples.push(Sample {
                source: Source::Registry,
                run_id: e.run_id.clone(),
                session_id: Some(e.id.clone()),
                label: e.label.clone(),
                backend: e.backend.clone().unwrap_or_else(|| backend.to_owned()),
                done: !matches!(e.status, Some(Status::Running)),
                status,
                at,
                duration: e.duration_s,
                cost: e.cost_usd,
                input: e.input_tokens.unwrap_or(0),
                output: e.output_tokens.unwrap_or(0),
            });
        }
    }
    Ok(summarize(samples, days, since))
}

fn summarize(samples: Vec<Sample>, days: Option<u32>, since: Option<i64>) -> Stats {
    let mut sources = Sources::default();
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_day: BTreeMap<String, Totals> = BTreeMap::new();
    let mut per_backend: BTreeMap<String, Totals> = BTreeMap::new();
    let mut durations: Vec<f64> = Vec::new();
    let mut total = Totals::default();
    let mut runs_with_cost = 0;
    for s in &samples {
        match s.source {
            Source::Run => sources.runs += 1,
            Source::Registry => sources.registry += 1,
        }
        *by_status.entry(s.status.clone()).or_default() += 1;
        per_day.entry(local_day(s.at)).or_default().add(s);
        per_backend.entry(s.backend.clone()).or_default().add(s);
        total.add(s);
        if s.cost.is_some() {
            runs_with_cost += 1;
        }
        if let (true, Some(d)) = (s.done, s.duration) {
            durations.push(d);
        }
    }
    durations.sort_by(f64::total_cmp);
    let median = match durations.len() {
        0 => None,
        n if n % 2 == 1 => Some(durations[n / 2]),
        n => Some((durations[n / 2 - 1] + durations[n / 2]) / 2.0),
    };
    let mean =
        (!durations.is_empty()).then(|| durations.iter().sum::<f64>() / durations.len() as f64);
    let mut costly: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.cost.is_some_and(|c| c > 0.0))
        .collect();
    costly.sort_by(|a, b| {
        b.cost
            .unwrap_or(0.0)
            .total_cmp(&a.cost.unwrap_or(0.0))
            .then(b.at.cmp(&a.at))
    });
    let most_expensive = costly
        .into_iter()
        .take(TOP_EXPENSIVE)
        .map(|s| CostlyRun {
            source: s.source,
            run_id: s.run_id.clone(),
            session_id: s.session_id.clone(),
            label: s.label.clone(),
            backend: s.backend.clone(),
            status: s.status.clone(),
            cost_usd: round_usd(s.cost.unwrap_or(0.0)),
            day: local_day(s.at),
        })
        .collect();
    Stats {
        days,
        since,
        sources,
        runs: samples.len() as u64,
        by_status,
        duration: DurationStats {
            count: durations.len() as u64,
            median_secs: median,
            mean_secs: mean,
        },
        total_cost_usd: round_usd(total.cost_usd),
        runs_with_cost,
        input_tokens: total.input_tokens,
        output_tokens: total.output_tokens,
        per_day: per_day.into_iter().map(|(k, v)| (k, v.rounded())).collect(),
        per_backend: per_backend
            .into_iter()
            .map(|(k, v)| (k, v.rounded()))
            .collect(),
        most_expensive,
    }
}

fn fmt_secs(s: Option<f64>) -> String {
    match s {
        Some(s) if s < 60.0 => format!("{s:.0}s"),
        Some(s) if s < 3600.0 => format!("{:.1}min", s / 60.0),
        Some(s) => format!("{:.1}h", s / 3600.0),
        None => "-".to_owned(),
    }
}

/// `stats` as text.
pub fn render_stats(s: &Stats) -> String {
    let mut out = String::new();
    let window = match s.days {
        Some(d) => format!("the last {d} days"),
        None => "all time".to_owned(),
    };
    out.push_str(&format!(
        "Runs in {window}: {} ({} from run records, {} from the registries for sessions \
         whose run directory is gone)\n",
        s.runs, s.sources.runs, s.sources.registry
    ));
    if s.runs == 0 {
        return out;
    }
    let statuses: Vec<String> = s
        .by_status
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    out.push_str(&format!("  by status: {}\n", statuses.join(", ")));
    out.push_str(&format!(
        "  duration:  median {}, mean {} (over {} finished)\n",
        fmt_secs(s.duration.median_secs),
        fmt_secs(s.duration.mean_secs),
        s.duration.count
    ));
    out.push_str(&format!(
        "  cost:      ${:.4} total ({} of {} runs reported a cost)\n",
        s.total_cost_usd, s.runs_with_cost, s.runs
    ));
    out.push_str(&format!(
        "  tokens:    {} input, {} output\n",
        s.input_tokens, s.output_tokens
    ));
    out.push_str("Per day:\n");
    for (day, t) in &s.per_day {
        out.push_str(&format!(
            "  {day}  {:>4} runs  ${:>9.4}  {:>10} in  {:>9} out\n",
            t.runs, t.cost_usd, t.input_tokens, t.output_tokens
        ));
    }
    out.push_str("Per backend:\n");
    for (b, t) in &s.per_backend {
        out.push_str(&format!(
            "  {b:<10}  {:>4} runs  ${:>9.4}  {:>10} in  {:>9} out\n",
            t.runs, t.cost_usd, t.input_tokens, t.output_tokens
        ));
    }
    if !s.most_expensive.is_empty() {
        out.push_str("Most expensive:\n");
        for c in &s.most_expensive {
            let name = c
                .run_id
                .clone()
                .or_else(|| c.session_id.clone())
                .unwrap_or_default();
            out.push_str(&format!(
                "  ${:>9.4}  {}  {:<6} {:<9} {}{}\n",
                c.cost_usd,
                name,
                c.backend,
                c.status,
                c.label.as_deref().unwrap_or("-"),
                if c.source == Source::Registry {
                    "  (registry)"
                } else {
                    ""
                }
            ));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// resume
// ---------------------------------------------------------------------------

/// What `resume` was asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResumeRequest {
    /// The task text (default [`DEFAULT_RESUME_TASK`]).
    pub task: Option<String>,
    /// Or a file with the task (`-` = standard input), passed through.
    pub task_file: Option<PathBuf>,
    /// Fork into a new session.
    pub fork: bool,
    /// Return once the agent started.
    pub detach: bool,
    /// JSON output.
    pub json: bool,
    /// `--timeout`.
    pub timeout_secs: Option<u64>,
    /// `--model`.
    pub model: Option<String>,
    /// `--session` (default: the resumed run's session key).
    pub session: Option<String>,
}

/// The `clawrun run` a resume becomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResumePlan {
    /// Where the session was found.
    pub source: Source,
    /// The run it continues, when it came from a run.
    pub from_run: Option<String>,
    /// Backend.
    pub backend: String,
    /// Session / thread id passed to `--resume`.
    pub resume_id: String,
    /// Project directory.
    pub project: PathBuf,
    /// Label carried over.
    pub label: Option<String>,
    /// OpenClaw session key the new run reports to.
    pub session_key: Option<String>,
    /// Arguments of the clawrun executable (global flags, then `run …`).
    #[serde(skip)]
    pub args: Vec<OsString>,
    /// The task, given to the new run on standard input (never argv).
    #[serde(skip)]
    pub stdin_task: Option<String>,
}

/// Work out the `clawrun run` that continues `target`'s session: its backend,
/// resume id and project come from the run (or from the registry entry),
/// `--label` and `--session` are carried over, the task goes on stdin.
///
/// # Errors
/// [`Error::Usage`] when the run never announced a session (nothing to
/// resume), or a registry entry lacks its project.
pub fn plan_resume(
    paths: &Paths,
    backends_file: Option<&Path>,
    target: &Target,
    req: &ResumeRequest,
) -> Result<ResumePlan> {
    let (source, from_run, backend, resume_id, project, label, session_key) = match target {
        Target::Run(run) => {
            let r = &run.record;
            let Some(id) = r.resume_id.clone().or_else(|| r.resumed_from.clone()) else {
                return Err(Error::Usage(format!(
                    "run {} has no session id ({}: the agent never announced one), so there is \
                     nothing to resume; start a new run instead",
                    r.run_id,
                    r.status.as_str()
                )));
            };
            (
                Source::Run,
                Some(r.run_id.clone()),
                r.backend.clone(),
                id,
                r.project.clone(),
                r.label.clone(),
                r.session_key.clone(),
            )
        }
        Target::Session { backend, entry } => {
            let Some(project) = entry.project_dir.clone().filter(|p| !p.is_empty()) else {
                return Err(Error::Usage(format!(
                    "session {} has no project_dir in the {backend} registry; resume it with \
                     `clawrun run --backend {backend} -p <project> --resume {}`",
                    entry.id, entry.id
                )));
            };
            (
                Source::Registry,
                entry.run_id.clone(),
                backend.clone(),
                entry.id.clone(),
                PathBuf::from(project),
                entry.label.clone(),
                entry.openclaw_session.clone(),
            )
        }
    };
    let session_key = req.session.clone().or(session_key);
    let mut args: Vec<OsString> = vec![
        "--state-dir".into(),
        paths.state_dir.clone().into(),
        "--config".into(),
        paths.config_file.clone().into(),
    ];
    if let Some(f) = backends_file {
        args.push("--backends".into());
        args.push(f.into());
    }
    args.extend(["run", "--backend", backend.as_str(), "-p"].map(OsString::from));
    args.push(project.clone().into());
    args.push("--resume".into());
    args.push(resume_id.clone().into());
    if req.fork {
        args.push("--fork".into());
    }
    if let Some(l) = &label {
        args.push("--label".into());
        args.push(l.into());
    }
    if let Some(k) = &session_key {
        args.push("--session".into());
        args.push(k.into());
    }
    if let Some(m) = &req.model {
        args.push("--model".into());
        args.push(m.into());
    }
    if let Some(t) = req.timeout_secs {
        args.push("--timeout".into());
        args.push(t.to_string().into());
    }
    if req.detach {
        args.push("--detach".into());
    }
    if req.json {
        args.push("--json".into());
    }
    args.push("--task-file".into());
    let stdin_task = match &req.task_file {
        Some(path) => {
            args.push(path.clone().into());
            None
        }
        None => {
            args.push("-".into());
            Some(
                req.task
                    .clone()
                    .filter(|t| !t.trim().is_empty())
                    .unwrap_or_else(|| DEFAULT_RESUME_TASK.to_owned()),
            )
        }
    };
    Ok(ResumePlan {
        source,
        from_run,
        backend,
        resume_id,
        project,
        label,
        session_key,
        args,
        stdin_task,
    })
}

/// Become `exe run …` (exec, so signals, output and the exit code are the
/// run's own). The task is handed over on standard input through an unlinked
/// private temporary file, so it never appears in argv (`ps`) and has no size
/// limit. Returns only on failure.
pub fn exec_resume(plan: &ResumePlan, exe: &Path) -> Error {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(&plan.args);
    if let Some(task) = &plan.stdin_task {
        let file = tempfile::tempfile().and_then(|mut f| {
            f.write_all(task.as_bytes())?;
            f.seek(SeekFrom::Start(0))?;
            Ok(f)
        });
        match file {
            Ok(f) => {
                cmd.stdin(f);
            }
            Err(e) => return Error::io("writing the task to a temporary file", e),
        }
    }
    let e = cmd.exec();
    Error::io(format!("starting {}", exe.display()), e)
}

// ---------------------------------------------------------------------------
// Capacity
// ---------------------------------------------------------------------------

/// How many runs are active now (stale records are reaped first).
pub fn active_count(paths: &Paths) -> usize {
    run::active_runs(&paths.runs_dir()).len()
}

/// Refuse a new run when `max` runs are already active.
///
/// # Errors
/// [`Error::Usage`] saying how many run, the limit, and what to do.
pub fn check_capacity(paths: &Paths, max: u32) -> Result<()> {
    let n = active_count(paths);
    if n < max as usize {
        return Ok(());
    }
    let runs = if n == 1 {
        "1 run is running".to_owned()
    } else {
        format!("{n} runs are running")
    };
    Err(Error::Usage(format!(
        "{runs} (the limit is {max}): wait, stop one with `clawrun kill`, or pass --queue"
    )))
}

/// Wait until fewer than `max` runs are active, looking every `poll`.
/// Returns how many were active when a slot opened.
pub async fn wait_for_slot(paths: &Paths, max: u32, poll: Duration) -> usize {
    loop {
        let n = active_count(paths);
        if n < max as usize {
            return n;
        }
        tokio::time::sleep(poll).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_lines_keeps_the_last_n() {
        let mut t = TailLines::new(3);
        t.push("a\nb");
        t.push("c\nd\ne");
        assert_eq!(Vec::from(t.lines.clone()), vec!["c", "d", "e"]);
        assert!(t.truncated);
        let mut all = TailLines::new(0);
        all.push("a\nb\nc\nd");
        assert_eq!(all.lines.len(), 4);
        assert!(!all.truncated);
    }

    fn claude_text_line(text: &str) -> String {
        serde_json::json!({
            "type": "assistant",
            "message": {"id": "m", "role": "assistant", "content": [{"type": "text", "text": text}]},
            "parent_tool_use_id": null,
            "session_id": "s"
        })
        .to_string()
    }

    fn drain(r: &mut StreamText) -> Vec<String> {
        let mut all = Vec::new();
        while let Some(p) = r.read_chunk().unwrap_or_default() {
            all.extend(p);
        }
        all
    }

    #[test]
    fn stream_text_waits_for_partial_lines_and_skips_overlong_ones() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("stream.jsonl");
        let mut f = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut r = StreamText::new(path.clone(), crate::backends::ClaudeParser::new().into());
        r.max_line = 300;
        assert!(drain(&mut r).is_empty());
        let one = claude_text_line("one");
        let (head, tail) = one.split_at(20);
        write!(f, "{head}").unwrap_or_default();
        assert!(drain(&mut r).is_empty(), "half a line is not parsed");
        writeln!(f, "{tail}").unwrap_or_default();
        assert_eq!(drain(&mut r), vec!["one"]);
        // Longer than the limit, arriving in pieces: skipped, the next line is read.
        let long = claude_text_line(&"x".repeat(400));
        write!(f, "{}", &long[..200]).unwrap_or_default();
        assert!(drain(&mut r).is_empty());
        write!(f, "{}", &long[200..]).unwrap_or_default();
        assert!(drain(&mut r).is_empty());
        writeln!(f).unwrap_or_default();
        writeln!(f, "{}", claude_text_line("two")).unwrap_or_default();
        // Last line without its newline: only `finish` parses it.
        write!(f, "{}", claude_text_line("three")).unwrap_or_default();
        assert_eq!(drain(&mut r), vec!["two"]);
        assert_eq!(r.finish(), vec!["three"]);
        assert!(r.partial.capacity() <= 400, "{}", r.partial.capacity());
    }

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

    #[test]
    fn median_and_mean() {
        let mk = |d: f64, cost: f64| Sample {
            source: Source::Run,
            run_id: Some(format!("r{d}")),
            session_id: None,
            label: None,
            backend: "claude".into(),
            status: "completed".into(),
            done: true,
            at: 0,
            duration: Some(d),
            cost: Some(cost),
            input: 1,
            output: 2,
        };
        let s = summarize(
            vec![mk(10.0, 0.1), mk(40.0, 0.3), mk(20.0, 0.2), mk(30.0, 0.0)],
            None,
            None,
        );
        assert_eq!(s.duration.median_secs, Some(25.0));
        assert_eq!(s.duration.mean_secs, Some(25.0));
        assert_eq!(s.total_cost_usd, 0.6);
        // Zero-cost runs are not "expensive".
        assert_eq!(s.most_expensive.len(), 3);
        assert_eq!(s.most_expensive[0].cost_usd, 0.3);
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("/a/b-c"), "/a/b-c");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
