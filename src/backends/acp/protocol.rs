//! The client side of one ACP conversation, as a state machine on the
//! runner's two-way seam: agent lines in; events, and JSON-RPC lines for the
//! agent's stdin, out. It never does I/O.
//!
//! ```text
//! → initialize            (the command's first stdin line, id 0)
//! ← result: agentCapabilities.loadSession, agentInfo.version
//! → session/new {cwd}     or session/load {sessionId, cwd} to resume
//! ← result: sessionId     (a load first replays the history: ignored)
//! → session/set_mode, session/set_model   (when configured; errors are warnings)
//! → session/prompt        ← session/update …  ← result: stopReason
//! → session/prompt        (each `clawrun respond` in a multi-turn run)
//! ```
//!
//! The agent's requests are answered at once: `session/request_permission`
//! by the run's [`PermissionPolicy`], anything else (clawrun declares no file
//! system nor terminal capability) with "method not found".

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;

use serde_json::{Value, json};

use super::parser::{AcpParser, rpc_error_text};
use crate::backends::protocol::{Awaiting, LiveInput, Protocol, Step};
use crate::core::model::approval::{Answer, Ask};
use crate::core::model::events::{AgentEvent, FailureKind, check_resume_id, shown_resume_id};

/// The id of the `initialize` request, written as the command's stdin.
pub const INITIALIZE_ID: u64 = 0;
/// JSON-RPC "method not found".
const METHOD_NOT_FOUND: i64 = -32601;
/// ACP "resource not found" (a session to load that does not exist).
const RESOURCE_NOT_FOUND: i64 = -32002;
/// Lines that are not JSON-RPC messages an agent may write before its
/// conversation is given up as broken (a banner or a stray log line is
/// tolerated; a program that is not an ACP agent is not).
pub const GARBAGE_LIMIT: u32 = 50;

/// How the agent's permission requests are answered.
///
/// [`Allow`](Self::Allow) and [`Deny`](Self::Deny) are decided inside the
/// protocol, at once; [`Ask`](Self::Ask) hands the request to the runner's
/// approver as an [`Ask`] and encodes its [`Answer`] later
/// ([`LiveInput::Answer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermissionPolicy {
    /// The run bypasses permissions (the default): allow once.
    Allow,
    /// Reject once: nobody is there to ask.
    Deny,
    /// Ask the human (`--approvals chat`).
    Ask,
}

/// What the protocol needs of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct AcpSetup {
    /// The backend's name, in messages.
    pub backend: &'static str,
    /// The first prompt.
    pub prompt: String,
    /// The session's working directory (absolute).
    pub cwd: PathBuf,
    /// The session to load instead of creating one.
    pub resume_id: Option<String>,
    /// `session/set_model` after the session opens.
    pub model: Option<String>,
    /// `session/set_mode` after the session opens.
    pub mode: Option<String>,
    /// How permission requests are answered.
    pub policy: PermissionPolicy,
}

/// Our requests awaiting their response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Initialize,
    NewSession,
    LoadSession,
    SetMode,
    SetModel,
    Prompt,
}

/// The protocol of one ACP agent process.
#[derive(Debug, Clone)]
pub struct AcpProtocol {
    parser: AcpParser,
    setup: AcpSetup,
    next_id: u64,
    pending: BTreeMap<u64, Call>,
    session_id: Option<String>,
    agent_version: Option<String>,
    /// Requests to make after the session opened, before the first prompt.
    after_open: VecDeque<Call>,
    /// The `session/prompt` in flight.
    prompt_id: Option<u64>,
    /// A turn is running as the runner sees it (handshake included).
    turn_open: bool,
    /// The session could not be opened: nothing more is sent.
    broken: bool,
    /// A `session/load` replays the history: its updates are not this run's.
    replaying: bool,
    /// Messages to prompt once the current prompt has ended.
    queued: VecDeque<String>,
    /// Permission requests handed to the runner, by [`Ask::request_id`]:
    /// the JSON-RPC id to answer and the options offered.
    asked: BTreeMap<String, (Value, Value)>,
    /// Lines that were not JSON-RPC messages, so far.
    garbage: u32,
    /// Response ids that match no request of ours, the last few (named when
    /// the handshake is given up).
    stray_ids: Vec<String>,
}

