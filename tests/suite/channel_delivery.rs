//! Channels against wiremock servers on loopback: the gateway client, the
//! whatsapp-gateway, message-tool and telegram-direct channels, and the
//! `openclaw agent` wake with fake CLIs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use clawrun::channels::telegram_text::{TELEGRAM_MAX_MESSAGE_LEN, strip_html, utf16_len};
use clawrun::channels::{
    AnyChannel, Attachment, Body, Channel, ChannelError, Destination, MessageKind, MessageTool,
    Outgoing, TelegramDirect, TelegramDirectSettings, Wake, WhatsappGateway,
};
use clawrun::config::Secret;
use clawrun::openclaw::{GatewayClient, GatewayError, HttpTimeouts};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const GW_TOKEN: &str = "gw-secret-token-7f3a";
const BOT_TOKEN: &str = "123456:BOT-SECRET-token-xyz";
const TOKEN_SOURCE: &str = "gateway.auth.token in /tmp/oc/openclaw.json";

fn short_timeouts() -> HttpTimeouts {
    HttpTimeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_secs(3),
    }
}

fn gateway(url: &str, timeouts: HttpTimeouts) -> GatewayClient {
    GatewayClient::new(url, Secret::new(GW_TOKEN), TOKEN_SOURCE, timeouts).unwrap()
}

fn telegram_settings(api_base: &str) -> TelegramDirectSettings {
    TelegramDirectSettings {
        api_base: api_base.to_owned(),
        token: Secret::new(BOT_TOKEN),
        token_source: "channels.telegram.botToken in /tmp/oc/openclaw.json".to_owned(),
        timeouts: short_timeouts(),
        openclaw_program: PathBuf::from("openclaw"),
        wake_timeout: Duration::from_secs(5),
    }
}

fn telegram(api_base: &str) -> TelegramDirect {
    TelegramDirect::new(telegram_settings(api_base)).unwrap()
}

fn outgoing(dest: Destination, body: Body) -> Outgoing {
    Outgoing {
        idempotency_key: "run1:result:1".to_owned(),
        kind: MessageKind::Result,
        destination: dest,
        body,
        silent: false,
        reply_to: None,
        edit_of: None,
        attachment: None,
    }
}

fn tg_dest(chat: &str, thread: Option<&str>) -> Destination {
    Destination {
        channel: Some("telegram".to_owned()),
        target: Some(chat.to_owned()),
        thread_id: thread.map(str::to_owned),
        account: None,
    }
}

fn envelope(details: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(crate::common::gateway::tool_result(&details))
}

fn tg_ok(message_id: i64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "ok": true,
        "result": {"message_id": message_id, "chat": {"id": -100}, "date": 0, "text": "x"}
    }))
}

fn tg_error(status: u16, description: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "ok": false, "error_code": status, "description": description
    }))
}

fn body_of(req: &Request) -> Value {
    serde_json::from_slice(&req.body).unwrap()
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap()
}

/// The URL of a port nothing listens on.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

fn assert_no_secrets(text: &str) {
    assert!(!text.contains(GW_TOKEN), "gateway token leaked: {text}");
    assert!(!text.contains(BOT_TOKEN), "bot token leaked: {text}");
    assert!(
        !text.contains("BOT-SECRET"),
        "bot token part leaked: {text}"
    );
}

// ---------------------------------------------------------------- gateway client

#[tokio::test]
async fn gateway_invoke_sends_bearer_token_and_returns_result() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tools/invoke"))
        .and(header(
            "authorization",
            format!("Bearer {GW_TOKEN}").as_str(),
        ))
        .and(body_partial_json(json!({
            "tool": "sessions_list", "args": {"limit": 1}, "idempotencyKey": "k-1"
        })))
        .respond_with(envelope(json!({"count": 0, "sessions": []})))
        .expect(1)
        .mount(&server)
        .await;
    let client = gateway(&server.uri(), short_timeouts());
    let result = client
        .invoke("sessions_list", json!({"limit": 1}), Some("k-1"))
        .await
        .unwrap();
    assert_eq!(result["details"], json!({"count": 0, "sessions": []}));
}

