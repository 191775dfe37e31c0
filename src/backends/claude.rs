//! Claude Code: the command line, and the `stream-json` parser.
//!
//! Here: the wire types of a `stream-json` line and the parser's dispatch,
//! `result` and `rate_limit_event`. The command line is `backend.rs`, the live
//! protocol (multi-turn, interrupts, permission answers) `live.rs`, the
//! conversation lines `conversation.rs`, the `system` lines `system.rs`;
//! failures, usage and denials each have their file.
//!
//! # Command
//!
//! ```text
//! claude -p --output-format stream-json <permission> [--model M] [--resume ID [--fork-session]]
//!        [--append-system-prompt=TEXT] [--max-budget-usd N] [--allowedTools T…] --verbose <extra args>
//! ```
//!
//! The prompt goes on stdin (with `-p` and no prompt argument Claude reads it from
//! there), the working directory is the project, and `<permission>` is either the
//! configured default (`--dangerously-skip-permissions`) or `--permission-mode M`.
//! Flags checked against `claude --help` of 2.1.197 and a real run.
//!
//! # Events
//!
//! One JSON object per line: `system` (subtypes `init`, `api_retry`, `status`,
//! `permission_denied`, `task_started`, `task_progress`, `task_updated`,
//! `task_notification`, `background_tasks_changed`), `assistant` and `user` (one
//! content block per line, several lines share a `message.id`), `stream_event`
//! (with `--include-partial-messages`, raw SSE events), `rate_limit_event` and
//! `result`. Which of them map to what, and which are ignored and why, is said
//! where each is matched ([`ClaudeParser`]'s `handle` and `system`). Anything
//! else becomes an [`AgentEvent::UnknownEvent`], once per run.
//!
//! Since 2.1.332 a subagent may run in the background: its `Task` call returns
//! at once ("Async agent launched", `tool_use_result.status` `async_launched`),
//! the subagent's work and the `task_*` events follow, and the CLI then starts
//! another turn by itself, so one run prints several `system/init` and `result`
//! lines. Each `result` carries its own turn's `usage`, while `total_cost_usd`
//! and `modelUsage` (subagents included) are running totals for the process
//! (measured: `usage` 200/14 then 100/7, `modelUsage` 500/35 in both).
//!
//! See `tests/fixtures/claude/*.jsonl` (2.1.197) and
//! `tests/fixtures/claude-2.1.332/*.jsonl` for real transcripts and
//! `tests/fixtures/expected/` for what each maps to.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::borrow::Cow;

use crate::backends::LineParser;
use crate::backends::wire::{self, List, StrArgs, Values};
use crate::core::model::events::{AgentEvent, FailureKind, Usage, UsageScope};

mod backend;
mod conversation;
mod denials;
mod failure;
mod live;
mod system;
mod usage;

use failure::{classify_failure, usage_limit_text};
use usage::{add_usage, model_usage_total};

pub use backend::ClaudeBackend;
pub use live::{
    ClaudeLive, interrupt_request_line, multi_turn_command, permission_response_line,
    user_message_line,
};

/// Permission modes `claude --permission-mode` accepts (2.1.197).
pub const CLAUDE_PERMISSION_MODES: &[&str] = &[
    "acceptEdits",
    "auto",
    "bypassPermissions",
    "default",
    "dontAsk",
    "plan",
];

/// Longest stderr excerpt in a failure message, in characters.
const STDERR_MESSAGE_MAX: usize = 500;
/// What Claude prints when `--resume` names an unknown session (or, before 2.1.332,
/// one started in another cwd; 2.1.332 resumes those).
const RESUME_NOT_FOUND: &str = "No conversation found";
/// Model name of the assistant messages Claude makes up to carry an API error.
const SYNTHETIC_MODEL: &str = "<synthetic>";

// ---------------------------------------------------------------------------
// Wire types: private, lenient (every field optional, odd types read as absent,
// unknown fields skipped), borrowed from the line.

