//! Channels: where messages and wakes are delivered. Delivery only.
//!
//! A channel takes a rendered [`Outgoing`] message (or a [`Wake`]) and delivers it,
//! reporting a typed [`ChannelError`] when it cannot, so the orchestrator's outbox
//! can decide whether and when to retry. Channels never sleep, retry or write files
//! (the console channel's `notifications.jsonl` is its delivery medium, not state).
//!
//! Channels defined outside the crate plug in through [`custom::DynChannel`]
//! and [`AnyChannel::Custom`].

pub mod console;
pub mod custom;
pub mod factory;
pub mod message_tool;
pub mod telegram_direct;
pub mod telegram_text;
pub mod whatsapp_gateway;

use std::time::Duration;

use enum_dispatch::enum_dispatch;
use serde::{Deserialize, Serialize};

pub use crate::channels::console::Console;
pub use crate::channels::custom::{CustomChannel, DynChannel};
pub use crate::channels::message_tool::MessageTool;
pub use crate::channels::telegram_direct::{TelegramDirect, TelegramDirectSettings};
pub use crate::channels::whatsapp_gateway::WhatsappGateway;
pub use crate::core::model::message::{Attachment, Body, Destination, MessageKind, Outgoing, Wake};

pub use crate::channels::factory::{
    auto_channel_kind, build_channel, build_channel_with_env, channel_kind, for_run,
    for_run_or_console, named_for_run,
};
pub use crate::core::config::ChannelKind;
use crate::core::openclaw::agent::{self, AgentWakeError};
use crate::core::openclaw::gateway::GatewayError;

/// What a channel reports after delivering.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Delivery {
    /// Id of the message the channel created (for later edits and replies).
    pub message_id: Option<String>,
}

/// How a wake error begins when the agent was woken and its turn ran, but its
/// reply did not reach the chat (the human is told that, not "not woken").
pub use crate::core::openclaw::agent::WOKEN_BUT_UNDELIVERED;

impl From<AgentWakeError> for ChannelError {
    fn from(e: AgentWakeError) -> Self {
        match e {
            AgentWakeError::Permanent(m) => ChannelError::Permanent(m),
            AgentWakeError::Transient(m) => ChannelError::Transient(m),
        }
    }
}

/// Wake through `openclaw agent` (telegram-direct, and message-tool for
/// thread sessions); `clean` redacts secrets from quoted CLI output, and no
/// variable of the wake's environment holds one of `hidden`.
pub(crate) async fn openclaw_agent_wake(
    program: &std::path::Path,
    turn_timeout: Duration,
    wake: &Wake,
    clean: &(dyn Fn(&str) -> String + Sync),
    hidden: &[&str],
) -> Result<WakeAck, ChannelError> {
    let target = agent::AgentWake {
        session_id: wake.session_id.as_deref(),
        session_key: wake.session_key.as_deref(),
        text: &wake.text,
        hidden,
    };
    let detail = agent::wake(program, turn_timeout, target, clean).await?;
    Ok(WakeAck {
        detail: Some(detail),
    })
}

/// Wake through `openclaw system event --session-key KEY --mode now` (a run
/// under OpenClaw's agent `exec` whose follower is gone: the CLI refuses
/// `openclaw agent` there, the gateway's `sessions_send` refuses thread
/// sessions). The text is the wake's [`Wake::argv_text`], never its full
/// text: argv is visible to every local user in `ps`, so it carries no result
/// content, only the status line, where the output is and how to read it.
pub(crate) async fn openclaw_system_event_wake(
    program: &std::path::Path,
    wake: &Wake,
    clean: &(dyn Fn(&str) -> String + Sync),
    hidden: &[&str],
) -> Result<WakeAck, ChannelError> {
    // An outbox item queued before `argv_text` existed: a bare notice.
    let text = wake
        .argv_text
        .as_deref()
        .unwrap_or("[clawrun] a run ended: `clawrun list` shows it, `clawrun show <id>` reads it.");
    let detail = crate::core::openclaw::system_event::wake(
        program,
        wake.session_key.as_deref(),
        text,
        hidden,
        clean,
    )
    .await?;
    Ok(WakeAck {
        detail: Some(detail),
    })
}

