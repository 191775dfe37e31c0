//! `kill`: stop a run through its own stop path, or, when its runner is gone,
//! stop what is left of its agent and close the record here.
//!
//! What the plugin got wrong and this module does not: `kill` goes through
//! the run's own stop path (SIGTERM to the runner), so a killed run gets its
//! notification, its registry status and its record like any other ending; a
//! run whose runner is gone is still stopped (its agent's process group) and
//! recorded.

use std::io;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::resolve::{Run, agent_alive, norm_label, registries, runner_alive};
use crate::core::error::{Error, Result};
use crate::core::model::state::Outcome;
use crate::core::now_secs;
use crate::core::store::paths::Paths;
use crate::core::store::registry::Status;
use crate::core::store::run::{RunRecord, RunStatus};
use crate::core::store::sessions::registry_status;
use crate::core::store::timefmt;
use crate::core::sys::group;

/// How long `kill` waits for the run to finish.
pub const DEFAULT_KILL_WAIT: Duration = Duration::from_secs(30);
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
    /// How the run ended ([`Outcome::Killed`] normally; the run's own outcome
    /// when it finished before the signal took effect). Written as its status
    /// word (`"killed"`).
    pub outcome: Outcome,
    /// How it was stopped.
    pub via: KillPath,
    /// Seconds from the request to the record saying done.
    pub seconds: f64,
    /// The run's error text, as recorded.
    pub error: Option<String>,
    /// Whether the runner exited within the wait (its notifications were
    /// then handed to the channel or left in the outbox).
    pub runner_exited: bool,
    /// Follow-ups queued with `clawrun respond` that the run ended without
    /// running (the result message and the wake say so too).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub followups_not_run: Vec<String>,
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
        return Err(already_finished(paths, &first));
    }
    match signal_runner(run, started, deadline, wait)? {
        Stopping::Finished(report) => Ok(report),
        Stopping::Orphaned { record, signalled } => {
            close_orphan(paths, run, *record, signalled, started, deadline)
        }
    }
}

/// The refusal for a run that is already done. A label names the newest run;
/// say so when an older one is the live one.
fn already_finished(paths: &Paths, first: &RunRecord) -> Error {
    let same_label: Vec<String> = match first.label.as_deref().map(norm_label) {
        Some(label) => crate::core::ops::resolve::active_runs(paths)
            .into_iter()
            .filter(|(_, r)| r.label.as_deref().map(norm_label).as_deref() == Some(&label))
            .map(|(_, r)| r.run_id)
            .collect(),
        None => Vec::new(),
    };
    Error::usage(format!(
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
    ))
}

/// Where [`signal_runner`] left the run.
enum Stopping {
    /// The runner recorded the end of the run.
    Finished(KillReport),
    /// The runner is gone and the run is not done.
    Orphaned {
        /// The record as last read.
        record: Box<RunRecord>,
        /// Whether we had signalled a runner before it went.
        signalled: bool,
    },
}

/// SIGTERM the live runner (again when a new runner takes the record over)
/// and wait until the record says done or the runner is gone.
fn signal_runner(
    run: &Run,
    started: Instant,
    deadline: Instant,
    wait: Duration,
) -> Result<Stopping> {
    let mut signalled: Option<u32> = None;
    loop {
        let rec = run.dir.read_record()?;
        if let RunStatus::Done(outcome) = rec.status {
            return Ok(Stopping::Finished(finished_by_runner(
                &rec, outcome, started, deadline,
            )));
        }
        if runner_alive(&rec) {
            // The runner handles SIGTERM as "kill": the same stop path as its
            // timeout. A record naming a new runner (a detached runner takes
            // over from the `run --detach` that created the record) gets it too.
            if signalled != Some(rec.runner_pid) {
                group::terminate(rec.runner_pid).map_err(|e| {
                    Error::io(format!("signalling the runner (pid {})", rec.runner_pid), e)
                })?;
                signalled = Some(rec.runner_pid);
            }
        } else if let Some(record) = settled_without_runner(run, &rec, deadline)? {
            return Ok(Stopping::Orphaned {
                record: Box::new(record),
                signalled: signalled.is_some(),
            });
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
    }
}

/// The runner finished the run: its notification and registry write come
/// right after the record, so wait (a little) for it to exit.
fn finished_by_runner(
    rec: &RunRecord,
    outcome: Outcome,
    started: Instant,
    deadline: Instant,
) -> KillReport {
    let exit_by = (Instant::now() + RUNNER_EXIT_WAIT).min(deadline.max(Instant::now()));
    let mut runner_exited = !runner_alive(rec);
    while !runner_exited && Instant::now() < exit_by {
        std::thread::sleep(KILL_POLL);
        runner_exited = !runner_alive(rec);
    }
    KillReport {
        run_id: rec.run_id.clone(),
        outcome,
        via: KillPath::Runner,
        seconds: started.elapsed().as_secs_f64(),
        error: rec.error.clone(),
        runner_exited,
        followups_not_run: rec.followups_not_run.clone(),
    }
}

/// The runner is gone: stop what is left of the agent, then close the record
/// (and the registry entry) here.
fn close_orphan(
    paths: &Paths,
    run: &Run,
    mut rec: RunRecord,
    signalled: bool,
    started: Instant,
    deadline: Instant,
) -> Result<KillReport> {
    let agent_was_alive = agent_alive(&rec);
    if agent_was_alive {
        let grace = run
            .dir
            .read_spec()
            .map(|s| Duration::from_secs(s.limits.grace_secs))
            .unwrap_or(MAX_ORPHAN_GRACE)
            .min(MAX_ORPHAN_GRACE)
            .min(deadline.saturating_duration_since(Instant::now()));
        stop_group(&rec, grace);
    }
    let (outcome, via, error) = orphan_ending(&rec, agent_was_alive, signalled);
    let now = now_secs();
    rec.status = RunStatus::Done(outcome);
    rec.ended_at = Some(now);
    rec.updated_at = now;
    rec.error = Some(error.clone());
    run.dir.write_record(&rec)?;
    mark_registry(paths, &rec);
    run.dir.release_reserve();
    Ok(KillReport {
        run_id: rec.run_id.clone(),
        outcome,
        via,
        seconds: started.elapsed().as_secs_f64(),
        error: Some(error),
        runner_exited: true,
        followups_not_run: Vec::new(),
    })
}

/// How an orphaned run ends, and the error text its record gets.
fn orphan_ending(
    rec: &RunRecord,
    agent_was_alive: bool,
    signalled: bool,
) -> (Outcome, KillPath, String) {
    if agent_was_alive {
        (
            Outcome::Killed,
            KillPath::AgentGroup,
            format!(
                "stopped by `clawrun kill`: the runner (pid {}) was gone, so the agent's process \
                 group was stopped directly",
                rec.runner_pid
            ),
        )
    } else if signalled {
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
    }
}

/// The runner named by `rec` is gone. `Some(record)` when the run is really
/// orphaned; `None` when the record changed meanwhile (finished, or taken over
/// by a new runner), so the caller looks again. A `starting` or `queued`
/// record is given a moment: its detached runner may be about to write its
/// own pid.
fn settled_without_runner(
    run: &Run,
    rec: &RunRecord,
    deadline: Instant,
) -> Result<Option<RunRecord>> {
    let settle_until = if matches!(rec.status, RunStatus::Starting | RunStatus::Queued) {
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
    if let Some(pgid) = rec.agent_pid {
        group::stop_group_blocking(pgid, grace, KILL_POLL);
    }
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