wire::record! {
    /// One line of `stream-json`: the union of the fields of every line type.
    struct Line<'a> {
        "type" => kind: Option<Cow<'a, str>>,
        "subtype" => subtype: Option<Cow<'a, str>>,
        "session_id" => session_id: Option<Cow<'a, str>>,
        "model" => model: Option<Cow<'a, str>>,
        "claude_code_version" => claude_code_version: Option<Cow<'a, str>>,
        "parent_tool_use_id" => parent_tool_use_id: Option<Cow<'a, str>>,
        "message" => message: Option<Message<'a>>,
        "event" => event: Option<StreamEvent<'a>>,
        // result
        "is_error" => is_error: Option<bool>,
        "result" => result: Option<Cow<'a, str>>,
        "errors" => errors: Vec<Cow<'a, str>>,
        "api_error_status" => api_error_status: Option<u64>,
        "total_cost_usd" => total_cost_usd: Option<f64>,
        "usage" => usage: Option<WireUsage>,
        "modelUsage" => model_usage: Values<ModelUsage>,
        "permission_denials" => permission_denials: Vec<Denial<'a>>,
        // system/api_retry
        "attempt" => attempt: Option<u64>,
        "max_retries" => max_retries: Option<u64>,
        "error_status" => error_status: Option<u64>,
        "error" => error: Option<Cow<'a, str>>,
        // system/task_*
        "tool_use_id" => tool_use_id: Option<Cow<'a, str>>,
        "task_id" => task_id: Option<Cow<'a, str>>,
        "description" => description: Option<Cow<'a, str>>,
        "is_backgrounded" => is_backgrounded: Option<bool>,
        "patch" => patch: Option<TaskPatch<'a>>,
        // user (the result of a Task call that went to the background)
        "tool_use_result" => tool_use_result: Option<ToolUseResult<'a>>,
        // conversation_reset
        "newConversationId" => new_conversation_id: Option<Cow<'a, str>>,
        // rate_limit_event
        "rate_limit_info" => rate_limit_info: Option<RateLimitInfo<'a>>,
    }
}

wire::record! {
    /// An `assistant` or `user` line (most of a transcript): its message and
    /// the subagent it comes from; read when the line names its type first,
    /// and the rest of the line skipped once both are read.
    struct Said<'a> {
        "message" => message: Option<Message<'a>>,
        "parent_tool_use_id" => parent_tool_use_id: Option<Cow<'a, str>>,
    }
}

wire::record! {
    /// A `user` line while a subagent runs: also the structured result of
    /// the tool call, which tells whether the subagent went on in the
    /// background.
    struct UserTurn<'a> {
        "message" => message: Option<Message<'a>>,
        "parent_tool_use_id" => parent_tool_use_id: Option<Cow<'a, str>>,
        "tool_use_result" => tool_use_result: Option<ToolUseResult<'a>>,
    }
}

wire::record! {
    /// A `stream_event` line: only what it maps from, read when the line
    /// names its type first.
    struct StreamLine<'a> {
        "event" => event: Option<StreamEvent<'a>>,
        "parent_tool_use_id" => parent_tool_use_id: Option<Cow<'a, str>>,
    }
}

wire::record! {
    /// One entry of a result's `permission_denials` (see `denials`).
    struct Denial<'a> {
        "tool_name" => tool_name: Option<Cow<'a, str>>,
        "tool_input" => tool_input: Option<DeniedInput<'a>>,
    }
}

wire::record! {
    /// The fields of a denied call's input that say what it touched.
    struct DeniedInput<'a> {
        "file_path" => file_path: Option<Cow<'a, str>>,
        "notebook_path" => notebook_path: Option<Cow<'a, str>>,
        "path" => path: Option<Cow<'a, str>>,
        "command" => command: Option<Cow<'a, str>>,
        "url" => url: Option<Cow<'a, str>>,
        "pattern" => pattern: Option<Cow<'a, str>>,
    }
}

wire::record! {
    struct Message<'a> {
        "id" => id: Option<Cow<'a, str>>,
        "model" => model: Option<Cow<'a, str>>,
        "content" => content: List<Block<'a>>,
        "usage" => usage: Option<WireUsage>,
    }
}

wire::record! {
    /// A content block of any type (`text`, `tool_use`, `tool_result`, `thinking`, …).
    struct Block<'a> {
        "type" => kind: Option<Cow<'a, str>>,
        "text" => text: Option<Cow<'a, str>>,
        "id" => id: Option<Cow<'a, str>>,
        "name" => name: Option<Cow<'a, str>>,
        "input" => input: Option<StrArgs<'a>>,
        "tool_use_id" => tool_use_id: Option<Cow<'a, str>>,
        "is_error" => is_error: Option<bool>,
    }
}

wire::record! {
    struct WireUsage {
        "input_tokens" => input_tokens: Option<u64>,
        "cache_creation_input_tokens" => cache_creation_input_tokens: Option<u64>,
        "cache_read_input_tokens" => cache_read_input_tokens: Option<u64>,
        "output_tokens" => output_tokens: Option<u64>,
        // task_progress / task_notification: only a total
        "total_tokens" => total_tokens: Option<u64>,
    }
}

