//! What a resume carries over: `--resume ID` names a session, and the
//! session's last run decides where the new run reports (its session key and
//! route), its label, and its completion mode and resume chain, unless the
//! flags say otherwise. So the recipe the skill teaches (`clawrun run --resume
//! ID -p DIR --task-file FILE --detach`) reaches the chat the session came
//! from, and counts its iteration, without repeating any routing flag.
//!
//! `--resume` also accepts what clawrun itself prints about a run: a run id
//! (or a wake id, `RUN:wake:N`) becomes the run's session id, or is refused
//! before anything is spawned when the run never announced one.

use std::path::Path;

use crate::backends::{AnyBackend, Backend};
use crate::core::config::ChannelKind;
use crate::core::error::{Error, Result};
use crate::core::model::route::{Route, RouteSource};
use crate::core::store::paths::Paths;
use crate::core::store::registry::Registry;
use crate::core::store::run::{self, ChainPosition, RunDir, RunRecord};

/// The last run of the session a new run resumes: what it inherits.
#[derive(Debug, Clone, PartialEq)]
pub struct LastRun {
    /// Its run id.
    pub run_id: String,
    /// Its OpenClaw session key.
    pub session_key: Option<String>,
    /// Its label.
    pub label: Option<String>,
    /// Its resolved route and channel type (from `request.json`), when its
    /// run directory still has one.
    pub route: Option<(Route, ChannelKind)>,
    /// Its place in its resume chain.
    pub chain: Option<ChainPosition>,
    /// Its own git worktree, which a resume runs in again.
    pub worktree: Option<crate::core::git::RunWorktree>,
    /// Its safety preset (`full` when its request is gone).
    pub safety: crate::core::config::Safety,
}

impl LastRun {
    /// The route to inherit: the last run's, marked as inherited. A console
    /// route chosen because nothing was given is not inherited (the workdir
    /// map or fallback route may apply now).
    pub fn inherited_route(&self) -> Option<(Route, ChannelKind)> {
        let (route, channel) = self.route.clone()?;
        if route.source == RouteSource::Default {
            return None;
        }
        let route = Route {
            source: RouteSource::Inherited {
                run_id: self.run_id.clone(),
            },
            // A reply belongs to the message that launched the last run.
            reply_to: None,
            warnings: Vec::new(),
            ..route
        };
        Some((route, channel))
    }
}

/// A `--resume` value that names a run directory: a run id, or a wake id
/// (`RUN:wake:N`). Only plain names are looked up.
pub(crate) fn named_run(paths: &Paths, value: &str) -> Option<(RunDir, RunRecord)> {
    let name = value.split(':').next().unwrap_or(value);
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return None;
    }
    let dir = RunDir::open(paths.runs_dir().join(name));
    if !dir.path.is_dir() {
        return None;
    }
    dir.read_record().ok().map(|r| (dir, r))
}

/// The session id a `--resume` value means: a session id as it is, a run id
/// (or wake id) as the session its run announced.
///
/// # Errors
/// [`Error::Usage`] for a run of another backend, or a run that has no session
/// id (nothing spawned, exit 2).
pub fn session_id_of(value: &str, backend: &str, paths: &Paths) -> Result<String> {
    let Some((_, record)) = named_run(paths, value) else {
        return Ok(value.to_owned());
    };
    if record.backend != backend {
        return Err(Error::usage(format!(
            "--resume {value} names a {} run ({}), not a {backend} session; use --backend {}",
            record.backend, record.run_id, record.backend
        )));
    }
    match record.resume_id.clone().or(record.resumed_from.clone()) {
        Some(id) => Ok(id),
        None => Err(Error::usage(format!(
            "--resume {value} is the run id of run {}, which has no session id ({}: the agent \
             never announced one); --resume takes a session id (resume_id= in the wake, the \
             Resume line of the result message), or start a new run",
            record.run_id,
            record.status.as_str()
        ))),
    }
}

/// The last run of session `session_id`: the registry entry's run, else the
/// newest run that announced (or resumed) the session. `None` when no run
/// directory of it is left.
pub fn last_run(paths: &Paths, backend: &AnyBackend, session_id: &str) -> Option<LastRun> {
    let runs_dir = paths.runs_dir();
    let from_registry = Registry::for_backend(paths, backend)
        .get(session_id)
        .ok()
        .flatten()
        .and_then(|e| e.run_id)
        .filter(|id| !id.contains('/') && id != ".." && id != ".")
        .map(|id| RunDir::open(runs_dir.join(id)))
        .and_then(|dir| dir.read_record().ok().map(|r| (dir, r)));
    let (dir, record) = from_registry.or_else(|| newest_run_of(&runs_dir, backend, session_id))?;
    Some(last_run_from(&dir, &record))
}

/// The run a `--resume` value names by its run id (or wake id): what a resume
/// of exactly that run takes over, rather than the session's newest run.
pub fn named_last_run(paths: &Paths, value: &str) -> Option<LastRun> {
    let (dir, record) = named_run(paths, value)?;
    Some(last_run_from(&dir, &record))
}

fn last_run_from(dir: &RunDir, record: &RunRecord) -> LastRun {
    let spec = dir.read_spec().ok();
    LastRun {
        run_id: record.run_id.clone(),
        session_key: record.session_key.clone(),
        label: record.label.clone(),
        route: spec.as_ref().map(|s| (s.route.clone(), s.channel)),
        safety: spec.as_ref().map(|s| s.request.safety).unwrap_or_default(),
        chain: spec.map(|s| s.chain),
        worktree: record.worktree.as_deref().cloned(),
    }
}

fn newest_run_of(
    runs_dir: &Path,
    backend: &AnyBackend,
    session_id: &str,
) -> Option<(RunDir, RunRecord)> {
    // `list_runs` is newest first.
    run::list_runs(runs_dir).into_iter().find(|(_, r)| {
        r.backend == backend.name()
            && (r.resume_id.as_deref() == Some(session_id)
                || r.resumed_from.as_deref() == Some(session_id))
    })
}