/// Every error status of the real gateway (reference/openclaw/README.md §3) maps to
/// the right ChannelError class with a useful message.
#[tokio::test]
async fn gateway_error_statuses_map_to_channel_errors() {
    let cases: Vec<(u16, Value, &str, &str)> = vec![
        (
            401,
            json!({"error": {"message": "Unauthorized", "type": "unauthorized"}}),
            "permanent",
            "gateway.auth.token in /tmp/oc/openclaw.json",
        ),
        (
            400,
            json!({"ok": false, "error": {"type": "tool_error", "message": "message required"}}),
            "permanent",
            "message required",
        ),
        (
            404,
            json!({"ok": false, "error": {"type": "not_found", "message": "Tool not available: message"}}),
            "permanent",
            "gateway.tools.allow",
        ),
        (
            403,
            json!({"ok": false, "error": {"type": "tool_call_blocked", "message": "blocked by hook"}}),
            "permanent",
            "blocked by hook",
        ),
        (
            500,
            json!({"ok": false, "error": {"type": "tool_error", "message": "tool execution failed"}}),
            "transient",
            "gateway log",
        ),
        (
            503,
            json!({"error": {"message": "Gateway context is unavailable; retry shortly.", "type": "unavailable"}}),
            "transient",
            "retry shortly",
        ),
    ];
    for (status, body, class, needle) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/tools/invoke"))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .expect(1)
            .mount(&server)
            .await;
        let channel = WhatsappGateway::new(gateway(&server.uri(), short_timeouts()));
        let msg = outgoing(
            Destination {
                target: Some("120363@g.us".to_owned()),
                ..Destination::default()
            },
            Body::plain("hi"),
        );
        let err = channel.send(&msg).await.unwrap_err();
        let text = err.to_string();
        match (class, &err) {
            ("permanent", ChannelError::Permanent(_))
            | ("transient", ChannelError::Transient(_)) => {}
            _ => panic!("HTTP {status}: expected {class}, got {err:?}"),
        }
        assert!(
            text.contains(needle),
            "HTTP {status}: {text:?} lacks {needle:?}"
        );
        assert_no_secrets(&text);
    }
}

#[tokio::test]
async fn gateway_429_is_retry_after_from_header() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "7")
                .set_body_json(json!({"error": {"message": "Too many failed authentication attempts", "type": "rate_limited"}})),
        )
        .mount(&server)
        .await;
    let err = gateway(&server.uri(), short_timeouts())
        .invoke("message", json!({}), None)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        GatewayError::RateLimited {
            retry_after: Duration::from_secs(7)
        }
    );
    assert_eq!(
        ChannelError::from(err),
        ChannelError::RetryAfter(Duration::from_secs(7))
    );
}

#[tokio::test]
async fn sessions_send_404_names_both_settings() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "ok": false, "error": {"type": "not_found", "message": "Tool not available: sessions_send"}
        })))
        .mount(&server)
        .await;
    let channel = WhatsappGateway::new(gateway(&server.uri(), short_timeouts()));
    let wake = Wake {
        idempotency_key: "run1:wake:1".to_owned(),
        session_key: Some("agent:main:whatsapp:group:120363@g.us".to_owned()),
        session_id: None,
        destination: Destination::default(),
        text: "done".to_owned(),
        argv_text: None,
    };
    let err = channel.wake(&wake).await.unwrap_err();
    let ChannelError::Permanent(text) = err else {
        panic!("expected permanent, got {err:?}");
    };
    assert!(
        text.contains(r#"gateway.tools.allow: ["sessions_send"]"#),
        "{text}"
    );
    assert!(
        text.contains(r#"tools.sessions.visibility: "all""#),
        "{text}"
    );
}

#[tokio::test]
async fn ok_200_with_error_or_forbidden_status_is_a_failure() {
    for status in ["error", "forbidden"] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(envelope(json!({
                "runId": "r1", "status": status,
                "error": "No session found: agent:main:whatsapp:group:123@g.us"
            })))
            .mount(&server)
            .await;
        let channel = MessageTool::new(gateway(&server.uri(), short_timeouts()), None);
        let wake = Wake {
            idempotency_key: "run1:wake:1".to_owned(),
            session_key: Some("agent:main:whatsapp:group:123@g.us".to_owned()),
            session_id: None,
            destination: Destination::default(),
            text: "done".to_owned(),
            argv_text: None,
        };
        let err = channel.wake(&wake).await.unwrap_err();
        let ChannelError::Permanent(text) = &err else {
            panic!("{status}: expected permanent, got {err:?}");
        };
        assert!(text.contains("No session found"), "{text}");
        assert!(text.contains(status), "{text}");
    }
}

