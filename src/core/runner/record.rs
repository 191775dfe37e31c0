//! The run's record keeper: `run.json` and the session registry entry. It
//! owns the [`RunRecord`] while the run goes on: the record is written whole
//! and atomically at once on a change the outside must see (start, waiting,
//! the resume id, the end), else at most every [`RECORD_REFRESH`] when
//! something changed; the run's counters are copied in from the [`RunState`]
//! on every write.

use std::path::PathBuf;
use std::time::Duration;

use tokio::time::Instant;

use crate::core::error::Result;
use crate::core::model::state::{Outcome, RunState};
use crate::core::now_secs;
use crate::core::store::iterations::Iterations;
use crate::core::store::run::{RunDir, RunRecord, RunSpec, RunStatus};
use crate::core::store::sessions::SessionLog;
use crate::core::sys::usage;

/// How often `run.json` is refreshed while the agent runs (when something changed).
const RECORD_REFRESH: Duration = Duration::from_secs(5);

/// Where `stream.jsonl` was cut at its cap, and how much more was not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamCut {
    /// Bytes kept when the cap was reached.
    pub(crate) at: u64,
    /// Bytes not kept this time.
    pub(crate) dropped: u64,
}

/// How the run ended, for the final record.
#[derive(Debug)]
pub(crate) struct Ending {
    /// The outcome.
    pub(crate) outcome: Outcome,
    /// The agent's own exit status.
    pub(crate) agent_exit: Option<i32>,
    /// Why it failed.
    pub(crate) error: Option<String>,
    /// Follow-ups queued that never ran.
    pub(crate) followups_not_run: Vec<String>,
}

/// Keeps a run's `run.json` and registry entry.
#[derive(Debug)]
pub(crate) struct RecordKeeper<'a> {
    dir: &'a RunDir,
    /// The record as the run last changed it (written by [`Self::write`]).
    pub(crate) record: RunRecord,
    /// Changed since the last write.
    dirty: bool,
    last_write: Instant,
    sessions: SessionLog,
    /// Where the resume chains are kept (`iterations`).
    state_dir: PathBuf,
}

impl<'a> RecordKeeper<'a> {
    /// The keeper of `dir`'s `record`, registering the session in `sessions`.
    pub(crate) fn new(
        dir: &'a RunDir,
        record: RunRecord,
        sessions: SessionLog,
        state_dir: PathBuf,
    ) -> Self {
        Self {
            dir,
            record,
            dirty: false,
            last_write: Instant::now(),
            sessions,
            state_dir,
        }
    }

