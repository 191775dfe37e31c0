//! The runner's seam to one agent process: output lines in; events, and bytes
//! to write back to the agent's stdin, out.
//!
//! A one-way CLI (`codex exec --json`, `claude -p` with the prompt on stdin)
//! only prints: its protocol is its [`LineParser`] ([`OneWay`]). A two-way CLI
//! also reads while it runs: user messages between turns, answers to its own
//! requests (Claude's control protocol, ACP's JSON-RPC). Its protocol encodes
//! the runner's [`LiveInput`] and may answer a line with bytes of its own
//! ([`Step::writes`]); the runner writes them to the agent's stdin without
//! knowing which CLI it drives. A request for permission to use a tool
//! becomes an [`Ask`] ([`Step::asks`]); the runner's approver decides, and the
//! protocol encodes the [`Answer`] ([`LiveInput::Answer`]).

use enum_dispatch::enum_dispatch;

use crate::backends::acp::AcpProtocol;
use crate::backends::claude::ClaudeLive;
use crate::backends::{AnyParser, LineParser};
use crate::core::model::approval::{Answer, Ask};
use crate::core::model::events::AgentEvent;

/// What the runner hands to a live agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveInput<'a> {
    /// The next user message.
    Message(&'a str),
    /// Interrupt the turn in progress (the next message follows it).
    Interrupt,
    /// The answer to the agent's [`Ask`] with this `request_id`.
    Answer {
        /// [`Ask::request_id`].
        request_id: &'a str,
        /// Allow or deny.
        answer: &'a Answer,
    },
}

/// What one output line produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Step {
    /// Normalized events, in order.
    pub events: Vec<AgentEvent>,
    /// Bytes to write to the agent's stdin (replies to its requests), in order.
    pub writes: Vec<Vec<u8>>,
    /// Permission requests for the runner's approver, in order.
    pub asks: Vec<Ask>,
}

impl Step {
    /// Take the events and writes out, leaving the step empty (its buffers
    /// keep their capacity).
    pub fn take(&mut self) -> Step {
        Step {
            events: std::mem::take(&mut self.events),
            writes: std::mem::take(&mut self.writes),
            asks: std::mem::take(&mut self.asks),
        }
    }
}

/// What a conversation still waits for before it is established. The
/// runner bounds that wait (it owns time); the protocol only says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Awaiting {
    /// The answer to the protocol's handshake request (ACP `initialize`);
    /// the text names it and anything odd seen meanwhile, for the failure.
    Handshake(String),
    /// The first event of a stream CLI's output.
    FirstEvent,
}

/// One agent process's conversation, as the runner sees it.
#[enum_dispatch]
pub trait Protocol {
    /// One stdout line (without its newline): events and replies appended to `step`.
    fn on_line(&mut self, line: &str, step: &mut Step);
    /// Encode `input` for the agent's stdin; `None` when the agent takes no such input.
    fn encode(&mut self, input: LiveInput<'_>) -> Option<Vec<u8>>;
    /// Called once after the process exited (see [`LineParser::finish`]).
    fn finish(&mut self, exit_code: Option<i32>, stderr_tail: &str) -> Vec<AgentEvent>;
    /// The run is being stopped (timeout, `clawrun kill`, a signal): bytes
    /// asking the agent to end its turn first (ACP `session/cancel`), or
    /// `None` when it takes no such request or no turn is running. The runner
    /// writes them, waits a few seconds for the turn to end, then stops the
    /// process the usual way.
    fn on_stop(&mut self) -> Option<Vec<u8>> {
        None
    }
    /// What the conversation still waits for before it is established, or
    /// `None` once it is (or once it failed: nothing more to wait for).
    fn awaiting(&self) -> Option<Awaiting> {
        None
    }
}

/// A CLI that only prints: its parser, and no input.
#[derive(Debug, Clone)]
pub struct OneWay {
    parser: AnyParser,
    /// An event was read (the stream has started).
    started: bool,
}

impl OneWay {
    /// The protocol of a one-way CLI with this parser.
    pub fn new(parser: AnyParser) -> Self {
        Self {
            parser,
            started: false,
        }
    }
}

impl Protocol for OneWay {
    fn on_line(&mut self, line: &str, step: &mut Step) {
        let before = step.events.len();
        self.parser.parse_line_into(line, &mut step.events);
        self.started |= step.events.len() > before;
    }

    fn encode(&mut self, _input: LiveInput<'_>) -> Option<Vec<u8>> {
        None
    }

    fn finish(&mut self, exit_code: Option<i32>, stderr_tail: &str) -> Vec<AgentEvent> {
        self.parser.finish(exit_code, stderr_tail)
    }

    fn awaiting(&self) -> Option<Awaiting> {
        (!self.started).then_some(Awaiting::FirstEvent)
    }
}

/// The closed set of protocols.
#[enum_dispatch(Protocol)]
#[derive(Debug, Clone)]
pub enum AnyProtocol {
    /// Output only.
    OneWay(OneWay),
    /// Claude Code with `--input-format stream-json`.
    ClaudeLive(ClaudeLive),
    /// An Agent Client Protocol agent (JSON-RPC both ways).
    Acp(AcpProtocol),
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::backends::CodexParser;

    #[test]
    fn one_way_parses_and_takes_no_input() {
        let mut p: AnyProtocol = OneWay::new(CodexParser::default().into()).into();
        let mut step = Step::default();
        p.on_line(r#"{"type":"thread.started","thread_id":"t-1"}"#, &mut step);
        assert_eq!(step.events.len(), 1);
        assert!(step.writes.is_empty());
        assert_eq!(p.encode(LiveInput::Message("hi")), None);
        assert_eq!(p.encode(LiveInput::Interrupt), None);
    }

    #[test]
    fn one_way_awaits_its_first_event_only() {
        let mut p: AnyProtocol = OneWay::new(CodexParser::default().into()).into();
        assert_eq!(p.awaiting(), Some(Awaiting::FirstEvent));
        let mut step = Step::default();
        p.on_line("", &mut step);
        assert_eq!(p.awaiting(), Some(Awaiting::FirstEvent));
        p.on_line(r#"{"type":"thread.started","thread_id":"t-1"}"#, &mut step);
        assert_eq!(p.awaiting(), None);
    }
}
