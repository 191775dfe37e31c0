//! One run from spawn to report: [`execute`] builds the [`Supervisor`], whose
//! select loop waits on the agent's pipes and exit, the deadline, the runner's
//! signals, the timers and the control socket, and hands each to one method.
//! Every stop reason goes through [`Supervisor::stop`].

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use crate::backends::{AnyBackend, AnyProtocol, Backend, RunRequest, Step};
use crate::channels::{AnyChannel, ChannelKind};
use crate::core::context::RunContext;
use crate::core::error::{Error, Result};
use crate::core::model::events::AgentEvent;
use crate::core::model::state::RunState;
use crate::core::notify::foreground::Foreground;
use crate::core::notify::outbox::StaleCheck;
use crate::core::notify::{self, Notifier, RunInfo};
use crate::core::now_secs;
use crate::core::store::fsutil;
use crate::core::store::iterations::Iterations;
use crate::core::store::paths::Paths;
use crate::core::store::run::{RunDir, RunRecord, RunSpec, RunStatus, files};
use crate::core::store::sessions::SessionLog;
use crate::core::store::slots::Slot;

use super::approvals::Approvals;
use super::control::{self, NoteLimiter};
use super::finish::StopReason;
use super::io::{LineSplitter, Tail, read_line};
use super::process::{Agent, Signals};
use super::queue::{Admission, wait_in_queue};
use super::reactions::{self, Effect, Setup, Watch};
use super::turns::Turns;
use super::version_guard;
use super::{RunReport, inside_git_work_tree};

/// How long to keep reading stdout after the agent exited, for output still in
/// the pipe (a grandchild holding the pipe open must not hang the runner).
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);
/// Progress notes: one more per this interval (after a burst of 3).
const NOTE_EVERY: Duration = Duration::from_secs(10);
/// Progress notes: at most this many per run.
const MAX_NOTES: u32 = 100;
/// How often `run.json` is refreshed while the agent runs (when something changed).
const RECORD_REFRESH: Duration = Duration::from_secs(5);

/// Runs one agent to its end. Built by [`execute`].
pub(crate) struct Supervisor<'a> {
    pub(crate) dir: &'a RunDir,
    pub(crate) spec: RunSpec,
    pub(crate) backend: AnyBackend,
    pub(crate) record: RunRecord,
    pub(crate) state: RunState,
    /// The current agent process's protocol.
    pub(crate) protocol: AnyProtocol,
    pub(crate) sessions: SessionLog,
    pub(crate) notifier: Notifier,
    pub(crate) record_dirty: bool,
    pub(crate) last_record_write: Instant,
    pub(crate) watch: Watch,
    pub(crate) paths: Paths,
    pub(crate) fg: Foreground,
    pub(crate) stream_pos: u64,
    pub(crate) text_file: Option<std::io::BufWriter<std::fs::File>>,
    /// Multi-turn state, follow-ups, restarts.
    pub(crate) turns: Turns,
    /// The request of the first agent (restarts derive theirs from it).
    pub(crate) request: RunRequest,
    /// What the runner changes in the agent's environment.
    pub(crate) agent_env: super::process::AgentEnv,
    pub(crate) started: Instant,
    pub(crate) reminded: bool,
    pub(crate) limiter: NoteLimiter,
    /// Warnings for the person running clawrun, returned in the report.
    pub(crate) warnings: Vec<String>,
    /// Why the output file could not be written, once that is known.
    pub(crate) output_lost: Option<String>,
    /// Largest `stream.jsonl` kept (`[limits] max_stream_mib`).
    pub(crate) max_stream_bytes: u64,
    /// The `[limits] max_sessions` slot, held until the agent's process group
    /// is gone (`None` for a run started through [`execute`]).
    pub(crate) slot: Option<Slot>,
    /// The runner's signal handlers, when installed before the run (to wait
    /// in the queue).
    pub(crate) signals: Option<Signals>,
    /// `--approvals`: the agent's permission requests and their answers.
    pub(crate) approvals: Approvals,
    /// The bounds on a broken protocol (handshake, end of output, end of turn).
    pub(crate) liveness: super::liveness::Liveness,
}

