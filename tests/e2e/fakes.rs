//! Loopback fakes the real programs talk to, built on wiremock:
//!
//! - [`Anthropic`]: the Messages API as Claude Code calls it
//!   (`POST /v1/messages?beta=true`, always streaming SSE);
//! - [`OpenAi`]: the Responses API as Codex calls it (`POST /v1/responses`, SSE),
//!   and chat completions for the OpenClaw gateway's own agent;
//! - [`Telegram`]: the Bot API, answering the gateway's polling and recording
//!   every call (clawrun's direct sends and the gateway's).
//!
//! Conversations are scripted by the task text: the last `[e2e:NAME]` marker in a
//! request body picks the scenario (so one server serves every test, and a resumed
//! conversation follows its newest prompt):
//!
//! | scenario | Anthropic | OpenAI Responses |
//! | --- | --- | --- |
//! | `tool` | a Bash tool call, then (after its result) the answer | an `exec_command` call, then the answer |
//! | `edit` | a Bash call appending to `NOTES.md` ([`EDIT_COMMAND`]), then [`EDIT_ANSWER`] | an `exec_command` call of it, then [`EDIT_ANSWER`] |
//! | `text` (default) | a text answer | a text answer |
//! | `err500` | HTTP 500, `x-should-retry: false` | HTTP 500 |
//! | `failed` | — | `response.failed` in the stream |
//! | `slow<N>` | waits N seconds, then answers | waits N seconds, then answers |
//! | `touch` | a Bash call `touch` [`TOUCH_FILE`] (asks permission), then the answer | — |
//! | `approve` | a Bash call that changes a file ([`APPROVE_COMMAND`], which Claude Code asks about), then [`APPROVE_ANSWER`] whether it ran or was denied | — |
//! | `safety_edit` | `Read`, then `Edit` of a file in the project (`safety_fakes.rs`) | a shell call overwriting it |
//! | `subagent` | a `Task` call; the subagent (its prompt holds [`SUBAGENT_PROBE`]) takes 6 s a call, runs Bash once and reports; then [`SUBAGENT_ANSWER`] | — |
//!
//! (`subagent` follows `../shared/reference/real-clis/fake_anthropic.py`: claude
//! 2.1.197 waits for the subagent, 2.1.332 runs it in the background and starts
//! another turn when it is done.)

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{any, method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

#[path = "safety_fakes.rs"]
pub mod safety;

/// The answer text of the `tool` scenario, once the tool ran.
pub const TOOL_ANSWER: &str = "DONE: the tool printed hello-from-tool";
/// The answer of the `text` scenario.
pub const TEXT_ANSWER: &str = "hi from the e2e fake model";
/// The answer of a `slow<N>` scenario.
pub const SLOW_ANSWER: &str = "DONE after a slow turn";
/// The command the `tool` scenarios run.
pub const TOOL_COMMAND: &str = "echo hello-from-tool";
/// The command the `edit` scenarios run: one line added to a new file.
pub const EDIT_COMMAND: &str = "printf 'edited by the agent\\n' >> NOTES.md";
/// The answer of the `edit` scenario, once the command ran.
pub const EDIT_ANSWER: &str = "DONE: NOTES.md has a new line";
/// The file the `touch` scenario's Bash call creates in the project (a
/// command that is not read-only: Claude asks permission for it).
pub const TOUCH_FILE: &str = "acp-permission-probe.txt";
/// The answer of the `touch` scenario, once the tool call returned.
pub const TOUCH_ANSWER: &str = "DONE: the touch call returned";
/// The command of the `approve` scenario: not read-only, so Claude Code asks.
pub const APPROVE_COMMAND: &str = "touch e2e-approved.txt";
/// The file that command creates.
pub const APPROVE_FILE: &str = "e2e-approved.txt";
/// The answer of the `approve` scenario once the call ran or was refused.
pub const APPROVE_ANSWER: &str = "DONE after the approval";
/// The error message of the `err500` scenario.
pub const ERR500_MESSAGE: &str = "fake 500 from the e2e server";
/// The error message of the `failed` scenario.
pub const FAILED_MESSAGE: &str = "fake failure from the e2e server";
/// The main agent's answer in the `subagent` scenario.
pub const SUBAGENT_ANSWER: &str = "DONE with subagent";
/// What the subagent's prompt starts with (how its requests are told apart).
pub const SUBAGENT_PROBE: &str = "SUBAGENT-PROBE";
/// How long each of the subagent's model calls takes: long enough for a
/// heartbeat (every 10 s at the most) to see it running: two calls, 12 s.
pub const SUBAGENT_DELAY: Duration = Duration::from_secs(6);
/// What the gateway's agent (chat completions) answers.
pub const GATEWAY_AGENT_ANSWER: &str = "E2E-AGENT-ACK: result received";

/// The scenario a request body asks for.
pub fn scenario_of(body: &str) -> String {
    body.rfind("[e2e:")
        .and_then(|i| {
            let rest = &body[i + 5..];
            rest.find(']').map(|j| rest[..j].to_owned())
        })
        .unwrap_or_else(|| "text".to_owned())
}

fn slow_secs(scenario: &str) -> Option<u64> {
    scenario.strip_prefix("slow")?.parse().ok()
}

fn short_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..20].to_owned()
}

