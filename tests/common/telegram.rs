//! The Telegram forum topic world of the integration tests: the topic's key,
//! the fake gateway that knows it ([`super::gateway`]), a fake Bot API, and a
//! sandbox whose `openclaw.json` names both, with a fake `openclaw` CLI that
//! records the wake (its argv, environment and message file under the
//! sandbox root).

use serde_json::json;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{Sandbox, gateway};

/// The gateway token in the sandbox's `openclaw.json`.
pub const GW_TOKEN: &str = "gw-token-SECRET-7f3a";
/// The bot token in it.
pub const BOT_TOKEN: &str = "123456789:AAbotSECRETtokenZZ";
/// The forum chat.
pub const CHAT: &str = "-1001234567890";
/// The topic.
pub const TOPIC: &str = "42";
/// The topic session's OpenClaw session id.
pub const SESSION_UUID: &str = "8d2f4c1e-0a1b-4c2d-8e3f-405162738495";

/// The topic's session key.
pub fn key() -> String {
    format!("agent:main:telegram:group:{CHAT}:topic:{TOPIC}")
}

/// `openclaw.json` with the gateway on `gateway_port` and the Bot API at
/// `api_root`, and the fake `openclaw` CLI of the wake.
pub fn setup(sb: &Sandbox, gateway_port: u16, api_root: &str) {
    gateway::write_openclaw_json(
        sb,
        &json!({
            "gateway": {"port": gateway_port, "auth": {"token": GW_TOKEN}},
            "channels": {"telegram": {"botToken": BOT_TOKEN, "apiRoot": api_root}}
        }),
    );
    // The OpenClaw CLI used for the wake: records its argv and environment (each
    // file whole: written aside, then renamed), answers like the real one.
    let fake = sb.bin.join("openclaw");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{0}.tmp' && mv '{0}.tmp' '{0}'\nenv > '{1}.tmp' && mv '{1}.tmp' '{1}'\nf=; prev=; for a in \"$@\"; do [ \"$prev\" = --message-file ] && f=$a; prev=$a; done\n[ -n \"$f\" ] && cat \"$f\" > '{2}'\necho '{{\"runId\":\"r1\",\"status\":\"ok\",\"summary\":\"completed\",\"deliveryStatus\":{{\"requested\":true,\"attempted\":true,\"status\":\"sent\",\"succeeded\":true}}}}'\n",
            sb.root.join("openclaw.argv").display(),
            sb.root.join("openclaw.env").display(),
            sb.root.join("openclaw.message").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The gateway knows the topic session; every tool call answers its list.
pub async fn mount_gateway(server: &MockServer) {
    let topic = gateway::session(
        &key(),
        SESSION_UUID,
        json!({"channel": "telegram", "to": format!("telegram:{CHAT}"), "threadId": TOPIC}),
    );
    gateway::mount_tools(server, gateway::tool_result(&gateway::sessions(&[topic]))).await;
}

/// The Bot API accepts every sendMessage and editMessageText (as message 777
/// in [`CHAT`]).
pub async fn mount_bot(server: &MockServer) {
    mount_bot_api(server, 777, -1_001_234_567_890).await;
}

/// The Bot API accepts every sendMessage and editMessageText, answering
/// `message_id` in `chat_id`.
pub async fn mount_bot_api(server: &MockServer, message_id: i64, chat_id: i64) {
    Mock::given(method("POST"))
        .and(path_regex(r"^/bot[^/]+/(sendMessage|editMessageText)$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true,
            "result": {"message_id": message_id, "chat": {"id": chat_id}, "date": 0}
        })))
        .mount(server)
        .await;
}

/// A sandbox for runs on the topic route: the fake gateway and Bot API on
/// `server`, the fake `openclaw`, and `clawrun.toml` = `toml`.
pub async fn topic_sandbox(server: &MockServer, toml: &str) -> Sandbox {
    mount_gateway(server).await;
    mount_bot(server).await;
    let sb = Sandbox::new();
    setup(&sb, server.address().port(), &server.uri());
    std::fs::write(sb.openclaw_home().join("clawrun.toml"), toml).unwrap();
    sb
}