wire::record! {
    /// One model's running totals in a `result`'s `modelUsage`.
    struct ModelUsage {
        "inputTokens" => input_tokens: Option<u64>,
        "cacheCreationInputTokens" => cache_creation_input_tokens: Option<u64>,
        "cacheReadInputTokens" => cache_read_input_tokens: Option<u64>,
        "outputTokens" => output_tokens: Option<u64>,
    }
}

wire::record! {
    /// `system/task_updated`: the fields that changed.
    struct TaskPatch<'a> {
        "status" => status: Option<Cow<'a, str>>,
    }
}

wire::record! {
    /// The structured result of a tool call on a `user` line.
    struct ToolUseResult<'a> {
        "status" => status: Option<Cow<'a, str>>,
        "isAsync" => is_async: Option<bool>,
    }
}

wire::record! {
    /// The `event` of a `stream_event` line: a raw Messages API SSE event.
    struct StreamEvent<'a> {
        "type" => kind: Option<Cow<'a, str>>,
        "message" => message: Option<StreamMessage<'a>>,
        "delta" => delta: Option<Delta<'a>>,
        "usage" => usage: Option<WireUsage>,
    }
}

wire::record! {
    struct StreamMessage<'a> {
        "id" => id: Option<Cow<'a, str>>,
        "usage" => usage: Option<WireUsage>,
    }
}

wire::record! {
    struct Delta<'a> {
        "type" => kind: Option<Cow<'a, str>>,
        "text" => text: Option<Cow<'a, str>>,
    }
}

wire::record! {
    struct RateLimitInfo<'a> {
        "status" => status: Option<Cow<'a, str>>,
        "resetsAt" => resets_at: Option<i64>,
        "rateLimitType" => rate_limit_type: Option<Cow<'a, str>>,
    }
}

// ---------------------------------------------------------------------------
// Parser

/// What the parser knows about subagents beyond their ids.
#[derive(Debug, Clone, Default)]
struct Subagents {
    /// Background tasks: the CLI's task id → the tool call id that started them.
    tasks: HashMap<String, String>,
    /// Subagents that run in the background: the result of their `Task` call
    /// (the launch notice) does not end them.
    background: HashSet<String>,
    /// Subagents' messages: message id → the tool call id of the subagent.
    message_parent: HashMap<String, String>,
    /// Per subagent, the tokens its task reports beyond its own messages.
    task_extra: HashMap<String, u64>,
}

/// Per-run parser for Claude Code `stream-json` output.
///
/// State it keeps: whether a `result` line was seen (else [`LineParser::finish`]
/// reports a failure), the open subagents (so each starts and finishes once)
/// and which of them run in the background, the latest usage per message id (so
/// repeated reports are not re-emitted and never go backwards), the usage of
/// the `result`s so far, the session id, and the message being streamed in
/// partial-messages mode.
#[derive(Debug, Clone, Default)]
pub struct ClaudeParser {
    saw_result: bool,
    /// The session id announced last.
    session_id: Option<String>,
    /// Sum of the `usage` of every `result` so far (each covers its own turn).
    results_usage: Usage,
    /// Subagent bookkeeping (boxed: most runs have none, and the parser is
    /// an enum variant).
    subs: Box<Subagents>,
    /// Subagents ever started (by the tool call id that started them).
    subagents_seen: HashSet<String>,
    /// Subagents started and not yet finished.
    subagents_open: HashSet<String>,
    /// Latest usage emitted per message id.
    message_usage: HashMap<String, Usage>,
    /// The message whose usage was reported last, and that usage: Claude
    /// repeats it on each of the message's content blocks, which are then
    /// told apart from a change without hashing the id.
    last_usage: Option<(String, Usage)>,
    /// Partial-messages mode: the message being streamed, per parent tool call
    /// (`None` = the main agent), since `message_delta` does not repeat the id.
    streaming: Vec<(Option<String>, String)>,
    /// Warnings already given, to report each oddity once per run.
    warned: HashSet<String>,
}

fn owned(s: Option<Cow<'_, str>>) -> Option<String> {
    s.map(Cow::into_owned)
}

fn to_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn to_u16(v: u64) -> Option<u16> {
    u16::try_from(v).ok()
}

/// A short excerpt of an odd line, for warnings.
fn preview(line: &str) -> String {
    wire::short(line, 120)
}

/// The `stream_event` kinds that map to something (see `stream_event`).
const STREAM_EVENTS_READ: &[&str] = &["content_block_delta", "message_start", "message_delta"];

fn malformed(e: &wire::Malformed, line: &str, out: &mut Vec<AgentEvent>) {
    out.push(AgentEvent::Warning {
        message: format!("malformed Claude line ({e}): {}", preview(line)),
    });
}

