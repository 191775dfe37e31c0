//! Where a prepared run's messages and wake go: its routing flags
//! ([`RoutingOptions`]) with `clawrun.toml`'s workdir map and fallback
//! ([`route_input`]), resolved through [`crate::core::routing`] (or inherited
//! by a resume), its channel chosen and checked by the channel factory, and
//! the gateway asked whether it takes the messages now ([`route`]).

use crate::channels::{self, ChannelKind};
use crate::core::context::RunContext;
use crate::core::error::{Error, Result};
use crate::core::routing::{RouteInput, TelegramRoutingMode, gateway};
use crate::core::store::run::RunSpec;

use super::inherit::LastRun;
use super::setup::Prepared;

/// The routing flags of `clawrun run`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutingOptions {
    /// `--notify-channel`.
    pub notify_channel: Option<String>,
    /// `--notify-target`.
    pub notify_target: Option<String>,
    /// `--notify-thread-id`.
    pub notify_thread_id: Option<String>,
    /// `--notify-session-id`.
    pub notify_session_id: Option<String>,
    /// `--reply-to-message-id`.
    pub reply_to_message_id: Option<String>,
    /// `--telegram-routing-mode`.
    pub telegram_routing_mode: TelegramRoutingMode,
    /// `--allow-main-telegram`.
    pub allow_main_telegram: bool,
}

/// The routing input of a prepared run.
pub fn route_input(spec: &RunSpec, routing: &RoutingOptions, ctx: &RunContext) -> RouteInput {
    let (workdir_routes, fallback) = gateway::configured_routes(&ctx.config);
    RouteInput {
        session_key: spec.session_key.clone(),
        notify_channel: routing.notify_channel.clone(),
        notify_target: routing.notify_target.clone(),
        notify_thread_id: routing.notify_thread_id.clone(),
        notify_session_id: routing.notify_session_id.clone(),
        reply_to_message_id: routing.reply_to_message_id.clone(),
        telegram_routing_mode: routing.telegram_routing_mode,
        allow_main_telegram: routing.allow_main_telegram,
        project_dir: spec.request.project.clone(),
        workdir_routes,
        fallback,
    }
}

/// Resolve the route of a prepared run and choose its channel, checking that
/// the channel can be built (its token is there) and, when its messages go
/// through the gateway, that the gateway answers and takes the token. Reads
/// only.
///
/// A resume given no `--session` and no `--notify-*` flag inherits the
/// session key and route of the session's last run
/// ([`crate::core::routing::RouteSource::Inherited`]); any of those flags overrides it.
///
/// What the routed run needs besides (the approvals route, the wake's
/// program) is [`preflight`](fn@super::preflight)'s to check.
///
/// # Errors
/// Routing refusals, channel configuration errors, and a gateway that is down
/// or refuses the token unless [`Prepared::queue_delivery`] (exit 2).
pub async fn route(prepared: &mut Prepared, input: &RouteInput, ctx: &RunContext) -> Result<()> {
    let explicit = input.session_key.is_some()
        || input.notify_channel.is_some()
        || input.notify_target.is_some()
        || input.notify_thread_id.is_some()
        || input.notify_session_id.is_some();
    let last = prepared.last_run.as_ref().filter(|_| !explicit);
    let route = match last.and_then(LastRun::inherited_route) {
        Some((route, _)) => route,
        None => {
            let mut input = input.clone();
            if let Some(l) = last {
                input.session_key.clone_from(&l.session_key);
            }
            gateway::resolve(&input, ctx).await?
        }
    };
    let kind = channels::channel_kind(&route, ctx)?;
    if kind != ChannelKind::Console {
        channels::for_run(kind, &prepared.paths.state_dir, ctx)?;
    }
    if let Some(l) = last {
        // Nothing given: the key comes with the inherited route.
        prepared.spec.session_key = route.session_key.clone().or_else(|| l.session_key.clone());
    }
    prepared.spec.route = route;
    prepared.spec.channel = kind;
    if let Some(down) = gateway::delivery_blocked(kind, ctx).await {
        if !prepared.queue_delivery {
            return Err(Error::usage(format!(
                "❌ {down}: this run's messages and wake go through it ({} to {}).\n   Fix: {}.\n   \
                 Or launch anyway with --queue-delivery: the messages wait in the outbox until \
                 the gateway is back (`clawrun outbox flush`, or the next run's start, delivers them).",
                kind.name(),
                prepared.spec.route.channel,
                down.fix()
            )));
        }
        prepared.spec.route.warnings.push(format!(
            "{down}: --queue-delivery: the launch, result and wake wait in the outbox until \
             the gateway is back (`clawrun outbox flush` delivers them)"
        ));
    }
    Ok(())
}
