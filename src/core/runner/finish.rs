//! The end of a run: the outcome ([`decide_outcome`], pure), the output file,
//! the final record, and the crash of a run that could not be supervised.

use std::path::Path;
use std::process::ExitStatus;
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::time::Instant;

use crate::backends::Protocol;
use crate::core::error::Result;
use crate::core::model::events::FailureKind;
use crate::core::model::exit::ExitStatus as Exit;
use crate::core::model::state::{Outcome, RunState};
use crate::core::notify::{self, WakeStatus};
use crate::core::store::fsutil;
use crate::core::store::run::{RunSpec, files};

use super::RunReport;
use super::attempt::{Attempt, Loop};
use super::record::Ending;
use super::supervisor::Supervisor;
use crate::core::sys::fs::copy_atomic;
use crate::core::sys::group;

/// Why supervision stopped the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopReason {
    /// `--timeout` passed.
    Timeout,
    /// `--idle-timeout` passed without output.
    Idle,
    /// The runner got this signal (SIGTERM, SIGINT, SIGHUP).
    Signal(i32),
    /// The agent's turn was over, or its protocol broken, and it did not
    /// exit (`liveness`): the outcome is the turn's.
    Ended,
}

/// The outcome of a run and why it failed: from why it was stopped, else from
/// the last terminal event, else from the agent's exit code.
pub(crate) fn decide_outcome(
    stop: Option<StopReason>,
    terminal: Option<&std::result::Result<(), (String, FailureKind)>>,
    agent_exit: Option<i32>,
    spec: &RunSpec,
) -> (Outcome, Option<String>) {
    match stop {
        Some(StopReason::Timeout) => (
            Outcome::Timeout,
            Some(format!("timed out after {}s", spec.limits.timeout_secs)),
        ),
        Some(StopReason::Idle) => (
            Outcome::Timeout,
            Some(format!(
                "stopped after {}s without output from the agent (--idle-timeout)",
                spec.limits.idle_timeout_secs
            )),
        ),
        Some(StopReason::Signal(n)) => (
            Outcome::Killed,
            Some(format!(
                "stopped by signal {} to the runner",
                signal_name(n)
            )),
        ),
        None | Some(StopReason::Ended) => match terminal {
            Some(Ok(())) => (Outcome::Completed, None),
            // Only a run that asked to resume can fail to find its session; the
            // same words in a fresh run's stream are an ordinary failure.
            Some(Err((msg, FailureKind::ResumeNotFound))) if spec.request.resume_id.is_some() => {
                (Outcome::ResumeFailed, Some(msg.clone()))
            }
            Some(Err((msg, _))) => (Outcome::Failed, Some(msg.clone())),
            None => (
                Outcome::Failed,
                Some(format!(
                    "the agent exited ({}) without a result",
                    agent_exit.map_or("unknown status".to_owned(), |c| format!("code {c}"))
                )),
            ),
        },
    }
}

/// Write the output file: the final answer, else every assistant text so far
/// (copied from `assistant.txt`, never held whole in memory), else why not.
/// Returns the text for the result message, its length in characters, and
/// why the file could not be written (then it is not there to point at).
pub(crate) fn write_output(
    state: &RunState,
    text_file: &Path,
    output_file: &Path,
    error: Option<&str>,
    stderr_tail: &str,
) -> (String, usize, Option<String>) {
    let final_text = state.final_text.as_deref().filter(|t| !t.is_empty());
    let (text, n, written) = match (final_text, state.assistant_chars) {
        (Some(t), _) => (
            t.to_owned(),
            t.chars().count(),
            checked_write(output_file, |p| fsutil::write_atomic(p, t.as_bytes())),
        ),
        (None, n) if n > 0 => (
            state.assistant_text.clone(),
            n as usize,
            checked_write(output_file, |p| copy_atomic(text_file, p)),
        ),
        (None, _) => {
            let t = error
                .map(str::to_owned)
                .or_else(|| Some(stderr_tail.trim().to_owned()).filter(|s| !s.is_empty()))
                .unwrap_or_else(|| "(no output captured)".to_owned());
            let written = checked_write(output_file, |p| fsutil::write_atomic(p, t.as_bytes()));
            let n = t.chars().count();
            (t, n, written)
        }
    };
    let failure = written.err().map(|e| {
        let e = format!("the output file was not written: {e}");
        tracing::error!("{e}");
        e
    });
    (text, n, failure)
}

/// Write `path` with `write`, after checking again (it may have changed since
/// validation) that it is a place an output file may go.
fn checked_write(
    path: &Path,
    write: impl FnOnce(&Path) -> std::io::Result<()>,
) -> std::result::Result<(), String> {
    fsutil::check_output_target(path)?;
    write(path).map_err(|e| format!("writing {}: {e}", path.display()))
}

fn signal_name(n: i32) -> &'static str {
    match Signal::try_from(n) {
        Ok(Signal::SIGTERM) => "SIGTERM",
        Ok(Signal::SIGINT) => "SIGINT",
        Ok(Signal::SIGHUP) => "SIGHUP",
        _ => "?",
    }
}