fn sse(events: &[(String, Value)]) -> String {
    events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}

fn sse_response(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("cache-control", "no-cache")
        .set_body_raw(body, "text/event-stream")
}

/// Text of every request a fake received, as (path, body) pairs.
pub async fn bodies(server: &MockServer, path_contains: &str) -> Vec<(String, String)> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path().contains(path_contains))
        .map(|r| {
            (
                r.url.path().to_owned(),
                String::from_utf8_lossy(&r.body).into_owned(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Anthropic
// ---------------------------------------------------------------------------

/// The fake Anthropic Messages API.
pub struct Anthropic {
    /// The server; `ANTHROPIC_BASE_URL` is its `uri()`.
    pub server: MockServer,
}

enum Block {
    Text(String),
    ToolUse { name: String, input: Value },
}

struct AnthropicResponder;

/// The last message that is not a `system` entry (Claude Code may append those).
fn last_turn(body: &Value) -> Option<&Value> {
    body.get("messages")?
        .as_array()?
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) != Some("system"))
}

/// The text of the first user message (a subagent's is its prompt).
fn first_user_text(body: &Value) -> String {
    let Some(first) = body
        .get("messages")
        .and_then(Value::as_array)
        .and_then(|m| m.iter().find(|m| m["role"] == "user"))
    else {
        return String::new();
    };
    match &first["content"] {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// Whether the main agent already delegated (an assistant `Task`/`Agent` call).
fn delegated(body: &Value) -> bool {
    body.get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "assistant")
        .filter_map(|m| m["content"].as_array())
        .flatten()
        .any(|b| b["type"] == "tool_use" && matches!(b["name"].as_str(), Some("Task" | "Agent")))
}

fn last_is_tool_result(body: &Value) -> bool {
    last_turn(body)
        .and_then(|m| m.get("content"))
        .and_then(Value::as_array)
        .is_some_and(|c| {
            c.iter()
                .any(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
        })
}

impl AnthropicResponder {
    /// The `subagent` scenario: the main agent delegates once, the subagent
    /// (slowly) runs Bash and reports, the main agent answers.
    fn subagent(body: &Value, model: &str, stream: bool) -> ResponseTemplate {
        if first_user_text(body).contains(SUBAGENT_PROBE) {
            let blocks = if last_is_tool_result(body) {
                vec![Block::Text("sub-agent finished: 3 files inspected".into())]
            } else {
                vec![Block::ToolUse {
                    name: "Bash".into(),
                    input: json!({"command": "echo inside-subagent", "description": "Sub step"}),
                }]
            };
            let stop = if last_is_tool_result(body) {
                "end_turn"
            } else {
                "tool_use"
            };
            return Self::answer(&blocks, stop, model, stream).set_delay(SUBAGENT_DELAY);
        }
        if delegated(body) || last_is_tool_result(body) {
            return Self::answer(
                &[Block::Text(SUBAGENT_ANSWER.into())],
                "end_turn",
                model,
                stream,
            );
        }
        let task = Block::ToolUse {
            name: "Task".into(),
            input: json!({
                "description": "Inspect files",
                "prompt": format!("{SUBAGENT_PROBE} [e2e:subagent]: inspect the files and report"),
                "subagent_type": "general-purpose",
            }),
        };
        Self::answer(&[task], "tool_use", model, stream)
    }

    fn answer(blocks: &[Block], stop: &str, model: &str, stream: bool) -> ResponseTemplate {
        let id = format!("msg_{}", short_id());
        let usage_in = json!({"input_tokens": 100, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0});
        let out_tokens = 7 * blocks.len() as u64;
        let content: Vec<Value> = blocks
            .iter()
            .map(|b| match b {
                Block::Text(t) => json!({"type": "text", "text": t}),
                Block::ToolUse { name, input } => {
                    json!({"type": "tool_use", "id": format!("toolu_{}", short_id()), "name": name, "input": input})
                }
            })
            .collect();
        if !stream {
            let mut usage = usage_in;
            usage["output_tokens"] = json!(out_tokens);
            return ResponseTemplate::new(200).set_body_json(json!({
                "id": id, "type": "message", "role": "assistant", "model": model,
                "content": content, "stop_reason": stop, "stop_sequence": null, "usage": usage,
            }));
        }
        let mut start_usage = usage_in;
        start_usage["output_tokens"] = json!(1);
        let mut events = vec![
            (
                "message_start".to_owned(),
                json!({"type": "message_start", "message": {
                    "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
                    "stop_reason": null, "stop_sequence": null, "usage": start_usage}}),
            ),
            ("ping".to_owned(), json!({"type": "ping"})),
        ];
        for (index, block) in content.iter().enumerate() {
            let (start, delta) = if block["type"] == "text" {
                (
                    json!({"type": "text", "text": ""}),
                    json!({"type": "text_delta", "text": block["text"]}),
                )
            } else {
                (
                    json!({"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}),
                    json!({"type": "input_json_delta", "partial_json": block["input"].to_string()}),
                )
            };
            events.push((
                "content_block_start".to_owned(),
                json!({"type": "content_block_start", "index": index, "content_block": start}),
            ));
            events.push((
                "content_block_delta".to_owned(),
                json!({"type": "content_block_delta", "index": index, "delta": delta}),
            ));
            events.push((
                "content_block_stop".to_owned(),
                json!({"type": "content_block_stop", "index": index}),
            ));
        }
        events.push((
            "message_delta".to_owned(),
            json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
                   "usage": {"output_tokens": out_tokens}}),
        ));
        events.push(("message_stop".to_owned(), json!({"type": "message_stop"})));
        sse_response(sse(&events)).insert_header("request-id", format!("req_{}", short_id()))
    }
}

impl Respond for AnthropicResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let raw = String::from_utf8_lossy(&request.body);
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let model = body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or("claude-e2e");
        let stream = body.get("stream").and_then(Value::as_bool) == Some(true);
        if body.get("tools").is_none() {
            // A side request (title, summary): a short answer.
            return Self::answer(
                &[Block::Text("E2E title".into())],
                "end_turn",
                model,
                stream,
            );
        }
        let scenario = scenario_of(&raw);
        if scenario == "err500" {
            return ResponseTemplate::new(500)
                .insert_header("x-should-retry", "false")
                .insert_header("request-id", format!("req_{}", short_id()))
                .set_body_json(json!({"type": "error", "error": {"type": "api_error", "message": ERR500_MESSAGE}}));
        }
        if let Some(secs) = slow_secs(&scenario) {
            return Self::answer(
                &[Block::Text(SLOW_ANSWER.into())],
                "end_turn",
                model,
                stream,
            )
            .set_delay(Duration::from_secs(secs));
        }
        if scenario == "subagent" {
            return Self::subagent(&body, model, stream);
        }
        if scenario == "safety_edit" {
            return safety::anthropic(&body, &raw, model, stream);
        }
        match scenario.as_str() {
            "approve" if last_is_tool_result(&body) => Self::answer(
                &[Block::Text(APPROVE_ANSWER.into())],
                "end_turn",
                model,
                stream,
            ),
            "approve" => Self::answer(
                &[Block::ToolUse {
                    name: "Bash".into(),
                    input: json!({"command": APPROVE_COMMAND, "description": "Create a file"}),
                }],
                "tool_use",
                model,
                stream,
            ),
            "tool" if last_is_tool_result(&body) => Self::answer(
                &[Block::Text(TOOL_ANSWER.into())],
                "end_turn",
                model,
                stream,
            ),
            "edit" if last_is_tool_result(&body) => Self::answer(
                &[Block::Text(EDIT_ANSWER.into())],
                "end_turn",
                model,
                stream,
            ),
            "touch" if last_is_tool_result(&body) => Self::answer(
                &[Block::Text(TOUCH_ANSWER.into())],
                "end_turn",
                model,
                stream,
            ),
            "edit" => Self::answer(
                &[
                    Block::Text("Editing NOTES.md.".into()),
                    Block::ToolUse {
                        name: "Bash".into(),
                        input: json!({"command": EDIT_COMMAND, "description": "Add a line"}),
                    },
                ],
                "tool_use",
                model,
                stream,
            ),
            "touch" => Self::answer(
                &[Block::ToolUse {
                    name: "Bash".into(),
                    input: json!({"command": format!("touch {TOUCH_FILE}"), "description": "Create a probe file"}),
                }],
                "tool_use",
                model,
                stream,
            ),
            "tool" => Self::answer(
                &[
                    Block::Text("Running a command.".into()),
                    Block::ToolUse {
                        name: "Bash".into(),
                        input: json!({"command": TOOL_COMMAND, "description": "Print a greeting"}),
                    },
                ],
                "tool_use",
                model,
                stream,
            ),
            _ => Self::answer(
                &[Block::Text(TEXT_ANSWER.into())],
                "end_turn",
                model,
                stream,
            ),
        }
    }
}

impl Anthropic {
    /// Start it.
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path_regex(r"/v1/messages/count_tokens$"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"input_tokens": 100})))
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path_regex(r"/v1/messages$"))
            .respond_with(AnthropicResponder)
            .with_priority(2)
            .mount(&server)
            .await;
        Self { server }
    }

    /// The bodies of the Messages requests received so far.
    pub async fn message_bodies(&self) -> Vec<Value> {
        bodies(&self.server, "/v1/messages")
            .await
            .into_iter()
            .filter(|(p, _)| p.ends_with("/v1/messages"))
            .filter_map(|(_, b)| serde_json::from_str(&b).ok())
            .collect()
    }

    /// The `X-Claude-Code-Session-Id` headers of the Messages requests so far.
    pub async fn session_headers(&self) -> Vec<String> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter_map(|r| r.headers.get("x-claude-code-session-id"))
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }
}

