//! What the agent said about itself ([`AgentEvent::AgentInfo`], an ACP
//! agent's `initialize` answer): remembered per backend after every start
//! ([`Agents`]), and checked before a `--resume` is launched
//! ([`check_resume`]): an agent known not to load sessions is refused with
//! exit 2 before anything is spawned or written. Unknown agents are checked
//! by their protocol at `initialize`, as before.

use crate::backends::{AnyBackend, Backend, RunRequest};
use crate::core::error::{Error, Result};
use crate::core::model::events::AgentEvent;
use crate::core::now_secs;
use crate::core::store::agents::{AgentRecord, Agents};
use crate::core::store::paths::Paths;

use std::path::Path;

/// The program a backend runs, as configured (what a record is made with).
fn program_of(backend: &AnyBackend) -> String {
    backend.command(&RunRequest::default()).program
}

/// Refuse `--resume` on `backend` when its agent said, the last time it
/// started with the same program, that it cannot load a session.
///
/// # Errors
/// A usage error (exit 2) naming the agent and what to do instead. An
/// unreadable store refuses nothing (the protocol checks at `initialize`).
pub(super) fn check_resume(backend: &AnyBackend, resuming: bool, paths: &Paths) -> Result<()> {
    if !resuming {
        return Ok(());
    }
    let name = backend.name();
    let known = match Agents::new(&paths.state_dir).known(name, &program_of(backend)) {
        Ok(known) => known,
        Err(e) => {
            tracing::warn!("agents: {e}");
            None
        }
    };
    match known {
        Some(agent) if !agent.load_session => Err(Error::usage(format!(
            "--backend {name} cannot resume: its agent ({}) does not advertise `loadSession` \
             (as of its last start); start a new run without --resume, giving it the context \
             it needs",
            agent.describe()
        ))),
        _ => Ok(()),
    }
}

/// Remember what the agent of `backend` said about itself in `events`, for
/// the next run's [`check_resume`] (in the store under `state_dir`). A store
/// that cannot be written is a warning in the log, never a failure of the
/// run. Returns, for the run's record, why its session cannot be resumed
/// (`Some(None)`: it can), when an agent said so.
pub(crate) fn remember(
    backend: &AnyBackend,
    state_dir: &Path,
    events: &[AgentEvent],
) -> Option<Option<String>> {
    let mut no_resume = None;
    for event in events {
        let AgentEvent::AgentInfo {
            name,
            version,
            load_session,
        } = event
        else {
            continue;
        };
        let record = AgentRecord {
            program: program_of(backend),
            name: name.clone(),
            version: version.clone(),
            load_session: *load_session,
            seen_at: now_secs(),
        };
        // This run's session cannot be resumed either: say so instead of a
        // resume command that would be refused.
        no_resume = Some((!*load_session).then(|| {
            "the agent does not advertise `loadSession` (it cannot load a session); start a new run with the context it needs".to_owned()
        }));
        if let Err(e) = Agents::new(state_dir).remember(backend.name(), record) {
            tracing::warn!("agents: {e}");
        }
    }
    no_resume
}
