//! The fake OpenClaw gateway of the integration tests: a wiremock server on
//! loopback answering `POST /tools/invoke` (`sessions_list`, `message`,
//! `sessions_send`), `GET /readyz` and the clawrun plugin's info route the way
//! the real gateway does (`reference/openclaw/`). Each test mounts what its
//! story needs on one of these; the answers' shapes live here only.

use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::Sandbox;

/// The WhatsApp group session most gateway tests route to.
pub const WHATSAPP_KEY: &str = "agent:main:whatsapp:group:120363@g.us";
/// Its OpenClaw session id.
pub const WHATSAPP_SESSION_ID: &str = "5f0c3c1e-1111-4222-8333-944445555666";
/// Its chat.
pub const WHATSAPP_JID: &str = "120363@g.us";
/// The gateway token of [`sandbox`]s whose test does not name its own.
pub const TOKEN: &str = "gw-secret-token-4242";

/// A tool's answer as `/tools/invoke` wraps it: the payload as text content
/// and as `details`.
pub fn tool_result(details: &Value) -> Value {
    json!({"ok": true, "result": {"content": [{"type": "text", "text": details.to_string()}], "details": details}})
}

/// The answer to a delivered `message` / `sessions_send`.
pub fn delivered(message_id: &str) -> Value {
    tool_result(&json!({"status": "ok", "messageId": message_id}))
}

/// A `sessions_list` entry with a delivery context.
pub fn session(key: &str, session_id: &str, delivery: Value) -> Value {
    json!({"key": key, "sessionId": session_id, "deliveryContext": delivery})
}

/// The WhatsApp group session ([`WHATSAPP_KEY`]) under `key`.
pub fn whatsapp_session(key: &str) -> Value {
    session(
        key,
        WHATSAPP_SESSION_ID,
        json!({"channel": "whatsapp", "to": WHATSAPP_JID}),
    )
}

/// A `sessions_list` payload of these sessions.
pub fn sessions(list: &[Value]) -> Value {
    json!({"sessions": list})
}

/// A free loopback port (for a gateway that must start after its config).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A gateway with nothing mounted, on a port of its own.
pub async fn start() -> MockServer {
    MockServer::start().await
}

/// A gateway with nothing mounted, on `port`.
pub async fn start_on(port: u16) -> MockServer {
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    MockServer::builder().listener(listener).start().await
}

/// `sessions_list` answers `payload` (mount before [`mount_tools`]: the
/// first mounted match wins).
pub async fn mount_sessions(server: &MockServer, payload: &Value) {
    Mock::given(method("POST"))
        .and(path("/tools/invoke"))
        .and(body_partial_json(json!({"tool": "sessions_list"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(tool_result(payload)))
        .mount(server)
        .await;
}

/// Every other tool call answers `body`.
pub async fn mount_tools(server: &MockServer, body: Value) {
    Mock::given(method("POST"))
        .and(path("/tools/invoke"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

/// The gateway knows `key` as the WhatsApp group and delivers every message
/// (as `m1`).
pub async fn mount_whatsapp(server: &MockServer, key: &str) {
    mount_sessions(server, &sessions(&[whatsapp_session(key)])).await;
    mount_tools(server, delivered("m1")).await;
}

/// A gateway that knows the WhatsApp group ([`WHATSAPP_KEY`]) and delivers
/// every message.
pub async fn whatsapp() -> MockServer {
    let server = start().await;
    mount_whatsapp(&server, WHATSAPP_KEY).await;
    server
}

/// `GET /readyz` answers ready.
pub async fn mount_ready(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/readyz"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ready": true})))
        .mount(server)
        .await;
}

/// The clawrun plugin is installed: its info route answers.
pub async fn mount_plugin(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/clawrun/v1/info"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "plugin": "clawrun", "version": "0.1.0"})),
        )
        .mount(server)
        .await;
}

/// The clawrun plugin's approvals route.
pub const APPROVALS_ROUTE: &str = "/clawrun/v1/approvals/request";

/// A gateway that knows the WhatsApp group ([`WHATSAPP_KEY`]), delivers every
/// message, and answers the plugin's approvals route with `approval`,
/// `expect` times.
pub async fn approvals(approval: ResponseTemplate, expect: u64) -> MockServer {
    let server = whatsapp().await;
    Mock::given(method("POST"))
        .and(path(APPROVALS_ROUTE))
        .respond_with(approval)
        .expect(expect)
        .mount(&server)
        .await;
    server
}

/// [`approvals`] with the clawrun plugin installed (its info route answers:
/// `clawrun run --approvals chat` probes it before it launches).
pub async fn approvals_with_plugin(approval: ResponseTemplate, expect: u64) -> MockServer {
    let server = approvals(approval, expect).await;
    mount_plugin(&server).await;
    server
}

/// The approvals route's answer carrying the human's decision `d`.
pub fn decision(d: Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"ok": true, "approvalId": "ap-1", "decision": d}))
}

/// Writes the sandbox's `openclaw.json`.
pub fn write_openclaw_json(sb: &Sandbox, config: &Value) {
    std::fs::create_dir_all(sb.openclaw_home()).unwrap();
    std::fs::write(sb.openclaw_home().join("openclaw.json"), config.to_string()).unwrap();
}

/// A sandbox whose `openclaw.json` points at a gateway on `port` with `token`.
pub fn sandbox(port: u16, token: &str) -> Sandbox {
    let sb = Sandbox::new();
    write_openclaw_json(
        &sb,
        &json!({"gateway": {"port": port, "auth": {"token": token}}}),
    );
    sb
}

/// The JSON bodies of the tool calls among `requests`.
pub fn tool_calls(requests: &[Request]) -> Vec<Value> {
    requests
        .iter()
        .filter(|r| r.url.path() == "/tools/invoke")
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .collect()
}

/// (tool, idempotency key, message text) of every delivery request
/// (`sessions_list` left out), in order.
pub fn deliveries(requests: &[Request]) -> Vec<(String, String, String)> {
    tool_calls(requests)
        .into_iter()
        .filter(|b| b["tool"] != "sessions_list")
        .map(|b| {
            let text = b["args"]["message"].as_str().unwrap_or_default().to_owned();
            (
                b["tool"].as_str().unwrap_or_default().to_owned(),
                b["idempotencyKey"].as_str().unwrap_or_default().to_owned(),
                text,
            )
        })
        .collect()
}
