//! Turns of a run: the agent's live input (multi-turn), the human's answers
//! (`clawrun respond`), follow-ups queued for a run without live input, and the
//! one way the agent is restarted in the same session ([`Restart`]: after a
//! usage limit, or for a queued follow-up).
//!
//! [`Turns`] owns that state and decides on it (what a turn end means, whether
//! an answer is taken, when waiting has lasted too long); the `impl
//! Supervisor` part below carries the decisions out where they reach the
//! other owners (the agent's process and protocol, the record, the notifier,
//! the wake).

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::backends::{Backend, CommandSpec, LiveInput, Protocol, RunRequest};
use crate::core::error::ProcessError;
use crate::core::model::state::RunState;
use crate::core::notify::{self, WakeStatus, WakeTarget};
use crate::core::now_secs;
use crate::core::store::fsutil;
use crate::core::store::run::RunSpec;

use super::attempt::{Attempt, Loop};
use super::control;
use super::finish::StopReason;
use super::io::spawn_writer;
use super::process::{self, Agent};
use super::supervisor::Supervisor;
use super::{FOLLOWUPS_FILE_NAME, LIMIT_RESUME_PROMPT};

/// Most automatic resumes after a usage limit, per run.
const MAX_LIMIT_RESUMES: u32 = 3;

/// The state of a run's turns.
#[derive(Debug, Default)]
pub(crate) struct Turns {
    /// Bytes for the agent's stdin; dropping it closes stdin.
    input: Option<mpsc::UnboundedSender<Vec<u8>>>,
    /// A turn is running (false while waiting for input).
    in_progress: bool,
    /// Since when the run waits for an answer.
    waiting_since: Option<Instant>,
    /// Automatic answers since the last human one.
    auto_count: u32,
    /// Interrupts sent whose turn end has not been seen yet (that turn end
    /// does not mean "waiting": the next message is already queued).
    interrupts_pending: u32,
    /// Follow-ups queued by `clawrun respond` for a run without live input.
    followups: VecDeque<String>,
    /// The last attempt ended: no more follow-ups are accepted.
    pub(crate) finishing: bool,
    /// Resumes after a usage limit so far.
    limit_resumes: u32,
    /// Turn ends seen in the whole run (the stop path waits for one more
    /// after asking the agent to cancel).
    pub(crate) turn_ends_seen: u64,
}

/// What the turn ends in a batch of events mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TurnEnd {
    /// Nothing to do.
    Nothing,
    /// A one-shot run's turn ended: its input was closed, the agent is expected to exit.
    InputClosed,
    /// A live turn ended: the run waits for input.
    Waiting,
}

impl Turns {
    /// Send `bytes` to the agent's stdin; false when it is closed.
    pub(crate) fn send(&self, bytes: Vec<u8>) -> bool {
        self.input
            .as_ref()
            .is_some_and(|input| input.send(bytes).is_ok())
    }

    /// Whether the run waits for an answer.
    pub(crate) fn waiting(&self) -> bool {
        self.waiting_since.is_some()
    }

    /// Whether the agent's stdin is open.
    pub(crate) fn has_input(&self) -> bool {
        self.input.is_some()
    }

    /// Close the agent's stdin (dropping the writer's sender).
    pub(crate) fn close_input(&mut self) {
        self.input = None;
    }

    /// A live agent started, `input` feeding its stdin: its first turn runs.
    fn started_live(&mut self, input: mpsc::UnboundedSender<Vec<u8>>) {
        self.input = Some(input);
        self.in_progress = true;
        self.waiting_since = None;
    }

