//! Live input for Claude Code: `--input-format stream-json` keeps `claude -p`
//! reading stdin between turns. Each user message is one JSON line; an
//! interrupt is a control request. [`ClaudeLive`] is the runner's protocol for
//! such a process.

use crate::backends::claude::ClaudeParser;
use crate::backends::protocol::{LiveInput, Protocol, Step};
use crate::backends::{CommandSpec, LineParser};
use crate::core::model::events::AgentEvent;

/// The protocol of a multi-turn Claude process: the stream-json parser, user
/// messages and interrupts encoded as stdin lines.
#[derive(Debug, Clone, Default)]
pub struct ClaudeLive {
    parser: ClaudeParser,
    /// Interrupts sent (for request ids).
    interrupts_sent: u32,
}

impl ClaudeLive {
    /// A protocol reading with `parser`.
    pub fn new(parser: ClaudeParser) -> Self {
        Self {
            parser,
            interrupts_sent: 0,
        }
    }
}

impl Protocol for ClaudeLive {
    fn on_line(&mut self, line: &str, step: &mut Step) {
        self.parser.parse_line_into(line, &mut step.events);
    }

    fn encode(&mut self, input: LiveInput<'_>) -> Option<Vec<u8>> {
        let line = match input {
            LiveInput::Message(text) => user_message_line(text),
            LiveInput::Interrupt => {
                self.interrupts_sent += 1;
                interrupt_request_line(&format!("clawrun-interrupt-{}", self.interrupts_sent))
            }
        };
        Some(line.into_bytes())
    }

    fn finish(&mut self, exit_code: Option<i32>, stderr_tail: &str) -> Vec<AgentEvent> {
        self.parser.finish(exit_code, stderr_tail)
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
