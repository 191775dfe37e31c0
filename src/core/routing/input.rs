//! What routing starts from: the flags ([`RouteInput`]), the configured
//! workdir map and fallback route, and their merge into one request
//! (rule 1 of the decision procedure in [`super`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::RoutingError;
use crate::core::model::route::{Network, RouteSource, TelegramRoutingMode};

/// A route from configuration: the fallback route, or the route part of a
/// [`WorkdirRoute`]. Fields mean the same as the `--notify-*` flags.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfiguredRoute {
    /// Channel name (`telegram`, `whatsapp`, `console`, another gateway channel).
    pub channel: Option<String>,
    /// Chat id, JID or other target.
    pub target: Option<String>,
    /// Thread/topic id.
    pub thread_id: Option<String>,
    /// Gateway account id.
    pub account: Option<String>,
    /// OpenClaw session key to resolve (and wake).
    pub session_key: Option<String>,
}

/// One entry of the workdir → route map (the plugin's `agentChannels`): runs
/// whose project dir is under `workdir` use this route, the longest match wins.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkdirRoute {
    /// Directory prefix (compared by path components; a trailing slash is ignored).
    pub workdir: PathBuf,
    /// Channel name.
    pub channel: Option<String>,
    /// Target.
    pub target: Option<String>,
    /// Thread/topic id.
    pub thread_id: Option<String>,
    /// Account id.
    pub account: Option<String>,
    /// Session key.
    pub session_key: Option<String>,
}

impl WorkdirRoute {
    /// The route part of the entry.
    pub fn route(&self) -> ConfiguredRoute {
        ConfiguredRoute {
            channel: self.channel.clone(),
            target: self.target.clone(),
            thread_id: self.thread_id.clone(),
            account: self.account.clone(),
            session_key: self.session_key.clone(),
        }
    }
}

/// Everything routing looks at, gathered from the CLI and config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteInput {
    /// `--session`: the OpenClaw session key the run belongs to.
    pub session_key: Option<String>,
    /// `--notify-channel`.
    pub notify_channel: Option<String>,
    /// `--notify-target`.
    pub notify_target: Option<String>,
    /// `--notify-thread-id`.
    pub notify_thread_id: Option<String>,
    /// `--notify-session-id`: the OpenClaw session uuid to wake.
    pub notify_session_id: Option<String>,
    /// `--reply-to-message-id`.
    pub reply_to_message_id: Option<String>,
    /// `--telegram-routing-mode`.
    pub telegram_routing_mode: TelegramRoutingMode,
    /// `--allow-main-telegram`.
    pub allow_main_telegram: bool,
    /// The run's project dir (absolute, for the workdir map).
    pub project_dir: PathBuf,
    /// The configured workdir → route map.
    pub workdir_routes: Vec<WorkdirRoute>,
    /// The configured fallback route.
    pub fallback: Option<ConfiguredRoute>,
}

/// The request after flags and config are merged.
pub(super) struct Request {
    pub(super) key: Option<String>,
    pub(super) channel: Option<Network>,
    pub(super) target: Option<String>,
    pub(super) thread_id: Option<String>,
    pub(super) account: Option<String>,
    pub(super) session_id: Option<String>,
    pub(super) reply_to: Option<String>,
    /// Set when a configured route stands in for the flags.
    pub(super) configured: Option<RouteSource>,
}

pub(super) fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn is_channel_name(name: &str) -> bool {
    !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Check a channel name from a flag or config entry; names other than
/// telegram/whatsapp/console need a target.
fn check_channel(
    origin: &str,
    name: Option<String>,
    target: &Option<String>,
) -> Result<Option<Network>, RoutingError> {
    let Some(name) = name else { return Ok(None) };
    if !is_channel_name(&name) {
        return Err(RoutingError::BadChannelName {
            origin: origin.to_owned(),
            name,
        });
    }
    let channel = Network::from_name(&name);
    if let Network::Other(n) = &channel
        && target.is_none()
    {
        return Err(RoutingError::ChannelNeedsTarget {
            origin: origin.to_owned(),
            name: n.clone(),
        });
    }
    Ok(Some(channel))
}

/// The workdir map entry whose `workdir` is the longest component-wise prefix
/// of `project` (so `/a/b/` matches `/a/b` and `/a/b/c`, but not `/a/bc`).
pub fn match_workdir<'a>(routes: &'a [WorkdirRoute], project: &Path) -> Option<&'a WorkdirRoute> {
    routes
        .iter()
        .filter(|r| !r.workdir.as_os_str().is_empty() && project.starts_with(&r.workdir))
        .max_by_key(|r| r.workdir.components().count())
}

pub(super) fn build_request(input: &RouteInput) -> Result<Option<Request>, RoutingError> {
    let target = non_empty(&input.notify_target);
    let channel = check_channel(
        "--notify-channel",
        non_empty(&input.notify_channel),
        &target,
    )?;
    let mut req = Request {
        key: non_empty(&input.session_key),
        channel,
        target,
        thread_id: non_empty(&input.notify_thread_id),
        account: None,
        session_id: non_empty(&input.notify_session_id),
        reply_to: non_empty(&input.reply_to_message_id),
        configured: None,
    };
    let explicit = req.key.is_some()
        || req.channel.is_some()
        || req.target.is_some()
        || req.thread_id.is_some();
    if explicit {
        return Ok(Some(req));
    }
    let (configured, source, origin) =
        if let Some(w) = match_workdir(&input.workdir_routes, &input.project_dir) {
            (
                w.route(),
                RouteSource::WorkdirMap {
                    workdir: w.workdir.clone(),
                },
                format!("workdir route {}: channel", w.workdir.display()),
            )
        } else if let Some(f) = &input.fallback {
            (
                f.clone(),
                RouteSource::Fallback,
                "fallback route: channel".to_owned(),
            )
        } else {
            return Ok(None);
        };
    req.target = non_empty(&configured.target);
    req.channel = check_channel(&origin, non_empty(&configured.channel), &req.target)?;
    req.key = non_empty(&configured.session_key);
    req.thread_id = non_empty(&configured.thread_id);
    req.account = non_empty(&configured.account);
    req.configured = Some(source);
    Ok(Some(req))
}