/// One agent process under supervision.
pub(crate) struct Attempt {
    pub(crate) agent: Agent,
    pub(crate) splitter: LineSplitter,
    pub(crate) stdout_open: bool,
    pub(crate) stderr_open: bool,
    pub(crate) exit_status: Option<Result<ExitStatus>>,
    pub(crate) stop: Option<StopReason>,
    pub(crate) drain_deadline: Option<Instant>,
}

impl Attempt {
    pub(crate) fn new(agent: Agent) -> Self {
        Self {
            agent,
            splitter: LineSplitter::default(),
            stdout_open: true,
            stderr_open: true,
            exit_status: None,
            stop: None,
            drain_deadline: None,
        }
    }

    /// The exit code for the parser's closing events (`None`: killed by a signal).
    pub(crate) fn code(&self) -> Option<i32> {
        self.exit_status
            .as_ref()
            .and_then(|s| s.as_ref().ok())
            .and_then(ExitStatus::code)
    }

    fn running(&self) -> bool {
        self.stop.is_none() && self.exit_status.is_none()
    }
}

/// What the loop waits on besides the agent, and what it writes to.
pub(crate) struct Loop {
    pub(crate) signals: Signals,
    pub(crate) requests: Option<mpsc::Receiver<control::Pending>>,
    pub(crate) heartbeat: Interval,
    pub(crate) fg_tick: Interval,
    pub(crate) refresh: Interval,
    pub(crate) deadline: Instant,
    pub(crate) out_buf: Vec<u8>,
    pub(crate) err_buf: Vec<u8>,
    pub(crate) tail: Tail,
    pub(crate) stream: std::fs::File,
    pub(crate) stream_path: PathBuf,
    pub(crate) stream_error: Option<String>,
    /// Bytes written to `stream.jsonl` so far.
    pub(crate) stream_written: u64,
    /// The events and replies of one chunk; kept, so its buffers are
    /// allocated once per run, not once per chunk.
    pub(crate) step: Step,
    /// When the agent went quiet (the heap is trimmed then).
    pub(crate) quiet: super::idle::Quiet,
}

fn interval(first: Instant, period: Duration) -> Interval {
    let mut i = tokio::time::interval_at(first, period);
    i.set_missed_tick_behavior(MissedTickBehavior::Delay);
    i
}

/// Execute the run in `dir` to its end: spawn, supervise, finish. Handles the
/// runner's own SIGTERM/SIGINT/SIGHUP as a kill (outcome `killed`). Reads
/// the config files under `paths` ([`RunContext::load`]); a caller that has
/// a context calls [`execute_admitted`].
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
    let mut notifier = Notifier::new(
        channel,
        &dir.path,
        RunInfo::new(&spec, backend.names()),
        spec.route.destination(),
        Some(StaleCheck {
            chain_root: spec.chain.chain_root.clone(),
            ..StaleCheck::of(&paths.runs_dir(), &record)
        }),
    );
    super::channel::flush_earlier_outboxes(ctx, &spec.run_id);
    notifier.reply_to = spec.route.reply_to.clone();
    notifier.heartbeat_edit = spec.notify.heartbeat_edit;
    notifier.silence = spec.notify.silent;
    notifier.trace_live = spec.notify.trace_live;
    notifier.wakes = spec.route.session_key.is_some() || spec.session_key.is_some();
    let approvals = super::approvals::for_run(&spec, ctx);
    let mut sup = Supervisor {
        dir,
        protocol: backend.protocol(approvals.live(&spec)),
        sessions: SessionLog::new(paths, &backend),
        request: spec.request.clone(),
        backend,
        spec,
        record,
        state: RunState::new(),
        notifier,
        record_dirty: false,
        last_record_write: Instant::now(),
        watch: Watch::default(),
        paths: paths.clone(),
        fg: Foreground::load(&dir.path),
        stream_pos: 0,
        text_file: None,
        turns: Turns::default(),
        agent_env: super::agent_env(&dir.path, config),
        started: Instant::now(),
        reminded: false,
        limiter: NoteLimiter::new(3, NOTE_EVERY, MAX_NOTES),
        warnings: Vec::new(),
        output_lost: None,
        max_stream_bytes: config.limits.max_stream_bytes,
        slot,
        signals,
        approvals,
        liveness: super::liveness::Liveness::default(),
    };
    sup.state.cli_version = version_guard::program_version(&sup.backend, paths).await;
    if sup.spec.notify.fg && !sup.fg.enabled {
        sup.fg.enabled = true;
        sup.fg.save();
    }
    sup.run().await
}

