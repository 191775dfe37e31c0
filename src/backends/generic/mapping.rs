//! One line to events: what each [`EventRule`] makes of a JSON line, one short
//! function per kind of event, and the lenient readers of pointed-at values
//! (text, booleans, numbers, token counts).
//!
//! A rule whose required field is missing from the line gives a
//! [`AgentEvent::Warning`] instead of its event; an optional one is left out.

use serde_json::Value;

use super::config::{EventRule, Pointer, TokenPointers};
use super::parser::GenericParser;
use crate::backends::wire;
use crate::core::model::events::{AgentEvent, Usage, UsageScope};

/// Longest tool summary, in characters.
const SUMMARY_MAX: usize = 80;

/// The warning for a line of type `ty` without `what` at `p`.
fn missing(ty: &str, what: &str, p: &Pointer) -> Vec<AgentEvent> {
    vec![AgentEvent::Warning {
        message: format!("{ty:?} line without {what} at {}", p.as_str()),
    }]
}

/// A failure message at `p`, or `fallback` when it is absent or blank.
fn message_or(v: &Value, p: &Option<Pointer>, fallback: impl FnOnce() -> String) -> String {
    opt_text(v, p)
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(fallback)
}

impl GenericParser {
    /// The events a line of type `ty` makes under `rule`.
    pub(super) fn map(&mut self, ty: &str, rule: &EventRule, v: &Value) -> Vec<AgentEvent> {
        match rule {
            EventRule::SessionStarted {
                resume_id,
                model,
                cli_version,
            } => session_started(ty, v, resume_id, model, cli_version),
            EventRule::AssistantText { text } => assistant_text(ty, v, text),
            EventRule::TextDelta { text } => match text_at(v, text) {
                Some(t) if !t.is_empty() => vec![AgentEvent::TextDelta { text: t }],
                Some(_) | None => Vec::new(),
            },
            EventRule::Thinking => vec![AgentEvent::Thinking],
            EventRule::ToolStarted {
                name,
                call_id,
                summary,
            } => self.tool_started(ty, v, name, call_id, summary),
            EventRule::ToolFinished { call_id, ok } => self.tool_finished(ty, v, call_id, ok),
            EventRule::Usage { tokens, message_id } => usage(ty, v, tokens, message_id),
            EventRule::TurnCompleted {
                final_text,
                tokens,
                cost_usd,
                failed_if,
                message,
            } => {
                self.terminal = true;
                let cost = cost_usd.as_ref().and_then(|p| p.get(v)).and_then(number);
                let failed = failed_if
                    .as_ref()
                    .and_then(|p| p.get(v))
                    .is_some_and(truthy);
                if failed {
                    let msg = message_or(v, message, || {
                        format!("the CLI reported a failed turn ({ty:?})")
                    });
                    vec![self.turn_failed(msg, cost)]
                } else {
                    vec![turn_completed(v, final_text, tokens, cost)]
                }
            }
            EventRule::TurnFailed { message, cost_usd } => {
                self.terminal = true;
                let msg = message_or(v, message, || {
                    format!("the CLI reported a failure ({ty:?})")
                });
                self.last_error = Some(msg.clone());
                let cost = cost_usd.as_ref().and_then(|p| p.get(v)).and_then(number);
                vec![self.turn_failed(msg, cost)]
            }
        }
    }

    fn tool_started(
        &mut self,
        ty: &str,
        v: &Value,
        name: &Pointer,
        call_id: &Option<Pointer>,
        summary: &Option<Pointer>,
    ) -> Vec<AgentEvent> {
        let Some(tool) = text_at(v, name).filter(|s| !s.is_empty()) else {
            return missing(ty, "a tool name", name);
        };
        let id = opt_text(v, call_id).unwrap_or_else(|| {
            self.anonymous_calls += 1;
            format!("call-{}", self.anonymous_calls)
        });
        self.open_calls.push_back(id.clone());
        vec![AgentEvent::ToolStarted {
            call_id: id,
            name: tool,
            summary: opt_text(v, summary)
                .map(|s| wire::short(&s, SUMMARY_MAX))
                .unwrap_or_default(),
            parent_tool_id: None,
        }]
    }

