//! Live input for Claude Code: `--input-format stream-json` keeps `claude -p`
//! reading stdin between turns. Each user message is one JSON line; an
//! interrupt is a control request. [`ClaudeLive`] is the runner's protocol for
//! such a process.
//!
//! # Permission requests
//! With `--permission-prompt-tool stdio` (claude 2.1.197 and 2.1.332; the
//! newer `--permission-prompts host` alone asks nobody in `-p` mode, measured),
//! a tool call the permission mode does not settle is asked on stdout, and the
//! CLI waits for the answer on stdin (`tests/fixtures/claude*/approval-*.jsonl`):
//! ```text
//! {"type":"control_request","request_id":"<uuid>","request":{"subtype":"can_use_tool",
//!  "tool_name":"Bash","input":{"command":"touch x","description":"…"},"description":"…",
//!  "permission_suggestions":[…],"blocked_path":"…","tool_use_id":"toolu_…"}}
//! {"type":"control_response","response":{"subtype":"success","request_id":"<uuid>",
//!  "response":{"behavior":"allow","updatedInput":{…}}}}       (or "deny" + "message")
//! ```
//! No `initialize` request is needed first. A denial reaches the model as the
//! tool's error text, and the `result` line lists it in `permission_denials`.

use std::collections::HashMap;

use serde_json::Value;

use crate::backends::claude::ClaudeParser;
use crate::backends::protocol::{Awaiting, LiveInput, Protocol, Step};
use crate::backends::{CommandSpec, LineParser};
use crate::core::model::approval::{Answer, Ask};
use crate::core::model::events::AgentEvent;

/// The protocol of a multi-turn Claude process: the stream-json parser, user
/// messages and interrupts encoded as stdin lines.
#[derive(Debug, Clone, Default)]
pub struct ClaudeLive {
    parser: ClaudeParser,
    /// Interrupts sent (for request ids).
    interrupts_sent: u32,
    /// The input of each permission request not answered yet, by request id
    /// (an allow sends it back as `updatedInput`).
    pending: HashMap<String, Value>,
    /// An event was read (the stream has started).
    started: bool,
}

impl ClaudeLive {
    /// A protocol reading with `parser`.
    pub fn new(parser: ClaudeParser) -> Self {
        Self {
            parser,
            interrupts_sent: 0,
            pending: HashMap::new(),
            started: false,
        }
    }

    /// A `can_use_tool` control request on `line`, as an [`Ask`] (its input
    /// kept for the answer). Other lines: `None`.
    fn ask_in(&mut self, line: &str) -> Option<Ask> {
        // Cheap test first: this runs on every line of the run.
        if !line.contains("\"can_use_tool\"") {
            return None;
        }
        let v: Value = serde_json::from_str(line).ok()?;
        if v.get("type")?.as_str()? != "control_request" {
            return None;
        }
        let request_id = v.get("request_id")?.as_str()?.to_owned();
        let req = v.get("request")?;
        if req.get("subtype")?.as_str()? != "can_use_tool" {
            return None;
        }
        let text = |key: &str| req.get(key).and_then(Value::as_str).map(str::to_owned);
        let input = req.get("input").cloned().unwrap_or(Value::Null);
        self.pending.insert(request_id.clone(), input.clone());
        Some(Ask {
            request_id,
            call_id: text("tool_use_id"),
            tool: text("tool_name").unwrap_or_default(),
            input,
            description: text("description"),
        })
    }
}

impl Protocol for ClaudeLive {
    fn on_line(&mut self, line: &str, step: &mut Step) {
        let before = step.events.len();
        self.parser.parse_line_into(line, &mut step.events);
        self.started |= step.events.len() > before;
        if let Some(ask) = self.ask_in(line) {
            step.asks.push(ask);
        }
    }

    fn encode(&mut self, input: LiveInput<'_>) -> Option<Vec<u8>> {
        let line = match input {
            LiveInput::Message(text) => user_message_line(text),
            LiveInput::Interrupt => {
                self.interrupts_sent += 1;
                interrupt_request_line(&format!("clawrun-interrupt-{}", self.interrupts_sent))
            }
            LiveInput::Answer { request_id, answer } => {
                let input = self.pending.remove(request_id)?;
                permission_response_line(request_id, answer, input)
            }
        };
        Some(line.into_bytes())
    }

    fn finish(&mut self, exit_code: Option<i32>, stderr_tail: &str) -> Vec<AgentEvent> {
        self.parser.finish(exit_code, stderr_tail)
    }

    fn awaiting(&self) -> Option<Awaiting> {
        (!self.started).then_some(Awaiting::FirstEvent)
    }
}

/// The command of a multi-turn run: `cmd` (built by the claude backend) with
/// `--input-format stream-json`, and its stdin turned into the first user
/// message line (see [`user_message_line`]). The caller keeps stdin open.
pub fn multi_turn_command(mut cmd: CommandSpec) -> CommandSpec {
    // Right after `-p`: before any variadic option (`--allowedTools`).
    let at = usize::from(!cmd.args.is_empty());
    cmd.args.splice(
        at..at,
        ["--input-format".to_string(), "stream-json".to_string()],
    );
    cmd.stdin = user_message_line(&cmd.stdin);
    cmd
}

/// One user message for `claude -p --input-format stream-json`: a JSON line
/// `{"type":"user","message":{"role":"user","content":[{"type":"text","text":…}]}}`
/// ending in a newline.
pub fn user_message_line(text: &str) -> String {
    let v = serde_json::json!({
        "type": "user",
        "message": {
            "role": "user",
            "content": [{"type": "text", "text": text}],
        },
    });
    format!("{v}\n")
}

/// A request that interrupts the turn in progress of a multi-turn run, as a
/// stdin line (`{"type":"control_request","request_id":…,"request":{"subtype":"interrupt"}}`).
/// Claude 2.1.197 answers with a `control_response`, ends the turn with a
/// `result` of subtype `error_during_execution`, and reads the next message.
/// (SIGINT does not do this: the turn goes on, and a message sent after it was
/// never answered.)
pub fn interrupt_request_line(request_id: &str) -> String {
    let v = serde_json::json!({
        "type": "control_request",
        "request_id": request_id,
        "request": {"subtype": "interrupt"},
    });
    format!("{v}\n")
}

/// The answer to a `can_use_tool` request, as a stdin line: allow with the
/// call's own input as `updatedInput`, or deny with a message the model sees.
pub fn permission_response_line(request_id: &str, answer: &Answer, input: Value) -> String {
    let response = match answer {
        Answer::Allow => serde_json::json!({"behavior": "allow", "updatedInput": input}),
        Answer::Deny { message } => serde_json::json!({"behavior": "deny", "message": message}),
    };
    let v = serde_json::json!({
        "type": "control_response",
        "response": {"subtype": "success", "request_id": request_id, "response": response},
    });
    format!("{v}\n")
}
