//! Where a run's messages go: resolving its route from the flags, the session
//! key, the config and the gateway, choosing the channel type, and building
//! that channel when the run (or a later outbox flush) delivers.
//!
//! Tokens are read from config at build time only; the run directory records
//! the channel *type* and the route, never a secret.

use std::path::Path;

use crate::channels::{self, AnyChannel, console};
use crate::core::config::{ChannelKind, Config, NotifyChannel};
use crate::core::error::{Error, Result};
use crate::core::openclaw::config::{self as openclaw_config, OpenclawConfig};
use crate::core::openclaw::gateway::{GatewayClient, GatewayError};
use crate::core::openclaw::session_lookup::SessionMeta;
use crate::core::routing::{
    self, ConfiguredRoute, GatewaySessions, LocalSessionFiles, Network, NoGateway, Route,
    RouteInput, RoutingError, WorkdirRoute,
};
use crate::core::store::paths::{Paths, ProcessEnv};

/// Both config files, loaded and validated.
#[derive(Debug, Clone)]
pub struct Configs {
    /// `clawrun.toml`.
    pub config: Config,
    /// `openclaw.json`.
    pub openclaw: OpenclawConfig,
}

impl Configs {
    /// Load both.
    ///
    /// # Errors
    /// Unreadable or invalid files (unknown keys in `clawrun.toml` included).
    /// `[gateway] url` not set: `$CLAWRUN_GATEWAY_URL` (set by `run --node`
    /// for the run it starts on a node) gives it.
    pub fn load(paths: &Paths) -> Result<Self> {
        use crate::core::store::paths::Env as _;
        let mut config = Config::load(&paths.config_file)?;
        if config.gateway.url.is_none() {
            config.gateway.url = ProcessEnv.var(openclaw_config::GATEWAY_URL_ENV_NAME);
        }
        Ok(Self {
            config,
            openclaw: OpenclawConfig::load(&paths.openclaw_config)?,
        })
    }

    fn gateway(&self) -> Option<GatewayClient> {
        openclaw_config::gateway_client(&self.config, &self.openclaw, &ProcessEnv).ok()
    }
}

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
pub async fn resolve(input: &RouteInput, configs: &Configs, paths: &Paths) -> Result<Route> {
    let local = LocalSessionFiles::new(paths.openclaw_home.clone());
    let Some(client) = configs.gateway() else {
        return routing::resolve_route(input, &NoGateway, &local)
            .await
            .map_err(|e| Error::usage(e.to_string()));
    };
    match routing::resolve_route(input, &GatewaySessions::new(client.clone()), &local).await {
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
pub async fn list_sessions(configs: &Configs) -> Result<Vec<SessionMeta>> {
    let client = openclaw_config::gateway_client(&configs.config, &configs.openclaw, &ProcessEnv)?;
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
pub async fn delivery_blocked(kind: ChannelKind, configs: &Configs) -> Option<GatewayDown> {
    if !needs_gateway(kind) {
        return None;
    }
    gateway_down(&configs.gateway()?).await
}

/// The channel type for `route` under `[notify] channel`.
///
/// # Errors
/// A route to a chat network that no configured channel can reach (no bot
/// token, no gateway token): that is an error, never a silent console fallback.
pub fn channel_kind(route: &Route, configs: &Configs) -> Result<ChannelKind> {
    let network = match &route.channel {
        Network::Console => return Ok(ChannelKind::Console),
        other => other.as_str(),
    };
    let kind = channels::auto_channel_kind(
        configs.config.notify.channel,
        Some(network),
        &configs.config,
        &configs.openclaw,
        &ProcessEnv,
    );
    if kind == ChannelKind::Console
        && configs.config.notify.channel != NotifyChannel::Kind(ChannelKind::Console)
    {
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

/// Build the channel of `kind` for the run in `run_dir` through the channel
/// factory ([`channels::build_channel`]); the console logs to the run's
/// `notifications.jsonl`.
///
/// # Errors
/// A channel whose token or settings are missing.
pub fn build_kind(kind: ChannelKind, run_dir: &Path, configs: &Configs) -> Result<AnyChannel> {
    let mut channel = channels::build_channel(kind, &configs.config, &configs.openclaw)?;
    if let AnyChannel::Console(console) = &mut channel {
        console.log_path = Some(run_dir.join(console::NOTIFICATIONS_FILE_NAME));
    }
    Ok(channel)
}
