//! What an ACP agent's lines mean: `session/update` notifications and the
//! prompt's response mapped to [`AgentEvent`]s. Pure and lenient: a field it
//! does not know is ignored, an update kind it does not know is named once.
//!
//! [`AcpParser`] is also a [`LineParser`] on its own, for reading a run's
//! `stream.jsonl` again (`clawrun fg` catches up with it): there it recognises
//! responses by their shape (`sessionId`, `stopReason`) instead of their ids.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::backends::LineParser;
use crate::core::model::events::{AgentEvent, FailureKind, Usage, UsageScope};

/// Update kinds that carry nothing for a run (the agent's command list, its
/// mode and config options, the user's own message replayed).
const IGNORED_UPDATES: &[&str] = &[
    "available_commands_update",
    "current_mode_update",
    "config_option_update",
    "session_info_update",
    "user_message_chunk",
];

/// Per-run state of the mapping.
#[derive(Debug, Clone, Default)]
pub struct AcpParser {
    /// The assistant message being streamed in chunks.
    text: String,
    /// Its id, when the agent gives one (a new id starts a new message).
    message_id: Option<String>,
    /// The last complete assistant message of the turn (the final answer).
    last_message: Option<String>,
    /// Tool calls started and not finished: id → (kind, summary).
    open_tools: BTreeMap<String, (String, String)>,
    /// The session's cost so far (`usage_update.cost`, US dollars).
    cost_usd: Option<f64>,
    /// Prompt responses seen (names their usage reports).
    turns: u32,
    /// Update kinds already reported as unknown.
    unknown: BTreeSet<String>,
}

/// A JSON-RPC error as the agent sent it: `message (code)`.
pub(super) fn rpc_error_text(error: &Value) -> String {
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("unknown error");
    let detail = error
        .get("data")
        .and_then(|d| d.get("details").or_else(|| d.get("message")))
        .and_then(Value::as_str);
    let code = error.get("code").and_then(Value::as_i64);
    match (detail, code) {
        (Some(d), Some(c)) => format!("{message}: {d} ({c})"),
        (None, Some(c)) => format!("{message} ({c})"),
        (Some(d), None) => format!("{message}: {d}"),
        (None, None) => message.to_owned(),
    }
}

fn str_at<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

impl AcpParser {
    /// Close the message being streamed: its whole text as one
    /// [`AgentEvent::AssistantText`].
    pub(super) fn flush_text(&mut self, out: &mut Vec<AgentEvent>) {
        if self.text.is_empty() {
            return;
        }
        let text = std::mem::take(&mut self.text);
        self.last_message = Some(text.clone());
        out.push(AgentEvent::AssistantText {
            text,
            parent_tool_id: None,
        });
    }

    /// One `session/update` notification's `params`.
    pub(super) fn on_update(&mut self, params: &Value, out: &mut Vec<AgentEvent>) {
        let Some(update) = params.get("update") else {
            out.push(AgentEvent::Warning {
                message: "ACP session/update without an update".to_owned(),
            });
            return;
        };
        let kind = str_at(update, "sessionUpdate").unwrap_or("");
        match kind {
            "agent_message_chunk" => self.on_chunk(update, out),
            "agent_thought_chunk" => out.push(AgentEvent::Thinking),
            "tool_call" => self.on_tool_call(update, out),
            "tool_call_update" => self.on_tool_update(update, out),
            "plan" => out.push(plan_of(update)),
            "usage_update" => {
                let cost = update.get("cost");
                let usd = cost.filter(|c| str_at(c, "currency").is_none_or(|cur| cur == "USD"));
                if let Some(amount) = usd.and_then(|c| c.get("amount")).and_then(Value::as_f64) {
                    self.cost_usd = Some(amount);
                }
            }
            k if IGNORED_UPDATES.contains(&k) => {}
            other => {
                if self.unknown.insert(other.to_owned()) {
                    out.push(AgentEvent::UnknownEvent {
                        what: format!("session/update {other:?}"),
                    });
                }
            }
        }
    }

