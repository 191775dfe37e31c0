//! Route resolution, rules 2 and 3 of the procedure in [`super`]: parse and
//! look up the session key, check the flags against what the session says,
//! pick the network and the target, and hand Telegram to [`super::telegram`].

use super::error::RoutingError;
use super::input::{Request, RouteInput, build_request, non_empty};
use super::telegram::{check_telegram_target, guard_non_thread_telegram, telegram_thread_route};
use crate::core::model::route::{Network, Route, RouteSource};
use crate::core::openclaw::session_key::{SessionKey, telegram_thread_id};
use crate::core::openclaw::session_lookup::{
    LocalSessions, MetaOrigin, SessionMeta, SessionSource,
};

/// What the session lookups found.
#[derive(Default)]
struct Found {
    /// The session's metadata, from the gateway or a local file.
    meta: Option<SessionMeta>,
    /// The gateway answered, and does not know the key.
    gateway_says_missing: bool,
}

/// Resolve where a run's notifications go and which session its wake reaches.
///
/// `sessions` is asked first; `local` is the fallback, also when the gateway
/// cannot be reached. Lookup failures never fail routing by themselves: they
/// are recorded in [`Route::warnings`] and routing goes on with what it has.
///
/// # Errors
/// A [`RoutingError`] whose `Display` is the message for the user (exit 2).
pub async fn resolve_route(
    input: &RouteInput,
    sessions: &impl SessionSource,
    local: &impl LocalSessions,
) -> Result<Route, RoutingError> {
    let Some(req) = build_request(input)? else {
        let mut route = Route::console(RouteSource::Default);
        route.session_id = non_empty(&input.notify_session_id);
        route.reply_to = non_empty(&input.reply_to_message_id);
        return Ok(route);
    };
    let key = req.key.as_deref().map(SessionKey::parse).transpose()?;
    let thread_id = thread_id_of(&req, key.as_ref())?;
    let key_channel = key
        .as_ref()
        .and_then(SessionKey::channel)
        .map(Network::from_name);
    if req.channel == Some(Network::Console) {
        return console_route(
            &req,
            key.as_ref(),
            thread_id.is_some(),
            key_channel.as_ref(),
        );
    }

    let mut warnings = Vec::new();
    let found = look_up(
        key.as_ref(),
        thread_id.as_deref(),
        sessions,
        local,
        &mut warnings,
    )
    .await;
    let meta = found.meta.as_ref();
    let session_id = check_session_id(&req, &found, &mut warnings)?;
    let account = req
        .account
        .clone()
        .or_else(|| meta.and_then(|m| m.account.clone()))
        .or_else(|| {
            key.as_ref()
                .and_then(SessionKey::account)
                .map(str::to_owned)
        });
    let mut route = Route {
        channel: Network::Console,
        target: None,
        thread_id: None,
        account,
        session_key: key.as_ref().map(|k| k.as_str().to_owned()),
        session_id,
        reply_to: req.reply_to.clone(),
        source: RouteSource::Flags,
        warnings: Vec::new(),
    };
    let channel = pick_network(&req, key.as_ref(), key_channel, thread_id.is_some(), meta)?;
    match thread_id {
        Some(thread) => thread_route(&mut route, &req, meta, key.as_ref(), channel, thread)?,
        None => {
            let Some(ch) = channel else {
                return Err(match &req.key {
                    Some(k) => RoutingError::TargetUnresolved { key: k.clone() },
                    None => RoutingError::TargetNeedsChannel,
                });
            };
            let facts = Facts {
                input,
                req: &req,
                key: key.as_ref(),
                found: &found,
            };
            non_thread_route(&mut route, &facts, ch, sessions, local, &mut warnings).await?;
        }
    }
    if let Some(configured) = req.configured {
        route.source = configured;
    }
    route.warnings = warnings;
    Ok(route)
}

/// The thread id: the flag must agree with the key (an explicit id that
/// differs from the key's is how the seed's injection slipped through).
fn thread_id_of(req: &Request, key: Option<&SessionKey>) -> Result<Option<String>, RoutingError> {
    match (&req.thread_id, key.and_then(SessionKey::thread_id)) {
        (Some(flag), Some(k)) if flag != k => Err(RoutingError::ThreadIdMismatch {
            key: req.key.clone().unwrap_or_default(),
            provided: flag.clone(),
            expected: k.to_owned(),
        }),
        (Some(flag), _) => Ok(Some(flag.clone())),
        (None, k) => Ok(k.map(str::to_owned)),
    }
}

