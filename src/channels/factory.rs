//! The one channel factory: clawrun's config, OpenClaw's config and the
//! secrets they name (read through an [`Env`]) in, a ready [`AnyChannel`] out.
//! Also the choice of a [`ChannelKind`] for a route ([`channel_kind`], with
//! `auto` resolved by [`auto_channel_kind`]), and a run's channel built from
//! its context ([`for_run`]; [`for_run_or_console`] is the one place a run
//! whose channel can no longer be built falls back to the console).
//!
//! Tokens are read here, at build time only: a run directory records the
//! channel *kind* and the route, never a secret.

use std::path::Path;

use crate::channels::WhatsappGateway;
use crate::channels::{AnyChannel, Console, MessageTool, TelegramDirect, TelegramDirectSettings};
use crate::core::config::{ChannelKind, Config, NotifyChannel, UnknownChannelKind};
use crate::core::context::RunContext;
use crate::core::error::{ConfigError, Error, Result as CoreResult};
use crate::core::model::route::{Network, Route};
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

/// The channel type for `route` under `[notify] channel`.
///
/// # Errors
/// A route to a chat network that no configured channel can reach (no bot
/// token, no gateway token): that is an error, never a silent console fallback.
pub fn channel_kind(route: &Route, ctx: &RunContext) -> CoreResult<ChannelKind> {
    let network = match &route.channel {
        Network::Console => return Ok(ChannelKind::Console),
        other => other.as_str(),
    };
    let choice = ctx.config.notify.channel;
    let kind = auto_channel_kind(
        choice,
        Some(network),
        &ctx.config,
        &ctx.openclaw,
        &ProcessEnv,
    );
    if kind == ChannelKind::Console && choice != NotifyChannel::Kind(ChannelKind::Console) {
        return Err(Error::usage(format!(
            "❌ Invalid routing: the route goes to {network} but no channel can reach it: \
             set gateway.auth.token in openclaw.json (or gateway.token_env in clawrun.toml){}",
            if network == "telegram" {
                ", or a Telegram bot token (channels.telegram.botToken / telegram.bot_token_env)"
            } else {
                ""
            }
        )));
    }
    Ok(kind)
}

/// The channel of type `kind` for the run in `run_dir`, from `ctx`'s
/// settings; the console logs to the run's `notifications.jsonl`.
///
/// # Errors
/// A channel whose token or settings are missing.
pub fn for_run(kind: ChannelKind, run_dir: &Path, ctx: &RunContext) -> CoreResult<AnyChannel> {
    let mut channel = build_channel(kind, &ctx.config, &ctx.openclaw)?;
    if let AnyChannel::Console(console) = &mut channel {
        console.log_path = Some(run_dir.join(super::console::NOTIFICATIONS_FILE_NAME));
    }
    Ok(channel)
}

/// [`for_run`] by the channel type's name as an outbox records it.
///
/// # Errors
/// An unknown channel type, or one that cannot be built.
pub fn named_for_run(kind: &str, run_dir: &Path, ctx: &RunContext) -> CoreResult<AnyChannel> {
    let kind: ChannelKind = kind
        .parse()
        .map_err(|e: UnknownChannelKind| Error::Config(ConfigError::Invalid(e.to_string())))?;
    for_run(kind, run_dir, ctx)
}

/// [`for_run`], or — when the settings checked at launch are gone (a token
/// removed) — the run's console, with the error saying why: every message
/// then stays on the console and in the outbox.
pub fn for_run_or_console(
    kind: ChannelKind,
    run_dir: &Path,
    ctx: &RunContext,
) -> (AnyChannel, Option<Error>) {
    match for_run(kind, run_dir, ctx) {
        Ok(channel) => (channel, None),
        Err(e) => {
            let log = run_dir.join(super::console::NOTIFICATIONS_FILE_NAME);
            (Console::new(Some(log)).into(), Some(e))
        }
    }
}
