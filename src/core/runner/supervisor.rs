//! One run from spawn to report: [`execute`] builds the [`Supervisor`], whose
//! select loop waits on the agent's pipes and exit, the deadline, the runner's
//! signals, the timers and the control socket, and hands each to the part of
//! the run that owns it. Every stop reason goes through [`Supervisor::stop`].
//!
//! The Supervisor composes the run's owners, each with its own state: the
//! record keeper (`run.json`, the registry: [`RecordKeeper`]), the transcript
//! (`stream.jsonl`, `assistant.txt`: [`Transcript`]), the turns (live input,
//! answers, follow-ups: [`Turns`]), the approver ([`Approvals`]), the
//! protocol's deadlines ([`super::liveness::Liveness`]) and the notifier
//! (messages and the wake: [`Notifier`]). What it keeps itself is what
//! crosses them: the run's spec, the agent's protocol, the run's state.

use std::path::Path;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::time::Instant;

use crate::backends::{AnyBackend, AnyProtocol, Backend, LiveInput, Protocol, RunRequest, Step};
use crate::channels::{AnyChannel, ChannelKind};
use crate::core::context::RunContext;
use crate::core::error::{Error, Result};
use crate::core::model::approval::Ask;
use crate::core::model::events::{AgentEvent, FailureKind};
use crate::core::model::state::RunState;
use crate::core::notify::foreground::Foreground;
use crate::core::notify::outbox::StaleCheck;
use crate::core::notify::{self, Notifier, RunInfo};
use crate::core::store::fsutil;
use crate::core::store::paths::Paths;
use crate::core::store::run::{RunDir, RunSpec};
use crate::core::store::sessions::SessionLog;
use crate::core::store::slots::Slot;

use super::approvals::{Approvals, Decided};
use super::attempt::{Attempt, Loop, next_request};
use super::control::{self, NoteLimiter};
use super::finish::StopReason;
use super::io::read_line;
use super::liveness::Verdict;
use super::process::{AgentEnv, Signals};
use super::queue::{Admission, wait_in_queue};
use super::reactions::{self, Effect, Setup, Watch};
use super::record::RecordKeeper;
use super::transcript::Transcript;
use super::turns::{Next, Turns};
use super::version_guard;
use super::{RunReport, inside_git_work_tree};

/// How long to keep reading stdout after the agent exited, for output still in
/// the pipe (a grandchild holding the pipe open must not hang the runner).
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);
/// How long a stopping run waits for the agent to end its turn after a
/// cancel request ([`crate::backends::Protocol::on_stop`]).
const CANCEL_WAIT: Duration = Duration::from_secs(3);
/// Progress notes: one more per this interval (after a burst of 3).
const NOTE_EVERY: Duration = Duration::from_secs(10);
/// Progress notes: at most this many per run.
const MAX_NOTES: u32 = 100;

/// What the run is, set before its agent starts and read by every part.
pub(crate) struct Job {
    pub(crate) spec: RunSpec,
    pub(crate) backend: AnyBackend,
    /// The request of the first agent (restarts derive theirs from it).
    pub(crate) request: RunRequest,
    /// What the runner changes in the agent's environment.
    pub(crate) agent_env: AgentEnv,
    pub(crate) paths: Paths,
}

/// Runs one agent to its end. Built by [`execute`].
pub(crate) struct Supervisor<'a> {
    /// What the run is.
    pub(crate) job: Job,
    /// `run.json` and the registry entry.
    pub(crate) keeper: RecordKeeper<'a>,
    /// What the agent's events told so far.
    pub(crate) state: RunState,
    /// What the events' reactions remember (stalled, rate limited).
    pub(crate) watch: Watch,
    /// The current agent process's protocol.
    pub(crate) protocol: AnyProtocol,
    pub(crate) notifier: Notifier,
    /// `clawrun fg`: the agent's text streamed into the chat.
    pub(crate) fg: Foreground,
    /// `stream.jsonl`, `assistant.txt`, the output file's fate.
    pub(crate) transcript: Transcript,
    /// Live input, answers, follow-ups, restarts.
    pub(crate) turns: Turns,
    /// `--approvals`: the agent's permission requests and their answers.
    pub(crate) approvals: Approvals,
    /// The bounds on a broken protocol (handshake, end of output, end of turn).
    pub(crate) liveness: super::liveness::Liveness,
    /// When the (last) agent process started.
    pub(crate) started: Instant,
    /// `--remind-after` was said.
    reminded: bool,
    /// Progress notes' rate.
    pub(crate) limiter: NoteLimiter,
    /// Warnings for the person running clawrun, returned in the report.
    pub(crate) warnings: Vec<String>,
}