#[tokio::test]
async fn gateway_connection_refused_is_transient_without_token() {
    let client = gateway(&closed_port_url(), short_timeouts());
    let err = client.invoke("message", json!({}), None).await.unwrap_err();
    assert!(matches!(err, GatewayError::Unreachable { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("connection refused"), "{text}");
    assert_no_secrets(&text);
    assert_no_secrets(&format!("{err:?}"));
    assert_no_secrets(&format!("{client:?}"));
    assert!(matches!(
        ChannelError::from(err),
        ChannelError::Transient(_)
    ));
}

#[tokio::test]
async fn gateway_timeout_is_transient_without_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(envelope(json!({})).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let timeouts = HttpTimeouts {
        connect: Duration::from_secs(1),
        request: Duration::from_millis(300),
    };
    let started = std::time::Instant::now();
    let err = gateway(&server.uri(), timeouts)
        .invoke("message", json!({}), None)
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(matches!(err, GatewayError::Timeout { .. }), "{err:?}");
    assert_no_secrets(&err.to_string());
    assert!(matches!(
        ChannelError::from(err),
        ChannelError::Transient(_)
    ));
}

// ---------------------------------------------------------------- whatsapp-gateway

#[tokio::test]
async fn whatsapp_send_uses_message_tool_with_markdown() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tools/invoke"))
        .respond_with(envelope(json!({"ok": true, "messageId": "wa-77"})))
        .expect(1)
        .mount(&server)
        .await;
    let channel = WhatsappGateway::new(gateway(&server.uri(), short_timeouts()));
    let mut msg = outgoing(
        Destination {
            channel: Some("whatsapp".to_owned()),
            target: Some("120363000000@g.us".to_owned()),
            ..Destination::default()
        },
        Body {
            plain: "done".to_owned(),
            html: Some("<b>done</b>".to_owned()),
            markdown: Some("*done*".to_owned()),
        },
    );
    msg.silent = true;
    let delivery = channel.send(&msg).await.unwrap();
    assert_eq!(delivery.message_id.as_deref(), Some("wa-77"));
    let reqs = requests(&server).await;
    assert_eq!(
        body_of(&reqs[0]),
        json!({
            "tool": "message",
            "args": {"action": "send", "channel": "whatsapp", "target": "120363000000@g.us", "message": "*done*"},
            "idempotencyKey": "run1:result:1"
        })
    );
}

#[tokio::test]
async fn whatsapp_wake_uses_sessions_send_without_waiting() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(envelope(json!({
            "runId": "run-9", "status": "accepted", "sessionKey": "agent:main:main",
            "targetDisposition": "queued", "delivery": {"status": "pending", "mode": "announce"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let channel = WhatsappGateway::new(gateway(&server.uri(), short_timeouts()));
    let wake = Wake {
        idempotency_key: "run1:wake:1".to_owned(),
        session_key: Some("agent:main:main".to_owned()),
        session_id: None,
        destination: Destination::default(),
        text: "[CLAUDE_CODE_RESULT] done".to_owned(),
        argv_text: None,
    };
    let ack = channel.wake(&wake).await.unwrap();
    assert_eq!(ack.detail.as_deref(), Some("accepted runId=run-9"));
    let reqs = requests(&server).await;
    assert_eq!(
        body_of(&reqs[0]),
        json!({
            "tool": "sessions_send",
            "args": {"sessionKey": "agent:main:main", "message": "[CLAUDE_CODE_RESULT] done", "timeoutSeconds": 0},
            "idempotencyKey": "run1:wake:1"
        })
    );
}

#[tokio::test]
async fn whatsapp_send_without_target_is_permanent() {
    let channel = WhatsappGateway::new(gateway(&closed_port_url(), short_timeouts()));
    let err = channel
        .send(&outgoing(Destination::default(), Body::plain("x")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ChannelError::Permanent(ref m) if m.contains("group JID")),
        "{err:?}"
    );
}

// ---------------------------------------------------------------- message-tool

#[tokio::test]
async fn message_tool_passes_thread_silent_reply_and_account() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(envelope(json!({
            "ok": true, "messageId": "1002", "chatId": "-1001234567890", "receipt": {"threadId": "369520"}
        })))
        .expect(2)
        .mount(&server)
        .await;
    let channel = MessageTool::new(
        gateway(&server.uri(), short_timeouts()),
        Some("work".to_owned()),
    );
    let mut msg = outgoing(
        tg_dest("-1001234567890", Some("369520")),
        Body::plain("a < b"),
    );
    msg.silent = true;
    msg.reply_to = Some("55".to_owned());
    let delivery = channel.send(&msg).await.unwrap();
    assert_eq!(delivery.message_id.as_deref(), Some("1002"));
    // The General topic "1" is never sent as a thread.
    let general = outgoing(tg_dest("-1001234567890", Some("1")), Body::plain("general"));
    channel.send(&general).await.unwrap();
    let reqs = requests(&server).await;
    assert_eq!(
        body_of(&reqs[0])["args"],
        json!({
            "action": "send", "channel": "telegram", "target": "-1001234567890", "message": "a < b",
            "threadId": "369520", "silent": true, "replyTo": "55", "accountId": "work"
        })
    );
    assert_eq!(body_of(&reqs[0])["idempotencyKey"], "run1:result:1");
    let args = &body_of(&reqs[1])["args"];
    assert!(args.get("threadId").is_none(), "{args}");
    assert!(args.get("silent").is_none(), "{args}");
}

// ---------------------------------------------------------------- telegram-direct

#[tokio::test]
async fn telegram_send_html_to_topic_with_reply() {
    let server = MockServer::start().await;
    let send_path = format!("/bot{BOT_TOKEN}/sendMessage");
    Mock::given(method("POST"))
        .and(path(send_path.as_str()))
        .respond_with(tg_ok(4242))
        .expect(1)
        .mount(&server)
        .await;
    let mut msg = outgoing(
        tg_dest("-1001234567890", Some("369520")),
        Body {
            plain: "done".to_owned(),
            html: Some("✅ <b>done</b>\n<blockquote expandable>a &lt; b</blockquote>".to_owned()),
            markdown: None,
        },
    );
    msg.silent = true;
    msg.reply_to = Some("17".to_owned());
    let delivery = telegram(&server.uri()).send(&msg).await.unwrap();
    assert_eq!(delivery.message_id.as_deref(), Some("4242"));
    let reqs = requests(&server).await;
    assert_eq!(
        body_of(&reqs[0]),
        json!({
            "chat_id": -1001234567890_i64,
            "message_thread_id": 369520,
            "text": "✅ <b>done</b>\n<blockquote expandable>a &lt; b</blockquote>",
            "parse_mode": "HTML",
            "disable_notification": true,
            "reply_to_message_id": 17
        })
    );
}

#[tokio::test]
async fn telegram_general_topic_omits_thread_and_plain_has_no_parse_mode() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(tg_ok(1))
        .expect(1)
        .mount(&server)
        .await;
    let msg = outgoing(tg_dest("-1001234567890", Some("1")), Body::plain("hello"));
    telegram(&server.uri()).send(&msg).await.unwrap();
    let body = body_of(&requests(&server).await[0]);
    assert_eq!(
        body,
        json!({"chat_id": -1001234567890_i64, "text": "hello", "disable_notification": false})
    );
}

#[tokio::test]
async fn telegram_non_numeric_thread_is_permanent() {
    let msg = outgoing(tg_dest("-100", Some("abc")), Body::plain("x"));
    let err = telegram(&closed_port_url()).send(&msg).await.unwrap_err();
    assert!(
        matches!(err, ChannelError::Permanent(ref m) if m.contains("\"abc\"")),
        "{err:?}"
    );
}

#[tokio::test]
async fn telegram_429_is_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({
            "ok": false, "error_code": 429, "description": "Too Many Requests: retry after 23",
            "parameters": {"retry_after": 23}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let msg = outgoing(tg_dest("5551234", None), Body::plain("x"));
    let err = telegram(&server.uri()).send(&msg).await.unwrap_err();
    assert_eq!(err, ChannelError::RetryAfter(Duration::from_secs(23)));
}

#[tokio::test]
async fn telegram_parse_error_resends_chunk_as_plain_text() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"parse_mode": "HTML"})))
        .respond_with(tg_error(
            400,
            "Bad Request: can't parse entities: Unsupported start tag \"foo\" at byte offset 3",
        ))
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(tg_ok(9))
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;
    let html = "<b>ok</b> <foo>x</foo> &amp; y";
    let msg = outgoing(
        tg_dest("5551234", None),
        Body {
            plain: "ok x & y".to_owned(),
            html: Some(html.to_owned()),
            markdown: None,
        },
    );
    let delivery = telegram(&server.uri()).send(&msg).await.unwrap();
    assert_eq!(delivery.message_id.as_deref(), Some("9"));
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 2);
    assert_eq!(body_of(&reqs[0])["text"], html);
    assert_eq!(
        body_of(&reqs[1]),
        json!({"chat_id": 5551234, "text": "ok x & y", "disable_notification": false})
    );
}