    /// Count `turn_ends` turn ends. In a one-shot run (`multi_turn` false)
    /// whose input only served its protocol or its permission answers
    /// (`close_one_shot`), the input is closed; in a live run, a turn end that
    /// was not interrupted means the run waits (unless background work goes
    /// on: `background_busy`).
    pub(crate) fn on_turn_ends(
        &mut self,
        turn_ends: u32,
        multi_turn: bool,
        (close_one_shot, background_busy): (bool, bool),
        now: Instant,
    ) -> TurnEnd {
        self.turn_ends_seen += u64::from(turn_ends);
        if turn_ends > 0 && !multi_turn && close_one_shot {
            self.input = None;
            return TurnEnd::InputClosed;
        }
        if !multi_turn || self.input.is_none() {
            return TurnEnd::Nothing;
        }
        // Interrupted turns end first: the answers that interrupted them are queued.
        let interrupted = turn_ends.min(self.interrupts_pending);
        self.interrupts_pending -= interrupted;
        // While background subagents run, the CLI goes on by itself.
        if turn_ends > interrupted && !background_busy {
            self.in_progress = false;
            self.waiting_since = Some(now);
            return TurnEnd::Waiting;
        }
        TurnEnd::Nothing
    }

    /// A live run left waiting for `idle` or longer: close its input (which
    /// ends the session the normal way) and say how long it waited.
    pub(crate) fn close_if_idle(&mut self, idle: Duration, now: Instant) -> Option<Duration> {
        if idle.is_zero() || self.input.is_none() {
            return None;
        }
        let waited = now.saturating_duration_since(self.waiting_since?);
        if waited < idle {
            return None;
        }
        self.input = None;
        Some(waited)
    }

    /// One more automatic resume after a usage limit, if any is left.
    fn take_limit_resume(&mut self) -> bool {
        let left = self.limit_resumes < MAX_LIMIT_RESUMES;
        if left {
            self.limit_resumes += 1;
        }
        left
    }

    /// An answer must not be empty (after trimming) nor too long.
    fn check_text(text: &str) -> Result<&str, control::Reply> {
        let text = text.trim();
        if text.is_empty() {
            return Err(control::Reply::err("empty message"));
        }
        if text.len() > control::MAX_RESPOND_BYTES {
            return Err(control::Reply::err(format!(
                "message longer than {} bytes",
                control::MAX_RESPOND_BYTES
            )));
        }
        Ok(text)
    }

    /// The auto-respond limit (`max`, of run `id`): a human answer (`user`)
    /// resets the count; an automatic one is refused past it.
    fn check_answer(
        &mut self,
        user: bool,
        max: u32,
        (id, multi_turn): (&str, bool),
    ) -> Result<(), control::Reply> {
        if user {
            self.auto_count = 0;
            return Ok(());
        }
        if self.auto_count < max {
            return Ok(());
        }
        let count = self.auto_count;
        Err(control::Reply::err(if multi_turn {
            format!(
                "⚠️ Auto-respond limit reached ({count}/{max}): the agent has been answered \
                 automatically {max} times in a row. Ask the user, then answer with \
                 `clawrun respond {id} --user \"…\"` (which resets the count)."
            )
        } else {
            format!(
                "⚠️ Auto-respond limit reached ({count}/{max}): ask the user, then answer with \
                 `clawrun respond {id} --user \"…\"` (which resets the count)."
            )
        }))
    }

    /// A message was sent to the live agent (`interrupting` its turn): a
    /// turn runs again.
    fn answered(&mut self, user: bool, interrupting: bool) {
        if !user {
            self.auto_count += 1;
        }
        if interrupting {
            self.interrupts_pending += 1;
        }
        self.in_progress = true;
        self.waiting_since = None;
    }

    /// A follow-up queued for the next turn.
    fn queued(&mut self, text: &str, user: bool) {
        if !user {
            self.auto_count += 1;
        }
        self.followups.push_back(text.to_owned());
    }

    /// The queued follow-ups the run ends without running, oldest first.
    pub(crate) fn take_followups(&mut self) -> Vec<String> {
        self.followups.drain(..).collect()
    }
}

/// What follows an agent process that has ended.
pub(crate) enum Next {
    /// A new process in the same session.
    Restart(Box<Agent>),
    /// The runner was stopped while waiting to restart.
    Stop(StopReason),
    /// The run is over.
    Done,
}