/// Execute the run in `dir` to its end: spawn, supervise, finish. Handles the
/// runner's own SIGTERM/SIGINT/SIGHUP as a kill (outcome `killed`). Reads
/// the config files under `paths` ([`RunContext::load`]; `clawrun::launch`
/// executes a run in the context it already has).
///
/// # Errors
/// Only for failures before the agent could be supervised (unreadable request
/// or config); every later failure becomes an outcome in the report.
pub async fn execute(dir: &RunDir, paths: &Paths, channel: AnyChannel) -> Result<RunReport> {
    let ctx = RunContext::load(paths, dir.read_spec()?.backends_file)?;
    execute_inner(&ctx, dir, channel, None, None).await
}

/// [`execute`] in `ctx`, under the cap on agents running at once: with a
/// slot held already, or after waiting for one in the queue (a run cancelled
/// while it waits is reported `killed`, without any notification: nothing
/// was sent yet). The slot is freed once the agent's process group is gone.
///
/// # Errors
/// As [`execute`]; also an I/O error on the slots directory.
pub async fn execute_admitted(
    ctx: &RunContext,
    dir: &RunDir,
    channel: AnyChannel,
    admission: Admission,
) -> Result<RunReport> {
    match admission {
        Admission::Slot(slot) => execute_inner(ctx, dir, channel, Some(slot), None).await,
        Admission::Queue(_) => {
            let mut signals = Signals::install()?;
            match wait_in_queue(dir, &super::queue::slots(ctx), &mut signals).await? {
                Ok(slot) => execute_inner(ctx, dir, channel, Some(slot), Some(signals)).await,
                Err(report) => Ok(*report),
            }
        }
    }
}

/// The `[limits] max_sessions` slot, held until the agent's process group
/// is gone (`None` for a run started through [`execute`]), and the runner's
/// signal handlers when installed before the run (to wait in the queue).
type Handover = (Option<Slot>, Option<Signals>);

async fn execute_inner(
    ctx: &RunContext,
    dir: &RunDir,
    channel: AnyChannel,
    slot: Option<Slot>,
    signals: Option<Signals>,
) -> Result<RunReport> {
    let (paths, config) = (&ctx.paths, &ctx.config);
    let spec = dir.read_spec()?;
    let mut record = dir.read_record()?;
    record.runner_pid = std::process::id();
    let backend = ctx.backend(&spec.backend, spec.backends_file.as_deref())?;
    let stale = StaleCheck {
        chain_root: spec.chain.chain_root.clone(),
        ..StaleCheck::of(&paths.runs_dir(), &record)
    };
    let notifier = notifier_for(&spec, &backend, channel, &dir.path, stale);
    super::channel::flush_earlier_outboxes(ctx, &spec.run_id);
    let approvals = super::approvals::for_run(&spec, &dir.path, ctx);
    let sessions = SessionLog::new(paths, &backend);
    let mut sup = Supervisor {
        protocol: backend.protocol(approvals.live(&spec)),
        keeper: RecordKeeper::new(dir, record, sessions, paths.state_dir.clone()),
        transcript: Transcript::new(dir, config.limits.max_stream_bytes),
        job: Job {
            request: spec.request.clone(),
            agent_env: super::agent_env(&dir.path, config),
            backend,
            spec,
            paths: paths.clone(),
        },
        state: RunState::new(),
        notifier,
        watch: Watch::default(),
        fg: Foreground::load(&dir.path),
        turns: Turns::default(),
        started: Instant::now(),
        reminded: false,
        limiter: NoteLimiter::new(3, NOTE_EVERY, MAX_NOTES),
        warnings: Vec::new(),
        approvals,
        liveness: super::liveness::Liveness::default(),
    };
    sup.state.cli_version = version_guard::program_version(&sup.job.backend, paths).await;
    if sup.job.spec.notify.fg && !sup.fg.enabled {
        sup.fg.enabled = true;
        sup.fg.save();
    }
    sup.run((slot, signals)).await
}