    /// Closes the call named in the line, or else the oldest open one.
    fn tool_finished(
        &mut self,
        ty: &str,
        v: &Value,
        call_id: &Option<Pointer>,
        ok: &Option<Pointer>,
    ) -> Vec<AgentEvent> {
        let id = match opt_text(v, call_id) {
            Some(id) => {
                self.open_calls.retain(|c| *c != id);
                Some(id)
            }
            None => self.open_calls.pop_front(),
        };
        match id {
            Some(call_id) => vec![AgentEvent::ToolFinished {
                call_id,
                ok: ok.as_ref().and_then(|p| p.get(v)).is_none_or(truthy),
            }],
            None => vec![AgentEvent::Warning {
                message: format!("{ty:?} line finishes a tool call that never started"),
            }],
        }
    }

    fn turn_failed(&self, message: String, cost_usd: Option<f64>) -> AgentEvent {
        AgentEvent::TurnFailed {
            kind: self.failure_kind(&message),
            message,
            cost_usd,
        }
    }
}

fn session_started(
    ty: &str,
    v: &Value,
    resume_id: &Pointer,
    model: &Option<Pointer>,
    cli_version: &Option<Pointer>,
) -> Vec<AgentEvent> {
    match text_at(v, resume_id).filter(|s| !s.is_empty()) {
        Some(id) => vec![AgentEvent::SessionStarted {
            resume_id: id,
            model: opt_text(v, model),
            cli_version: opt_text(v, cli_version),
        }],
        None => missing(ty, "a session id", resume_id),
    }
}

/// Blank text is dropped silently; absent text is a warning.
fn assistant_text(ty: &str, v: &Value, text: &Pointer) -> Vec<AgentEvent> {
    match text_at(v, text) {
        Some(t) if t.trim().is_empty() => Vec::new(),
        Some(t) => vec![AgentEvent::AssistantText {
            text: t,
            parent_tool_id: None,
        }],
        None => missing(ty, "text", text),
    }
}

fn usage(
    ty: &str,
    v: &Value,
    tokens: &TokenPointers,
    message_id: &Option<Pointer>,
) -> Vec<AgentEvent> {
    match usage_at(v, tokens) {
        Some(usage) => vec![AgentEvent::Usage {
            scope: match opt_text(v, message_id) {
                Some(id) => UsageScope::Message { id },
                None => UsageScope::Cumulative,
            },
            usage,
        }],
        None => vec![AgentEvent::Warning {
            message: format!("{ty:?} line without token counts"),
        }],
    }
}

fn turn_completed(
    v: &Value,
    final_text: &Option<Pointer>,
    tokens: &TokenPointers,
    cost_usd: Option<f64>,
) -> AgentEvent {
    AgentEvent::TurnCompleted {
        final_text: opt_text(v, final_text),
        usage: if tokens.is_empty() {
            None
        } else {
            usage_at(v, tokens)
        },
        cost_usd,
    }
}

/// The value at `p` as text: strings as they are, numbers and booleans
/// written out, objects and arrays as compact JSON; `None` when absent or null.
fn text_at(v: &Value, p: &Pointer) -> Option<String> {
    p.get(v).map(|x| match x {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

fn opt_text(v: &Value, p: &Option<Pointer>) -> Option<String> {
    p.as_ref().and_then(|p| text_at(v, p))
}

/// A boolean: `true`, a non-zero number, or the string "true".
fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// A number, or a string holding one.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|f: &f64| f.is_finite())
}

fn count(v: &Value, p: &Option<Pointer>) -> Option<u64> {
    let x = p.as_ref()?.get(v)?;
    if let Some(n) = x.as_u64() {
        return Some(n);
    }
    number(x).filter(|f| *f >= 0.0).map(|f| f as u64)
}

/// The usage at `tokens`, when at least one count is there.
fn usage_at(v: &Value, tokens: &TokenPointers) -> Option<Usage> {
    let input = count(v, &tokens.input);
    let cached = count(v, &tokens.cached_input);
    let output = count(v, &tokens.output);
    if input.is_none() && output.is_none() {
        return None;
    }
    Some(Usage {
        input_tokens: input.unwrap_or(0),
        cached_input_tokens: cached.unwrap_or(0),
        output_tokens: output.unwrap_or(0),
    })
}
