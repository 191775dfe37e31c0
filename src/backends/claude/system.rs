//! Claude's `system` lines: the session start (`init`), status and retry
//! notes, and the background tasks (`task_*`, `background_tasks_changed`) that
//! run subagents next to the main turn.

use super::*;

impl ClaudeParser {
    pub(super) fn system(&mut self, line: Line<'_>, out: &mut Vec<AgentEvent>) {
        match line.subtype.as_deref() {
            Some("init") => match line.session_id {
                Some(id) => {
                    self.session_id = Some(id.to_string());
                    out.push(AgentEvent::SessionStarted {
                        resume_id: id.into_owned(),
                        model: owned(line.model),
                        cli_version: owned(line.claude_code_version),
                    });
                }
                None => out.push(AgentEvent::Warning {
                    message: "Claude system/init without a session_id".to_string(),
                }),
            },
            Some("api_retry") => out.push(AgentEvent::ApiRetry {
                attempt: to_u32(line.attempt.unwrap_or(0)),
                max_retries: line.max_retries.map(to_u32),
                status: line.error_status.and_then(to_u16),
                message: owned(line.error).unwrap_or_default(),
            }),
            // `status` ("requesting", "compacting"): liveness only, which any line gives.
            Some("status") => {}
            // A tool call the permission mode refused: its tool_result (is_error)
            // follows and ends the call, and the result lists `permission_denials`.
            Some("permission_denied") => {}
            // The set of running background tasks: task_started and
            // task_notification say the same per task, with the tool call id.
            Some("background_tasks_changed") => {}
            // Only with CLAUDE_CODE_EMIT_SESSION_STATE_EVENTS (running, idle,
            // requires_action; seen in the 2.1.332 binary): turn ends come from `result`.
            Some("session_state_changed") => {}
            // Context compaction marker: nothing to show.
            Some("compact_boundary") => {}
            Some("task_started") => self.task_started(line, out),
            Some("task_progress") => {
                if let Some(call_id) = self.task_call_id(&line) {
                    if let Some(activity) = line.description.filter(|d| !d.trim().is_empty()) {
                        if self.subagents_open.contains(&call_id) {
                            out.push(AgentEvent::SubagentProgress {
                                call_id: call_id.clone(),
                                activity: activity.into_owned(),
                            });
                        }
                    }
                    self.task_usage(&call_id, line.usage.and_then(|u| u.total_tokens), out);
                }
            }
            Some("task_updated") => {
                let status = line.patch.as_ref().and_then(|p| p.status.as_deref());
                if status.is_some_and(|s| !matches!(s, "running" | "pending")) {
                    if let Some(call_id) = self.task_call_id(&line) {
                        self.subagent_finished(&call_id, out);
                    }
                }
            }
            Some("task_notification") => {
                if let Some(call_id) = self.task_call_id(&line) {
                    self.task_usage(&call_id, line.usage.and_then(|u| u.total_tokens), out);
                    self.subagent_finished(&call_id, out);
                }
            }
            Some(other) => self.unknown_once(format!("system/{other}"), out),
            None => self.warn_once("Claude system event without a subtype".to_string(), out),
        }
    }

    /// The tool call id a `task_*` line is about: its `tool_use_id`, else the
    /// one its `task_id` started with, else the task id itself.
    pub(super) fn task_call_id(&self, line: &Line<'_>) -> Option<String> {
        if let Some(id) = &line.tool_use_id {
            return Some(id.to_string());
        }
        let task = line.task_id.as_deref()?;
        Some(
            self.subs
                .tasks
                .get(task)
                .map_or(task, String::as_str)
                .to_string(),
        )
    }

    pub(super) fn task_started(&mut self, line: Line<'_>, out: &mut Vec<AgentEvent>) {
        let Some(call_id) = self.task_call_id(&line) else {
            return;
        };
        if let Some(task) = &line.task_id {
            self.subs.tasks.insert(task.to_string(), call_id.clone());
        }
        if line.is_backgrounded == Some(true) {
            self.subs.background.insert(call_id.clone());
        }
        let description = owned(line.description).unwrap_or_default();
        self.subagent_started(call_id, description, out);
    }

    /// A task's own token total (`usage.total_tokens`): the part its subagent's
    /// messages do not account for yet is reported under `task:<call id>`, as
    /// input tokens (the total is not split, and an agent's tokens are mostly
    /// prompt). The `result`'s `modelUsage` later replaces every such estimate.
    pub(super) fn task_usage(
        &mut self,
        call_id: &str,
        total: Option<u64>,
        out: &mut Vec<AgentEvent>,
    ) {
        let Some(total) = total else {
            return;
        };
        let seen: u64 = self
            .subs
            .message_parent
            .iter()
            .filter(|(_, parent)| parent.as_str() == call_id)
            .filter_map(|(id, _)| self.message_usage.get(id))
            .map(Usage::total)
            .sum();
        let extra = total.saturating_sub(seen);
        if self.subs.task_extra.get(call_id).copied().unwrap_or(0) == extra {
            return;
        }
        self.subs.task_extra.insert(call_id.to_string(), extra);
        out.push(AgentEvent::Usage {
            scope: UsageScope::Message {
                id: format!("task:{call_id}"),
            },
            usage: Usage {
                input_tokens: extra,
                cached_input_tokens: 0,
                output_tokens: 0,
            },
        });
    }

    pub(super) fn subagent_started(
        &mut self,
        call_id: String,
        description: String,
        out: &mut Vec<AgentEvent>,
    ) {
        if self.subagents_seen.insert(call_id.clone()) {
            self.subagents_open.insert(call_id.clone());
            out.push(AgentEvent::SubagentStarted {
                call_id,
                description,
            });
        }
    }

    pub(super) fn subagent_finished(&mut self, call_id: &str, out: &mut Vec<AgentEvent>) {
        if self.subagents_open.remove(call_id) {
            out.push(AgentEvent::SubagentFinished {
                call_id: call_id.to_string(),
            });
        }
    }
}
