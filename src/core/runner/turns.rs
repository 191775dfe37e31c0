//! Turns of a run: the agent's live input (multi-turn), the human's answers
//! (`clawrun respond`), follow-ups queued for a run without live input, and the
//! one way the agent is restarted in the same session ([`Restart`]: after a
//! usage limit, or for a queued follow-up).

use std::collections::VecDeque;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::backends::{Backend, CommandSpec, LiveInput, Protocol, RunRequest};
use crate::core::error::ProcessError;
use crate::core::notify::{self, WakeStatus, WakeTarget};
use crate::core::now_secs;
use crate::core::store::fsutil;

use super::control;
use super::finish::{StopReason, hh_mm_utc};
use super::io::spawn_writer;
use super::process::{self, Agent};
use super::supervisor::{Attempt, Loop, Supervisor};
use super::{FOLLOWUPS_FILE_NAME, LIMIT_RESUME_PROMPT};

/// How long a stopping run waits for the agent to end its turn after a
/// cancel request ([`crate::backends::Protocol::on_stop`]).
const CANCEL_WAIT: Duration = Duration::from_secs(3);

/// Most automatic resumes after a usage limit, per run.
const MAX_LIMIT_RESUMES: u32 = 3;

/// The state of a run's turns.
#[derive(Debug, Default)]
pub(crate) struct Turns {
    /// Bytes for the agent's stdin; dropping it closes stdin.
    pub input: Option<mpsc::UnboundedSender<Vec<u8>>>,
    /// A turn is running (false while waiting for input).
    in_progress: bool,
    /// Since when the run waits for an answer.
    pub waiting_since: Option<Instant>,
    /// Automatic answers since the last human one.
    auto_count: u32,
    /// Interrupts sent whose turn end has not been seen yet (that turn end
    /// does not mean "waiting": the next message is already queued).
    interrupts_pending: u32,
    /// Follow-ups queued by `clawrun respond` for a run without live input.
    followups: VecDeque<String>,
    /// The last attempt ended: no more follow-ups are accepted.
    pub finishing: bool,
    /// Resumes after a usage limit so far.
    limit_resumes: u32,
    /// Turn ends seen in the whole run (the stop path waits for one more
    /// after asking the agent to cancel).
    pub turn_ends_seen: u64,
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
    /// from [`Turns::input`] (the first input is the prompt). Records the
    /// agent's pid.
    /// A backend that talks both ways in every run (ACP) is always started
    /// live. The agent's protocol is made for `req` here.
    pub(crate) fn start_agent(&mut self, req: &RunRequest) -> Result<Agent, ProcessError> {
        let keeps_stdin = self.live();
        let live = if keeps_stdin || self.backend.capabilities().two_way {
            self.backend.live_command(req)
        } else {
            None
        };
        let agent = match live {
            Some(cmd) => self.spawn_live(&cmd)?,
            None => process::spawn(&self.backend.command(req), &self.agent_env)?,
        };
        self.protocol = self.backend.protocol_for(req, keeps_stdin);
        self.liveness
            .start(self.protocol.awaiting(), Instant::now());
        self.record.agent_pid = Some(agent.pid);
        Ok(agent)
    }