/// What a channel reports after a wake.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WakeAck {
    /// Channel-specific confirmation (run id, status).
    pub detail: Option<String>,
}

/// Why a delivery failed. Messages never contain secrets: errors that could
/// carry a URL with a token are redacted before they are built, which is why
/// sources are kept as text here rather than as `reqwest::Error`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChannelError {
    /// Rate limited: try again after this long.
    #[error("rate limited: retry after {}s", .0.as_secs())]
    RetryAfter(Duration),
    /// A failure that may pass (network error, timeout, 5xx).
    #[error("temporary failure: {0}")]
    Transient(String),
    /// A failure that retrying will not fix (bad request, bad token, no such thread).
    #[error("{0}")]
    Permanent(String),
    /// The channel cannot do this (e.g. wake on the console).
    #[error("not supported by this channel: {0}")]
    Unsupported(&'static str),
}

impl ChannelError {
    /// Whether retrying later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ChannelError::RetryAfter(_) | ChannelError::Transient(_) => true,
            ChannelError::Permanent(_) | ChannelError::Unsupported(_) => false,
        }
    }
}

/// How a gateway failure counts for the outbox: 429 waits, network trouble and
/// 5xx are retried, the rest is final.
impl From<GatewayError> for ChannelError {
    fn from(e: GatewayError) -> Self {
        match &e {
            GatewayError::RateLimited { retry_after } => ChannelError::RetryAfter(*retry_after),
            GatewayError::ToolFailed { .. }
            | GatewayError::Unavailable { .. }
            | GatewayError::Timeout { .. }
            | GatewayError::Unreachable { .. } => ChannelError::Transient(e.to_string()),
            GatewayError::Unauthorized { .. }
            | GatewayError::BadRequest { .. }
            | GatewayError::ToolNotAvailable { .. }
            | GatewayError::Blocked { .. }
            | GatewayError::ToolError { .. } => ChannelError::Permanent(e.to_string()),
            GatewayError::Unexpected { status, .. } if *status >= 500 => {
                ChannelError::Transient(e.to_string())
            }
            GatewayError::Unexpected { .. } => ChannelError::Permanent(e.to_string()),
        }
    }
}

/// A chat destination; async because delivery is I/O.
#[enum_dispatch]
#[allow(async_fn_in_trait)] // crate-internal dispatch; futures are Send for every concrete channel
pub trait Channel {
    /// The channel's type name as in config: "console", "telegram-direct", ….
    fn id(&self) -> &str;
    /// Deliver one message.
    async fn send(&self, msg: &Outgoing) -> Result<Delivery, ChannelError>;
    /// Wake the orchestrating agent.
    async fn wake(&self, wake: &Wake) -> Result<WakeAck, ChannelError>;
}

/// The closed set of channels.
#[enum_dispatch(Channel)]
#[derive(Debug, Clone)]
pub enum AnyChannel {
    /// stderr + `notifications.jsonl` in the run directory.
    Console(Console),
    /// Telegram Bot API directly; wakes through `openclaw agent`.
    TelegramDirect(TelegramDirect),
    /// WhatsApp through the gateway's `message` tool; wakes through `sessions_send`.
    WhatsappGateway(WhatsappGateway),
    /// Any network through the gateway's `message` tool; wakes through `sessions_send`.
    MessageTool(MessageTool),
    /// A channel defined outside this crate ([`DynChannel`]). Only a library
    /// caller can choose it, by passing it to the orchestrator; it has no
    /// config name, so what it leaves undelivered is for the caller to flush.
    Custom(CustomChannel),
}