#[tokio::test]
async fn telegram_thread_not_found_is_loud_and_permanent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(tg_error(400, "Bad Request: message thread not found"))
        .expect(1) // never retried without the thread
        .mount(&server)
        .await;
    let msg = outgoing(tg_dest("-1001234567890", Some("777")), Body::plain("x"));
    let err = telegram(&server.uri()).send(&msg).await.unwrap_err();
    let ChannelError::Permanent(text) = &err else {
        panic!("expected permanent, got {err:?}");
    };
    assert!(text.contains("thread 777"), "{text}");
    assert!(text.contains("-1001234567890"), "{text}");
    assert!(text.contains("Not sending to the main chat"), "{text}");
}

#[tokio::test]
async fn telegram_5xx_is_transient_and_401_names_token_source() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(tg_error(502, "Bad Gateway"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(tg_error(401, "Unauthorized"))
        .with_priority(2)
        .mount(&server)
        .await;
    let channel = telegram(&server.uri());
    let msg = outgoing(tg_dest("5551234", None), Body::plain("x"));
    let err = channel.send(&msg).await.unwrap_err();
    assert!(matches!(err, ChannelError::Transient(_)), "{err:?}");
    let err = channel.send(&msg).await.unwrap_err();
    let ChannelError::Permanent(text) = &err else {
        panic!("expected permanent, got {err:?}");
    };
    assert!(
        text.contains("channels.telegram.botToken in /tmp/oc/openclaw.json"),
        "{text}"
    );
    assert_no_secrets(text);
}

/// Between one and three messages' worth: split into chunks, each ≤ 4096 UTF-16
/// units with balanced tags; the reply goes on the first only.
#[tokio::test]
async fn telegram_long_html_is_sent_in_balanced_chunks() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(tg_ok(100))
        .expect(3)
        .mount(&server)
        .await;
    let html = format!(
        "✅ <b>done</b>\n<blockquote expandable>{}</blockquote>",
        "line 🎉 with &amp; entity\n".repeat(400)
    );
    let mut msg = outgoing(
        tg_dest("5551234", None),
        Body {
            plain: String::new(),
            html: Some(html.clone()),
            markdown: None,
        },
    );
    msg.reply_to = Some("3".to_owned());
    let delivery = telegram(&server.uri()).send(&msg).await.unwrap();
    assert_eq!(delivery.message_id.as_deref(), Some("100"));
    let bodies: Vec<Value> = requests(&server).await.iter().map(body_of).collect();
    let mut text = String::new();
    for (i, b) in bodies.iter().enumerate() {
        let chunk = b["text"].as_str().unwrap();
        assert!(utf16_len(chunk) <= TELEGRAM_MAX_MESSAGE_LEN);
        assert_balanced(chunk);
        assert_eq!(b["reply_to_message_id"].is_null(), i > 0, "{b}");
        text.push_str(&strip_html(chunk));
    }
    assert_eq!(text, strip_html(&html));
}