/// Why the agent is started again in the same session.
enum Restart {
    /// The usage limit has reset.
    AfterLimit,
    /// A follow-up queued with `clawrun respond`.
    FollowUp(String),
}

impl Supervisor<'_> {
    /// Spawn the agent for `req`; with live input, keep its stdin and feed it
    /// through [`Turns`] (the first input is the prompt). Records the
    /// agent's pid.
    /// A backend that talks both ways in every run (ACP) is always started
    /// live. The agent's protocol is made for `req` here.
    pub(crate) fn start_agent(&mut self, req: &RunRequest) -> Result<Agent, ProcessError> {
        // Multi-turn, or answering permission requests.
        let keeps_stdin = self.approvals.live(&self.job.spec);
        let live = if keeps_stdin || self.job.backend.capabilities().two_way {
            self.job.backend.live_command(req)
        } else {
            None
        };
        let agent = match live {
            Some(cmd) => self.spawn_live(&cmd)?,
            None => process::spawn(&self.job.backend.command(req), &self.job.agent_env)?,
        };
        self.protocol = self.job.backend.protocol_for(req, keeps_stdin);
        self.liveness
            .start(self.protocol.awaiting(), Instant::now());
        self.keeper.record.agent_pid = Some(agent.pid);
        Ok(agent)
    }

    fn spawn_live(&mut self, cmd: &CommandSpec) -> Result<Agent, ProcessError> {
        let mut agent = process::spawn_keep_stdin(cmd, &self.job.agent_env)?;
        if let Some(stdin) = agent.stdin.take() {
            self.turns
                .started_live(spawn_writer(stdin, cmd.stdin.clone().into_bytes()));
            self.keeper.record.waiting_since = None;
        }
        Ok(agent)
    }

    /// After an agent process: restart it in the same session (a usage limit
    /// that resets in time, or a queued follow-up), or end the run.
    pub(crate) async fn next_turn(&mut self, a: &Attempt, lp: &mut Loop) -> Next {
        // Stopped after its turn ended (`liveness`): a queued follow-up still runs.
        if a.stop.is_some_and(|s| s != StopReason::Ended) {
            return Next::Done;
        }
        if let Some(wait) = limit_wait(&self.job.spec, &self.state, lp.deadline) {
            if self.turns.take_limit_resume() {
                return self.resume_after_limit(a, lp, wait).await;
            }
        }
        // A follow-up queued with `clawrun respond` while the turn ran: resume
        // the same session with it, once the turn completed.
        if matches!(self.state.terminal, Some(Ok(()))) && self.state.resume_id.is_some() {
            if let Some(next) = self.turns.followups.pop_front() {
                if let Some(agent) = self.restart(Restart::FollowUp(next)) {
                    return Next::Restart(Box::new(agent));
                }
            }
        }
        Next::Done
    }

    /// Wait out a usage limit (`wait`), then start the agent again.
    async fn resume_after_limit(&mut self, a: &Attempt, lp: &mut Loop, wait: Duration) -> Next {
        // Let the parser see the end of this process first: a failure it
        // reports now belongs to this attempt.
        let mut closing = self.protocol.finish(a.code(), &lp.tail.text());
        self.apply_events(&mut closing, Instant::now());
        let until = self.state.rate_limited_until.unwrap_or_default();
        self.notifier.notice(&format!(
            "⏳ usage limit until {}; will resume then",
            notify::hh_mm_utc(until)
        ));
        let woke = tokio::select! {
            () = tokio::time::sleep(wait) => None,
            sig = lp.signals.recv() => Some(sig),
        };
        if let Some(sig) = woke {
            return Next::Stop(StopReason::Signal(sig));
        }
        self.restart(Restart::AfterLimit)
            .map_or(Next::Done, |a| Next::Restart(Box::new(a)))
    }

    /// The one restart: the same session, a new prompt, a fresh protocol.
    /// `None` (and a notice) when the agent cannot be started.
    fn restart(&mut self, why: Restart) -> Option<Agent> {
        let prompt = match &why {
            Restart::AfterLimit => LIMIT_RESUME_PROMPT.to_owned(),
            Restart::FollowUp(text) => text.clone(),
        };
        let req = RunRequest {
            prompt,
            resume_id: self.state.resume_id.clone(),
            fork: false,
            ..self.job.request.clone()
        };
        let agent = match self.start_agent(&req) {
            Ok(agent) => agent,
            Err(e) => {
                self.notifier.notice(&match why {
                    Restart::AfterLimit => format!("⚠️ resuming after the usage limit failed: {e}"),
                    Restart::FollowUp(_) => format!("⚠️ the queued follow-up could not start: {e}"),
                });
                return None;
            }
        };
        self.state.terminal = None;
        self.state.new_process();
        match &why {
            Restart::AfterLimit => {
                self.state.rate_limited_until = None;
                self.watch.rate_limited = false;
            }
            Restart::FollowUp(_) => self.state.final_text = None,
        }
        self.state.touch(Instant::now());
        self.keeper.write(&self.state);
        self.notifier.notice(&match why {
            Restart::AfterLimit => "▶️ resumed".to_owned(),
            Restart::FollowUp(text) => format!(
                "↩️ Running the queued follow-up:\n{}",
                notify::preview(&text, 200)
            ),
        });
        Some(agent)
    }

    /// Turn ends in a batch of events: a one-shot run's closes the agent's
    /// input (which ends it); a live run's means it waits for input.
    pub(crate) fn on_turn_ends(&mut self, turn_ends: u32, now: Instant) {
        // A one-turn run kept stdin open only for its protocol (ACP) or to
        // answer permission requests: closing it lets the agent end.
        let close_one_shot =
            self.job.backend.capabilities().two_way || !self.state.background_busy();
        let end = self.turns.on_turn_ends(
            turn_ends,
            self.job.spec.limits.multi_turn,
            (close_one_shot, self.state.background_busy()),
            now,
        );
        match end {
            TurnEnd::Nothing => {}
            TurnEnd::InputClosed => self.liveness.turn_over(now),
            TurnEnd::Waiting => self.on_waiting(),
        }
    }

    /// A live turn ended: the run waits for input. Tell the human once, and
    /// wake the orchestrator.
    fn on_waiting(&mut self) {
        // On disk before anyone is told, so that `list` agrees with the wake.
        self.keeper.waiting(&self.state, Some(now_secs()));
        let text = match &self.state.terminal {
            Some(Err((msg, _))) => msg.clone(),
            _ => self
                .state
                .final_text
                .clone()
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| self.state.assistant_text.clone()),
        };
        let label = self
            .job
            .spec
            .label
            .clone()
            .unwrap_or_else(|| self.job.spec.run_id.clone());
        self.notifier.notice(&notify::render_waiting(
            &label,
            &self.job.spec.run_id,
            &text,
        ));
        let preview = notify::tail_chars(text.trim(), notify::WAITING_PREVIEW_CHARS);
        self.send_wake((WakeStatus::Waiting, None), preview);
    }

    /// A live run left waiting past `--idle-timeout`: close its input, which
    /// ends the session the normal way.
    pub(crate) fn close_idle_input(&mut self, now: Instant) {
        if !self.job.spec.limits.multi_turn {
            return;
        }
        let idle = Duration::from_secs(self.job.spec.limits.idle_timeout_secs);
        if let Some(waited) = self.turns.close_if_idle(idle, now) {
            self.notifier.notice(&format!(
                "💤 No answer for {}: closing the session (--idle-timeout). \
                 Continue it later with `clawrun resume {} \"…\"`.",
                notify::fmt_duration(waited.as_secs() as i64),
                self.job.spec.run_id
            ));
        }
    }

    /// Wake the orchestrating agent (when the run has a session key to wake)
    /// with `status` and the agent's own exit status.
    pub(crate) fn send_wake(&mut self, status: (WakeStatus, Option<i32>), preview: String) {
        let Some(mut target) = WakeTarget::of_run(
            &self.job.spec,
            self.job.backend.names().result_marker,
            status,
            self.state.resume_id.clone(),
            preview,
        ) else {
            return;
        };
        target.payload = target.payload.with_record(&self.keeper.record);
        // The output file, or why it could not be saved.
        target.payload.output = self
            .transcript
            .shown_output(&self.job.spec.output_file)
            .display()
            .to_string();
        target.payload.denied = notify::denials_line(
            &self.state.denied,
            &notify::RunInfo::new(&self.job.spec, self.job.backend.names()).denial_cause,
            &self.job.spec.request.project,
        );
        self.notifier.send_wake(target, &self.job.spec.output_file);
    }

    /// `clawrun respond`: send the next user message to a live run, or queue
    /// it for a run without live input.
    pub(crate) fn on_respond(&mut self, text: &str, interrupt: bool, user: bool) -> control::Reply {
        let id = self.job.spec.run_id.clone();
        let live = self.job.spec.limits.multi_turn;
        // Without live input the agent's stdin (if open: a two-way protocol)
        // is not for user messages: queue them.
        if !live && !self.turns.finishing {
            return self.queue_followup(text, interrupt, user);
        }
        if !self.turns.has_input() {
            return control::Reply::err(closed_input_words(&self.job.spec, live));
        }
        let checked = Turns::check_text(text).and_then(|text| {
            let max = self.job.spec.limits.max_auto_responds;
            self.turns
                .check_answer(user, max, (&id, live))
                .map(|()| text)
        });
        let text = match checked {
            Ok(t) => t,
            Err(reply) => return reply,
        };
        let interrupting = interrupt && self.turns.in_progress;
        let mut bytes = Vec::new();
        if interrupting {
            bytes.extend(
                self.protocol
                    .encode(LiveInput::Interrupt)
                    .unwrap_or_default(),
            );
        }
        let Some(message) = self.protocol.encode(LiveInput::Message(text)) else {
            return control::Reply::err(format!("run {id} takes no input while it runs"));
        };
        bytes.extend(message);
        if !self.turns.send(bytes) {
            return control::Reply::err(format!("run {id} is closing (its input is closed)"));
        }
        self.turns.answered(user, interrupting);
        self.keeper.waiting(&self.state, None);
        self.state.touch(Instant::now());
        let label = self.job.spec.name();
        self.notifier.notice(&format!(
            "↩️ {label} Responded:\n{}",
            notify::preview(text, 200)
        ));
        control::Reply::ok()
    }

    /// A run that takes no live input: queue the message; when the current
    /// turn completes, the runner resumes the same session with it (in the same
    /// run directory).
    fn queue_followup(&mut self, text: &str, interrupt: bool, user: bool) -> control::Reply {
        let id = self.job.spec.run_id.clone();
        let text = match Turns::check_text(text) {
            Ok(t) => t,
            Err(reply) => return reply,
        };
        if interrupt {
            return control::Reply::err(format!(
                "run {id} ({}) cannot be interrupted with a message; the follow-up is queued only \
                 without --interrupt (or stop the run with `clawrun kill {id}`)",
                self.job.spec.backend
            ));
        }
        let max = self.job.spec.limits.max_auto_responds;
        if let Err(reply) = self.turns.check_answer(user, max, (&id, false)) {
            return reply;
        }
        let line = serde_json::json!({"at": now_secs(), "text": text}).to_string();
        if let Err(e) = fsutil::append_line(&self.keeper.dir().file(FOLLOWUPS_FILE_NAME), &line) {
            // The follow-up is queued in memory all the same; only its record is missing.
            tracing::warn!("⚠ recording the follow-up in {FOLLOWUPS_FILE_NAME}: {e}");
        }
        self.turns.queued(text, user);
        let label = self.job.spec.name();
        self.notifier.notice(&format!(
            "↩️ {label}: follow-up queued; it runs in the same session when the current turn ends:\n{}",
            notify::preview(text, 200)
        ));
        control::Reply::ok()
    }
}