/// The run's notifier, set up from its spec.
fn notifier_for(
    spec: &RunSpec,
    backend: &AnyBackend,
    channel: AnyChannel,
    run_dir: &std::path::Path,
    stale: StaleCheck,
) -> Notifier {
    let mut notifier = Notifier::new(
        channel,
        run_dir,
        RunInfo::new(spec, backend.names()),
        spec.route.destination(),
        Some(stale),
    );
    notifier.reply_to = spec.route.reply_to.clone();
    notifier.heartbeat_edit = spec.notify.heartbeat_edit;
    notifier.silence = spec.notify.silent;
    notifier.trace_live = spec.notify.trace_live;
    notifier.wake.wakes = spec.route.session_key.is_some() || spec.session_key.is_some();
    notifier
}

impl Supervisor<'_> {
    async fn run(&mut self, (slot, signals): Handover) -> Result<RunReport> {
        if let Err(message) = prepare_dirs(&self.job.spec.request.project) {
            return self.crash(message).await;
        }
        self.keeper.record.git_base =
            super::worktree::head_at_launch(self.job.spec.request.project.clone()).await;
        // The agent may relay progress notes through our control socket.
        let (requests, _socket_guard) = match control::serve(&self.keeper.dir().path) {
            Ok((rx, guard)) => (Some(rx), Some(guard)),
            Err(e) => {
                tracing::warn!("progress notes unavailable: {e}");
                (None, None)
            }
        };
        if requests.is_some() {
            self.job.request.prompt = with_automation_context(&self.job.spec.request.prompt);
        }
        // Signals first: a SIGTERM between spawn and the select loop must not be lost.
        let signals = match signals {
            Some(s) => s,
            None => Signals::install()?,
        };
        let request = self.job.request.clone();
        let mut agent = match self.start_agent(&request) {
            Ok(a) => a,
            Err(e) => return self.crash(e.to_string()).await,
        };
        self.started = Instant::now();
        self.keeper.started(&self.state);
        self.notifier.launch(agent.pid);
        if std::env::var_os("CLAWRUN_FAULT").is_some_and(|v| v == "panic-after-spawn") {
            // Fault injection for the crash-path test: the runner's own bug.
            panic!("injected fault: panic after spawn");
        }
        self.trace_start();
        if let Err(message) = self.transcript.open() {
            agent.stop(self.grace()).await.ok();
            return self.crash(message).await;
        }
        let mut lp = Loop::new(
            signals,
            requests,
            Duration::from_secs(self.job.spec.notify.heartbeat_secs),
            Duration::from_secs(self.job.spec.limits.timeout_secs),
        );
        // One pass per agent process: the first, then one per restart.
        let mut attempt = Attempt::new(agent);
        loop {
            self.supervise(&mut attempt, &mut lp).await;
            self.end_attempt(&mut attempt).await;
            match self.next_turn(&attempt, &mut lp).await {
                Next::Restart(agent) => attempt = Attempt::new(*agent),
                Next::Stop(reason) => {
                    attempt.stop = Some(reason);
                    break;
                }
                Next::Done => break,
            }
        }
        self.turns.finishing = true;
        // The agent's process group is gone (each attempt ended with its
        // leftovers killed): the next run may start while this one reports.
        drop(slot);
        self.transcript.flush();
        self.finish(attempt, lp).await
    }

    fn trace_start(&mut self) {
        if self.job.spec.notify.trace_live {
            self.notifier.trace(&format!(
                "[RUN_TASK][START] project={} mode={} limit={} run_id={}",
                self.job.spec.request.project.display(),
                self.job.spec.chain.completion_mode.as_str(),
                self.job.spec.chain.max_iterations,
                self.job.spec.run_id
            ));
        }
    }

    pub(crate) fn grace(&self) -> Duration {
        Duration::from_secs(self.job.spec.limits.grace_secs)
    }

    /// Supervise one agent process until its pipes are closed and it has exited.
    async fn supervise(&mut self, a: &mut Attempt, lp: &mut Loop) {
        while a.stdout_open || a.stderr_open || a.exit_status.is_none() {
            let running = a.running();
            let heartbeat = self.job.spec.notify.heartbeat_secs > 0 && a.exit_status.is_none();
            tokio::select! {
                n = a.agent.stdout.read(&mut lp.out_buf), if a.stdout_open => self.on_stdout(a, lp, n),
                n = a.agent.stderr.read(&mut lp.err_buf), if a.stderr_open => match n {
                    Ok(0) | Err(_) => a.stderr_open = false,
                    Ok(n) => lp.tail.push(&lp.err_buf[..n]),
                },
                status = a.agent.child.wait(), if a.exit_status.is_none() => {
                    a.exit_status = Some(status.map_err(|e| Error::io("waiting for the agent", e)));
                    a.drain_deadline = Some(Instant::now() + DRAIN_AFTER_EXIT);
                    self.turns.close_input();
                },
                () = tokio::time::sleep_until(a.drain_deadline.unwrap_or(lp.deadline)),
                    if a.drain_deadline.is_some() => {
                    // The agent exited but something it started still holds the pipes.
                    a.agent.kill_leftovers(self.grace().min(Duration::from_secs(2))).await;
                    a.stdout_open = false;
                    a.stderr_open = false;
                },
                () = tokio::time::sleep_until(lp.deadline), if running => {
                    self.stop(a, lp, StopReason::Timeout).await;
                },
                sig = lp.signals.recv(), if running => self.stop(a, lp, StopReason::Signal(sig)).await,
                () = super::liveness::until(self.liveness.next()), if running => self.on_liveness(a, lp).await,
                _ = lp.heartbeat.tick(), if heartbeat => self.on_heartbeat(),
                Some(d) = self.approvals.rx.recv() => self.on_decided(d),
                Some((req, reply)) = next_request(&mut lp.requests) => {
                    let answer = self.on_request(req);
                    let _ = reply.send(answer);
                },
                _ = lp.fg_tick.tick(), if self.fg.enabled => {
                    if let Some(text) = self.fg.take_due(Instant::now(), self.transcript.pos, false) {
                        self.notifier.stream(text);
                    }
                },
                _ = lp.refresh.tick() => {
                    lp.quiet.tick(self.transcript.pos, [&mut lp.out_buf, &mut lp.err_buf]);
                    if let Some(reason) = self.on_refresh(running) {
                        self.stop(a, lp, reason).await;
                    }
                },
            }
        }
    }

    /// The one stop path, for every reason: say why (timeout, idle), ask the
    /// agent to end its turn when its protocol can ([`Self::cancel_turn`]),
    /// then SIGTERM, grace, SIGKILL to the agent's group, and drain its output.
    pub(crate) async fn stop(&mut self, a: &mut Attempt, lp: &mut Loop, reason: StopReason) {
        let notice = match reason {
            StopReason::Timeout => Some(format!(
                "⏰ Timeout ({}s) reached, stopping the agent",
                self.job.spec.limits.timeout_secs
            )),
            StopReason::Idle => Some(format!(
                "💤 The agent has been silent for {}: stopping it (--idle-timeout).",
                notify::fmt_duration(self.silence().as_secs() as i64)
            )),
            StopReason::Signal(_) | StopReason::Ended => None,
        };
        if let Some(notice) = notice {
            self.notifier.notice(&notice);
        }
        self.cancel_turn(a, lp).await;
        a.stop = Some(reason);
        a.exit_status = Some(
            a.agent
                .stop(self.grace())
                .await
                .map_err(|e| Error::io("stopping the agent", e)),
        );
        a.drain_deadline = Some(Instant::now() + DRAIN_AFTER_EXIT);
    }

    /// Before stopping the agent: when its protocol has a cancel request
    /// (ACP `session/cancel`) and a turn runs, write it and keep reading its
    /// output until the turn ends, the agent exits, or [`CANCEL_WAIT`] passes.
    async fn cancel_turn(&mut self, a: &mut Attempt, lp: &mut Loop) {
        let Some(bytes) = self.protocol.on_stop() else {
            return;
        };
        if !self.turns.send(bytes) {
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

    /// A deadline of [`super::liveness::Liveness`] passed: stop the agent
    /// when it is broken or over (a broken protocol is the run's failure),
    /// else go on (the handshake happened).
    async fn on_liveness(&mut self, a: &mut Attempt, lp: &mut Loop) {
        let now = Instant::now();
        let turn_ended = self.state.terminal.is_some();
        let awaiting = self.protocol.awaiting();
        let verdict = self
            .liveness
            .verdict(now, &self.job.spec.backend, turn_ended, awaiting);
        let Verdict::Stop(failure) = verdict else {
            return;
        };
        if let Some(message) = failure {
            let mut events = vec![AgentEvent::TurnFailed {
                message,
                kind: FailureKind::Other,
                cost_usd: None,
            }];
            self.apply_events(&mut events, now);
        }
        self.stop(a, lp, StopReason::Ended).await;
    }

    fn silence(&self) -> Duration {
        Instant::now().saturating_duration_since(self.state.last_event_at)
    }

    pub(crate) fn on_stdout(&mut self, a: &mut Attempt, lp: &mut Loop, n: std::io::Result<usize>) {
        let n = match n {
            Ok(0) | Err(_) => {
                a.stdout_open = false;
                // The end of its output ends the turn: the agent has a moment to exit.
                self.liveness.output_closed(Instant::now());
                return;
            }
            Ok(n) => n,
        };
        let chunk = &lp.out_buf[..n];
        if let Some(cut) = self.transcript.keep(chunk) {
            self.keeper.stream_cut(cut);
        }
        let now = Instant::now();
        let mut step = std::mem::take(&mut lp.step);
        let protocol = &mut self.protocol;
        a.splitter
            .feed(chunk, &mut |line| read_line(protocol, line, &mut step));
        self.apply_step(&mut step, now);
        lp.step = step;
    }

    /// After one agent process: its last line, its input closed, nothing of
    /// it left running.
    async fn end_attempt(&mut self, a: &mut Attempt) {
        let mut step = Step::default();
        let protocol = &mut self.protocol;
        a.splitter
            .finish(&mut |line| read_line(protocol, line, &mut step));
        self.apply_step(&mut step, Instant::now());
        self.turns.close_input();
        a.agent
            .kill_leftovers(self.grace().min(Duration::from_secs(2)))
            .await;
        a.agent.disarm();
    }

    /// Carry out a step: write its replies to the agent, hand its asks to
    /// the approver, fold its events in. Leaves `step` empty, its buffers kept.
    fn apply_step(&mut self, step: &mut Step, now: Instant) {
        for bytes in step.writes.drain(..) {
            if !self.turns.send(bytes) {
                tracing::warn!("the agent's input is closed; a reply to it was dropped");
            }
        }
        self.on_asks(&mut step.asks);
        self.apply_events(&mut step.events, now);
    }

    /// Fold `events` in and carry out what they call for; leaves `events`
    /// empty (its capacity kept for the next chunk).
    pub(crate) fn apply_events(&mut self, events: &mut Vec<AgentEvent>, now: Instant) {
        if events.is_empty() {
            return;
        }
        if let Some(no_resume) =
            super::agents::remember(&self.job.backend, &self.job.paths.state_dir, events)
        {
            self.keeper.record.no_resume = no_resume;
        }
        let setup = Setup {
            auto_resume_on_limit: self.job.spec.limits.auto_resume_on_limit,
            backend: &self.job.spec.backend,
            tested_version: self.job.backend.tested_version(),
        };
        let reaction = reactions::react(&mut self.watch, &mut self.state, events, now, setup);
        for effect in reaction.effects {
            match effect {
                Effect::Notice(text) => self.notifier.notice(&text),
                Effect::Text { text, after_other } => {
                    self.fg.push(text, now);
                    self.transcript.save_text(text, after_other);
                }
                Effect::ResumeKnown => self.keeper.resume_known(&self.state, &self.job.spec),
                Effect::Warning(w) => {
                    tracing::debug!("{w}");
                    self.warnings.push(w);
                }
            }
        }
        let turn_ends = reaction.turn_ends;
        events.clear();
        self.keeper.changed();
        self.on_turn_ends(turn_ends, now);
    }

    /// New asks from the agent: the approver settles some at once, and
    /// hands the rest to the human.
    fn on_asks(&mut self, asks: &mut Vec<Ask>) {
        if asks.is_empty() {
            return;
        }
        for decided in self.approvals.on_asks(asks, &self.job.spec) {
            self.on_decided(decided);
        }
    }

    /// A settled ask: a denial counts with the run's denials and is told in
    /// the chat; the answer goes to the agent.
    fn on_decided(&mut self, d: Decided) {
        let settled = self.approvals.settle(d);
        if let Some((event, text)) = settled.denied {
            self.apply_events(&mut vec![event], Instant::now());
            self.notifier.notice(&text);
        }
        let input = LiveInput::Answer {
            request_id: &settled.request_id,
            answer: &settled.answer,
        };
        let sent = self
            .protocol
            .encode(input)
            .is_some_and(|bytes| self.turns.send(bytes));
        if !sent {
            tracing::warn!("the agent's input is closed; the approval answer was dropped");
        }
        // Waiting for the human is not the agent being silent.
        self.state.touch(Instant::now());
    }

    fn on_heartbeat(&mut self) {
        let now = Instant::now();
        let idle = self.silence();
        let text = notify::render_heartbeat(
            self.job.backend.names().tag,
            now.saturating_duration_since(self.started),
            &self.state,
            now,
            self.job.backend.capabilities().subagents,
        );
        self.state.events_since_mark = 0;
        if self.job.spec.notify.stall_secs > 0
            && !self.turns.waiting()
            && self.state.terminal.is_none()
            && !self.watch.stalled
            && idle >= Duration::from_secs(self.job.spec.notify.stall_secs)
        {
            // One message, not an alert and a heartbeat in the same second.
            self.watch.stalled = true;
            let alert = reactions::stall_alert(
                notify::fmt_duration(idle.as_secs() as i64),
                &self.job.spec.run_id,
                for_chat(&self.job.spec),
            );
            self.notifier.notice(&format!("{alert}\n{text}"));
        } else {
            self.notifier.heartbeat(text);
        }
    }

    /// Every second: the record, `assistant.txt`, the reminder, the idle
    /// limits. Returns a reason to stop the agent, if there is one.
    fn on_refresh(&mut self, running: bool) -> Option<StopReason> {
        self.keeper.refresh(&self.state);
        // assistant.txt is buffered; keep it at most a second behind.
        self.transcript.flush();
        let now = Instant::now();
        self.remind(now);
        if let Some(note) = reactions::due_recovery(&mut self.watch, now) {
            self.notifier.notice(&note);
        }
        self.close_idle_input(now);
        let idle = self.job.spec.limits.idle_timeout_secs;
        (idle > 0
            && !self.job.spec.limits.multi_turn
            && running
            && self.silence() >= Duration::from_secs(idle))
        .then_some(StopReason::Idle)
    }

    /// `--remind-after`: once, that the run still goes on.
    fn remind(&mut self, now: Instant) {
        let spec = &self.job.spec;
        let ran = now.saturating_duration_since(self.started);
        if spec.notify.remind_after_secs > 0
            && !self.reminded
            && ran >= Duration::from_secs(spec.notify.remind_after_secs)
        {
            self.reminded = true;
            let reminder = reactions::reminder(
                spec.name(),
                notify::fmt_duration(ran.as_secs() as i64),
                &spec.run_id,
                for_chat(&self.job.spec),
            );
            self.notifier.notice(&reminder);
        }
    }
}

/// The project directory (a git work tree unless inside one already). The
/// output file's directory is never created: validation checked it exists.
fn prepare_dirs(project: &Path) -> std::result::Result<(), String> {
    fsutil::create_private_dir(project)
        .or_else(|e| if project.is_dir() { Ok(()) } else { Err(e) })
        .map_err(|e| format!("creating project {}: {e}", project.display()))?;
    if !inside_git_work_tree(project) {
        // Codex refuses to run outside a git work tree; Claude benefits from one.
        // Never nested: only when no parent is a work tree already.
        if let Err(e) = crate::core::git::init(project) {
            tracing::warn!(project = %project.display(), "git init failed ({e}); continuing");
        }
    }
    Ok(())
}

/// The run's messages go to a chat, whose reader cannot type `clawrun`
/// commands (the console's can).
pub(crate) fn for_chat(spec: &RunSpec) -> bool {
    spec.channel != ChannelKind::Console
}

/// The task with a note that tells the agent how to send progress notes.
fn with_automation_context(prompt: &str) -> String {
    let Ok(exe) = std::env::current_exe() else {
        return prompt.to_owned();
    };
    let exe = notify::shell_quote(&exe.display().to_string());
    format!(
        "[Automation context: you run in the background for a person who is not watching. \
         To send them a short progress note at a milestone, run: {exe} notify \"your note\" \
         (at most one every {}s).]\n\n{prompt}",
        NOTE_EVERY.as_secs(),
    )
}