/// More than three messages' worth: one truncated message with a note, then the
/// full output as a document (multipart).
#[tokio::test]
async fn telegram_very_long_result_is_truncated_and_attached() {
    let server = MockServer::start().await;
    let doc_path = format!("/bot{BOT_TOKEN}/sendDocument");
    Mock::given(method("POST"))
        .and(path(format!("/bot{BOT_TOKEN}/sendMessage").as_str()))
        .respond_with(tg_ok(501))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(doc_path.as_str()))
        .respond_with(tg_ok(502))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("output.txt");
    let full = "full output line\n".repeat(2000);
    std::fs::write(&file, &full).unwrap();
    let mut msg = outgoing(
        tg_dest("-1001234567890", Some("369520")),
        Body {
            plain: String::new(),
            html: Some(format!(
                "<b>Result</b>\n<blockquote expandable>{}</blockquote>",
                "x y ".repeat(5000)
            )),
            markdown: None,
        },
    );
    msg.silent = true;
    msg.attachment = Some(Attachment {
        file_name: "result-run1.txt".to_owned(),
        path: file,
    });
    let delivery = telegram(&server.uri()).send(&msg).await.unwrap();
    assert_eq!(delivery.message_id.as_deref(), Some("501"));
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 2);
    let text = body_of(&reqs[0])["text"].as_str().unwrap().to_owned();
    assert!(utf16_len(&text) <= TELEGRAM_MAX_MESSAGE_LEN);
    assert_balanced(&text);
    assert!(
        text.contains("truncated: 20007 characters in all"),
        "{}",
        &text[text.len() - 200..]
    );
    assert!(text.contains("result-run1.txt"));
    let doc = &reqs[1];
    assert_eq!(doc.url.path(), doc_path);
    let content_type = doc.headers.get("content-type").unwrap().to_str().unwrap();
    assert!(
        content_type.starts_with("multipart/form-data; boundary="),
        "{content_type}"
    );
    let body = String::from_utf8_lossy(&doc.body);
    assert!(
        body.contains("name=\"document\"; filename=\"result-run1.txt\""),
        "{body:.400}"
    );
    assert!(body.contains(&full));
    for (field, value) in [
        ("chat_id", "-1001234567890"),
        ("message_thread_id", "369520"),
        ("disable_notification", "true"),
    ] {
        let part = format!("name=\"{field}\"\r\n\r\n{value}\r\n");
        assert!(body.contains(&part), "missing {field}={value}");
    }
}