    /// The run directory.
    pub(crate) fn dir(&self) -> &'a RunDir {
        self.dir
    }

    /// Something changed: the next refresh writes it.
    pub(crate) fn changed(&mut self) {
        self.dirty = true;
    }

    /// Write `run.json` when something changed and the last write is
    /// [`RECORD_REFRESH`] old.
    pub(crate) fn refresh(&mut self, state: &RunState) {
        if self.dirty && self.last_write.elapsed() >= RECORD_REFRESH {
            self.write(state);
        }
    }

    /// Write `run.json` now; a failure is a warning.
    pub(crate) fn write(&mut self, state: &RunState) {
        if let Err(e) = self.try_write(state) {
            tracing::warn!("{e}");
        }
    }

    /// Write `run.json` now, with the counters of `state`.
    pub(crate) fn try_write(&mut self, state: &RunState) -> Result<()> {
        self.sync(state);
        self.record.updated_at = now_secs();
        self.dirty = false;
        self.last_write = Instant::now();
        self.dir.write_record(&self.record)
    }

    /// Copy what the run's events told into the record.
    fn sync(&mut self, state: &RunState) {
        let r = &mut self.record;
        r.resume_id.clone_from(&state.resume_id);
        if state.model.is_some() {
            r.model.clone_from(&state.model);
        }
        r.cli_version.clone_from(&state.cli_version);
        r.usage = state.usage();
        r.cost_usd = state.cost_usd;
        r.tool_calls = state.tool_calls;
        r.subagents_running = state.open_subagents.len() as u64;
        r.subagents_started = state.subagents_started;
        r.replaced_ids.clone_from(&state.replaced_ids);
    }

    /// The agent runs: `running`, since now.
    pub(crate) fn started(&mut self, state: &RunState) {
        self.record.status = RunStatus::Running;
        self.record.started_at = Some(now_secs());
        self.write(state);
    }

    /// The run waits for input since `since` (Unix time), or no longer
    /// (`None`); written at once when that changes, so that `list` agrees
    /// with the wake.
    pub(crate) fn waiting(&mut self, state: &RunState, since: Option<i64>) {
        if self.record.waiting_since.is_none() && since.is_none() {
            return;
        }
        self.record.waiting_since = since;
        self.write(state);
    }

    /// `stream.jsonl` reached its cap: say where, and count what was not kept.
    pub(crate) fn stream_cut(&mut self, cut: StreamCut) {
        if self.record.stream_cut_at_bytes.is_none() {
            self.record.stream_cut_at_bytes = Some(cut.at);
        }
        self.record.stream_dropped_bytes += cut.dropped;
        self.dirty = true;
    }

    /// The resume id is known: record it now, so a crash later still leaves
    /// a resumable entry (the record, the registry, the resume chain).
    pub(crate) fn resume_known(&mut self, state: &RunState, spec: &RunSpec) {
        self.write(state);
        if let Err(e) = self.sessions.record(&self.record, spec) {
            tracing::warn!("session registry: {e}");
        }
        if let Some(id) = &state.resume_id {
            let its = Iterations::new(&self.state_dir);
            if let Err(e) = its.link(id, &spec.chain.chain_root) {
                tracing::warn!("iterations: {e}");
            }
        }
    }

    /// The final record and the registry entry. Returns whether the session
    /// is registered, and what could not be written.
    pub(crate) fn finish(
        &mut self,
        state: &RunState,
        spec: &RunSpec,
        end: Ending,
    ) -> (bool, Vec<String>) {
        let r = &mut self.record;
        r.status = RunStatus::Done(end.outcome);
        r.waiting_since = None;
        r.followups_not_run = end.followups_not_run;
        r.ended_at = Some(now_secs());
        r.exit_code = end.agent_exit;
        r.error = end.error;
        let (cpu_ms, rss_kb) = usage::self_usage();
        r.runner_cpu_ms = Some(cpu_ms);
        r.runner_peak_rss_kb = Some(rss_kb);
        let mut failed = Vec::new();
        if let Err(e) = self.try_write(state) {
            failed.push(format!("the run record was not updated: {e}"));
        }
        let mut registered = false;
        if state.resume_id.is_some() {
            // On a full disk, into what is left of the run's reserve.
            let result = match self.sessions.record(&self.record, spec) {
                Err(_) if self.dir.release_reserve() => self.sessions.record(&self.record, spec),
                result => result,
            };
            match result {
                Ok(()) => registered = true,
                Err(e) => failed.push(format!("the session registry was not updated: {e}")),
            }
        }
        for f in &failed {
            tracing::error!("{f}");
        }
        (registered, failed)
    }

    /// The run could not be supervised: `crashed`, with `message`.
    pub(crate) fn crashed(&mut self, state: &RunState, message: &str) {
        self.record.status = RunStatus::Done(Outcome::Crashed);
        self.record.ended_at = Some(now_secs());
        self.record.error = Some(message.to_owned());
        self.write(state);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::core::store::paths::Paths;

    fn keeper<'a>(dir: &'a RunDir, state_dir: &std::path::Path) -> RecordKeeper<'a> {
        let record: RunRecord =
            serde_json::from_str(include_str!("../../../tests/fixtures/runner/run-v1.json"))
                .unwrap();
        let paths = Paths {
            openclaw_home: state_dir.join("oc"),
            openclaw_config: state_dir.join("oc/openclaw.json"),
            state_dir: state_dir.to_path_buf(),
            config_file: state_dir.join("clawrun.toml"),
        };
        let backend = crate::backends::config::BackendsConfig::builtin()
            .unwrap()
            .backend("claude")
            .unwrap();
        RecordKeeper::new(
            dir,
            record,
            SessionLog::new(&paths, &backend),
            state_dir.to_path_buf(),
        )
    }

    #[test]
    fn the_record_on_disk_follows_the_run() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = RunDir::open(tmp.path().join("run"));
        std::fs::create_dir_all(&dir.path).unwrap();
        let mut k = keeper(&dir, tmp.path());
        let mut state = RunState::new();
        state.tool_calls = 7;
        k.started(&state);
        let on_disk = dir.read_record().unwrap();
        assert_eq!(on_disk.status, RunStatus::Running);
        assert_eq!(on_disk.tool_calls, 7, "the counters are copied in");
        // Not waiting, and told so: nothing to write.
        std::fs::remove_file(dir.file(crate::core::store::run::files::RECORD)).unwrap();
        k.waiting(&state, None);
        assert!(dir.read_record().is_err(), "no write without a change");
        k.waiting(&state, Some(42));
        assert_eq!(dir.read_record().unwrap().waiting_since, Some(42));
        k.stream_cut(StreamCut { at: 10, dropped: 2 });
        k.stream_cut(StreamCut { at: 10, dropped: 5 });
        assert_eq!(k.record.stream_cut_at_bytes, Some(10));
        assert_eq!(k.record.stream_dropped_bytes, 7);
        let end = Ending {
            outcome: Outcome::Completed,
            agent_exit: Some(0),
            error: None,
            followups_not_run: vec!["later".into()],
        };
        let spec = serde_json::from_str(include_str!(
            "../../../tests/fixtures/runner/request-v1.json"
        ))
        .unwrap();
        let (registered, failed) = k.finish(&state, &spec, end);
        assert!(!registered, "no session id, no registry entry");
        assert!(failed.is_empty(), "{failed:?}");
        let on_disk = dir.read_record().unwrap();
        assert_eq!(on_disk.status, RunStatus::Done(Outcome::Completed));
        assert_eq!(on_disk.waiting_since, None);
        assert_eq!(on_disk.followups_not_run, ["later"]);
    }
}