/// How long to wait before resuming after a usage limit, when the run
/// should: `--auto-resume-on-limit`, the last attempt failed (or gave no
/// result) after a limit with a known reset, the session id is known, and
/// the reset comes before the run's deadline.
fn limit_wait(spec: &RunSpec, state: &RunState, deadline: Instant) -> Option<Duration> {
    if !spec.limits.auto_resume_on_limit || state.resume_id.is_none() {
        return None;
    }
    if matches!(state.terminal, Some(Ok(()))) {
        return None;
    }
    let resets_at = state.rate_limited_until?;
    // One second of margin past the reset.
    let wait = Duration::from_secs(resets_at.saturating_sub(now_secs()).max(0) as u64 + 1);
    (Instant::now() + wait < deadline).then_some(wait)
}

/// Why a run whose input is closed takes no answer, and what to do.
fn closed_input_words(spec: &RunSpec, live: bool) -> String {
    let id = &spec.run_id;
    if live {
        format!(
            "run {id} is closing (its input is closed); once it has ended, continue it \
             with `clawrun resume {id} \"message\"`"
        )
    } else {
        format!(
            "run {id} ({}) takes no input while it runs (not a --multi-turn run); once \
             its turn has ended, continue it with `clawrun resume {id} \"message\"`",
            spec.backend
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn live() -> (Turns, mpsc::UnboundedReceiver<Vec<u8>>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut t = Turns::default();
        t.started_live(tx);
        (t, rx)
    }

    #[tokio::test(start_paused = true)]
    async fn a_live_turn_end_waits_unless_it_was_interrupted() {
        let now = Instant::now();
        let (mut t, mut rx) = live();
        assert!(t.send(b"hi".to_vec()));
        assert_eq!(rx.recv().await.unwrap(), b"hi");
        t.answered(true, true);
        // The interrupted turn's end is not "waiting": the answer is queued.
        assert_eq!(
            t.on_turn_ends(1, true, (false, false), now),
            TurnEnd::Nothing
        );
        assert!(!t.waiting());
        assert_eq!(
            t.on_turn_ends(1, true, (false, true), now),
            TurnEnd::Nothing,
            "busy"
        );
        assert_eq!(
            t.on_turn_ends(1, true, (false, false), now),
            TurnEnd::Waiting
        );
        assert!(t.waiting());
        assert_eq!(t.turn_ends_seen, 3);
        let idle = Duration::from_secs(60);
        assert_eq!(t.close_if_idle(idle, now + Duration::from_secs(59)), None);
        assert_eq!(
            t.close_if_idle(idle, now + Duration::from_secs(61)),
            Some(Duration::from_secs(61))
        );
        assert!(!t.has_input() && !t.send(b"x".to_vec()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_one_shot_turn_end_closes_the_input() {
        let (mut t, _rx) = live();
        let end = t.on_turn_ends(1, false, (true, false), Instant::now());
        assert_eq!(end, TurnEnd::InputClosed);
        assert!(!t.has_input());
    }

    #[test]
    fn automatic_answers_are_capped_until_a_human_answers() {
        let mut t = Turns::default();
        for _ in 0..2 {
            assert!(t.check_answer(false, 2, ("r", true)).is_ok());
            t.queued("again", false);
        }
        let refused = t.check_answer(false, 2, ("r", true)).unwrap_err();
        assert!(refused.error.unwrap().contains("(2/2)"));
        assert!(t.check_answer(true, 2, ("r", true)).is_ok());
        assert!(
            t.check_answer(false, 2, ("r", true)).is_ok(),
            "the human reset it"
        );
        assert_eq!(t.take_followups(), ["again", "again"]);
        assert!(Turns::check_text("  ").is_err());
        assert_eq!(Turns::check_text(" ok ").unwrap(), "ok");
        assert!((0..MAX_LIMIT_RESUMES).all(|_| t.take_limit_resume()));
        assert!(!t.take_limit_resume());
    }
}