#[tokio::test]
async fn telegram_edit_uses_edit_message_text() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/bot{BOT_TOKEN}/editMessageText").as_str()))
        .respond_with(tg_ok(88))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    let mut msg = outgoing(
        tg_dest("-1001234567890", Some("369520")),
        Body {
            plain: "🟢 CC (3min)".to_owned(),
            html: Some("🟢 <b>CC</b> (3min)".to_owned()),
            markdown: None,
        },
    );
    msg.kind = MessageKind::Heartbeat;
    msg.edit_of = Some("88".to_owned());
    let delivery = telegram(&server.uri()).send(&msg).await.unwrap();
    assert_eq!(delivery.message_id.as_deref(), Some("88"));
    assert_eq!(
        body_of(&requests(&server).await[0]),
        json!({"chat_id": -1001234567890_i64, "message_id": 88, "text": "🟢 <b>CC</b> (3min)", "parse_mode": "HTML"})
    );
}

#[tokio::test]
async fn telegram_edit_not_modified_is_success() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(tg_error(
            400,
            "Bad Request: message is not modified: specified new message content and reply markup are exactly the same",
        ))
        .mount(&server)
        .await;
    let mut msg = outgoing(tg_dest("5551234", None), Body::plain("same"));
    msg.edit_of = Some("5".to_owned());
    let delivery = telegram(&server.uri()).send(&msg).await.unwrap();
    assert_eq!(delivery.message_id.as_deref(), Some("5"));
}

