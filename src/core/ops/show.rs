//! `show`: everything known about one run, as data (`src/cli/render` turns it
//! into text).

use std::path::PathBuf;

use serde::Serialize;

use super::resolve::{Run, agent_alive, runner_alive};
use crate::core::config::ChannelKind;
use crate::core::notify;
use crate::core::routing::Route;
use crate::core::store::run::{RunRecord, files};

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
    }
}
