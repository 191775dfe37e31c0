//! A run's place under the cap on agents running at once (`[limits]
//! max_sessions`): a launch takes a slot now, is refused, or is told to wait
//! in the queue (`run --queue`) — one [`Admission`], which the launcher holds
//! and hands down to a detached runner. The slots are a cross-process
//! semaphore ([`crate::core::store::slots`]): the check and the taking are
//! one step, so launches racing each other cannot pass the cap together.

use std::path::PathBuf;

use crate::core::context::RunContext;
use crate::core::error::{Error, Result};
use crate::core::model::state::Outcome;
use crate::core::now_secs;
use crate::core::store::run::{RunDir, RunStatus};
use crate::core::store::slots::{Full, Slot, Slots};

use super::RunReport;
use super::process::Signals;

/// How a run is let in under the cap.
#[derive(Debug)]
pub enum Admission {
    /// It holds this slot (taken by the launcher, and handed down to a
    /// detached runner): it stays taken from the launch's check to the
    /// agent's end.
    Slot(Slot),
    /// None was free (or runs were queued before it): it waits in the queue
    /// first, first come, first served. What the launch found, when it
    /// checked (a detached runner told `--queue` did not).
    Queue(Option<Full>),
}

/// The `[limits] max_sessions` slots of `ctx`'s state directory.
pub fn slots(ctx: &RunContext) -> Slots {
    Slots::new(&ctx.paths.state_dir, ctx.config.limits.max_sessions)
}

/// Take a free slot of `slots` for a new run. Without `queue`, a launch that
/// finds none (or finds runs waiting in the queue) is refused.
///
/// # Errors
/// [`Error::Usage`] saying how many run, the limit, and what to do; an I/O
/// error on the slots directory.
pub fn admit(slots: &Slots, queue: bool) -> Result<Admission> {
    let full = match slots.try_acquire() {
        Ok(Ok(slot)) => return Ok(Admission::Slot(slot)),
        Ok(Err(full)) => full,
        Err(e) => return Err(Error::io("taking a run slot", e)),
    };
    if queue {
        return Ok(Admission::Queue(Some(full)));
    }
    Err(Error::usage(format!(
        "{} (the limit is {}): wait, stop one with `clawrun kill`, or pass --queue",
        describe(full),
        slots.max()
    )))
}

/// "3 runs are running, 2 queued".
pub fn describe(full: Full) -> String {
    let mut s = if full.held == 1 {
        "1 run is running".to_owned()
    } else {
        format!("{} runs are running", full.held)
    };
    if full.queued > 0 {
        s.push_str(&format!(", {} queued", full.queued));
    }
    s
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