#[tokio::test]
async fn telegram_token_never_in_errors_or_debug() {
    let msg = outgoing(tg_dest("5551234", Some("369520")), Body::plain("x"));

    // Connection refused.
    let channel = telegram(&closed_port_url());
    let err = channel.send(&msg).await.unwrap_err();
    assert!(
        matches!(err, ChannelError::Transient(ref m) if m.contains("connection refused")),
        "{err:?}"
    );
    assert_no_secrets(&err.to_string());
    assert_no_secrets(&format!("{err:?}"));
    assert_no_secrets(&format!("{channel:?}"));
    assert_no_secrets(&format!(
        "{:?}",
        AnyChannel::TelegramDirect(channel.clone())
    ));

    // Timeout.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(tg_ok(1).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let mut settings = telegram_settings(&server.uri());
    settings.timeouts.request = Duration::from_millis(300);
    let err = TelegramDirect::new(settings)
        .unwrap()
        .send(&msg)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ChannelError::Transient(ref m) if m.contains("no answer")),
        "{err:?}"
    );
    assert_no_secrets(&err.to_string());
    assert_no_secrets(&format!("{err:?}"));

    // An error body that echoes the URL back.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(tg_error(
            400,
            &format!("Bad Request: bad url /bot{BOT_TOKEN}/sendMessage"),
        ))
        .mount(&server)
        .await;
    let err = telegram(&server.uri()).send(&msg).await.unwrap_err();
    assert_no_secrets(&err.to_string());
}

/// Tags are balanced: every closing tag closes the innermost open one, and
/// nothing stays open.
fn assert_balanced(chunk: &str) {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = chunk;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("unterminated tag") + start;
        let tag = &rest[start + 1..end];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "in chunk {chunk:.200}");
        } else {
            stack.push(tag.split_whitespace().next().unwrap().to_owned());
        }
        rest = &rest[end + 1..];
    }
    assert!(stack.is_empty(), "unclosed {stack:?}");
}

// ---------------------------------------------------------------- telegram wake

fn fake_openclaw(dir: &Path, script: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("openclaw");
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn wake_with(session_id: Option<&str>, session_key: Option<&str>) -> Wake {
    Wake {
        idempotency_key: "run1:wake:1".to_owned(),
        session_key: session_key.map(str::to_owned),
        session_id: session_id.map(str::to_owned),
        destination: tg_dest("-1001234567890", Some("369520")),
        text: "[CC:single] exit=0 wake".to_owned(),
        argv_text: None,
    }
}

fn telegram_with_program(program: PathBuf, wake_timeout: Duration) -> TelegramDirect {
    let mut settings = telegram_settings(&closed_port_url());
    settings.openclaw_program = program;
    settings.wake_timeout = wake_timeout;
    TelegramDirect::new(settings).unwrap()
}

const WAKE_OK_JSON: &str = r#"{
  "runId": "c63c3f62", "status": "ok", "summary": "completed",
  "result": {"payloads": [{"text": "FAKE-REPLY ok", "mediaUrl": null}], "meta": {"durationMs": 1113}},
  "deliveryStatus": {"requested": true, "attempted": true, "status": "sent", "succeeded": true, "resultCount": 1}
}"#;

