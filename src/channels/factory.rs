//! The one channel factory: clawrun's config, OpenClaw's config and the
//! secrets they name (read through an [`Env`]) in, a ready [`AnyChannel`] out.
//! Also the `auto` choice of a [`ChannelKind`] for a route's network.
//!
//! Tokens are read here, at build time only: a run directory records the
//! channel *kind* and the route, never a secret.

use crate::channels::WhatsappGateway;
use crate::channels::{AnyChannel, Console, MessageTool, TelegramDirect, TelegramDirectSettings};
use crate::core::config::{ChannelKind, Config, NotifyChannel};
use crate::core::error::ConfigError;
use crate::core::openclaw::agent;
use crate::core::openclaw::config::{self as openclaw_config, OpenclawConfig};
use crate::core::store::paths::{Env, ProcessEnv};

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
        NotifyChannel::Kind(kind) => return kind,
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
    let gateway = || openclaw_config::gateway_client(cfg, oc, env);
    // Under OpenClaw's agent `exec` (a run whose exec follower is gone),
    // `openclaw agent` is refused and `sessions_send` refuses thread
    // sessions: wakes take `openclaw system event` instead.
    let in_exec = agent::in_openclaw_exec(env);
    Ok(match kind {
        ChannelKind::Console => AnyChannel::Console(Console::new(None)),
        ChannelKind::WhatsappGateway => {
            let channel = WhatsappGateway::new(gateway()?);
            AnyChannel::WhatsappGateway(if in_exec {
                channel.with_exec_wake(cfg.telegram.openclaw_program.clone())
            } else {
                channel
            })
        }
        ChannelKind::MessageTool => {
            let tool = MessageTool::new(gateway()?, cfg.telegram.account.clone()).with_agent_cli(
                cfg.telegram.openclaw_program.clone(),
                cfg.telegram.wake_timeout,
            );
            AnyChannel::MessageTool(if in_exec { tool.with_exec_wake() } else { tool })
        }
        ChannelKind::TelegramDirect => {
            let token = openclaw_config::telegram_bot_token(cfg, oc, env)?;
            let settings = TelegramDirectSettings {
                api_base: openclaw_config::telegram_api_base(cfg, oc)?,
                token: token.value,
                token_source: token.source,
                timeouts: openclaw_config::http_timeouts(cfg),
                openclaw_program: cfg.telegram.openclaw_program.clone(),
                wake_timeout: cfg.telegram.wake_timeout,
            };
            let mut channel =
                TelegramDirect::new(settings).map_err(|e| ConfigError::Invalid(e.to_string()))?;
            if in_exec {
                channel = channel.with_exec_wake();
            }
            AnyChannel::TelegramDirect(channel)
        }
    })
}