/// `a; b` of the errors there are.
fn join_errors(errors: impl IntoIterator<Item = Option<String>>) -> Option<String> {
    errors
        .into_iter()
        .flatten()
        .reduce(|a, b| format!("{a}; {b}"))
}

/// What the finished run reports, besides its outcome.
struct Ended {
    outcome: Outcome,
    agent_exit: Option<i32>,
    error: Option<String>,
    output_chars: usize,
    duration: i64,
    registered: bool,
    storage_errors: Vec<String>,
}

impl Supervisor<'_> {
    /// The end of the run: outcome, output file, record, registry, result
    /// message, wake, delivery.
    pub(crate) async fn finish(&mut self, attempt: Attempt, lp: Loop) -> Result<RunReport> {
        let stderr_tail = lp.tail.text();
        drop(lp);
        let stderr_file = self.keeper.dir().file(files::STDERR);
        if let Err(e) = fsutil::write_atomic(&stderr_file, stderr_tail.as_bytes()) {
            tracing::warn!("writing stderr tail: {e}");
        }
        let status = match attempt.exit_status {
            Some(Ok(s)) => Some(s),
            Some(Err(e)) => {
                tracing::warn!("{e}");
                None
            }
            None => None,
        };
        let agent_exit = status.as_ref().map(group::exit_code);
        let mut closing = self
            .protocol
            .finish(status.as_ref().and_then(ExitStatus::code), &stderr_tail);
        self.apply_events(&mut closing, Instant::now());
        // The run's verdict on a broken protocol replaces what the stopped
        // process's closing events said.
        if let Some(message) = self.liveness.failure.clone() {
            self.state.terminal = Some(Err((message, FailureKind::Other)));
        }
        let since = (self.keeper.record.started_at).unwrap_or(self.keeper.record.created_at);
        let resume_id = self.state.resume_id.clone();
        match super::session_denials::denials_from_session_log(
            &self.job,
            resume_id.as_deref(),
            since,
        )
        .await
        {
            None => {}
            Some(Ok(mut events)) => self.apply_events(&mut events, Instant::now()),
            Some(Err(w)) => {
                tracing::warn!("{w}");
                // The agent is told too (result and wake), not only the logs.
                self.keeper.record.warnings.push(w.clone());
                self.warnings.push(w);
            }
        }
        let (outcome, error) = self.outcome(attempt.stop, agent_exit);
        self.transcript.close();
        let (text, output_chars, output_error) = write_output(
            &self.state,
            &self.transcript.text_path,
            &self.job.spec.output_file,
            error.as_deref(),
            &stderr_tail,
        );
        let error = join_errors([error, output_error.clone()]);
        self.transcript.output_lost.clone_from(&output_error);
        self.keeper.record.changes = super::worktree::changes_of(
            self.job.spec.request.project.clone(),
            self.keeper.record.git_base.clone(),
        )
        .await
        .map(Box::new);
        // Asked before the record says "done": a follower that sees the end
        // exits, and must not be taken for one that is gone.
        let follower = super::follower::follower_state(&self.keeper.dir().path);
        let end = Ending {
            outcome,
            agent_exit,
            error: error.clone(),
            followups_not_run: self.turns.take_followups(),
        };
        let (registered, mut storage_errors) = self.keeper.finish(&self.state, &self.job.spec, end);
        storage_errors.splice(0..0, output_error);
        let duration = self.started.elapsed().as_secs() as i64;
        self.report_end(outcome, agent_exit, &text, duration, follower)
            .await;
        // Everything is written (or said not to be): the space is not needed.
        self.keeper.dir().release_reserve();
        Ok(self.report(Ended {
            outcome,
            agent_exit,
            error,
            output_chars,
            duration,
            registered,
            storage_errors,
        }))
    }

    /// The outcome and why it failed, with what the run adds to the
    /// agent's own account: the background task a time limit cut, a
    /// `stream.jsonl` that could not be written.
    fn outcome(
        &self,
        stop: Option<StopReason>,
        agent_exit: Option<i32>,
    ) -> (Outcome, Option<String>) {
        let (outcome, error) = decide_outcome(
            stop,
            self.state.terminal.as_ref(),
            agent_exit,
            &self.job.spec,
        );
        // A run stopped at its time limit says which background task it cut.
        let background = matches!(stop, Some(StopReason::Timeout))
            .then(|| self.state.background_note())
            .flatten();
        let stream_error = self.transcript.stream_error.clone();
        (outcome, join_errors([error, background, stream_error]))
    }

    /// The report of the ended run.
    fn report(&mut self, e: Ended) -> RunReport {
        // What could not be made durable turns a success into exit 1.
        let exit_code = match e.outcome.exit_code() {
            Exit::Success if !e.storage_errors.is_empty() => Exit::Failure,
            status => status,
        };
        RunReport {
            run_id: self.job.spec.run_id.clone(),
            outcome: e.outcome,
            exit_code,
            agent_exit_code: e.agent_exit,
            resume_id: self.state.resume_id.clone(),
            session_registered: e.registered,
            output_file: self.job.spec.output_file.clone(),
            output_written: self.transcript.output_lost.is_none(),
            output_chars: e.output_chars,
            duration_secs: e.duration,
            cost_usd: self.state.cost_usd,
            error: e.error,
            storage_errors: e.storage_errors,
            warnings: std::mem::take(&mut self.warnings),
        }
    }

    /// The last stream text, the trace, the result message, the wake (left
    /// to OpenClaw's exit event while an exec-mode follower is there), and
    /// delivery of what is pending.
    async fn report_end(
        &mut self,
        outcome: Outcome,
        agent_exit: Option<i32>,
        text: &str,
        duration: i64,
        follower: super::follower::FollowerState,
    ) {
        if let Some(t) = self.fg.take_due(Instant::now(), self.transcript.pos, true) {
            self.notifier.stream(t);
        }
        if self.job.spec.notify.trace_live {
            self.notifier.trace(&format!(
                "[RUN_TASK][COMPLETE] exit={} output={} size={} run_id={}",
                agent_exit.map_or("-".to_owned(), |c| c.to_string()),
                self.job.spec.output_file.display(),
                text.chars().count(),
                self.job.spec.run_id
            ));
        }
        // Never point at an output file that is not there: say why instead.
        let shown = self.transcript.shown_output(&self.job.spec.output_file);
        // Decided before the result goes out: a result whose wake is skipped
        // (a later run of the chain exists) rings, as no agent turn follows.
        if self.notifier.wake.wakes {
            self.notifier.wake.decide();
        }
        let mut record = self.keeper.record.clone();
        record.output_file.clone_from(&shown);
        self.notifier
            .result(outcome, &record, &self.state, text, duration);
        if follower.run_wakes() {
            self.send_wake(
                (WakeStatus::Ended(outcome), agent_exit),
                notify::preview(text, notify::WAKE_PREVIEW_CHARS),
            );
        } else {
            tracing::info!(
                "no wake of clawrun's own: {}",
                match follower {
                    super::follower::FollowerState::Cancelled => "the task was cancelled",
                    _ => "the exec follower's exit is the wake",
                }
            );
        }
        self.notifier
            .finish(
                Duration::from_secs(self.job.spec.notify.delivery_wait_secs),
                &shown,
            )
            .await;
    }

    /// The run could not be supervised: record it `crashed` and say why.
    pub(crate) async fn crash(&mut self, message: String) -> Result<RunReport> {
        tracing::error!("{message}");
        self.keeper.crashed(&self.state, &message);
        let _ = fsutil::write_atomic(&self.job.spec.output_file, message.as_bytes());
        self.notifier
            .crash(&message, &self.state.usage(), self.state.cost_usd);
        self.notifier
            .finish(
                Duration::from_secs(self.job.spec.notify.delivery_wait_secs),
                &self.job.spec.output_file.clone(),
            )
            .await;
        Ok(RunReport {
            run_id: self.job.spec.run_id.clone(),
            outcome: Outcome::Crashed,
            exit_code: Outcome::Crashed.exit_code(),
            agent_exit_code: None,
            resume_id: None,
            session_registered: false,
            output_written: self.job.spec.output_file.is_file(),
            output_file: self.job.spec.output_file.clone(),
            output_chars: message.chars().count(),
            duration_secs: 0,
            cost_usd: None,
            error: Some(message),
            storage_errors: Vec::new(),
            warnings: std::mem::take(&mut self.warnings),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec() -> RunSpec {
        serde_json::from_str(include_str!(
            "../../../tests/fixtures/runner/request-v1.json"
        ))
        .unwrap()
    }

    #[test]
    fn a_stop_reason_decides_before_the_agent_does() {
        let s = spec();
        let ok = Ok(());
        assert_eq!(
            decide_outcome(Some(StopReason::Timeout), Some(&ok), Some(0), &s),
            (Outcome::Timeout, Some("timed out after 7200s".into()))
        );
        assert_eq!(
            decide_outcome(Some(StopReason::Signal(libc::SIGTERM)), None, None, &s),
            (
                Outcome::Killed,
                Some("stopped by signal SIGTERM to the runner".into())
            )
        );
        assert_eq!(
            decide_outcome(None, Some(&ok), Some(0), &s),
            (Outcome::Completed, None)
        );
        let gone = Err(("no such session".to_owned(), FailureKind::ResumeNotFound));
        assert_eq!(
            decide_outcome(None, Some(&gone), Some(1), &s).0,
            Outcome::Failed,
            "no --resume was asked"
        );
        let mut resumed = spec();
        resumed.request.resume_id = Some("sess".into());
        assert_eq!(
            decide_outcome(None, Some(&gone), Some(1), &resumed).0,
            Outcome::ResumeFailed
        );
        assert_eq!(
            decide_outcome(None, None, Some(3), &s),
            (
                Outcome::Failed,
                Some("the agent exited (code 3) without a result".into())
            )
        );
    }
}