impl Supervisor<'_> {
    async fn run(&mut self) -> Result<RunReport> {
        if let Err(message) = self.prepare_dirs() {
            return self.crash(message).await;
        }
        self.record.git_base =
            super::worktree::head_at_launch(self.spec.request.project.clone()).await;
        // The agent may relay progress notes through our control socket.
        let (requests, _socket_guard) = match control::serve(&self.dir.path) {
            Ok((rx, guard)) => (Some(rx), Some(guard)),
            Err(e) => {
                tracing::warn!("progress notes unavailable: {e}");
                (None, None)
            }
        };
        if requests.is_some() {
            self.request.prompt = with_automation_context(&self.spec.request.prompt);
        }
        // Signals first: a SIGTERM between spawn and the select loop must not be lost.
        let signals = match self.signals.take() {
            Some(s) => s,
            None => Signals::install()?,
        };
        let request = self.request.clone();
        let mut agent = match self.start_agent(&request) {
            Ok(a) => a,
            Err(e) => return self.crash(e.to_string()).await,
        };
        self.started = Instant::now();
        self.record.status = RunStatus::Running;
        self.record.started_at = Some(now_secs());
        self.write_record();
        self.notifier.launch(agent.pid);
        if std::env::var_os("CLAWRUN_FAULT").is_some_and(|v| v == "panic-after-spawn") {
            // Fault injection for the crash-path test: the runner's own bug.
            panic!("injected fault: panic after spawn");
        }
        self.trace_start();
        let stream_path = self.dir.file(files::STREAM);
        let stream = match fsutil::open_append(&stream_path) {
            Ok(f) => f,
            Err(e) => {
                agent.stop(self.grace()).await.ok();
                return self
                    .crash(format!("opening {}: {e}", stream_path.display()))
                    .await;
            }
        };
        let heartbeat_period = Duration::from_secs(self.spec.notify.heartbeat_secs.max(1));
        let mut lp = Loop {
            signals,
            requests,
            heartbeat: interval(Instant::now() + heartbeat_period, heartbeat_period),
            fg_tick: interval(Instant::now(), Duration::from_millis(500)),
            refresh: interval(Instant::now(), Duration::from_secs(1)),
            deadline: Instant::now() + Duration::from_secs(self.spec.limits.timeout_secs),
            out_buf: vec![0u8; 64 * 1024],
            err_buf: vec![0u8; 16 * 1024],
            tail: Tail::default(),
            stream,
            stream_path,
            stream_error: None,
            stream_written: 0,
            step: Step::default(),
            quiet: super::idle::Quiet::default(),
        };
        // One pass per agent process: the first, then one per restart.
        let mut attempt = Attempt::new(agent);
        loop {
            self.supervise(&mut attempt, &mut lp).await;
            self.end_attempt(&mut attempt).await;
            match self.next_turn(&attempt, &mut lp).await {
                super::turns::Next::Restart(agent) => attempt = Attempt::new(*agent),
                super::turns::Next::Stop(reason) => {
                    attempt.stop = Some(reason);
                    break;
                }
                super::turns::Next::Done => break,
            }
        }
        self.turns.finishing = true;
        // The agent's process group is gone (each attempt ended with its
        // leftovers killed): the next run may start while this one reports.
        self.slot = None;
        let _ = lp.stream.flush();
        self.finish(attempt, lp).await
    }

    /// The project directory (a git work tree unless inside one already). The
    /// output file's directory is never created: validation checked it exists.
    fn prepare_dirs(&self) -> std::result::Result<(), String> {
        let project = &self.spec.request.project;
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

    fn trace_start(&mut self) {
        if self.spec.notify.trace_live {
            self.notifier.trace(&format!(
                "[RUN_TASK][START] project={} mode={} limit={} run_id={}",
                self.spec.request.project.display(),
                self.spec.chain.completion_mode.as_str(),
                self.spec.chain.max_iterations,
                self.spec.run_id
            ));
        }
    }

    pub(crate) fn grace(&self) -> Duration {
        Duration::from_secs(self.spec.limits.grace_secs)
    }

    /// Supervise one agent process until its pipes are closed and it has exited.
    async fn supervise(&mut self, a: &mut Attempt, lp: &mut Loop) {
        while a.stdout_open || a.stderr_open || a.exit_status.is_none() {
            let running = a.running();
            let heartbeat = self.spec.notify.heartbeat_secs > 0 && a.exit_status.is_none();
            tokio::select! {
                n = a.agent.stdout.read(&mut lp.out_buf), if a.stdout_open => self.on_stdout(a, lp, n),
                n = a.agent.stderr.read(&mut lp.err_buf), if a.stderr_open => match n {
                    Ok(0) | Err(_) => a.stderr_open = false,
                    Ok(n) => lp.tail.push(&lp.err_buf[..n]),
                },
                status = a.agent.child.wait(), if a.exit_status.is_none() => {
                    a.exit_status = Some(status.map_err(|e| Error::io("waiting for the agent", e)));
                    a.drain_deadline = Some(Instant::now() + DRAIN_AFTER_EXIT);
                    self.turns.input = None;
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
                Some((req, reply)) = recv_opt(&mut lp.requests) => {
                    let answer = self.on_request(req, &lp.stream_path);
                    let _ = reply.send(answer);
                },
                _ = lp.fg_tick.tick(), if self.fg.enabled => {
                    if let Some(text) = self.fg.take_due(Instant::now(), self.stream_pos, false) {
                        self.notifier.stream(text);
                    }
                },
                _ = lp.refresh.tick() => {
                    lp.quiet.tick(self.stream_pos, [&mut lp.out_buf, &mut lp.err_buf]);
                    if let Some(reason) = self.on_refresh(running) {
                        self.stop(a, lp, reason).await;
                    }
                },
            }
        }
    }

    /// The one stop path, for every reason: say why (timeout, idle), ask the
    /// agent to end its turn when its protocol can (`cancel_turn`, in `turns`),
    /// then SIGTERM, grace, SIGKILL to the agent's group, and drain its output.
    pub(crate) async fn stop(&mut self, a: &mut Attempt, lp: &mut Loop, reason: StopReason) {
        let notice = match reason {
            StopReason::Timeout => Some(format!(
                "⏰ Timeout ({}s) reached, stopping the agent",
                self.spec.limits.timeout_secs
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
        self.stream_pos += n as u64;
        self.keep_stream(lp, n);
        let chunk = &lp.out_buf[..n];
        let now = Instant::now();
        let mut step = std::mem::take(&mut lp.step);
        let protocol = &mut self.protocol;
        a.splitter
            .feed(chunk, &mut |line| read_line(protocol, line, &mut step));
        self.apply_step(&mut step, now);
        lp.step = step;
    }

    /// Append `out_buf[..n]` to `stream.jsonl` up to its cap; past the cap the
    /// bytes are still parsed, and the record says where the file was cut and
    /// how much was not kept.
    fn keep_stream(&mut self, lp: &mut Loop, n: usize) {
        if lp.stream_error.is_some() {
            return;
        }
        let room = self.max_stream_bytes.saturating_sub(lp.stream_written);
        let keep = n.min(usize::try_from(room).unwrap_or(usize::MAX));
        if keep > 0 {
            if let Err(e) = lp.stream.write_all(&lp.out_buf[..keep]) {
                lp.stream_error = Some(format!("writing {}: {e}", lp.stream_path.display()));
                return;
            }
            lp.stream_written += keep as u64;
        }
        if keep < n {
            if self.record.stream_cut_at_bytes.is_none() {
                tracing::warn!(
                    "{} reached {} bytes ([limits] max_stream_mib): the rest is parsed, not kept",
                    lp.stream_path.display(),
                    self.max_stream_bytes
                );
                self.record.stream_cut_at_bytes = Some(lp.stream_written);
            }
            self.record.stream_dropped_bytes += (n - keep) as u64;
            self.record_dirty = true;
        }
    }

    /// After one agent process: its last line, its input closed, nothing of
    /// it left running.
    async fn end_attempt(&mut self, a: &mut Attempt) {
        let mut step = Step::default();
        let protocol = &mut self.protocol;
        a.splitter
            .finish(&mut |line| read_line(protocol, line, &mut step));
        self.apply_step(&mut step, Instant::now());
        self.turns.input = None;
        a.agent
            .kill_leftovers(self.grace().min(Duration::from_secs(2)))
            .await;
        a.agent.disarm();
    }

    /// Carry out a step: write its replies to the agent, fold its events in.
    /// Leaves `step` empty, its buffers kept.
    fn apply_step(&mut self, step: &mut Step, now: Instant) {
        for bytes in step.writes.drain(..) {
            match &self.turns.input {
                Some(input) if input.send(bytes).is_ok() => {}
                _ => tracing::warn!("the agent's input is closed; a reply to it was dropped"),
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
        self.remember_agent(events);
        let setup = Setup {
            auto_resume_on_limit: self.spec.limits.auto_resume_on_limit,
            backend: &self.spec.backend,
            tested_version: self.backend.tested_version(),
        };
        let reaction = reactions::react(&mut self.watch, &mut self.state, events, now, setup);
        events.clear();
        for effect in reaction.effects {
            match effect {
                Effect::Notice(text) => self.notifier.notice(&text),
                Effect::Text { text, after_other } => {
                    self.fg.push(&text, now);
                    self.save_text(&text, after_other);
                }
                Effect::ResumeKnown => self.on_resume_known(),
                Effect::Warning(w) => {
                    tracing::debug!("{w}");
                    self.warnings.push(w);
                }
            }
        }
        self.record_dirty = true;
        self.on_turn_ends(reaction.turn_ends, now);
    }

    /// The resume id is known: record it now, so a crash later still leaves a
    /// resumable entry.
    fn on_resume_known(&mut self) {
        self.write_record();
        if let Err(e) = self.sessions.record(&self.record, &self.spec) {
            tracing::warn!("session registry: {e}");
        }
        if let Some(id) = &self.state.resume_id {
            let its = Iterations::new(&self.paths.state_dir);
            if let Err(e) = its.link(id, &self.spec.chain.chain_root) {
                tracing::warn!("iterations: {e}");
            }
        }
    }

    /// Append top-level assistant text to `assistant.txt` (the whole text of
    /// the run, on disk rather than in memory).
    fn save_text(&mut self, text: &str, after_other: bool) {
        if self.text_file.is_none() {
            self.text_file = fsutil::open_append(&self.dir.file(files::ASSISTANT_TEXT))
                .ok()
                .map(|f| std::io::BufWriter::with_capacity(64 * 1024, f));
        }
        if let Some(f) = &mut self.text_file {
            let sep: &[u8] = if after_other { b"\n" } else { b"" };
            if f.write_all(sep)
                .and_then(|()| f.write_all(text.as_bytes()))
                .is_err()
            {
                self.text_file = None;
            }
        }
    }

    fn on_heartbeat(&mut self) {
        let now = Instant::now();
        let idle = self.silence();
        let text = notify::render_heartbeat(
            self.backend.names().tag,
            now.saturating_duration_since(self.started),
            &self.state,
            now,
            self.backend.capabilities().subagents,
        );
        self.state.events_since_mark = 0;
        if self.spec.notify.stall_secs > 0
            && self.turns.waiting_since.is_none()
            && self.state.terminal.is_none()
            && !self.watch.stalled
            && idle >= Duration::from_secs(self.spec.notify.stall_secs)
        {
            // One message, not an alert and a heartbeat in the same second.
            self.watch.stalled = true;
            let alert = reactions::stall_alert(
                notify::fmt_duration(idle.as_secs() as i64),
                &self.spec.run_id,
                self.for_chat(),
            );
            self.notifier.notice(&format!("{alert}\n{text}"));
        } else {
            self.notifier.heartbeat(text);
        }
    }

    /// The run's messages go to a chat, whose reader cannot type `clawrun`
    /// commands (the console's can).
    pub(crate) fn for_chat(&self) -> bool {
        self.spec.channel != ChannelKind::Console
    }

    /// Every second: the record, `assistant.txt`, the reminder, the idle
    /// limits. Returns a reason to stop the agent, if there is one.
    fn on_refresh(&mut self, running: bool) -> Option<StopReason> {
        if self.record_dirty && self.last_record_write.elapsed() >= RECORD_REFRESH {
            self.write_record();
        }
        // assistant.txt is buffered; keep it at most a second behind.
        if let Some(f) = &mut self.text_file {
            let _ = f.flush();
        }
        let now = Instant::now();
        let spec = &self.spec;
        let ran = now.saturating_duration_since(self.started);
        if spec.notify.remind_after_secs > 0
            && !self.reminded
            && ran >= Duration::from_secs(spec.notify.remind_after_secs)
        {
            self.reminded = true;
            let reminder = reactions::reminder(
                spec.label.as_deref().unwrap_or(&spec.run_id),
                notify::fmt_duration(ran.as_secs() as i64),
                &spec.run_id,
                self.for_chat(),
            );
            self.notifier.notice(&reminder);
        }
        if let Some(note) = reactions::due_recovery(&mut self.watch, now) {
            self.notifier.notice(&note);
        }
        self.close_idle_input(now);
        let idle = self.spec.limits.idle_timeout_secs;
        (idle > 0
            && !self.spec.limits.multi_turn
            && running
            && self.silence() >= Duration::from_secs(idle))
        .then_some(StopReason::Idle)
    }

    pub(crate) fn sync_state(&mut self) {
        self.record.resume_id.clone_from(&self.state.resume_id);
        if self.state.model.is_some() {
            self.record.model.clone_from(&self.state.model);
        }
        self.record.cli_version.clone_from(&self.state.cli_version);
        self.record.usage = self.state.usage();
        self.record.cost_usd = self.state.cost_usd;
        self.record.tool_calls = self.state.tool_calls;
        self.record.subagents_running = self.state.open_subagents.len() as u64;
        self.record.subagents_started = self.state.subagents_started;
        self.record
            .replaced_ids
            .clone_from(&self.state.replaced_ids);
    }

    pub(crate) fn write_record(&mut self) {
        if let Err(e) = self.try_write_record() {
            tracing::warn!("{e}");
        }
    }

    /// Write `run.json` now.
    pub(crate) fn try_write_record(&mut self) -> Result<()> {
        self.sync_state();
        self.record.updated_at = now_secs();
        self.record_dirty = false;
        self.last_record_write = Instant::now();
        self.dir.write_record(&self.record)
    }
}

/// The task with a note that tells the agent how to send progress notes.
fn with_automation_context(prompt: &str) -> String {
    let Ok(exe) = std::env::current_exe() else {
        return prompt.to_owned();
    };
    let exe = exe.display().to_string();
    // A path with a NUL byte cannot be quoted (nor exist): left as it is.
    let exe = shlex::try_quote(&exe).map_or_else(|_| exe.clone(), |q| q.into_owned());
    format!(
        "[Automation context: you run in the background for a person who is not watching. \
         To send them a short progress note at a milestone, run: {exe} notify \"your note\" \
         (at most one every {}s).]\n\n{prompt}",
        NOTE_EVERY.as_secs(),
    )
}

async fn recv_opt(rx: &mut Option<mpsc::Receiver<control::Pending>>) -> Option<control::Pending> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