impl ClaudeParser {
    /// A conversation line of type `kind`, read as a [`Said`], a
    /// [`UserTurn`] or a [`StreamLine`].
    fn turn(&mut self, kind: &str, line: &str, out: &mut Vec<AgentEvent>) {
        match kind {
            "stream_event" => {
                let mut turn = StreamLine::default();
                match wire::parse_record(line, &mut turn) {
                    Ok(()) => self.stream_event(turn, out),
                    Err(e) => malformed(&e, line, out),
                }
            }
            // Only the result of a subagent's call says more than the message.
            "user" if !self.subagents_open.is_empty() => {
                let mut turn = UserTurn::default();
                match wire::parse_record(line, &mut turn) {
                    Ok(()) => {
                        let said = Said {
                            message: turn.message,
                            parent_tool_use_id: turn.parent_tool_use_id,
                        };
                        self.user(said, turn.tool_use_result, out);
                    }
                    Err(e) => malformed(&e, line, out),
                }
            }
            _ => {
                let mut turn = Said::default();
                match wire::parse_record(line, &mut turn) {
                    Ok(()) if kind == "assistant" => self.assistant(turn, out),
                    Ok(()) => self.user(turn, None, out),
                    Err(e) => malformed(&e, line, out),
                }
            }
        }
    }

    /// A parser for a new run.
    pub fn new() -> Self {
        Self::default()
    }

    fn warn_once(&mut self, message: String, out: &mut Vec<AgentEvent>) {
        if self.warned.insert(message.clone()) {
            out.push(AgentEvent::Warning { message });
        }
    }

    /// Name an unknown line type, subtype or block once per run.
    fn unknown_once(&mut self, what: String, out: &mut Vec<AgentEvent>) {
        if self.warned.insert(what.clone()) {
            out.push(AgentEvent::UnknownEvent { what });
        }
    }

    fn handle(&mut self, line: Line<'_>, out: &mut Vec<AgentEvent>) {
        match line.kind.as_deref() {
            Some("system") => self.system(line, out),
            Some("assistant") => self.assistant(
                Said {
                    message: line.message,
                    parent_tool_use_id: line.parent_tool_use_id,
                },
                out,
            ),
            Some("user") => self.user(
                Said {
                    message: line.message,
                    parent_tool_use_id: line.parent_tool_use_id,
                },
                line.tool_use_result,
                out,
            ),
            Some("stream_event") => self.stream_event(
                StreamLine {
                    event: line.event,
                    parent_tool_use_id: line.parent_tool_use_id,
                },
                out,
            ),
            Some("result") => self.result(line, out),
            Some("rate_limit_event") => Self::rate_limit(line, out),
            // The conversation continues under a new session id (seen in the
            // 2.1.332 binary, not in a transcript): the new id is the one to resume.
            Some("conversation_reset") => {
                if let Some(id) = line.new_conversation_id.or(line.session_id) {
                    self.session_seen(&id, out);
                }
            }
            // Heartbeats of a running tool or hook (hooks with made-up ids):
            // liveness only, which any line gives; the tool itself came as a tool_use.
            Some("tool_progress") => {}
            // Lifecycle of queued input messages that carry a uuid; clawrun's
            // prompts and follow-ups carry none, so there is nothing to follow.
            Some("command_lifecycle") => {}
            // The control protocol (permission requests, answers to our
            // interrupts): the live protocol's business (`live.rs`), not events.
            Some("control_request" | "control_response" | "control_cancel_request") => {}
            Some(other) => self.unknown_once(format!("{other:?}"), out),
            None => out.push(AgentEvent::Warning {
                message: "Claude line without a \"type\"".to_string(),
            }),
        }
    }

    /// A session id named by a line: a new one (the CLI moved the conversation
    /// to another session) is announced, as the id to resume from now on.
    fn session_seen(&mut self, id: &str, out: &mut Vec<AgentEvent>) {
        if self.session_id.as_deref() == Some(id) {
            return;
        }
        self.session_id = Some(id.to_string());
        out.push(AgentEvent::SessionStarted {
            resume_id: id.to_string(),
            model: None,
            cli_version: None,
        });
    }

    /// The run's token totals as of this `result`: its `modelUsage` (running
    /// totals for the process, subagents included) when present, else the sum of
    /// every `result`'s own `usage` (each covers its own turn).
    fn result_totals(&mut self, line: &Line<'_>) -> Option<Usage> {
        let turn = line.usage.map(WireUsage::normalize);
        if let Some(turn) = turn {
            self.results_usage = add_usage(self.results_usage, turn);
        }
        model_usage_total(&line.model_usage.0).or(turn.map(|_| self.results_usage))
    }

