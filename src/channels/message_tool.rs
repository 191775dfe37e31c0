//! The `message-tool` channel: any chat network the OpenClaw gateway knows
//! (Telegram, WhatsApp, Discord, Slack, …) through its `message` tool.
//!
//! - send: `{"action":"send","channel","target","message","threadId","silent",
//!   "replyTo","accountId"}` (absent fields omitted), with the outgoing message's
//!   idempotency key as the envelope's `idempotencyKey`. The text is the markdown
//!   body, else plain: the gateway renders Markdown for each network itself (for
//!   Telegram it escapes `<`/`&` and converts `**bold**` to HTML), so we never hand
//!   it our own HTML, which it could double-escape.
//! - wake: `sessions_send` with `timeoutSeconds: 0`; thread sessions (which
//!   `sessions_send` refuses) through `openclaw agent`; under OpenClaw's
//!   agent `exec` every wake through `openclaw system event`.
//!
//! Telegram's General forum topic (`thread_id` "1") is sent without `threadId`:
//! the Bot API rejects `message_thread_id=1`. Edits are posted as new messages and
//! attachments are not uploaded.

use serde_json::{Map, Value, json};

use crate::channels::{Channel, ChannelError, Delivery, Outgoing, Wake, WakeAck};
use crate::core::openclaw::gateway::GatewayClient;

/// Telegram's General forum topic id, which must not be sent as a thread id.
pub const GENERAL_TOPIC_ID: &str = "1";

/// Sends through the gateway's `message` tool to any configured chat network.
#[derive(Debug, Clone)]
pub struct MessageTool {
    gateway: GatewayClient,
    /// `accountId` for Telegram destinations that name none (`telegram.account`).
    telegram_account: Option<String>,
    /// The OpenClaw CLI, for waking thread sessions (which `sessions_send` refuses).
    openclaw_program: std::path::PathBuf,
    /// How long the woken agent's turn may take.
    wake_timeout: std::time::Duration,
    /// Under OpenClaw's agent `exec` the CLI refuses `openclaw agent`: every
    /// wake goes through `openclaw system event`.
    exec_wake: bool,
}

impl MessageTool {
    /// A channel using `gateway`; `telegram_account` is the `accountId` used for
    /// Telegram destinations that name no account.
    pub fn new(gateway: GatewayClient, telegram_account: Option<String>) -> Self {
        Self {
            gateway,
            telegram_account,
            openclaw_program: std::path::PathBuf::from("openclaw"),
            wake_timeout: std::time::Duration::from_secs(120),
            exec_wake: false,
        }
    }

    /// Use `program` (and `timeout` for the woken turn) to wake thread sessions.
    pub fn with_agent_cli(
        mut self,
        program: std::path::PathBuf,
        timeout: std::time::Duration,
    ) -> Self {
        self.openclaw_program = program;
        self.wake_timeout = timeout;
        self
    }

    /// Wake every session through `openclaw system event` (under OpenClaw's
    /// agent `exec`, where `openclaw agent` is refused and `sessions_send`
    /// refuses thread sessions).
    pub fn with_exec_wake(mut self) -> Self {
        self.exec_wake = true;
        self
    }
}

impl Channel for MessageTool {
    fn id(&self) -> &str {
        "message-tool"
    }

    async fn send(&self, msg: &Outgoing) -> Result<Delivery, ChannelError> {
        let dest = &msg.destination;
        let target = dest
            .target
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| {
                ChannelError::Permanent(
                    "message-tool needs a target (chat id, group JID, …) in the route".to_owned(),
                )
            })?;
        let mut args = Map::new();
        args.insert("action".into(), json!("send"));
        if let Some(channel) = dest.channel.as_deref().filter(|c| !c.is_empty()) {
            args.insert("channel".into(), json!(channel));
        }
        args.insert("target".into(), json!(target));
        let text = msg.body.markdown.as_deref().unwrap_or(&msg.body.plain);
        args.insert("message".into(), json!(text));
        let is_telegram = dest.channel.as_deref() == Some("telegram");
        let thread = dest
            .thread_id
            .as_deref()
            .filter(|t| !(t.is_empty() || (is_telegram && *t == GENERAL_TOPIC_ID)));
        if let Some(thread) = thread {
            args.insert("threadId".into(), json!(thread));
        }
        if msg.silent {
            args.insert("silent".into(), json!(true));
        }
        if let Some(reply_to) = &msg.reply_to {
            args.insert("replyTo".into(), json!(reply_to));
        }
        let default_account = self.telegram_account.as_ref().filter(|_| is_telegram);
        if let Some(account) = dest.account.as_ref().or(default_account) {
            args.insert("accountId".into(), json!(account));
        }
        let result = self
            .gateway
            .invoke("message", Value::Object(args), Some(&msg.idempotency_key))
            .await?;
        Ok(Delivery {
            message_id: message_id_of(&result),
        })
    }

    async fn wake(&self, wake: &Wake) -> Result<WakeAck, ChannelError> {
        if self.exec_wake {
            return super::openclaw_system_event_wake(
                &self.openclaw_program,
                wake,
                &|s: &str| s.to_owned(),
                &[],
            )
            .await;
        }
        // The gateway refuses `sessions_send` to thread sessions (Telegram topics
        // and DM threads); those are woken through the CLI, like telegram-direct.
        if wake.destination.thread_id.is_some() && wake.session_id.is_some() {
            return super::openclaw_agent_wake(
                &self.openclaw_program,
                self.wake_timeout,
                wake,
                &|s: &str| s.to_owned(),
                &[],
            )
            .await;
        }
        sessions_send(&self.gateway, wake).await
    }
}

/// `result.details.messageId` of a `message` send, as a string.
pub(crate) fn message_id_of(result: &Value) -> Option<String> {
    let id = result.pointer("/details/messageId")?;
    match id {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Wake through `sessions_send` without waiting for the agent's reply.
pub(crate) async fn sessions_send(
    gateway: &GatewayClient,
    wake: &Wake,
) -> Result<WakeAck, ChannelError> {
    // `sessionKey` accepts a key or a session uuid.
    let key = wake
        .session_key
        .as_deref()
        .or(wake.session_id.as_deref())
        .filter(|k| !k.trim().is_empty())
        .ok_or_else(|| {
            ChannelError::Permanent(
                "cannot wake the agent through sessions_send: the route has no session_key"
                    .to_owned(),
            )
        })?;
    let args = json!({
        "sessionKey": key,
        "message": wake.text,
        "timeoutSeconds": 0,
    });
    let result = gateway
        .invoke("sessions_send", args, Some(&wake.idempotency_key))
        .await?;
    let details = result.get("details");
    let field = |name: &str| {
        details
            .and_then(|d| d.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let detail = match (field("status"), field("runId")) {
        (Some(status), Some(run)) => format!("{status} runId={run}"),
        (Some(status), None) => status,
        (None, Some(run)) => format!("runId={run}"),
        (None, None) => "sent".to_owned(),
    };
    Ok(WakeAck {
        detail: Some(detail),
    })
}
