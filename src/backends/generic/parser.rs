//! The line parser of a generic backend: each JSON line's type is looked up in
//! the event map ([`super::mapping`] turns it into events), and `finish` closes
//! a run that ended without a terminal event.

use std::collections::VecDeque;
use std::sync::Arc;

use serde_json::Value;

use super::config::{EventMap, GenericConfig};
use crate::backends::{LineParser, wire};
use crate::core::model::events::{AgentEvent, FailureKind};

/// Longest stderr excerpt in a failure message, in characters.
const STDERR_MESSAGE_MAX: usize = 500;
/// Longest excerpt of an odd line in a warning, in characters.
const WARNING_EXCERPT_MAX: usize = 120;

/// The line parser of a [`GenericBackend`](super::GenericBackend).
#[derive(Debug, Clone)]
pub struct GenericParser {
    pub(super) events: Arc<EventMap>,
    pub(super) resume_not_found: Arc<[String]>,
    pub(super) complete_on_exit_zero: bool,
    /// A terminal event was seen.
    pub(super) terminal: bool,
    /// Tool calls started and not finished, oldest first.
    pub(super) open_calls: VecDeque<String>,
    /// Calls started without an id, for made-up ids.
    pub(super) anonymous_calls: u64,
    /// The last failure message, for `finish`.
    pub(super) last_error: Option<String>,
}

impl GenericParser {
    /// A fresh parser for one run of the backend configured by `config`.
    pub fn new(config: &GenericConfig) -> Self {
        Self {
            events: Arc::clone(&config.events),
            resume_not_found: config.resume_not_found.clone().into(),
            complete_on_exit_zero: config.complete_on_exit_zero,
            terminal: false,
            open_calls: VecDeque::new(),
            anonymous_calls: 0,
            last_error: None,
        }
    }

    pub(super) fn failure_kind(&self, message: &str) -> FailureKind {
        if self
            .resume_not_found
            .iter()
            .any(|s| message.contains(s.as_str()))
        {
            FailureKind::ResumeNotFound
        } else {
            FailureKind::Other
        }
    }
}

impl LineParser for GenericParser {
    fn parse_line_into(&mut self, line: &str, out: &mut Vec<AgentEvent>) {
        let mut events = self.events_of(line);
        out.append(&mut events);
    }

    fn finish(&mut self, exit_code: Option<i32>, stderr_tail: &str) -> Vec<AgentEvent> {
        self.finish_events(exit_code, stderr_tail)
    }
}

impl GenericParser {
    /// The events of one line.
    fn events_of(&mut self, line: &str) -> Vec<AgentEvent> {
        if line.trim().is_empty() {
            return Vec::new();
        }
        let value: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                return vec![AgentEvent::Warning {
                    message: format!(
                        "not a JSON line ({e}): {}",
                        wire::short(line, WARNING_EXCERPT_MAX)
                    ),
                }];
            }
        };
        let events = Arc::clone(&self.events);
        let ty = match events.type_pointer.get(&value) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return vec![AgentEvent::Warning {
                    message: format!(
                        "line without a type at {}: {}",
                        events.type_pointer.as_str(),
                        wire::short(line, WARNING_EXCERPT_MAX)
                    ),
                }];
            }
        };
        match events.on.get(&ty) {
            Some(rule) => self.map(&ty, rule, &value),
            None if events.ignore.contains(&ty) => Vec::new(),
            None => vec![AgentEvent::Warning {
                message: format!("unknown event type {ty:?}"),
            }],
        }
    }

    /// The closing events (see [`LineParser::finish`]).
    fn finish_events(&mut self, exit_code: Option<i32>, stderr_tail: &str) -> Vec<AgentEvent> {
        if self.terminal {
            return Vec::new();
        }
        let tail = wire::tail_lines(stderr_tail.lines(), STDERR_MESSAGE_MAX);
        if self
            .resume_not_found
            .iter()
            .any(|s| stderr_tail.contains(s.as_str()))
        {
            return vec![AgentEvent::TurnFailed {
                message: tail,
                kind: FailureKind::ResumeNotFound,
                cost_usd: None,
            }];
        }
        if exit_code == Some(0) && self.complete_on_exit_zero {
            return vec![AgentEvent::TurnCompleted {
                final_text: None,
                usage: None,
                cost_usd: None,
            }];
        }
        let message = match self.last_error.take() {
            Some(e) => e,
            None if !tail.is_empty() => tail,
            None => wire::no_result_message(exit_code),
        };
        vec![AgentEvent::TurnFailed {
            message,
            kind: FailureKind::NoResult,
            cost_usd: None,
        }]
    }
}