#[tokio::test]
async fn telegram_wake_runs_openclaw_agent_and_checks_json() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec");
    std::fs::create_dir(&rec).unwrap();
    // Records argv, and the message file (content, its mode, its directory's mode, its path).
    let program = fake_openclaw(
        dir.path(),
        &format!(
            "cd '{}'\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > args\n\
             f=; prev=; for a in \"$@\"; do [ \"$prev\" = --message-file ] && f=$a; prev=$a; done\n\
             cat \"$f\" > message; stat -c %a \"$f\" \"$(dirname \"$f\")\" > modes; echo \"$f\" > path\n\
             cat <<'EOF'\n{WAKE_OK_JSON}\nEOF",
            rec.display()
        ),
    );
    let channel = telegram_with_program(program, Duration::from_secs(30));
    let ack = channel
        .wake(&wake_with(
            Some("fe321555-0437-44a8-a0fe-2d9d9f56b7ad"),
            Some("agent:main:x"),
        ))
        .await
        .unwrap();
    assert_eq!(
        ack.detail.as_deref(),
        Some("completed and delivered runId=c63c3f62")
    );
    let args = std::fs::read_to_string(rec.join("args")).unwrap();
    let file = std::fs::read_to_string(rec.join("path")).unwrap();
    let file = file.trim();
    assert_eq!(
        args.lines().collect::<Vec<_>>(),
        vec![
            "agent",
            "--session-id",
            "fe321555-0437-44a8-a0fe-2d9d9f56b7ad",
            "--message-file",
            file,
            "--deliver",
            "--json",
            "--timeout",
            "30"
        ]
    );
    // The text is not in argv (`ps` shows argv to every local user): it was
    // in a 0600 file in a 0700 directory, removed after the wake.
    assert!(!args.contains("[CC:single]"), "{args}");
    assert_eq!(
        std::fs::read_to_string(rec.join("message")).unwrap(),
        "[CC:single] exit=0 wake"
    );
    assert_eq!(
        std::fs::read_to_string(rec.join("modes")).unwrap(),
        "600\n700\n"
    );
    assert!(!Path::new(file).exists(), "{file} left behind");
    assert!(!Path::new(file).parent().unwrap().exists());
    assert_no_secrets(&args);
}

#[tokio::test]
async fn telegram_wake_failure_json_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let program = fake_openclaw(
        dir.path(),
        r#"echo '{"ok": false, "error": {"type": "cli_error", "message": "Delivering to Telegram requires target <chatId>"}}'
echo '[openclaw] The CLI command failed.' >&2
exit 1"#,
    );
    let channel = telegram_with_program(program, Duration::from_secs(30));
    let err = channel
        .wake(&wake_with(Some("0000"), None))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ChannelError::Permanent(ref m) if m.contains("requires target <chatId>") && m.contains("exit 1")),
        "{err:?}"
    );
}

#[tokio::test]
async fn telegram_wake_undelivered_reply_is_permanent() {
    let dir = tempfile::tempdir().unwrap();
    let program = fake_openclaw(
        dir.path(),
        r#"echo '{"runId": "r", "status": "ok", "summary": "completed", "deliveryStatus": {"requested": true, "attempted": true, "status": "failed", "succeeded": false}}'"#,
    );
    let channel = telegram_with_program(program, Duration::from_secs(30));
    let err = channel
        .wake(&wake_with(None, Some("agent:main:main")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ChannelError::Permanent(ref m) if m.contains("not delivered") && m.contains("failed")),
        "{err:?}"
    );
}

#[tokio::test]
async fn telegram_wake_times_out_and_missing_program_is_permanent() {
    let dir = tempfile::tempdir().unwrap();
    let program = fake_openclaw(dir.path(), "sleep 30");
    let channel = telegram_with_program(program, Duration::from_secs(1));
    let started = std::time::Instant::now();
    let err = channel.wake(&wake_with(Some("u"), None)).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        matches!(err, ChannelError::Transient(ref m) if m.contains("did not finish")),
        "{err:?}"
    );

    let channel =
        telegram_with_program(dir.path().join("no-such-openclaw"), Duration::from_secs(1));
    let err = channel.wake(&wake_with(Some("u"), None)).await.unwrap_err();
    assert!(
        matches!(err, ChannelError::Permanent(ref m) if m.contains("telegram.openclaw_program")),
        "{err:?}"
    );
    let err = channel.wake(&wake_with(None, None)).await.unwrap_err();
    assert!(matches!(err, ChannelError::Permanent(_)), "{err:?}");
}
