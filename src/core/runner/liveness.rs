//! The bounds on an agent that stopped talking properly, so that a broken
//! protocol ends the run in seconds rather than at its `--timeout`:
//!
//! - the handshake: the protocol says what it still waits for
//!   ([`Protocol::awaiting`]); an ACP agent that has not answered
//!   `initialize` after [`HANDSHAKE_BOUND`], or a stream CLI that printed no
//!   event after [`FIRST_EVENT_BOUND`], fails the run;
//! - the end of the agent's output: stdout closed while the process lives
//!   on ends the turn; the process gets [`OUTPUT_CLOSED_GRACE`] to exit;
//! - the end of a one-shot turn: the agent gets [`TURN_END_GRACE`] to exit
//!   after its input was closed, then it is stopped (the outcome stays the
//!   turn's: an ACP agent that answered `end_turn` and lingers is completed).
//!
//! The protocol only says; this module owns the deadlines, and the
//! supervisor stops the agent through its one stop path
//! ([`StopReason::Ended`](super::finish::StopReason::Ended)).

use std::time::Duration;

use tokio::time::Instant;

use crate::backends::Awaiting;

/// How long an ACP agent has to answer `initialize` (a real adapter starts
/// in a few seconds, `npx` fetching it included).
pub const HANDSHAKE_BOUND: Duration = Duration::from_secs(20);
/// How long a stream CLI has to print its first event (Claude Code's
/// `system` line, Codex's `thread.started`): generous, for MCP servers that
/// load before it.
pub const FIRST_EVENT_BOUND: Duration = Duration::from_secs(120);
/// How long an agent that closed its stdout has to exit.
pub const OUTPUT_CLOSED_GRACE: Duration = Duration::from_secs(3);
/// How long an agent whose one-shot turn ended (its input closed) has to exit.
pub const TURN_END_GRACE: Duration = Duration::from_secs(10);

/// Why the agent is expected to exit by [`Liveness::end_by`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EndCause {
    /// Its stdout was closed.
    OutputClosed,
    /// Its one-shot turn ended.
    TurnOver,
}

/// The deadlines of the current agent process.
#[derive(Debug, Default)]
pub(crate) struct Liveness {
    /// When the handshake (or the first event) must have happened.
    handshake_by: Option<Instant>,
    /// How long that was, for the message.
    handshake_bound: Duration,
    /// When the agent must have exited.
    end_by: Option<(Instant, EndCause)>,
    /// The runner's verdict on a broken protocol: the run's failure, which
    /// the closing events of the stopped process do not replace.
    pub(crate) failure: Option<String>,
}

impl Liveness {
    /// A new agent process, whose protocol awaits `awaiting`.
    pub(crate) fn start(&mut self, awaiting: Option<Awaiting>, now: Instant) {
        self.end_by = None;
        self.handshake_bound = match awaiting {
            Some(Awaiting::Handshake(_)) => HANDSHAKE_BOUND,
            Some(Awaiting::FirstEvent) => FIRST_EVENT_BOUND,
            None => Duration::ZERO,
        };
        self.handshake_by = (!self.handshake_bound.is_zero()).then(|| now + self.handshake_bound);
    }

    /// The agent's stdout was closed.
    pub(crate) fn output_closed(&mut self, now: Instant) {
        self.expect_end(now + OUTPUT_CLOSED_GRACE, EndCause::OutputClosed);
    }

    /// The agent's one-shot turn ended and its input was closed.
    pub(crate) fn turn_over(&mut self, now: Instant) {
        self.expect_end(now + TURN_END_GRACE, EndCause::TurnOver);
    }

    fn expect_end(&mut self, at: Instant, cause: EndCause) {
        if self.end_by.is_none_or(|(t, _)| at < t) {
            self.end_by = Some((at, cause));
        }
    }

    /// The next deadline, if any.
    pub(crate) fn next(&self) -> Option<Instant> {
        [self.handshake_by, self.end_by.map(|(t, _)| t)]
            .into_iter()
            .flatten()
            .min()
    }
}

/// Sleep until `at`, or forever.
pub(crate) async fn until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// What a passed [`Liveness`] deadline means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The handshake happened: nothing to do.
    Alive,
    /// Stop the agent: its turn is over (`None`), or its protocol is broken
    /// (the run's failure, kept in [`Liveness::failure`]).
    Stop(Option<String>),
}

impl Liveness {
    /// A deadline passed at `now`: decide. `backend` names the agent;
    /// `turn_ended`: its turn reached an end; `awaiting`: what its protocol
    /// still waits for.
    pub(crate) fn verdict(
        &mut self,
        now: Instant,
        backend: &str,
        turn_ended: bool,
        awaiting: Option<Awaiting>,
    ) -> Verdict {
        let failure = match self.end_by {
            Some((at, cause)) if at <= now => match cause {
                EndCause::OutputClosed if !turn_ended => Some(format!(
                    "{backend} closed its output (stdout) before its turn ended and did not exit; \
                     it was stopped"
                )),
                _ => None,
            },
            _ => match awaiting {
                Some(what) => Some(self.handshake_failure(backend, &what)),
                None => {
                    self.handshake_by = None;
                    return Verdict::Alive;
                }
            },
        };
        if let Some(message) = &failure {
            tracing::warn!("{message}");
            self.failure = Some(message.clone());
        }
        Verdict::Stop(failure)
    }

    fn handshake_failure(&self, backend: &str, what: &Awaiting) -> String {
        let secs = self.handshake_bound.as_secs();
        match what {
            Awaiting::Handshake(what) => format!(
                "{backend} did not answer {what} within {secs}s: not a working ACP agent \
                 (check `program`/`args` in backends.toml, and run it by hand)"
            ),
            Awaiting::FirstEvent => format!(
                "{backend} printed no event within {secs}s of its start (check that it runs by hand)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_missed_handshake_or_a_closed_output_fails_the_run() {
        let now = Instant::now();
        let mut l = Liveness::default();
        l.start(Some(Awaiting::FirstEvent), now);
        assert_eq!(l.next(), Some(now + FIRST_EVENT_BOUND));
        // The handshake happened: the deadline is forgotten.
        assert_eq!(l.verdict(now, "codex", false, None), Verdict::Alive);
        assert_eq!(l.next(), None);
        l.start(Some(Awaiting::FirstEvent), now);
        let late = now + FIRST_EVENT_BOUND;
        let Verdict::Stop(Some(why)) = l.verdict(late, "codex", false, Some(Awaiting::FirstEvent))
        else {
            panic!("a stop with a failure");
        };
        assert!(
            why.starts_with("codex printed no event within 120s"),
            "{why}"
        );
        assert_eq!(l.failure.as_deref(), Some(why.as_str()));
        let mut l = Liveness::default();
        l.output_closed(now);
        let then = now + OUTPUT_CLOSED_GRACE;
        assert_eq!(
            l.verdict(then, "x", true, None),
            Verdict::Stop(None),
            "the turn ended"
        );
        assert!(matches!(
            l.verdict(then, "x", false, None),
            Verdict::Stop(Some(_))
        ));
    }
}