/// The `initialize` request line: protocol version 1, and only the client
/// capabilities clawrun implements (none: no file system, no terminal).
pub fn initialize_line() -> Vec<u8> {
    line(&json!({
        "jsonrpc": "2.0",
        "id": INITIALIZE_ID,
        "method": "initialize",
        "params": {
            "protocolVersion": 1,
            "clientCapabilities": {
                "fs": {"readTextFile": false, "writeTextFile": false},
                "terminal": false,
            },
            "clientInfo": {"name": "clawrun", "version": env!("CARGO_PKG_VERSION")},
        },
    }))
}

fn line(v: &Value) -> Vec<u8> {
    let mut bytes = v.to_string().into_bytes();
    bytes.push(b'\n');
    bytes
}

/// The runner's [`Ask`] for a `session/request_permission` request `id`:
/// the tool call's kind as the tool (`execute` → `Bash`, `edit` → `Edit`,
/// else the kind), its raw input, and its title as the description.
fn permission_ask(id: &Value, params: Option<&Value>) -> Ask {
    let call = params.and_then(|p| p.get("toolCall"));
    let text = |key: &str| {
        call.and_then(|c| c.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let tool = match text("kind").as_deref() {
        Some("execute") => "Bash".to_owned(),
        Some("edit") => "Edit".to_owned(),
        Some(kind) => kind.to_owned(),
        None => text("title").unwrap_or_else(|| "tool".to_owned()),
    };
    Ask {
        request_id: match id {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
        call_id: text("toolCallId"),
        tool,
        input: call
            .and_then(|c| c.get("rawInput"))
            .cloned()
            .unwrap_or(Value::Null),
        description: text("title"),
    }
}

/// The answer to a `session/request_permission` request `id` offering
/// `options`: the first option of kind `allow_once` (else `allow_always`)
/// when `allow`, `reject_once` (else `reject_always`) otherwise; `cancelled`
/// when no such option is offered.
pub fn permission_answer(id: &Value, options: Option<&Value>, allow: bool) -> Vec<u8> {
    let kinds: [&str; 2] = if allow {
        ["allow_once", "allow_always"]
    } else {
        ["reject_once", "reject_always"]
    };
    let options = options
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let chosen = kinds.iter().find_map(|kind| {
        options
            .iter()
            .find(|o| o.get("kind").and_then(Value::as_str) == Some(kind))
            .and_then(|o| o.get("optionId").cloned())
    });
    let outcome = match chosen {
        Some(option_id) => json!({"outcome": "selected", "optionId": option_id}),
        None => json!({"outcome": "cancelled"}),
    };
    line(&json!({"jsonrpc": "2.0", "id": id, "result": {"outcome": outcome}}))
}

impl AcpProtocol {
    /// The protocol of a process started with [`initialize_line`] on stdin.
    pub fn new(setup: AcpSetup) -> Self {
        Self {
            parser: AcpParser::default(),
            setup,
            next_id: INITIALIZE_ID + 1,
            pending: BTreeMap::from([(INITIALIZE_ID, Call::Initialize)]),
            session_id: None,
            agent_version: None,
            after_open: VecDeque::new(),
            prompt_id: None,
            turn_open: true,
            broken: false,
            replaying: false,
            queued: VecDeque::new(),
            asked: BTreeMap::new(),
            garbage: 0,
            stray_ids: Vec::new(),
        }
    }

    fn request(&mut self, call: Call, method: &str, params: Value) -> Vec<u8> {
        let id = self.next_id;
        self.next_id += 1;
        self.pending.insert(id, call);
        if call == Call::Prompt {
            self.prompt_id = Some(id);
            self.turn_open = true;
        }
        line(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
    }

    fn prompt(&mut self, text: &str) -> Vec<u8> {
        let params = json!({
            "sessionId": self.session_id,
            "prompt": [{"type": "text", "text": text}],
        });
        self.request(Call::Prompt, "session/prompt", params)
    }

    fn cancel(&self) -> Option<Vec<u8>> {
        let id = self.session_id.as_ref()?;
        self.prompt_id?;
        Some(line(&json!({
            "jsonrpc": "2.0",
            "method": "session/cancel",
            "params": {"sessionId": id},
        })))
    }

    /// The session cannot be opened: the turn fails, nothing more is sent.
    fn fail(&mut self, message: String, kind: FailureKind, step: &mut Step) {
        self.broken = true;
        self.turn_open = false;
        self.replaying = false;
        step.events.push(AgentEvent::TurnFailed {
            message,
            kind,
            cost_usd: None,
        });
    }

    fn on_initialized(&mut self, result: &Value, step: &mut Step) {
        let caps = result.get("agentCapabilities");
        let load = caps
            .and_then(|c| c.get("loadSession"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        self.agent_version = result
            .pointer("/agentInfo/version")
            .and_then(Value::as_str)
            .map(str::to_owned);
        // The runner remembers it: a later --resume it cannot honour is refused up front.
        step.events.push(AgentEvent::AgentInfo {
            name: result
                .pointer("/agentInfo/name")
                .and_then(Value::as_str)
                .map(str::to_owned),
            version: self.agent_version.clone(),
            load_session: load,
        });
        let cwd = self.setup.cwd.to_string_lossy().into_owned();
        match self.setup.resume_id.clone() {
            Some(_) if !load => self.fail(
                format!(
                    "{} cannot resume: the agent does not advertise `loadSession` \
                     (start a new run instead of --resume); no prompt was sent",
                    self.setup.backend
                ),
                FailureKind::Other,
                step,
            ),
            Some(id) => {
                self.replaying = true;
                let params = json!({"sessionId": id, "cwd": cwd, "mcpServers": []});
                let bytes = self.request(Call::LoadSession, "session/load", params);
                step.writes.push(bytes);
            }
            None => {
                let params = json!({"cwd": cwd, "mcpServers": []});
                let bytes = self.request(Call::NewSession, "session/new", params);
                step.writes.push(bytes);
            }
        }
    }

    /// The session is open (`id`): announce it, then configure it and prompt.
    fn on_opened(&mut self, id: String, result: &Value, step: &mut Step) {
        if let Err(why) = check_resume_id(&id) {
            let shown = shown_resume_id(&id);
            return self.fail(
                format!("the agent's session id {shown} is refused: {why}"),
                FailureKind::Other,
                step,
            );
        }
        let model = self.setup.model.clone().or_else(|| {
            result
                .pointer("/models/currentModelId")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        step.events.push(AgentEvent::SessionStarted {
            resume_id: id.clone(),
            model,
            cli_version: self.agent_version.clone(),
        });
        self.session_id = Some(id);
        if self.setup.mode.is_some() {
            self.after_open.push_back(Call::SetMode);
        }
        if self.setup.model.is_some() {
            self.after_open.push_back(Call::SetModel);
        }
        self.next_setup_step(step);
    }

    /// The next configuration request, or the first prompt.
    fn next_setup_step(&mut self, step: &mut Step) {
        let sid = self.session_id.clone();
        let bytes = match self.after_open.pop_front() {
            Some(Call::SetMode) => {
                let params = json!({"sessionId": sid, "modeId": self.setup.mode});
                self.request(Call::SetMode, "session/set_mode", params)
            }
            Some(Call::SetModel) => {
                let params = json!({"sessionId": sid, "modelId": self.setup.model});
                self.request(Call::SetModel, "session/set_model", params)
            }
            _ => {
                let prompt = self.setup.prompt.clone();
                self.prompt(&prompt)
            }
        };
        step.writes.push(bytes);
    }

    fn on_result(&mut self, call: Call, result: &Value, step: &mut Step) {
        match call {
            Call::Initialize => self.on_initialized(result, step),
            Call::NewSession => match result.get("sessionId").and_then(Value::as_str) {
                Some(id) => self.on_opened(id.to_owned(), result, step),
                None => self.fail(
                    "session/new answered without a sessionId".to_owned(),
                    FailureKind::Other,
                    step,
                ),
            },
            Call::LoadSession => {
                self.replaying = false;
                let id = self.setup.resume_id.clone().unwrap_or_default();
                self.on_opened(id, result, step);
            }
            Call::SetMode | Call::SetModel => self.next_setup_step(step),
            Call::Prompt => {
                self.prompt_id = None;
                self.turn_open = false;
                self.parser.on_prompt_result(result, &mut step.events);
                if let Some(next) = self.queued.pop_front() {
                    let bytes = self.prompt(&next);
                    step.writes.push(bytes);
                }
            }
        }
    }

    fn on_error(&mut self, call: Call, error: &Value, step: &mut Step) {
        let text = rpc_error_text(error);
        match call {
            Call::Initialize => self.fail(
                format!("initialize failed: {text}"),
                FailureKind::Other,
                step,
            ),
            Call::NewSession => self.fail(
                format!("session/new failed: {text}"),
                FailureKind::Other,
                step,
            ),
            Call::LoadSession => {
                let code = error.get("code").and_then(Value::as_i64);
                let kind = if code == Some(RESOURCE_NOT_FOUND) || text.contains("not found") {
                    FailureKind::ResumeNotFound
                } else {
                    FailureKind::Other
                };
                self.fail(format!("session/load failed: {text}"), kind, step);
            }
            Call::SetMode | Call::SetModel => {
                let what = if call == Call::SetMode {
                    "mode"
                } else {
                    "model"
                };
                step.events.push(AgentEvent::Warning {
                    message: format!("the agent did not take the {what}: {text}"),
                });
                self.next_setup_step(step);
            }
            Call::Prompt => {
                self.prompt_id = None;
                self.turn_open = false;
                self.queued.clear();
                self.parser.on_prompt_error(
                    "the prompt failed",
                    error,
                    FailureKind::Other,
                    &mut step.events,
                );
            }
        }
    }

    fn on_response(&mut self, id: &Value, msg: &Value, step: &mut Step) {
        let Some(call) = id.as_u64().and_then(|n| self.pending.remove(&n)) else {
            if self.stray_ids.len() < 3 {
                self.stray_ids.push(id.to_string());
            }
            step.events.push(AgentEvent::Warning {
                message: format!("ACP response to an unknown request id {id}"),
            });
            return;
        };
        match (msg.get("error"), msg.get("result")) {
            (Some(error), _) => self.on_error(call, error, step),
            (None, Some(result)) => self.on_result(call, result, step),
            (None, None) => self.on_result(call, &Value::Null, step),
        }
    }

    /// A line that is not a JSON-RPC message: a warning, and past
    /// [`GARBAGE_LIMIT`] the end of the conversation.
    fn on_garbage(&mut self, text: &str, step: &mut Step) {
        self.garbage += 1;
        if self.broken {
            return;
        }
        let shown = crate::backends::wire::short(text, 120);
        if self.garbage < GARBAGE_LIMIT {
            step.events.push(AgentEvent::Warning {
                message: format!("not a JSON-RPC message: {shown}"),
            });
            return;
        }
        self.fail(
            format!(
                "{} wrote {} lines that are not JSON-RPC messages (the last: {shown}); \
                 is the program an ACP agent?",
                self.setup.backend, self.garbage
            ),
            FailureKind::Other,
            step,
        );
    }

    /// A request from the agent: answered at once.
    fn on_agent_request(&mut self, method: &str, id: &Value, msg: &Value, step: &mut Step) {
        if method == "session/request_permission" {
            let params = msg.get("params");
            if self.setup.policy == PermissionPolicy::Ask {
                let ask = permission_ask(id, params);
                let options = params.and_then(|p| p.get("options")).cloned();
                self.asked.insert(
                    ask.request_id.clone(),
                    (id.clone(), options.unwrap_or(Value::Null)),
                );
                step.asks.push(ask);
                return;
            }
            let allow = self.setup.policy == PermissionPolicy::Allow;
            step.writes.push(permission_answer(
                id,
                params.and_then(|p| p.get("options")),
                allow,
            ));
            if !allow {
                let title = params
                    .and_then(|p| p.pointer("/toolCall/title"))
                    .and_then(Value::as_str)
                    .unwrap_or("a tool call");
                step.events.push(AgentEvent::Warning {
                    message: format!("permission denied by the run's policy: {title}"),
                });
            }
            return;
        }
        step.writes.push(line(&json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": {"code": METHOD_NOT_FOUND, "message": format!("clawrun does not implement {method}")},
        })));
    }
}

impl Protocol for AcpProtocol {
    fn on_line(&mut self, text: &str, step: &mut Step) {
        if text.trim().is_empty() {
            return;
        }
        let msg = match serde_json::from_str::<Value>(text) {
            Ok(v) if v.is_object() => v,
            _ => return self.on_garbage(text, step),
        };
        let method = msg.get("method").and_then(Value::as_str);
        match (method, msg.get("id")) {
            (Some(m), Some(id)) => self.on_agent_request(m, id, &msg, step),
            (Some("session/update"), None) => {
                if let (false, Some(params)) = (self.replaying, msg.get("params")) {
                    self.parser.on_update(params, &mut step.events);
                }
            }
            // Other notifications (extensions such as `_auth/status_update`): nothing for a run.
            (Some(_), None) => {}
            (None, Some(id)) => self.on_response(id, &msg, step),
            (None, None) => step.events.push(AgentEvent::Warning {
                message: "a JSON-RPC message with neither a method nor an id".to_owned(),
            }),
        }
    }

    fn encode(&mut self, input: LiveInput<'_>) -> Option<Vec<u8>> {
        if self.broken {
            return None;
        }
        match input {
            LiveInput::Message(text) => {
                if self.turn_open || self.session_id.is_none() {
                    // After the turn in progress (the runner writes nothing now).
                    self.queued.push_back(text.to_owned());
                    return Some(Vec::new());
                }
                Some(self.prompt(text))
            }
            LiveInput::Interrupt => Some(self.cancel().unwrap_or_default()),
            LiveInput::Answer { request_id, answer } => {
                // An answer to no pending request (already answered) writes nothing.
                let Some((id, options)) = self.asked.remove(request_id) else {
                    return Some(Vec::new());
                };
                let allow = matches!(answer, Answer::Allow);
                Some(permission_answer(&id, Some(&options), allow))
            }
        }
    }

    fn finish(&mut self, exit_code: Option<i32>, stderr_tail: &str) -> Vec<AgentEvent> {
        let open = self.turn_open && !self.broken;
        self.turn_open = false;
        self.parser.on_exit(open, exit_code, stderr_tail)
    }

    fn on_stop(&mut self) -> Option<Vec<u8>> {
        self.queued.clear();
        self.cancel()
    }

    fn awaiting(&self) -> Option<Awaiting> {
        if self.broken || !self.pending.contains_key(&INITIALIZE_ID) {
            return None;
        }
        let mut what = "`initialize`".to_owned();
        if !self.stray_ids.is_empty() {
            what.push_str(&format!(
                " (it answered request id {}, which clawrun never sent)",
                self.stray_ids.join(", ")
            ));
        }
        Some(Awaiting::Handshake(what))
    }
}
