//! Claude's conversation lines (`assistant`, `user`, `stream_event`): the
//! agent's text, its tool calls and their results, subagents' starts and ends,
//! and each message's usage.

use super::*;

/// Tools whose calls start a subagent.
const SUBAGENT_TOOLS: &[&str] = &["Task", "Agent"];

/// Longest summary of a shell command, in characters.
const COMMAND_SUMMARY_MAX: usize = 80;
/// Longest summary of any other tool call, in characters.
const OTHER_SUMMARY_MAX: usize = 60;

impl ClaudeParser {
    pub(super) fn assistant(&mut self, line: Said<'_>, out: &mut Vec<AgentEvent>) {
        let Some(message) = line.message else {
            out.push(AgentEvent::Warning {
                message: "Claude assistant line without a message".to_string(),
            });
            return;
        };
        let parent = line.parent_tool_use_id.as_deref();
        for block in message.content {
            match block.kind.as_deref() {
                Some("text") => {
                    if let Some(text) = block.text.filter(|t| !t.is_empty()) {
                        out.push(AgentEvent::AssistantText {
                            text: text.into_owned(),
                            parent_tool_id: parent.map(str::to_string),
                        });
                    }
                }
                Some("tool_use" | "server_tool_use") => {
                    let Some(call_id) = block.id else {
                        out.push(AgentEvent::Warning {
                            message: "Claude tool_use block without an id".to_string(),
                        });
                        continue;
                    };
                    let name = block.name.as_deref().unwrap_or("tool");
                    let input = block.input.unwrap_or_default();
                    let summary = tool_summary(name, &input);
                    // Copies for the subagent's own start only when it is one.
                    let subagent = SUBAGENT_TOOLS
                        .contains(&name)
                        .then(|| (call_id.to_string(), summary.clone()));
                    out.push(AgentEvent::ToolStarted {
                        call_id: call_id.into_owned(),
                        name: name.to_string(),
                        summary,
                        parent_tool_id: parent.map(str::to_string),
                    });
                    if let Some((call_id, summary)) = subagent {
                        self.subagent_started(call_id, summary, out);
                    }
                }
                Some("thinking" | "redacted_thinking") => out.push(AgentEvent::Thinking),
                // Results of server-side tools (web search) come inside the assistant message.
                Some(kind) if kind.ends_with("_tool_result") => {
                    if let Some(id) = block.tool_use_id {
                        out.push(AgentEvent::ToolFinished {
                            call_id: id.into_owned(),
                            ok: !block.is_error.unwrap_or(false),
                        });
                    }
                }
                Some(other) => self.unknown_once(format!("content block {other:?}"), out),
                None => self.warn_once("Claude content block without a type".to_string(), out),
            }
        }
        // The made-up messages that carry API errors report zero usage: skip them.
        if message.model.as_deref() == Some(SYNTHETIC_MODEL) {
            return;
        }
        if let (Some(id), Some(usage)) = (message.id, message.usage) {
            if let Some(parent) = parent {
                if !self.subs.message_parent.contains_key(id.as_ref()) {
                    self.subs
                        .message_parent
                        .insert(id.to_string(), parent.to_string());
                }
            }
            self.report_usage(&id, usage.normalize(), out);
        }
    }

    /// Emit the usage of message `id` if it adds to what was reported before.
    ///
    /// Claude repeats a message's usage on every content block, and in
    /// partial-messages mode reports it again (with the final output count) in
    /// `message_delta`; the figures of one message only grow, so they are merged
    /// field by field with the maximum and emitted only when they changed.
    fn report_usage(&mut self, id: &str, usage: Usage, out: &mut Vec<AgentEvent>) {
        if let Some((last_id, last)) = &self.last_usage {
            if last_id == id && max_usage(*last, usage) == *last {
                return;
            }
        }
        let prev = self.message_usage.get(id).copied();
        let merged = prev.map_or(usage, |prev| max_usage(prev, usage));
        let unchanged = merged == prev.unwrap_or_default();
        if unchanged {
            return;
        }
        self.message_usage.insert(id.to_string(), merged);
        match &mut self.last_usage {
            Some((last_id, last)) => {
                id.clone_into(last_id);
                *last = merged;
            }
            None => self.last_usage = Some((id.to_string(), merged)),
        }
        out.push(AgentEvent::Usage {
            scope: UsageScope::Message { id: id.to_string() },
            usage: merged,
        });
    }

