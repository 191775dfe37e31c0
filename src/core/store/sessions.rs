//! Bridge from runs to the session registry: a run's record becomes the
//! seed-compatible registry entry of its session.

use crate::backends::AnyBackend;
use crate::core::error::Result;
use crate::core::model::state::Outcome;
use crate::core::now_secs;
use crate::core::store::paths::Paths;
use crate::core::store::registry::{EntryUpdate, Registry, Status};
use crate::core::store::run::{RunRecord, RunSpec, RunStatus};

/// Records runs in the backend's session registry.
#[derive(Debug, Clone)]
pub struct SessionLog {
    registry: Registry,
}

/// The registry status of a run status.
pub fn registry_status(status: RunStatus) -> Status {
    match status {
        RunStatus::Queued | RunStatus::Starting | RunStatus::Running => Status::Running,
        RunStatus::Done(Outcome::Completed) => Status::Completed,
        RunStatus::Done(Outcome::Failed) => Status::Failed,
        RunStatus::Done(Outcome::Crashed) => Status::Crashed,
        RunStatus::Done(Outcome::Timeout) => Status::Timeout,
        RunStatus::Done(Outcome::Killed) => Status::Killed,
        RunStatus::Done(Outcome::ResumeFailed) => Status::ResumeFailed,
    }
}

impl SessionLog {
    /// The log for `backend`'s registry.
    pub fn new(paths: &Paths, backend: &AnyBackend) -> Self {
        Self {
            registry: Registry::for_backend(paths, backend),
        }
    }

    /// Record the run's current state under its resume id (nothing when the
    /// id is not known yet). A resume keeps the entry's `created_at` and label.
    ///
    /// When the CLI moved the conversation to a new session id mid-run
    /// (`record.replaced_ids`), the entry follows the new id, with
    /// `resumed_from` naming the old one, and the old entries end as
    /// [`Status::Replaced`].
    ///
    /// # Errors
    /// Registry errors (a corrupt registry is never overwritten).
    pub fn record(&self, record: &RunRecord, spec: &RunSpec) -> Result<()> {
        let Some(id) = &record.resume_id else {
            return Ok(());
        };
        // An id replaced before it was ever recorded (both ids in one batch of
        // events) still gets its entry, so resuming it says where to go.
        for old in &record.replaced_ids {
            let replaced = EntryUpdate {
                label: spec.label.clone(),
                task: Some(spec.request.prompt.clone()),
                project_dir: Some(spec.request.project.clone()),
                status: Some(Status::Replaced),
                openclaw_session: spec.session_key.clone(),
                run_id: Some(record.run_id.clone()),
                ..EntryUpdate::default()
            };
            self.registry.upsert(old, &replaced)?;
        }
        let resumed_from = match record.replaced_ids.last() {
            Some(old) => Some(old.clone()),
            None => spec.request.resume_id.clone().filter(|r| r != id),
        };
        let usage = record.usage;
        let done = record.status.is_done();
        let update = EntryUpdate {
            label: spec.label.clone(),
            task: Some(spec.request.prompt.clone()),
            project_dir: Some(spec.request.project.clone()),
            status: Some(registry_status(record.status)),
            openclaw_session: spec.session_key.clone(),
            output_file: Some(spec.output_file.clone()),
            run_id: Some(record.run_id.clone()),
            cost_usd: record.cost_usd,
            input_tokens: (usage.input_tokens > 0 || done).then_some(usage.input_tokens),
            output_tokens: (usage.output_tokens > 0 || done).then_some(usage.output_tokens),
            duration_s: done.then(|| record.duration_secs(now_secs()) as f64),
            resumed_from,
        };
        self.registry.upsert(id, &update)?;
        Ok(())
    }
}