// ---------------------------------------------------------------------------
// OpenAI
// ---------------------------------------------------------------------------

/// The fake OpenAI API: Responses (Codex) and chat completions (the gateway's agent).
pub struct OpenAi {
    /// The server; the base URL is `uri()/v1`.
    pub server: MockServer,
}

struct ResponsesResponder;

/// The function-call item for the shell tool this Codex version offers.
fn shell_call(body: &Value, cmd: &str) -> Value {
    let names: Vec<&str> = body
        .get("tools")
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter_map(|t| t.get("name").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    let (name, args) = if names.contains(&"exec_command") {
        ("exec_command", json!({"cmd": cmd}))
    } else if names.contains(&"shell_command") {
        ("shell_command", json!({"command": cmd}))
    } else {
        ("shell", json!({"command": ["bash", "-lc", cmd]}))
    };
    json!({"type": "function_call", "id": format!("fc_{}", short_id()), "call_id": format!("call_{}", short_id()),
           "name": name, "arguments": args.to_string(), "status": "completed"})
}

fn last_input_is_call_output(body: &Value) -> bool {
    body.get("input")
        .and_then(Value::as_array)
        .and_then(|items| {
            items
                .iter()
                .rev()
                .find(|i| i.get("type").and_then(Value::as_str) != Some("reasoning"))
        })
        .and_then(|i| i.get("type").and_then(Value::as_str))
        .is_some_and(|t| t.ends_with("_call_output"))
}

impl ResponsesResponder {
    fn stream(body: &Value, output: Vec<Value>, failed: bool) -> String {
        let model = body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or("gpt-e2e");
        let id = format!("resp_{}", short_id());
        let mut seq = 0u64;
        let mut events = Vec::new();
        let mut push = |mut data: Value| {
            data["sequence_number"] = json!(seq);
            seq += 1;
            let name = data["type"].as_str().unwrap_or_default().to_owned();
            events.push((name, data));
        };
        push(json!({"type": "response.created", "response": {
            "id": id, "object": "response", "status": "in_progress", "model": model, "output": []}}));
        if failed {
            push(json!({"type": "response.failed", "response": {
                "id": id, "object": "response", "status": "failed", "model": model,
                "error": {"code": "server_error", "message": FAILED_MESSAGE}}}));
            return sse(&events);
        }
        for (index, item) in output.iter().enumerate() {
            if item["type"] == "message" {
                let text = item["content"][0]["text"].clone();
                let mid = item["id"].clone();
                push(
                    json!({"type": "response.output_item.added", "output_index": index, "item": {
                    "type": "message", "id": mid, "role": "assistant", "status": "in_progress", "content": []}}),
                );
                push(
                    json!({"type": "response.content_part.added", "output_index": index, "item_id": mid,
                    "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}}),
                );
                push(
                    json!({"type": "response.output_text.delta", "output_index": index, "item_id": mid,
                    "content_index": 0, "delta": text}),
                );
                push(
                    json!({"type": "response.output_text.done", "output_index": index, "item_id": mid,
                    "content_index": 0, "text": text}),
                );
            } else {
                let mut added = item.clone();
                added["arguments"] = json!("");
                added["status"] = json!("in_progress");
                push(
                    json!({"type": "response.output_item.added", "output_index": index, "item": added}),
                );
            }
            push(json!({"type": "response.output_item.done", "output_index": index, "item": item}));
        }
        let out_tokens = 7 * output.len() as u64;
        push(json!({"type": "response.completed", "response": {
            "id": id, "object": "response", "status": "completed", "model": model, "output": output,
            "usage": {"input_tokens": 100, "input_tokens_details": {"cached_tokens": 20},
                      "output_tokens": out_tokens, "output_tokens_details": {"reasoning_tokens": 0},
                      "total_tokens": 100 + out_tokens}}}));
        sse(&events)
    }
}

fn message_item(text: &str) -> Value {
    json!({"type": "message", "id": format!("msg_{}", short_id()), "role": "assistant", "status": "completed",
           "content": [{"type": "output_text", "text": text, "annotations": []}]})
}

impl Respond for ResponsesResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let raw = String::from_utf8_lossy(&request.body);
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let scenario = scenario_of(&raw);
        if scenario == "err500" {
            return ResponseTemplate::new(500).set_body_json(
                json!({"error": {"message": ERR500_MESSAGE, "type": "server_error", "code": null}}),
            );
        }
        if scenario == "failed" {
            return sse_response(Self::stream(&body, Vec::new(), true));
        }
        if scenario == "safety_edit" {
            return safety::responses(&body);
        }
        if let Some(secs) = slow_secs(&scenario) {
            return sse_response(Self::stream(&body, vec![message_item(SLOW_ANSWER)], false))
                .set_delay(Duration::from_secs(secs));
        }
        let output = match scenario.as_str() {
            "tool" if last_input_is_call_output(&body) => vec![message_item(TOOL_ANSWER)],
            "edit" if last_input_is_call_output(&body) => vec![message_item(EDIT_ANSWER)],
            "edit" => vec![
                message_item("Editing NOTES.md."),
                shell_call(&body, EDIT_COMMAND),
            ],
            "tool" => vec![
                message_item("Running a command."),
                shell_call(&body, TOOL_COMMAND),
            ],
            _ => vec![message_item(TEXT_ANSWER)],
        };
        sse_response(Self::stream(&body, output, false))
    }
}

struct ChatResponder;

/// Where a user message asks the gateway's agent to run a command through its
/// `exec` tool in the background: `[e2e:exec]CMD<<command>>CMD`.
pub const EXEC_OPEN: &str = "CMD<<";
/// The end of that command.
pub const EXEC_CLOSE: &str = ">>CMD";
/// The agent's answer once its `exec` call returned.
pub const EXEC_STARTED_ANSWER: &str = "E2E-AGENT: started in the background";

/// The commands the last message asks to `exec` (one `exec` call each, in
/// one answer), when it is a user message that does (a tool result or a
/// system event asks nothing).
fn exec_request(body: &Value) -> Option<Vec<String>> {
    // The user messages since the last assistant or tool message (OpenClaw may
    // put context in a user message of its own next to the prompt).
    let messages = body.get("messages")?.as_array()?;
    let since = messages
        .iter()
        .rposition(|m| {
            matches!(
                m.get("role").and_then(Value::as_str),
                Some("assistant" | "tool")
            )
        })
        .map_or(0, |i| i + 1);
    let text: String = messages[since..]
        .iter()
        .filter(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .filter_map(|m| match m.get("content")? {
            Value::String(s) => Some(s.clone()),
            Value::Array(parts) => Some(
                parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut commands = Vec::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find(EXEC_OPEN).map(|i| i + EXEC_OPEN.len()) {
        let Some(end) = rest[start..].find(EXEC_CLOSE).map(|i| i + start) else {
            break;
        };
        commands.push(rest[start..end].to_owned());
        rest = &rest[end + EXEC_CLOSE.len()..];
    }
    (!commands.is_empty()).then_some(commands)
}

/// A chat completion whose answer is one `exec` call per command (streamed or not).
fn exec_call(id: &str, model: &str, commands: &[String], stream: bool) -> ResponseTemplate {
    let calls: Vec<Value> = commands
        .iter()
        .map(|command| {
            let args = json!({"command": command, "background": true, "timeoutSeconds": 0});
            json!({"id": format!("call_{}", short_id()), "type": "function",
                   "function": {"name": "exec", "arguments": args.to_string()}})
        })
        .collect();
    let usage = json!({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15});
    if !stream {
        return ResponseTemplate::new(200).set_body_json(json!({
            "id": id, "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": calls},
                         "finish_reason": "tool_calls"}],
            "usage": usage,
        }));
    }
    let streamed: Vec<Value> = calls
        .iter()
        .enumerate()
        .map(|(i, call)| {
            let mut call = call.clone();
            call["index"] = json!(i);
            call
        })
        .collect();
    let chunk = |choices: Value| json!({"id": id, "object": "chat.completion.chunk", "created": 0, "model": model, "choices": choices});
    let mut text = String::new();
    for data in [
        chunk(
            json!([{"index": 0, "delta": {"role": "assistant", "content": null, "tool_calls": streamed}, "finish_reason": null}]),
        ),
        chunk(json!([{"index": 0, "delta": {}, "finish_reason": "tool_calls"}])),
    ] {
        text.push_str(&format!("data: {data}\n\n"));
    }
    let mut last = chunk(json!([]));
    last["usage"] = usage;
    text.push_str(&format!("data: {last}\n\ndata: [DONE]\n\n"));
    sse_response(text)
}

impl Respond for ChatResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let model = body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or("fake-model");
        let id = format!("chatcmpl-{}", short_id());
        let stream = body.get("stream").and_then(Value::as_bool) == Some(true);
        if let Some(commands) = exec_request(&body) {
            return exec_call(&id, model, &commands, stream);
        }
        let tool_result = body
            .get("messages")
            .and_then(Value::as_array)
            .and_then(|m| m.last())
            .is_some_and(|m| m.get("role").and_then(Value::as_str) == Some("tool"));
        let answer = if tool_result {
            EXEC_STARTED_ANSWER
        } else {
            GATEWAY_AGENT_ANSWER
        };
        let usage = json!({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15});
        if body.get("stream").and_then(Value::as_bool) != Some(true) {
            return ResponseTemplate::new(200).set_body_json(json!({
                "id": id, "object": "chat.completion", "created": 0, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer},
                             "finish_reason": "stop"}],
                "usage": usage,
            }));
        }
        let chunk = |choices: Value| json!({"id": id, "object": "chat.completion.chunk", "created": 0, "model": model, "choices": choices});
        let mut text = String::new();
        for data in [
            chunk(
                json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]),
            ),
            chunk(json!([{"index": 0, "delta": {"content": answer}, "finish_reason": null}])),
            chunk(json!([{"index": 0, "delta": {}, "finish_reason": "stop"}])),
        ] {
            text.push_str(&format!("data: {data}\n\n"));
        }
        let mut last = chunk(json!([]));
        last["usage"] = usage;
        text.push_str(&format!("data: {last}\n\ndata: [DONE]\n\n"));
        sse_response(text)
    }
}

