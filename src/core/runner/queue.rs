//! A run's place under `[limits] max_sessions`: it runs holding a slot
//! ([`Admission::Slot`]), or first waits for one in the queue
//! ([`Admission::Queue`], `run --queue`). The slots themselves are
//! [`crate::core::store::slots`].

use std::path::PathBuf;

use crate::core::error::{Error, Result};
use crate::core::model::state::Outcome;
use crate::core::now_secs;
use crate::core::store::run::{RunDir, RunStatus};
use crate::core::store::slots::{Slot, Slots};

use super::RunReport;
use super::process::Signals;

/// How a run is let in under the cap.
#[derive(Debug)]
pub enum Admission {
    /// It holds this slot already (taken by the launcher, or handed down to
    /// a detached runner).
    Slot(Slot),
    /// It waits in the queue of these slots first.
    Queue(Slots),
}

/// Wait in the queue as the run in `dir` until a slot is free and every run
/// queued before it has started (first come, first served).
///
/// While it waits, `run.json` says `queued` and names this process as the
/// runner, so `list` and `status` show it and `clawrun kill` can cancel it:
/// one of `signals` ends the wait, the record says `killed`, and the report
/// of the run that never started is returned as `Err`. When the slot is ours,
/// the record says `starting` again.
///
/// # Errors
/// An I/O error on the record or the slots directory.
pub(crate) async fn wait_in_queue(
    dir: &RunDir,
    slots: &Slots,
    signals: &mut Signals,
) -> Result<std::result::Result<Slot, Box<RunReport>>> {
    let mut record = dir.read_record()?;
    let ticket = slots
        .enqueue(&record.run_id)
        .map_err(|e| Error::io("joining the run queue", e))?;
    record.status = RunStatus::Queued;
    record.runner_pid = std::process::id();
    record.updated_at = now_secs();
    dir.write_record(&record)?;
    let slot = tokio::select! {
        slot = slots.acquire_queued(&ticket) => {
            slot.map_err(|e| Error::io("waiting for a run slot", e))?
        }
        signal = signals.recv() => {
            drop(ticket);
            let now = now_secs();
            let error = format!(
                "cancelled while queued (signal {signal}): the agent never started"
            );
            record.status = RunStatus::Done(Outcome::Killed);
            record.ended_at = Some(now);
            record.updated_at = now;
            record.error = Some(error.clone());
            dir.write_record(&record)?;
            dir.release_reserve();
            return Ok(Err(Box::new(never_started(
                record.run_id,
                record.output_file,
                error,
            ))));
        }
    };
    drop(ticket);
    record.status = RunStatus::Starting;
    record.updated_at = now_secs();
    dir.write_record(&record)?;
    Ok(Ok(slot))
}

/// The report of a run cancelled before its agent started.
fn never_started(run_id: String, output_file: PathBuf, error: String) -> RunReport {
    RunReport {
        run_id,
        outcome: Outcome::Killed,
        exit_code: Outcome::Killed.exit_code(),
        agent_exit_code: None,
        resume_id: None,
        output_file,
        output_chars: 0,
        duration_secs: 0,
        cost_usd: None,
        error: Some(error),
        warnings: Vec::new(),
        session_registered: false,
        output_written: false,
        storage_errors: Vec::new(),
    }
}
