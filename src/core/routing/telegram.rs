//! The Telegram rules: a thread route must be a valid forum topic of a known
//! chat with a session to wake (rule 3), and a non-thread route must not look
//! like a misrouted thread or DM (rule 4, the seed's A.4 step 5 guards).

use super::RECENT_THREAD_MAX_AGE;
use super::error::RoutingError;
use super::input::{Request, RouteInput};
use crate::core::model::route::{Network, Route, RouteSource, TelegramRoutingMode};
use crate::core::openclaw::session_key::{SessionKey, is_telegram_chat_id, telegram_thread_id};
use crate::core::openclaw::session_lookup::{LocalSessions, SessionMeta, SessionSource};

pub(super) fn check_telegram_target(target: &str) -> Result<(), RoutingError> {
    let username = target
        .strip_prefix('@')
        .is_some_and(|u| u.len() >= 4 && u.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    if is_telegram_chat_id(target) || username {
        Ok(())
    } else {
        Err(RoutingError::BadTelegramTarget(target.to_owned()))
    }
}

/// A Telegram thread route: integer thread id, no reply-to, a target that
/// agrees with the session, and a session id to wake.
pub(super) fn telegram_thread_route(
    route: &mut Route,
    req: &Request,
    meta: Option<&SessionMeta>,
    key: Option<&SessionKey>,
    thread: String,
) -> Result<(), RoutingError> {
    if telegram_thread_id(&thread).is_none() {
        return Err(RoutingError::BadTelegramThreadId(thread));
    }
    if route.reply_to.is_some() {
        return Err(RoutingError::ReplyToInThread);
    }
    let telegram_meta = meta.filter(|m| {
        m.channel
            .as_deref()
            .is_none_or(|c| Network::from_name(c) == Network::Telegram)
    });
    let from_meta =
        telegram_meta.and_then(|m| m.target.clone().map(|t| (t, m.origin.route_source())));
    // A key that names its chat (`telegram:group:<chat>:topic:<id>`) is the
    // authority; the delivery context fills in for keys that do not (`main:thread`).
    let (resolved, source) = match (key.and_then(SessionKey::telegram_chat), from_meta) {
        (Some(chat), _) => (Some(chat.to_owned()), RouteSource::SessionKey),
        (None, Some((t, source))) => (Some(t), source),
        (None, None) => (None, RouteSource::SessionKey),
    };
    let target = match (&req.target, resolved) {
        (Some(flag), Some(expected)) if *flag != expected => {
            return Err(RoutingError::TargetMismatch {
                provided: flag.clone(),
                expected,
            });
        }
        (_, Some(t)) => {
            route.source = source;
            t
        }
        (Some(flag), None) => {
            route.source = RouteSource::Flags;
            flag.clone()
        }
        (None, None) => return Err(RoutingError::ThreadTargetUnresolved),
    };
    if route.session_id.is_none() {
        return Err(RoutingError::ThreadSessionIdUnresolved);
    }
    check_telegram_target(&target)?;
    route.channel = Network::Telegram;
    route.target = Some(target);
    route.thread_id = Some(thread);
    Ok(())
}

/// The non-thread Telegram guards (seed A.4 step 5), for keys of any agent.
pub(super) async fn guard_non_thread_telegram(
    input: &RouteInput,
    key: Option<&SessionKey>,
    target: Option<&str>,
    sessions: &impl SessionSource,
    local: &impl LocalSessions,
    warnings: &mut Vec<String>,
) -> Result<(), RoutingError> {
    let agent_id = key.map_or("main", SessionKey::agent_id);
    match input.telegram_routing_mode {
        TelegramRoutingMode::AllowNonThread => return Ok(()),
        TelegramRoutingMode::ThreadOnly => {
            return Err(RoutingError::ThreadOnly {
                agent_id: agent_id.to_owned(),
            });
        }
        TelegramRoutingMode::Auto => {}
    }
    if input.allow_main_telegram {
        return Ok(());
    }
    if let Some(k) = key.filter(|k| k.is_dm_scope()) {
        return Err(RoutingError::UserScope {
            form: k.redacted_form(),
            agent_id: agent_id.to_owned(),
        });
    }
    let Some(target) = target else { return Ok(()) };
    let mut recent = match sessions
        .recent_thread_sessions(target, RECENT_THREAD_MAX_AGE)
        .await
    {
        Ok(v) => v,
        Err(e) => {
            warnings.push(format!(
                "recent-thread check: {e}; checked local session files"
            ));
            Vec::new()
        }
    };
    if recent.is_empty() {
        match local
            .recent_thread_sessions(key.map(SessionKey::agent_id), target, RECENT_THREAD_MAX_AGE)
            .await
        {
            Ok(v) => recent = v,
            Err(e) => warnings.push(format!("recent-thread check, local session files: {e}")),
        }
    }
    match recent.first() {
        Some(m) => Err(RoutingError::RecentThread {
            recent: m.key.clone(),
        }),
        None => Ok(()),
    }
}