    fn on_chunk(&mut self, update: &Value, out: &mut Vec<AgentEvent>) {
        // The Claude adapter's own notices (billing, …) are not the model's
        // answer: logged as text, never the final answer.
        if update
            .pointer("/_meta/claudeCode/kind")
            .and_then(Value::as_str)
            == Some("informational")
        {
            self.flush_text(out);
            if let Some(text) = update.pointer("/content/text").and_then(Value::as_str) {
                out.push(AgentEvent::AssistantText {
                    text: text.to_owned(),
                    parent_tool_id: None,
                });
            }
            return;
        }
        let id = str_at(update, "messageId");
        if id.is_some() && id != self.message_id.as_deref() {
            self.flush_text(out);
            self.message_id = id.map(str::to_owned);
        }
        let content = update.get("content");
        if let Some(text) = content
            .filter(|c| str_at(c, "type") == Some("text"))
            .and_then(|c| str_at(c, "text"))
        {
            self.text.push_str(text);
            out.push(AgentEvent::TextDelta {
                text: text.to_owned(),
            });
        }
    }

    fn on_tool_call(&mut self, update: &Value, out: &mut Vec<AgentEvent>) {
        self.flush_text(out);
        let Some(id) = str_at(update, "toolCallId") else {
            out.push(AgentEvent::Warning {
                message: "ACP tool_call without a toolCallId".to_owned(),
            });
            return;
        };
        if !self.open_tools.contains_key(id) {
            let name = str_at(update, "kind").unwrap_or("other").to_owned();
            let summary = tool_summary(update).unwrap_or_default();
            self.open_tools
                .insert(id.to_owned(), (name.clone(), summary.clone()));
            out.push(AgentEvent::ToolStarted {
                call_id: id.to_owned(),
                name,
                summary,
                parent_tool_id: None,
            });
        }
        self.on_status(id, update, out);
    }

    /// A `tool_call_update`: a better label for a running call (the Claude
    /// adapter announces `Terminal` and names the command here), then its
    /// status.
    fn on_tool_update(&mut self, update: &Value, out: &mut Vec<AgentEvent>) {
        let Some(id) = str_at(update, "toolCallId") else {
            return;
        };
        let finishing = matches!(str_at(update, "status"), Some("completed" | "failed"));
        if let (false, Some(summary), Some((name, old))) =
            (finishing, tool_summary(update), self.open_tools.get_mut(id))
        {
            if summary != *old {
                if let Some(kind) = str_at(update, "kind") {
                    kind.clone_into(name);
                }
                old.clone_from(&summary);
                out.push(AgentEvent::ToolUpdated {
                    call_id: id.to_owned(),
                    name: name.clone(),
                    summary,
                });
            }
        }
        self.on_status(id, update, out);
    }

    /// A tool call's status: `completed` or `failed` finishes it (once).
    fn on_status(&mut self, id: &str, update: &Value, out: &mut Vec<AgentEvent>) {
        let ok = match str_at(update, "status") {
            Some("completed") => true,
            Some("failed") => false,
            _ => return,
        };
        if self.open_tools.remove(id).is_some() {
            out.push(AgentEvent::ToolFinished {
                call_id: id.to_owned(),
                ok,
            });
        }
    }

    /// The result of a `session/prompt`: its usage, then how the turn ended.
    pub(super) fn on_prompt_result(&mut self, result: &Value, out: &mut Vec<AgentEvent>) {
        self.flush_text(out);
        self.turns += 1;
        if let Some(usage) = result.get("usage").and_then(usage_of) {
            out.push(AgentEvent::Usage {
                scope: UsageScope::Message {
                    id: format!("acp-prompt-{}", self.turns),
                },
                usage,
            });
        }
        let reason = str_at(result, "stopReason").unwrap_or("");
        let failed = |message: String| AgentEvent::TurnFailed {
            message,
            kind: FailureKind::Other,
            cost_usd: self.cost_usd,
        };
        out.push(match reason {
            "end_turn" => AgentEvent::TurnCompleted {
                final_text: self.last_message.take(),
                usage: None,
                cost_usd: self.cost_usd,
            },
            "max_tokens" => failed("the model hit its output token limit (max_tokens)".into()),
            "max_turn_requests" => {
                failed("the agent hit its limit of model requests in one turn".into())
            }
            "refusal" => failed("the agent refused to go on (refusal)".into()),
            "cancelled" => failed("the turn was cancelled".into()),
            other => failed(format!(
                "the turn ended with an unknown stop reason {other:?}"
            )),
        });
        self.last_message = None;
    }

    /// A JSON-RPC error answering the prompt (or the session it needs).
    pub(super) fn on_prompt_error(
        &mut self,
        what: &str,
        error: &Value,
        kind: FailureKind,
        out: &mut Vec<AgentEvent>,
    ) {
        self.flush_text(out);
        out.push(AgentEvent::TurnFailed {
            message: format!("{what}: {}", rpc_error_text(error)),
            kind,
            cost_usd: self.cost_usd,
        });
    }