impl OpenAi {
    /// Start it.
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path_regex(r"/v1/responses$"))
            .respond_with(ResponsesResponder)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path_regex(r"/v1/chat/completions$"))
            .respond_with(ChatResponder)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(r"/v1/models$"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"object": "list",
                "data": [{"id": "fake-model", "object": "model", "owned_by": "e2e"}]})),
            )
            .mount(&server)
            .await;
        Self { server }
    }

    /// Base URL (`…/v1`).
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.server.uri())
    }

    /// Bodies of the Responses requests (Codex) so far.
    pub async fn responses_bodies(&self) -> Vec<Value> {
        bodies(&self.server, "/v1/responses")
            .await
            .into_iter()
            .filter_map(|(_, b)| serde_json::from_str(&b).ok())
            .collect()
    }

    /// Raw bodies of the chat-completions requests (the gateway's agent) so far.
    pub async fn chat_bodies(&self) -> Vec<String> {
        bodies(&self.server, "/chat/completions")
            .await
            .into_iter()
            .map(|(_, b)| b)
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Telegram
// ---------------------------------------------------------------------------

/// The fake Telegram Bot API.
pub struct Telegram {
    /// The server; `channels.telegram.apiRoot` is its `uri()`.
    pub server: MockServer,
    updates: Arc<Mutex<Vec<Value>>>,
}

/// The Telegram user id of the human in the e2e chat (an approver in the gateway's config).
pub const HUMAN_ID: i64 = 5_551_234;

/// One recorded Bot API call (polling left out).
#[derive(Debug, Clone)]
pub struct TgCall {
    /// Bot API method (`sendMessage`, …).
    pub method: String,
    /// The JSON body (`Null` for multipart uploads).
    pub body: Value,
    /// Sent by clawrun itself (its user agent), not by the gateway.
    pub from_clawrun: bool,
    /// The token in the URL.
    pub token: String,
}

impl TgCall {
    /// `chat_id` as text, whether sent as a number or a string.
    pub fn chat_id(&self) -> String {
        value_text(&self.body["chat_id"])
    }

    /// `message_thread_id` as text.
    pub fn thread_id(&self) -> String {
        value_text(&self.body["message_thread_id"])
    }

    /// `text`.
    pub fn text(&self) -> &str {
        self.body["text"].as_str().unwrap_or_default()
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

struct TelegramResponder {
    next_id: AtomicI64,
    /// Updates for the gateway's `getUpdates` ([`Telegram::push_message`]).
    updates: Arc<Mutex<Vec<Value>>>,
}

impl Respond for TelegramResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path();
        let bot_method = path.rsplit('/').next().unwrap_or_default();
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let ok = |result: Value| {
            ResponseTemplate::new(200).set_body_json(json!({"ok": true, "result": result}))
        };
        match bot_method {
            "getMe" => ok(
                json!({"id": 123_456, "is_bot": true, "first_name": "E2EBot",
                "username": "e2e_test_bot", "can_join_groups": true,
                "can_read_all_group_messages": false, "supports_inline_queries": false}),
            ),
            "getUpdates" => {
                let offset = body.get("offset").and_then(Value::as_i64).unwrap_or(0);
                let pending: Vec<Value> = self
                    .updates
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|u| u["update_id"].as_i64().unwrap_or(0) >= offset)
                    .cloned()
                    .collect();
                if !pending.is_empty() {
                    return ok(Value::Array(pending));
                }
                // A short long-poll, so the gateway's poller idles instead of spinning.
                let wait = body
                    .get("timeout")
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0)
                    .clamp(0.0, 1.0);
                ok(json!([])).set_delay(Duration::from_secs_f64(wait))
            }
            "sendMessage" | "sendDocument" | "editMessageText" => {
                let chat = value_text(&body["chat_id"]);
                if chat == "-404" {
                    return ResponseTemplate::new(400).set_body_json(json!({"ok": false,
                        "error_code": 400, "description": "Bad Request: chat not found"}));
                }
                let id = body
                    .get("message_id")
                    .and_then(Value::as_i64)
                    .unwrap_or_else(|| self.next_id.fetch_add(1, Ordering::SeqCst));
                let chat_id: Value = chat
                    .parse::<i64>()
                    .map_or_else(|_| json!(chat), |n| json!(n));
                let mut msg = json!({"message_id": id, "date": 0,
                    "chat": {"id": chat_id, "type": if chat.starts_with("-100") { "supergroup" } else { "private" }},
                    "from": {"id": 123_456, "is_bot": true, "first_name": "E2EBot"},
                    "text": body.get("text").cloned().unwrap_or(json!(""))});
                if let Some(thread) = body.get("message_thread_id").filter(|t| !t.is_null()) {
                    msg["message_thread_id"] = thread.clone();
                    msg["is_topic_message"] = json!(true);
                }
                ok(msg)
            }
            "getChat" => ok(json!({"id": -1_001_234_567_890_i64, "type": "supergroup",
                "title": "E2E group", "is_forum": true})),
            "getMyCommands" => ok(json!([])),
            "getWebhookInfo" => {
                ok(json!({"url": "", "has_custom_certificate": false, "pending_update_count": 0}))
            }
            _ => ok(json!(true)),
        }
    }
}

