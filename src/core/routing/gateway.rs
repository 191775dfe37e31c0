//! What routing asks the gateway: a run's route resolved with the gateway's
//! session list ([`resolve`]), every session it lists (`clawrun route
//! --list`), and whether it can take a run's messages now ([`gateway_down`],
//! the launch's probe). The configured workdir map and fallback route come
//! from `clawrun.toml` ([`configured_routes`]).

use crate::core::config::{ChannelKind, Config};
use crate::core::context::RunContext;
use crate::core::error::{Error, Result};
use crate::core::openclaw::config as openclaw_config;
use crate::core::openclaw::gateway::{GatewayClient, GatewayError};
use crate::core::openclaw::session_lookup::SessionMeta;
use crate::core::store::paths::ProcessEnv;

use super::{
    ConfiguredRoute, GatewaySessions, LocalSessionFiles, NoGateway, Route, RouteInput,
    RoutingError, WorkdirRoute,
};

/// The workdir map and fallback route of `config`, in routing's terms.
pub fn configured_routes(config: &Config) -> (Vec<WorkdirRoute>, Option<ConfiguredRoute>) {
    let routes = config
        .routes
        .iter()
        .map(|r| WorkdirRoute {
            workdir: r.workdir.clone(),
            channel: r.target.channel.clone(),
            target: r.target.target.clone(),
            thread_id: r.target.thread_id.clone(),
            account: r.target.account.clone(),
            session_key: r.target.session_key.clone(),
        })
        .collect();
    let fallback = config.fallback_route.as_ref().map(|t| ConfiguredRoute {
        channel: t.channel.clone(),
        target: t.target.clone(),
        thread_id: t.thread_id.clone(),
        account: t.account.clone(),
        session_key: t.session_key.clone(),
    });
    (routes, fallback)
}

/// Resolve the route of a run: flags, session key, workdir map, fallback; the
/// gateway's `sessions_list` and the legacy local session files where needed.
///
/// A route that could not be resolved while the gateway was down (or refused
/// the token) is reported as that, with its fix: the key was not the mistake.
///
/// # Errors
/// [`Error::Usage`] with the routing message (`❌ Invalid routing: …`,
/// `❌ Unsafe routing blocked: …`), or the gateway's problem.
pub async fn resolve(input: &RouteInput, ctx: &RunContext) -> Result<Route> {
    let local = LocalSessionFiles::new(ctx.paths.openclaw_home.clone());
    let Some(client) = ctx.gateway() else {
        return super::resolve_route(input, &NoGateway, &local)
            .await
            .map_err(|e| Error::usage(e.to_string()));
    };
    match super::resolve_route(input, &GatewaySessions::new(client.clone()), &local).await {
        Ok(route) => Ok(route),
        Err(
            e @ (RoutingError::TargetUnresolved { .. }
            | RoutingError::TelegramTargetUnresolved
            | RoutingError::ThreadTargetUnresolved
            | RoutingError::ThreadSessionIdUnresolved),
        ) => match gateway_down(&client).await {
            Some(down) => Err(Error::usage(format!(
                "❌ {down}: the route cannot be resolved without it (its sessions_list knows \
                 the session's chat and id).\n   Fix: {}",
                down.fix()
            ))),
            None => Err(Error::from(e)),
        },
        Err(e) => Err(Error::from(e)),
    }
}

/// Every session the gateway lists, most recently updated first (`clawrun
/// route --list`): the keys a run can report to with `--session`.
///
/// # Errors
/// [`Error::Config`] when no gateway token is configured; [`Error::Usage`]
/// when the gateway cannot be reached, refuses the token or answers
/// something else than a session list (each bounded by the HTTP timeouts).
pub async fn list_sessions(ctx: &RunContext) -> Result<Vec<SessionMeta>> {
    let client = openclaw_config::gateway_client(&ctx.config, &ctx.openclaw, &ProcessEnv)?;
    let url = client.url().to_owned();
    GatewaySessions::new(client).list_all().await.map_err(|e| {
        Error::usage(format!(
            "❌ cannot list the sessions of the gateway at {url}: {e}"
        ))
    })
}

/// Why the gateway cannot take a run's messages now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayDown {
    /// No connection (refused, unreachable, no answer in time).
    #[error("gateway unreachable at {url} ({reason})")]
    Unreachable {
        /// Gateway URL.
        url: String,
        /// Short cause.
        reason: String,
    },
    /// The gateway answered 401.
    #[error("the gateway at {url} refused the token (from {token_source})")]
    TokenRefused {
        /// Gateway URL.
        url: String,
        /// Where the token came from.
        token_source: String,
    },
}

impl GatewayDown {
    /// How to fix it.
    pub fn fix(&self) -> String {
        match self {
            GatewayDown::Unreachable { .. } => "start the gateway (`openclaw gateway run`, or \
                 its service), or fix its URL (gateway.port in openclaw.json, or url under \
                 [gateway] in clawrun.toml); `clawrun doctor` checks it"
                .to_owned(),
            GatewayDown::TokenRefused { token_source, .. } => format!(
                "copy the gateway's current token (gateway.auth.token in its openclaw.json) \
                 into {token_source}; `clawrun doctor` checks it"
            ),
        }
    }
}

/// Ask the gateway for one session: `None` when it answers and accepts the
/// token (whatever else it says), else why it cannot be used.
pub async fn gateway_down(client: &GatewayClient) -> Option<GatewayDown> {
    match client
        .invoke("sessions_list", serde_json::json!({ "limit": 1 }), None)
        .await
    {
        Err(GatewayError::Unreachable { url, reason }) => {
            Some(GatewayDown::Unreachable { url, reason })
        }
        Err(GatewayError::Timeout { url, timeout }) => Some(GatewayDown::Unreachable {
            url,
            reason: format!("no answer within {}s", timeout.as_secs()),
        }),
        Err(GatewayError::Unauthorized { url, token_source }) => {
            Some(GatewayDown::TokenRefused { url, token_source })
        }
        // It answered: the token works, whatever the tool says.
        Ok(_)
        | Err(
            GatewayError::BadRequest { .. }
            | GatewayError::ToolNotAvailable { .. }
            | GatewayError::Blocked { .. }
            | GatewayError::RateLimited { .. }
            | GatewayError::ToolFailed { .. }
            | GatewayError::Unavailable { .. }
            | GatewayError::ToolError { .. }
            | GatewayError::Unexpected { .. },
        ) => None,
    }
}

/// Whether messages of `kind` travel through the gateway (so a launch needs
/// it reachable).
pub fn needs_gateway(kind: ChannelKind) -> bool {
    match kind {
        ChannelKind::WhatsappGateway | ChannelKind::MessageTool => true,
        ChannelKind::Console | ChannelKind::TelegramDirect => false,
    }
}

/// The gateway's problem for a run delivering through `kind`, if it has one.
pub async fn delivery_blocked(kind: ChannelKind, ctx: &RunContext) -> Option<GatewayDown> {
    if !needs_gateway(kind) {
        return None;
    }
    gateway_down(&ctx.gateway()?).await
}