    /// The agent's process ended while a turn was open (`open`): a failure
    /// naming its exit and the last line of its stderr.
    pub(super) fn on_exit(
        &mut self,
        open: bool,
        exit_code: Option<i32>,
        stderr_tail: &str,
    ) -> Vec<AgentEvent> {
        let mut out = Vec::new();
        self.flush_text(&mut out);
        if open {
            let status = exit_code.map_or("killed by a signal".to_owned(), |c| format!("code {c}"));
            let last = stderr_tail
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| format!(": {}", l.trim()))
                .unwrap_or_default();
            out.push(AgentEvent::TurnFailed {
                message: format!("the agent exited ({status}) before the turn ended{last}"),
                kind: FailureKind::NoResult,
                cost_usd: self.cost_usd,
            });
        }
        out
    }
}

/// Longest command shown as a tool's label, in characters.
const COMMAND_SUMMARY_MAX: usize = 80;
/// Longest other label (a title), in characters.
const TITLE_SUMMARY_MAX: usize = 60;

/// A tool call's short label: the command of its `rawInput` (a string, or an
/// argv array), else its `title`; `None` when it has neither.
fn tool_summary(update: &Value) -> Option<String> {
    let command = match update.pointer("/rawInput/command") {
        Some(Value::String(c)) => Some(c.clone()),
        Some(Value::Array(argv)) => Some(
            argv.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => None,
    };
    let (text, max) = match command.filter(|c| !c.trim().is_empty()) {
        Some(c) => (c, COMMAND_SUMMARY_MAX),
        None => (
            str_at(update, "title")
                .filter(|t| !t.trim().is_empty())?
                .to_owned(),
            TITLE_SUMMARY_MAX,
        ),
    };
    Some(crate::backends::wire::short(&text, max))
}

/// An ACP `plan` update (`entries`, each with a `status`) as an
/// [`AgentEvent::Plan`]: entries done, in all, and the one in progress (else
/// the first pending one).
fn plan_of(update: &Value) -> AgentEvent {
    let entries = update
        .get("entries")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let status = |e: &Value| str_at(e, "status").unwrap_or("pending").to_owned();
    let done = entries.iter().filter(|e| status(e) == "completed").count();
    let current = ["in_progress", "pending"].iter().find_map(|wanted| {
        entries
            .iter()
            .find(|e| status(e) == *wanted)
            .and_then(|e| str_at(e, "content"))
            .map(|c| crate::backends::wire::short(c, TITLE_SUMMARY_MAX))
    });
    AgentEvent::Plan {
        done: u32::try_from(done).unwrap_or(u32::MAX),
        total: u32::try_from(entries.len()).unwrap_or(u32::MAX),
        current,
    }
}

/// ACP `usage` (`inputTokens`, `outputTokens`, `cachedReadTokens`,
/// `cachedWriteTokens`) as a [`Usage`]: input counts cache reads and writes,
/// as for Claude.
fn usage_of(v: &Value) -> Option<Usage> {
    let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    if !v.is_object() {
        return None;
    }
    let cached = n("cachedReadTokens");
    Some(Usage {
        input_tokens: n("inputTokens") + cached + n("cachedWriteTokens"),
        cached_input_tokens: cached,
        output_tokens: n("outputTokens"),
    })
}

impl LineParser for AcpParser {
    /// Replay mapping: updates, and responses recognised by their shape.
    fn parse_line_into(&mut self, line: &str, out: &mut Vec<AgentEvent>) {
        if line.trim().is_empty() {
            return;
        }
        let Ok(msg) = serde_json::from_str::<Value>(line) else {
            out.push(AgentEvent::Warning {
                message: format!(
                    "not a JSON-RPC message: {}",
                    crate::backends::wire::short(line, 120)
                ),
            });
            return;
        };
        if str_at(&msg, "method") == Some("session/update") {
            if let Some(params) = msg.get("params") {
                self.on_update(params, out);
            }
        } else if let Some(result) = msg.get("result") {
            if result.get("stopReason").is_some() {
                self.on_prompt_result(result, out);
            } else if let Some(id) = str_at(result, "sessionId") {
                out.push(AgentEvent::SessionStarted {
                    resume_id: id.to_owned(),
                    model: None,
                    cli_version: None,
                });
            }
        }
    }

    fn finish(&mut self, exit_code: Option<i32>, stderr_tail: &str) -> Vec<AgentEvent> {
        self.on_exit(false, exit_code, stderr_tail)
    }
}