impl Telegram {
    /// Start it.
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let updates = Arc::new(Mutex::new(Vec::new()));
        Mock::given(any())
            .respond_with(TelegramResponder {
                next_id: AtomicI64::new(1000),
                updates: updates.clone(),
            })
            .mount(&server)
            .await;
        Self { server, updates }
    }

    fn push_update(&self, mut update: Value) {
        let mut queue = self.updates.lock().unwrap();
        let id = 9000 + i64::try_from(queue.len()).unwrap();
        update["update_id"] = json!(id);
        queue.push(update);
    }

    /// The human writes `text` in the forum topic `thread` of group `chat` (the gateway's
    /// poller gets it with its next getUpdates). Kept for `/approve <id> …` scenarios: with
    /// this suite's fake model the gateway also takes such a message as an agent turn, and
    /// the resolve then fails closed (see plugin_scenarios.rs).
    #[allow(dead_code)]
    pub fn human_says(&self, chat: &str, thread: &str, text: &str) {
        let n = self.updates.lock().unwrap().len();
        self.push_update(json!({"message": {
            "message_id": 50_000 + n, "date": 0,
            "chat": {"id": chat.parse::<i64>().unwrap(), "type": "supergroup", "title": "E2E group", "is_forum": true},
            "message_thread_id": thread.parse::<i64>().unwrap(), "is_topic_message": true,
            "from": {"id": HUMAN_ID, "is_bot": false, "first_name": "Human"},
            "text": text}}));
    }

    /// The human presses the inline button carrying `data` under the bot's message `message_id`.
    pub fn human_presses(&self, chat: &str, thread: &str, message_id: i64, data: &str) {
        let n = self.updates.lock().unwrap().len();
        self.push_update(json!({"callback_query": {
            "id": format!("cb{n}"), "chat_instance": "e2e", "data": data,
            "from": {"id": HUMAN_ID, "is_bot": false, "first_name": "Human"},
            "message": {"message_id": message_id, "date": 0,
                "chat": {"id": chat.parse::<i64>().unwrap(), "type": "supergroup", "title": "E2E group", "is_forum": true},
                "message_thread_id": thread.parse::<i64>().unwrap(), "is_topic_message": true,
                "from": {"id": 123_456, "is_bot": true, "first_name": "E2EBot"}, "text": "approval"}}}));
    }

    /// A human's message in a forum topic, handed to the gateway's next
    /// `getUpdates` (as a person typing it in the group would).
    pub fn push_message(&self, chat_id: i64, thread_id: i64, from_id: i64, text: &str) {
        let n = self.updates.lock().unwrap().len();
        self.push_update(json!({"message": {
            "message_id": 60_000 + n, "date": 1_796_000_000,
            "chat": {"id": chat_id, "type": "supergroup", "title": "E2E group", "is_forum": true},
            "from": {"id": from_id, "is_bot": false, "first_name": "Human", "username": "e2e_human"},
            "message_thread_id": thread_id, "is_topic_message": true, "text": text,
            "entities": [{"type": "bot_command", "offset": 0,
                          "length": text.split_whitespace().next().unwrap_or("").len()}]}}));
    }

    /// Every call so far except `getUpdates`, in order.
    pub async fn calls(&self) -> Vec<TgCall> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter_map(|r| {
                let mut parts = r.url.path().trim_matches('/').split('/');
                let token = parts.next()?.strip_prefix("bot")?.to_owned();
                let bot_method = parts.next()?.to_owned();
                if bot_method == "getUpdates" {
                    return None;
                }
                let from_clawrun = r
                    .headers
                    .get("user-agent")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|ua| ua.starts_with("clawrun/"));
                Some(TgCall {
                    method: bot_method,
                    body: serde_json::from_slice(&r.body).unwrap_or(Value::Null),
                    from_clawrun,
                    token,
                })
            })
            .collect()
    }
}
