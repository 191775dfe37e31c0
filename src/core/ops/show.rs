//! `show`: everything known about one run, as data (`src/cli/render` turns it
//! into text).

use std::path::PathBuf;

use serde::Serialize;

use super::resolve::{Run, agent_alive, runner_alive};
use crate::core::config::ChannelKind;
use crate::core::notify;
use crate::core::notify::outbox::{EntryStatus, Item, Outbox};
use crate::core::notify::stale;
use crate::core::routing::Route;
use crate::core::store::run::{RunDir, RunRecord, files};

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
    pub channel: Option<ChannelKind>,
    /// Whether the runner process is alive.
    pub runner_alive: bool,
    /// Whether the agent's process group is alive.
    pub agent_alive: bool,
    /// Size of the raw stream so far, bytes.
    pub stream_bytes: u64,
    /// How to continue the session, once its id is known, or why it cannot be
    /// (`not possible: …`).
    pub resume_command: Option<String>,
    /// Its safety preset (from request.json).
    pub safety: Option<crate::core::config::Safety>,
    /// The preset and the CLI option it maps to, or the explicit flag that won
    /// ([`crate::backends::RunRequest::safety_summary`]).
    pub safety_summary: Option<String>,
    /// What became of its last wake (`None`: it has none, or not yet).
    pub wake: Option<WakeState>,
}

/// What became of a run's wake of its orchestrating agent, from its outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WakeState {
    /// The wake's idempotency key.
    pub key: String,
    /// `delivered`, `pending`, `skipped` (a later run of its chain exists)
    /// or `abandoned` (given up).
    pub status: &'static str,
    /// Why it was skipped or given up; while pending, the last error.
    pub reason: Option<String>,
    /// The later run of the chain that made it stale (`skipped` only).
    pub superseded_by: Option<String>,
}

/// The state of the last wake in the outbox of `dir`.
pub fn wake_state(dir: &RunDir) -> Option<WakeState> {
    let entries = Outbox::new(&dir.path).entries().ok()?;
    let wake = entries
        .into_iter()
        .rev()
        .find(|e| matches!(e.item, Item::Wake(_)))?;
    let superseded_by = wake
        .last_error
        .as_deref()
        .filter(|_| wake.status == EntryStatus::Abandoned)
        .and_then(stale::superseded_by)
        .map(str::to_owned);
    let status = match wake.status {
        EntryStatus::Delivered => "delivered",
        EntryStatus::Pending => "pending",
        EntryStatus::Abandoned if superseded_by.is_some() => "skipped",
        EntryStatus::Abandoned => "abandoned",
    };
    Some(WakeState {
        key: wake.key,
        status,
        reason: wake.last_error,
        superseded_by,
    })
}

/// The details of `run`.
pub fn show(run: &Run) -> RunDetails {
    let spec = run.dir.read_spec().ok();
    let r = &run.record;
    let resume_command = notify::resume_fact(
        &r.backend,
        r.resume_id.as_deref(),
        &r.project,
        r.no_resume.as_deref(),
    );
    RunDetails {
        record: r.clone(),
        run_dir: run.dir.path.clone(),
        route: spec.as_ref().map(|s| s.route.clone()),
        safety: spec.as_ref().map(|s| s.request.safety),
        safety_summary: spec.as_ref().map(|s| s.request.safety_summary()),
        channel: spec.map(|s| s.channel),
        runner_alive: !r.status.is_done() && runner_alive(r),
        agent_alive: agent_alive(r),
        stream_bytes: std::fs::metadata(run.dir.file(files::STREAM)).map_or(0, |m| m.len()),
        resume_command,
        wake: wake_state(&run.dir),
    }
}