/// `--notify-channel console`: no lookups; a Telegram thread cannot go there.
fn console_route(
    req: &Request,
    key: Option<&SessionKey>,
    has_thread: bool,
    key_channel: Option<&Network>,
) -> Result<Route, RoutingError> {
    if has_thread && key_channel.is_none_or(|c| *c == Network::Telegram) {
        return Err(RoutingError::ThreadRequiresTelegram);
    }
    let mut route = Route::console(req.configured.clone().unwrap_or(RouteSource::Flags));
    route.session_key = key.map(|k| k.as_str().to_owned());
    route.session_id = req.session_id.clone();
    route.reply_to = req.reply_to.clone();
    Ok(route)
}

/// Session metadata: gateway first, local thread files as the fallback (also
/// when the gateway is unreachable).
async fn look_up(
    key: Option<&SessionKey>,
    thread_id: Option<&str>,
    sessions: &impl SessionSource,
    local: &impl LocalSessions,
    warnings: &mut Vec<String>,
) -> Found {
    let mut found = Found::default();
    if let Some(k) = key {
        match sessions.find_session(k.as_str()).await {
            Ok(Some(m)) => found.meta = Some(m),
            Ok(None) => {
                found.gateway_says_missing = true;
                warnings.push(format!(
                    "session {k} not found in the gateway's sessions_list"
                ));
            }
            Err(e) => warnings.push(format!("session lookup failed: {e}")),
        }
    }
    let Some(t) = thread_id.filter(|_| found.meta.is_none()) else {
        return found;
    };
    match local.find_thread(key.map(SessionKey::agent_id), t).await {
        Ok(Some(m)) => {
            let path = match &m.origin {
                MetaOrigin::LocalFile { path } => path.display().to_string(),
                MetaOrigin::Gateway => "gateway".to_owned(),
            };
            // Topic files are named by thread id only, and topic ids repeat
            // across forum groups: a file about another chat is another
            // conversation, not this one.
            let key_chat = key.and_then(SessionKey::telegram_chat);
            match (key_chat, m.target.as_deref()) {
                (Some(kc), Some(ft)) if kc != ft => warnings.push(format!(
                    "ignored local session file {path}: it is about chat {ft}, the key names chat {kc}"
                )),
                _ => {
                    warnings.push(format!("used local session file {path}"));
                    found.meta = Some(m);
                }
            }
        }
        Ok(None) => {}
        Err(e) => warnings.push(format!("local session files: {e}")),
    }
    found
}

/// The session id to wake. A given one must agree with the session, whatever
/// the route; without metadata it is only accepted when it could not be
/// checked at all.
fn check_session_id(
    req: &Request,
    found: &Found,
    warnings: &mut Vec<String>,
) -> Result<Option<String>, RoutingError> {
    let resolved = found.meta.as_ref().and_then(|m| m.session_id.clone());
    if let (Some(provided), Some(expected)) = (&req.session_id, &resolved)
        && provided != expected
    {
        return Err(RoutingError::SessionIdMismatch {
            key: req.key.clone().unwrap_or_default(),
            provided: provided.clone(),
            expected: expected.clone(),
        });
    }
    if found.meta.is_none()
        && let (Some(k), Some(provided)) = (&req.key, &req.session_id)
    {
        // An unknown uuid makes `openclaw agent --session-id` create a new,
        // unrouted session.
        if found.gateway_says_missing {
            return Err(RoutingError::SessionUnknown {
                key: k.clone(),
                provided: provided.clone(),
            });
        }
        warnings.push(format!(
            "--notify-session-id {provided} not checked against {k}: no session metadata"
        ));
    }
    Ok(req.session_id.clone().or(resolved))
}

/// The network the route is on: flag, key, else the session's delivery context.
fn pick_network(
    req: &Request,
    key: Option<&SessionKey>,
    key_channel: Option<Network>,
    has_thread: bool,
    meta: Option<&SessionMeta>,
) -> Result<Option<Network>, RoutingError> {
    // A thread of a Telegram (or channel-less `main:thread`) key with another
    // --notify-channel; WhatsApp has no threads. Flags alone may route a thread
    // of another gateway channel (Discord, Slack).
    let thread_needs_telegram = has_thread
        && match &req.channel {
            None | Some(Network::Telegram) => false,
            Some(Network::Whatsapp | Network::Console) => true,
            Some(Network::Other(_)) => {
                key.is_some() && key_channel.as_ref().is_none_or(|c| *c == Network::Telegram)
            }
        };
    if thread_needs_telegram {
        return Err(RoutingError::ThreadRequiresTelegram);
    }
    Ok(match (&req.channel, key_channel) {
        (Some(f), Some(k)) if *f != k && req.target.is_none() => {
            return Err(RoutingError::ChannelMismatch {
                flag: f.to_string(),
                key_channel: k.to_string(),
                key: req.key.clone().unwrap_or_default(),
            });
        }
        (Some(f), _) => Some(f.clone()),
        (None, Some(k)) => Some(k),
        (None, None) if has_thread => Some(Network::Telegram),
        (None, None) => meta
            .and_then(|m| m.channel.as_deref())
            .map(Network::from_name),
    })
}

