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
use crate::core::openclaw::gateway::GatewayClient;
use crate::core::routing::{
    self, ConfiguredRoute, GatewaySessions, LocalSessionFiles, Network, NoGateway, Route,
    RouteInput, WorkdirRoute,
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
    pub fn load(paths: &Paths) -> Result<Self> {
        Ok(Self {
            config: Config::load(&paths.config_file)?,
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
/// # Errors
/// [`Error::Usage`] with the routing message (`❌ Invalid routing: …`,
/// `❌ Unsafe routing blocked: …`).
pub async fn resolve(input: &RouteInput, configs: &Configs, paths: &Paths) -> Result<Route> {
    let local = LocalSessionFiles::new(paths.openclaw_home.clone());
    let route = match configs.gateway() {
        Some(client) => routing::resolve_route(input, &GatewaySessions::new(client), &local).await,
        None => routing::resolve_route(input, &NoGateway, &local).await,
    };
    route.map_err(Error::from)
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