    /// A `user` line: the results of tool calls. `result` is the line's
    /// `tool_use_result`, when it was read (see `turn`).
    pub(super) fn user(
        &mut self,
        line: Said<'_>,
        result: Option<ToolUseResult<'_>>,
        out: &mut Vec<AgentEvent>,
    ) {
        let Some(message) = line.message else {
            return;
        };
        // The result of a Task call whose subagent went on in the background.
        let launched = result.as_ref().is_some_and(|r| {
            r.is_async == Some(true) || r.status.as_deref() == Some("async_launched")
        });
        for block in message.content {
            if block.kind.as_deref() != Some("tool_result") {
                // Echoed prompts (a subagent's task) and other user content.
                continue;
            }
            let Some(id) = block.tool_use_id else {
                out.push(AgentEvent::Warning {
                    message: "Claude tool_result without a tool_use_id".to_string(),
                });
                continue;
            };
            out.push(AgentEvent::ToolFinished {
                call_id: id.to_string(),
                ok: !block.is_error.unwrap_or(false),
            });
            if launched {
                self.subs.background.insert(id.to_string());
            }
            // A background subagent ends with its task_notification instead.
            if !self.subs.background.contains(id.as_ref()) {
                self.subagent_finished(&id, out);
            }
        }
    }

    pub(super) fn stream_event(&mut self, line: StreamLine<'_>, out: &mut Vec<AgentEvent>) {
        let Some(event) = line.event else {
            out.push(AgentEvent::Warning {
                message: "Claude stream_event without an event".to_string(),
            });
            return;
        };
        let parent = line.parent_tool_use_id.as_deref();
        match event.kind.as_deref() {
            Some("content_block_delta") => {
                let Some(Delta {
                    kind: Some(kind),
                    text,
                }) = event.delta
                else {
                    return;
                };
                match kind.as_ref() {
                    "text_delta" => {
                        if let Some(text) = text.filter(|t| !t.is_empty()) {
                            out.push(AgentEvent::TextDelta {
                                text: text.into_owned(),
                            });
                        }
                    }
                    "thinking_delta" => out.push(AgentEvent::Thinking),
                    _ => {}
                }
            }
            Some("message_start") => {
                let Some(StreamMessage {
                    id: Some(id),
                    usage,
                }) = event.message
                else {
                    return;
                };
                match self
                    .streaming
                    .iter_mut()
                    .find(|(p, _)| p.as_deref() == parent)
                {
                    Some(entry) => id.as_ref().clone_into(&mut entry.1),
                    None => self
                        .streaming
                        .push((parent.map(str::to_string), id.to_string())),
                }
                if let Some(usage) = usage {
                    self.report_usage(&id, usage.normalize(), out);
                }
            }
            Some("message_delta") => {
                let Some(usage) = event.usage else {
                    return;
                };
                let Some(id) = self
                    .streaming
                    .iter()
                    .find(|(p, _)| p.as_deref() == parent)
                    .map(|(_, id)| id.clone())
                else {
                    return;
                };
                // Only the fields present count; the others keep message_start's figures.
                self.report_usage(&id, usage.normalize(), out);
            }
            _ => {}
        }
    }
}

/// Field by field, the larger of two usages of one message.
fn max_usage(a: Usage, b: Usage) -> Usage {
    Usage {
        input_tokens: a.input_tokens.max(b.input_tokens),
        cached_input_tokens: a.cached_input_tokens.max(b.cached_input_tokens),
        output_tokens: a.output_tokens.max(b.output_tokens),
    }
}

/// A short human label for a tool call.
pub(super) fn tool_summary(name: &str, input: &StrArgs<'_>) -> String {
    let pick = |key: &str| input.get(key).filter(|v| !v.trim().is_empty());
    let (text, max) = match name {
        "Bash" => (pick("command"), COMMAND_SUMMARY_MAX),
        "Read" | "Edit" | "Write" | "MultiEdit" | "NotebookEdit" | "NotebookRead" => {
            let path = pick("file_path")
                .or_else(|| pick("notebook_path"))
                .or_else(|| pick("path"));
            let name = path.map(|p| match p {
                Cow::Borrowed(p) => Cow::Borrowed(wire::base_name(p)),
                Cow::Owned(p) => Cow::Owned(wire::base_name(&p).to_string()),
            });
            (name, OTHER_SUMMARY_MAX)
        }
        "Grep" | "Glob" => (pick("pattern"), OTHER_SUMMARY_MAX),
        "Task" | "Agent" => (
            pick("description").or_else(|| pick("prompt")),
            OTHER_SUMMARY_MAX,
        ),
        "WebFetch" => (pick("url"), OTHER_SUMMARY_MAX),
        "WebSearch" | "web_search" => (pick("query"), OTHER_SUMMARY_MAX),
        _ => (None, OTHER_SUMMARY_MAX),
    };
    wire::short(text.or_else(|| input.first()).as_deref().unwrap_or(""), max)
}