    fn result(&mut self, line: Line<'_>, out: &mut Vec<AgentEvent>) {
        self.saw_result = true;
        // The session the result belongs to is the one to resume, should it have
        // changed since init. (Without an init, as on a failed resume, the id
        // names no usable session.)
        if let (Some(id), true) = (&line.session_id, self.session_id.is_some()) {
            self.session_seen(id, out);
        }
        let totals = self.result_totals(&line);
        denials::events(&line.permission_denials, out);
        // `total_cost_usd` is a running total for the process, like `modelUsage`.
        let cost_usd = line.total_cost_usd;
        let text = line.result.as_deref().unwrap_or("");
        if let Some((message, resets_at)) = usage_limit_text(text) {
            out.push(AgentEvent::RateLimited {
                resets_at: Some(resets_at),
                message: message.clone(),
            });
            out.push(AgentEvent::TurnFailed {
                message,
                kind: FailureKind::RateLimit,
                cost_usd,
            });
            return;
        }
        let subtype = line.subtype.as_deref().unwrap_or("");
        // `subtype` stays "success" on API errors: `is_error` is what tells.
        let failed = line.is_error.unwrap_or(false) || subtype.starts_with("error");
        if !failed {
            out.push(AgentEvent::TurnCompleted {
                final_text: owned(line.result),
                usage: totals,
                cost_usd,
            });
            return;
        }
        // A failed turn after completed ones (several results in one run) keeps
        // their tokens counted.
        if let Some(usage) = totals.filter(|u| *u != Usage::default()) {
            out.push(AgentEvent::Usage {
                scope: UsageScope::Cumulative,
                usage,
            });
        }
        let message = if !text.trim().is_empty() {
            text.to_string()
        } else if !line.errors.is_empty() {
            line.errors.join("; ")
        } else {
            format!(
                "Claude Code failed ({})",
                if subtype.is_empty() {
                    "no subtype"
                } else {
                    subtype
                }
            )
        };
        let kind = classify_failure(&message, &line.errors, line.api_error_status);
        out.push(AgentEvent::TurnFailed {
            message,
            kind,
            cost_usd,
        });
    }

    fn rate_limit(line: Line<'_>, out: &mut Vec<AgentEvent>) {
        let Some(info) = line.rate_limit_info else {
            return;
        };
        if info.status.as_deref() != Some("rejected") {
            return;
        }
        let message = match info.rate_limit_type {
            Some(kind) => format!("Claude usage limit reached ({kind})"),
            None => "Claude usage limit reached".to_string(),
        };
        out.push(AgentEvent::RateLimited {
            resets_at: info.resets_at,
            message,
        });
    }
}

impl LineParser for ClaudeParser {
    fn parse_line_into(&mut self, line: &str, out: &mut Vec<AgentEvent>) {
        // JSON whitespace is ASCII.
        let line = line.trim_ascii();
        if line.is_empty() {
            return;
        }
        if !line.starts_with('{') {
            out.push(AgentEvent::Warning {
                message: format!("Claude line is not a JSON object: {}", preview(line)),
            });
            return;
        }
        // Type first: most lines name it first, and the conversation's lines
        // need only a few fields; the stream events that map to nothing are
        // not read at all. Any other shape: the whole line, every field.
        let kind = wire::leading_str(line, "{\"type\"").filter(|_| line.ends_with('}'));
        match kind {
            Some((kind @ ("assistant" | "user"), _)) => self.turn(kind, line, out),
            Some(("stream_event", rest)) => {
                if wire::leading_str(rest, ",\"event\":{\"type\"")
                    .is_none_or(|(event, _)| STREAM_EVENTS_READ.contains(&event))
                {
                    self.turn("stream_event", line, out);
                }
            }
            _ => {
                let mut wire = Line::default();
                match wire::parse_record(line, &mut wire) {
                    Ok(()) => self.handle(wire, out),
                    Err(e) => malformed(&e, line, out),
                }
            }
        }
    }

    fn finish(&mut self, exit_code: Option<i32>, stderr_tail: &str) -> Vec<AgentEvent> {
        if self.saw_result {
            return Vec::new();
        }
        let kind = if stderr_tail.contains(RESUME_NOT_FOUND) {
            FailureKind::ResumeNotFound
        } else {
            FailureKind::NoResult
        };
        let tail = wire::tail_lines(stderr_tail.lines(), STDERR_MESSAGE_MAX);
        let message = if tail.is_empty() {
            wire::no_result_message(exit_code)
        } else {
            tail
        };
        vec![AgentEvent::TurnFailed {
            message,
            kind,
            cost_usd: None,
        }]
    }
}

#[cfg(test)]
mod tests;
