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
pub use crate::core::model::message::{
    Attachment, Body, Destination, MessageKind, Outgoing, Wake,
};

use crate::core::config::{Config, NotifyChannel};
use crate::core::error::ConfigError;
use crate::core::openclaw::config::{self as openclaw_config, OpenclawConfig};
use crate::core::openclaw::gateway::{GatewayClient, GatewayError, HttpTimeouts};
use crate::core::store::paths::{Env, ProcessEnv};

/// What a channel reports after delivering.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Delivery {
    /// Id of the message the channel created (for later edits and replies).
    pub message_id: Option<String>,
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

/// A concrete channel type, as named in config (`[notify] channel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChannelKind {
    /// [`Console`].
    Console,
    /// [`TelegramDirect`].
    TelegramDirect,
    /// [`WhatsappGateway`].
    WhatsappGateway,
    /// [`MessageTool`].
    MessageTool,
}

impl ChannelKind {
    /// The kind with config name `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            ChannelKind::Console,
            ChannelKind::TelegramDirect,
            ChannelKind::WhatsappGateway,
            ChannelKind::MessageTool,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }

    /// The config name (`telegram-direct`, …).
    pub fn name(self) -> &'static str {
        match self {
            ChannelKind::Console => "console",
            ChannelKind::TelegramDirect => "telegram-direct",
            ChannelKind::WhatsappGateway => "whatsapp-gateway",
            ChannelKind::MessageTool => "message-tool",
        }
    }
}

/// Resolve `[notify] channel` for a destination on network `network`
/// (`telegram`, `whatsapp`, …, as in the route).
///
/// An explicit choice is returned as is. `auto` picks: `telegram` with a bot token
/// available → telegram-direct; `whatsapp` → whatsapp-gateway; any other named
/// network, or telegram without a bot token, → message-tool when a gateway token is
/// available; otherwise console.
pub fn auto_channel_kind(
    choice: NotifyChannel,
    network: Option<&str>,
    cfg: &Config,
    oc: &OpenclawConfig,
    env: &dyn Env,
) -> ChannelKind {
    match choice {
        NotifyChannel::Console => return ChannelKind::Console,
        NotifyChannel::TelegramDirect => return ChannelKind::TelegramDirect,
        NotifyChannel::WhatsappGateway => return ChannelKind::WhatsappGateway,
        NotifyChannel::MessageTool => return ChannelKind::MessageTool,
        NotifyChannel::Auto => {}
    }
    let has_gateway = openclaw_config::gateway_token(cfg, oc, env).is_ok();
    match network {
        Some("telegram") if openclaw_config::telegram_bot_token(cfg, oc, env).is_ok() => {
            ChannelKind::TelegramDirect
        }
        Some("whatsapp") if has_gateway => ChannelKind::WhatsappGateway,
        Some(_) if has_gateway => ChannelKind::MessageTool,
        Some(_) | None => ChannelKind::Console,
    }
}

/// Build a channel of `kind` from clawrun's config and OpenClaw's, reading token
/// variables from the process environment. See [`build_channel_with_env`].
///
/// # Errors
/// As [`build_channel_with_env`].
pub fn build_channel(
    kind: ChannelKind,
    cfg: &Config,
    oc: &OpenclawConfig,
) -> Result<AnyChannel, ConfigError> {
    build_channel_with_env(kind, cfg, oc, &ProcessEnv)
}

/// Build a channel of `kind`; token variables are read through `env`.
///
/// [`ChannelKind::Console`] gives a console channel without a log file: set
/// [`Console::log_path`] to the run's `notifications.jsonl`.
///
/// # Errors
/// [`ConfigError::Invalid`] when a token is missing (saying where to put it), an
/// account choice is ambiguous, or an HTTP client cannot be built.
pub fn build_channel_with_env(
    kind: ChannelKind,
    cfg: &Config,
    oc: &OpenclawConfig,
    env: &dyn Env,
) -> Result<AnyChannel, ConfigError> {
    let timeouts = HttpTimeouts {
        connect: cfg.gateway.connect_timeout,
        request: cfg.gateway.request_timeout,
    };
    let gateway = || -> Result<GatewayClient, ConfigError> {
        let token = openclaw_config::gateway_token(cfg, oc, env)?;
        GatewayClient::new(
            openclaw_config::gateway_url(cfg, oc),
            token.value,
            token.source,
            timeouts,
        )
        .map_err(|e| ConfigError::Invalid(e.to_string()))
    };
    Ok(match kind {
        ChannelKind::Console => AnyChannel::Console(Console::new(None)),
        ChannelKind::WhatsappGateway => {
            AnyChannel::WhatsappGateway(WhatsappGateway::new(gateway()?))
        }
        ChannelKind::MessageTool => AnyChannel::MessageTool(
            MessageTool::new(gateway()?, cfg.telegram.account.clone()).with_agent_cli(
                cfg.telegram.openclaw_program.clone(),
                cfg.telegram.wake_timeout,
            ),
        ),
        ChannelKind::TelegramDirect => {
            let token = openclaw_config::telegram_bot_token(cfg, oc, env)?;
            let settings = TelegramDirectSettings {
                api_base: openclaw_config::telegram_api_base(cfg, oc)?,
                token: token.value,
                token_source: token.source,
                timeouts,
                openclaw_program: cfg.telegram.openclaw_program.clone(),
                wake_timeout: cfg.telegram.wake_timeout,
            };
            AnyChannel::TelegramDirect(
                TelegramDirect::new(settings).map_err(|e| ConfigError::Invalid(e.to_string()))?,
            )
        }
    })
}