/// A thread route: Telegram's rules, or another gateway network's thread.
fn thread_route(
    route: &mut Route,
    req: &Request,
    meta: Option<&SessionMeta>,
    key: Option<&SessionKey>,
    channel: Option<Network>,
    thread: String,
) -> Result<(), RoutingError> {
    match channel {
        None | Some(Network::Telegram) => telegram_thread_route(route, req, meta, key, thread),
        // A thread of another gateway channel (Slack, Discord): routed there.
        Some(ch @ Network::Other(_)) => {
            let (target, source) = pick_target(req, meta, key, &ch);
            route.target = Some(target.ok_or_else(|| RoutingError::TargetUnresolved {
                key: req.key.clone().unwrap_or_default(),
            })?);
            route.source = source;
            route.channel = ch;
            route.thread_id = Some(thread);
            Ok(())
        }
        Some(Network::Whatsapp | Network::Console) => Err(RoutingError::ThreadRequiresTelegram),
    }
}

/// What a non-thread route is decided from.
struct Facts<'a> {
    input: &'a RouteInput,
    req: &'a Request,
    key: Option<&'a SessionKey>,
    found: &'a Found,
}

/// A route without a thread on network `ch`: a target must be known, Telegram
/// passes its guards, and a WhatsApp group the gateway does not know is refused.
async fn non_thread_route(
    route: &mut Route,
    facts: &Facts<'_>,
    ch: Network,
    sessions: &impl SessionSource,
    local: &impl LocalSessions,
    warnings: &mut Vec<String>,
) -> Result<(), RoutingError> {
    let Facts {
        input,
        req,
        key,
        found,
    } = facts;
    let (target, source) = pick_target(req, found.meta.as_ref(), *key, &ch);
    route.source = source;
    let unresolved = || RoutingError::TargetUnresolved {
        key: req.key.clone().unwrap_or_default(),
    };
    match &ch {
        Network::Telegram => {
            guard_non_thread_telegram(input, *key, target.as_deref(), sessions, local, warnings)
                .await?;
            let target = target.ok_or(RoutingError::TelegramTargetUnresolved)?;
            check_telegram_target(&target)?;
            if let Some(r) = &route.reply_to
                && telegram_thread_id(r).is_none()
            {
                return Err(RoutingError::BadReplyTo(r.clone()));
            }
            route.target = Some(target);
        }
        Network::Whatsapp => {
            if found.gateway_says_missing
                && let Some(k) = key.filter(|k| k.group_jid().is_some())
            {
                return Err(RoutingError::WhatsappSessionMissing {
                    key: k.as_str().to_owned(),
                });
            }
            route.target = Some(target.ok_or_else(unresolved)?);
        }
        Network::Other(_) | Network::Console => {
            route.target = Some(target.ok_or_else(unresolved)?);
        }
    }
    route.channel = ch;
    Ok(())
}

/// Target for a non-thread (or non-Telegram thread) route: flag, then the
/// session's delivery context (when on the same channel), then the key.
fn pick_target(
    req: &Request,
    meta: Option<&SessionMeta>,
    key: Option<&SessionKey>,
    channel: &Network,
) -> (Option<String>, RouteSource) {
    if let Some(t) = &req.target {
        return (Some(t.clone()), RouteSource::Flags);
    }
    if let Some(m) = meta
        && let Some(t) = &m.target
        && m.channel
            .as_deref()
            .is_none_or(|c| Network::from_name(c) == *channel)
    {
        return (Some(t.clone()), m.origin.route_source());
    }
    let from_key = key.and_then(|k| match channel {
        Network::Telegram => k.telegram_chat(),
        Network::Whatsapp | Network::Other(_) | Network::Console => {
            if k.channel().map(Network::from_name).as_ref() == Some(channel) {
                k.peer()
            } else {
                None
            }
        }
    });
    (from_key.map(str::to_owned), RouteSource::SessionKey)
}
