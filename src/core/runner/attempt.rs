//! What the select loop holds besides the [`super::supervisor::Supervisor`]:
//! one agent process under supervision ([`Attempt`]: its pipes, its exit,
//! why it was stopped) and what the loop waits on and reads into ([`Loop`]:
//! the runner's signals, the control socket, the timers, the read buffers).

use std::process::ExitStatus;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use crate::backends::Step;
use crate::core::error::Result;

use super::control;
use super::finish::StopReason;
use super::idle::Quiet;
use super::io::{LineSplitter, Tail};
use super::process::{Agent, Signals};

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

    /// Neither stopped nor exited.
    pub(crate) fn running(&self) -> bool {
        self.stop.is_none() && self.exit_status.is_none()
    }
}

/// What the loop waits on besides the agent, and what it reads into.
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
    /// The events and replies of one chunk; kept, so its buffers are
    /// allocated once per run, not once per chunk.
    pub(crate) step: Step,
    /// When the agent went quiet (the heap is trimmed then).
    pub(crate) quiet: Quiet,
}

impl Loop {
    /// The loop of a run: heartbeats every `heartbeat` (none when zero),
    /// ended by `timeout`.
    pub(crate) fn new(
        signals: Signals,
        requests: Option<mpsc::Receiver<control::Pending>>,
        heartbeat: Duration,
        timeout: Duration,
    ) -> Self {
        let heartbeat = heartbeat.max(Duration::from_secs(1));
        Self {
            signals,
            requests,
            heartbeat: interval(Instant::now() + heartbeat, heartbeat),
            fg_tick: interval(Instant::now(), Duration::from_millis(500)),
            refresh: interval(Instant::now(), Duration::from_secs(1)),
            deadline: Instant::now() + timeout,
            out_buf: vec![0u8; 64 * 1024],
            err_buf: vec![0u8; 16 * 1024],
            tail: Tail::default(),
            step: Step::default(),
            quiet: Quiet::default(),
        }
    }
}

/// The next request on the control socket (never, without one).
pub(crate) async fn next_request(
    rx: &mut Option<mpsc::Receiver<control::Pending>>,
) -> Option<control::Pending> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn interval(first: Instant, period: Duration) -> Interval {
    let mut i = tokio::time::interval_at(first, period);
    i.set_missed_tick_behavior(MissedTickBehavior::Delay);
    i
}