    fn spawn_live(&mut self, cmd: &CommandSpec) -> Result<Agent, ProcessError> {
        let mut agent = process::spawn_keep_stdin(cmd, &self.agent_env)?;
        if let Some(stdin) = agent.stdin.take() {
            self.turns.input = Some(spawn_writer(stdin, cmd.stdin.clone().into_bytes()));
            self.turns.in_progress = true;
            self.turns.waiting_since = None;
            self.record.waiting_since = None;
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
        if self.turns.limit_resumes < MAX_LIMIT_RESUMES {
            if let Some(wait) = self.limit_wait(lp.deadline) {
                // Let the parser see the end of this process first: a failure it
                // reports now belongs to this attempt.
                let mut closing = self.protocol.finish(a.code(), &lp.tail.text());
                self.apply_events(&mut closing, Instant::now());
                self.turns.limit_resumes += 1;
                let until = self.state.rate_limited_until.unwrap_or_default();
                self.notifier.notice(&format!(
                    "⏳ usage limit until {}; will resume then",
                    hh_mm_utc(until)
                ));
                let woke = tokio::select! {
                    () = tokio::time::sleep(wait) => None,
                    sig = lp.signals.recv() => Some(sig),
                };
                if let Some(sig) = woke {
                    return Next::Stop(StopReason::Signal(sig));
                }
                return self
                    .restart(Restart::AfterLimit)
                    .map_or(Next::Done, |a| Next::Restart(Box::new(a)));
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
            ..self.request.clone()
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
        self.write_record();
        self.notifier.notice(&match why {
            Restart::AfterLimit => "▶️ resumed".to_owned(),
            Restart::FollowUp(text) => format!(
                "↩️ Running the queued follow-up:\n{}",
                notify::preview(&text, 200)
            ),
        });
        Some(agent)
    }

    /// How long to wait before resuming after a usage limit, when the run
    /// should: `--auto-resume-on-limit`, the last attempt failed (or gave no
    /// result) after a limit with a known reset, the session id is known, and
    /// the reset comes before the run's deadline.
    fn limit_wait(&self, deadline: Instant) -> Option<Duration> {
        if !self.spec.limits.auto_resume_on_limit || self.state.resume_id.is_none() {
            return None;
        }
        if matches!(self.state.terminal, Some(Ok(()))) {
            return None;
        }
        let resets_at = self.state.rate_limited_until?;
        // One second of margin past the reset.
        let wait = Duration::from_secs(resets_at.saturating_sub(now_secs()).max(0) as u64 + 1);
        (Instant::now() + wait < deadline).then_some(wait)
    }

    /// Turn ends in a batch of events: in a live run, one that was not
    /// interrupted means the agent waits for input.
    /// A one-shot run of a two-way backend closes the agent's input instead,
    /// which ends it.
    pub(crate) fn on_turn_ends(&mut self, turn_ends: u32, now: Instant) {
        self.turns.turn_ends_seen += u64::from(turn_ends);
        let one_shot = turn_ends > 0 && !self.spec.limits.multi_turn;
        if one_shot && (self.backend.capabilities().two_way || !self.state.background_busy()) {
            // A one-turn run kept stdin open only for its protocol (ACP) or to
            // answer permission requests: closing it lets the agent end.
            self.turns.input = None;
            self.liveness.turn_over(now);
            return;
        }
        if !self.spec.limits.multi_turn || self.turns.input.is_none() {
            return;
        }
        // Interrupted turns end first: the answers that interrupted them are queued.
        let interrupted = turn_ends.min(self.turns.interrupts_pending);
        self.turns.interrupts_pending -= interrupted;
        // While background subagents run, the CLI goes on by itself.
        if turn_ends > interrupted && !self.state.background_busy() {
            self.on_waiting(now);
        }
    }

    /// A live turn ended: the run waits for input. Tell the human once, and
    /// wake the orchestrator.
    fn on_waiting(&mut self, now: Instant) {
        self.turns.in_progress = false;
        self.turns.waiting_since = Some(now);
        // On disk before anyone is told, so that `list` agrees with the wake.
        self.record.waiting_since = Some(now_secs());
        self.write_record();
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
            .spec
            .label
            .clone()
            .unwrap_or_else(|| self.spec.run_id.clone());
        self.notifier
            .notice(&notify::render_waiting(&label, &self.spec.run_id, &text));
        let preview = notify::tail_chars(text.trim(), notify::WAITING_PREVIEW_CHARS);
        self.send_wake((WakeStatus::Waiting, None), preview);
    }

    /// A live run left waiting past `--idle-timeout`: close its input, which
    /// ends the session the normal way.
    pub(crate) fn close_idle_input(&mut self, now: Instant) {
        let idle = self.spec.limits.idle_timeout_secs;
        if !self.spec.limits.multi_turn || idle == 0 || self.turns.input.is_none() {
            return;
        }
        let Some(since) = self.turns.waiting_since else {
            return;
        };
        let waited = now.saturating_duration_since(since);
        if waited >= Duration::from_secs(idle) {
            self.turns.input = None;
            self.notifier.notice(&format!(
                "💤 No answer for {}: closing the session (--idle-timeout). \
                 Continue it later with `clawrun resume {} \"…\"`.",
                notify::fmt_duration(waited.as_secs() as i64),
                self.spec.run_id
            ));
        }
    }

    /// Wake the orchestrating agent (when the run has a session key to wake)
    /// with `status` and the agent's own exit status.
    pub(crate) fn send_wake(&mut self, status: (WakeStatus, Option<i32>), preview: String) {
        let Some(mut target) = WakeTarget::of_run(
            &self.spec,
            self.backend.names().result_marker,
            status,
            self.state.resume_id.clone(),
            preview,
        ) else {
            return;
        };
        target.payload = target.payload.with_record(&self.record);
        // The output file, or why it could not be saved.
        target.payload.output = self.shown_output().display().to_string();
        target.payload.denied = notify::denials_line(
            &self.state.denied,
            &notify::RunInfo::new(&self.spec, self.backend.names()).denial_cause,
            &self.spec.request.project,
        );
        self.notifier.send_wake(target, &self.spec.output_file);
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

    /// The auto-respond limit: a human answer (`user`) resets the count; an
    /// automatic one is refused past `--max-auto-responds`.
    fn check_auto_limit(&mut self, user: bool) -> Result<(), control::Reply> {
        let max = self.spec.limits.max_auto_responds;
        if user {
            self.turns.auto_count = 0;
            return Ok(());
        }
        if self.turns.auto_count < max {
            return Ok(());
        }
        let (count, id) = (self.turns.auto_count, &self.spec.run_id);
        Err(control::Reply::err(if self.spec.limits.multi_turn {
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

    /// `clawrun respond`: send the next user message to a live run, or queue
    /// it for a run without live input.
    pub(crate) fn on_respond(&mut self, text: &str, interrupt: bool, user: bool) -> control::Reply {
        let id = self.spec.run_id.clone();
        let live = self.spec.limits.multi_turn;
        // Without live input the agent's stdin (if open: a two-way protocol)
        // is not for user messages: queue them.
        if !live && !self.turns.finishing {
            return self.queue_followup(text, interrupt, user);
        }
        if self.turns.input.is_none() {
            return control::Reply::err(if live {
                format!(
                    "run {id} is closing (its input is closed); once it has ended, continue it \
                     with `clawrun resume {id} \"message\"`"
                )
            } else {
                format!(
                    "run {id} ({}) takes no input while it runs (not a --multi-turn run); once \
                     its turn has ended, continue it with `clawrun resume {id} \"message\"`",
                    self.spec.backend
                )
            });
        }
        let text = match Self::check_text(text) {
            Ok(t) => t,
            Err(reply) => return reply,
        };
        if let Err(reply) = self.check_auto_limit(user) {
            return reply;
        }
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
        let sent = self
            .turns
            .input
            .as_ref()
            .is_some_and(|input| input.send(bytes).is_ok());
        if !sent {
            return control::Reply::err(format!("run {id} is closing (its input is closed)"));
        }
        if !user {
            self.turns.auto_count += 1;
        }
        if interrupting {
            self.turns.interrupts_pending += 1;
        }
        self.turns.in_progress = true;
        self.turns.waiting_since = None;
        if self.record.waiting_since.take().is_some() {
            self.write_record();
        }
        self.state.touch(Instant::now());
        let label = self.spec.label.clone().unwrap_or(id);
        self.notifier.notice(&format!(
            "↩️ {label} Responded:\n{}",
            notify::preview(text, 200)
        ));
        control::Reply::ok()
    }

    /// The queued follow-ups the run ends without running, oldest first.
    pub(crate) fn take_followups(&mut self) -> Vec<String> {
        self.turns.followups.drain(..).collect()
    }

    /// A run that takes no live input: queue the message; when the current
    /// turn completes, the runner resumes the same session with it (in the same
    /// run directory).
    fn queue_followup(&mut self, text: &str, interrupt: bool, user: bool) -> control::Reply {
        let id = self.spec.run_id.clone();
        let text = match Self::check_text(text) {
            Ok(t) => t,
            Err(reply) => return reply,
        };
        if interrupt {
            return control::Reply::err(format!(
                "run {id} ({}) cannot be interrupted with a message; the follow-up is queued only \
                 without --interrupt (or stop the run with `clawrun kill {id}`)",
                self.spec.backend
            ));
        }
        if let Err(reply) = self.check_auto_limit(user) {
            return reply;
        }
        if !user {
            self.turns.auto_count += 1;
        }
        let line = serde_json::json!({"at": now_secs(), "text": text}).to_string();
        let _ = fsutil::append_line(&self.dir.file(FOLLOWUPS_FILE_NAME), &line);
        self.turns.followups.push_back(text.to_owned());
        let label = self.spec.label.clone().unwrap_or(id);
        self.notifier.notice(&format!(
            "↩️ {label}: follow-up queued; it runs in the same session when the current turn ends:\n{}",
            notify::preview(text, 200)
        ));
        control::Reply::ok()
    }
}

impl Supervisor<'_> {
    /// Before stopping the agent: when its protocol has a cancel request
    /// (ACP `session/cancel`) and a turn runs, write it and keep reading its
    /// output until the turn ends, the agent exits, or [`CANCEL_WAIT`] passes.
    pub(crate) async fn cancel_turn(&mut self, a: &mut Attempt, lp: &mut Loop) {
        let Some(bytes) = self.protocol.on_stop() else {
            return;
        };
        let sent = self
            .turns
            .input
            .as_ref()
            .is_some_and(|input| input.send(bytes).is_ok());
        if !sent {
            return;
        }
        let ends_before = self.turns.turn_ends_seen;
        let until = Instant::now() + CANCEL_WAIT;
        while a.stdout_open && a.exit_status.is_none() && self.turns.turn_ends_seen == ends_before {
            tokio::select! {
                n = a.agent.stdout.read(&mut lp.out_buf) => self.on_stdout(a, lp, n),
                () = tokio::time::sleep_until(until) => break,
            }
        }
    }
}
