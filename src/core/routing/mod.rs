//! Routing: where a run's notifications go and which OpenClaw session its wake
//! reaches, decided once, before anything is spawned or written.
//!
//! [`resolve_route`] is a pure function of its [`RouteInput`] (the flags, the
//! project dir, the configured workdir map and fallback) and two lookups: the
//! gateway's `sessions_list` ([`SessionSource`], [`GatewaySessions`]) and the
//! agent's legacy session files ([`LocalSessions`], [`LocalSessionFiles`]). It
//! either returns a [`Route`] or a [`RoutingError`] whose text is the message to
//! print (exit code 2). It never routes silently to nowhere: a session key that
//! maps to no channel is an error; only when nothing at all is given does the
//! run report to the console.
//!
//! The rules follow the seed runner (seed-behaviour A.3/A.4, CX variant) with its
//! bugs fixed (E.4): any agent id, not only `main`; Telegram DM keys of any agent
//! are guarded; an unreachable gateway falls back to the local files instead of
//! skipping them; a malformed line does not abort the local scan; the gateway is
//! searched and paged, not read as its first 200 sessions.
//!
//! Decision procedure:
//! 1. `--notify-channel` is checked (a channel name; names other than
//!    telegram/whatsapp/console need `--notify-target`). With no session key,
//!    channel, target or thread id given, the workdir map (longest path prefix)
//!    or else the fallback route stands in for them; with none of those either,
//!    the route is the console.
//! 2. The session key is parsed and looked up: gateway first, then (for thread
//!    keys) the newest local `*-topic-<id>.jsonl` file. `--notify-session-id`
//!    must equal the session's uuid; for a key the gateway says does not exist
//!    it is refused (an unknown uuid would make OpenClaw create a new session).
//!    `--notify-thread-id` must equal the key's thread.
//! 3. Thread routes (a thread in the key or `--notify-thread-id`) must be
//!    Telegram, with an integer thread id, a resolvable target (the key's chat
//!    when it names one, else the session's delivery context), a session id,
//!    and no reply-to. Threads of other channels (Slack, Discord) are routed to
//!    their channel.
//! 4. Non-thread Telegram: `thread-only` blocks; `auto` blocks DM-scope keys
//!    (`main`, `telegram:user:<id>`, `telegram:direct:<id>`) of any agent, and
//!    blocks a target with a thread session active in the last 24 h (gateway,
//!    then local files), unless `--allow-main-telegram`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use crate::core::model::route::{Network, Route, RouteSource, TelegramRoutingMode};
use crate::core::openclaw::session_key::{
    SessionKey, SessionKeyError, is_telegram_chat_id, telegram_thread_id,
};

/// How old a thread session may be and still make a non-thread Telegram launch
/// to the same target look like a misroute.
pub const RECENT_THREAD_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// How many lines of a local session file are scanned for the chat id.
pub const LOCAL_SCAN_LINES: usize = 150;
/// `sessions_list` page size (the gateway's maximum).
pub const SESSIONS_PAGE_LIMIT: u64 = 200;
/// Give up paging after this many pages (a gateway whose paging never ends).
pub const MAX_SESSION_PAGES: usize = 500;

// ---------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Why routing refused. `Display` is the full message to print (one or more
/// lines, seed wording); every variant means exit code 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    /// The session key does not parse.
    #[error("❌ Invalid routing: {0}")]
    BadSessionKey(#[from] SessionKeyError),
    /// `--notify-channel` is not a channel name.
    #[error(
        "❌ Invalid routing: {origin} {name:?} is not a channel name\n   Use telegram, whatsapp, console or a gateway channel name (letters, digits, - and _)."
    )]
    BadChannelName {
        /// `--notify-channel` or the config entry.
        origin: String,
        /// The value.
        name: String,
    },
    /// A channel other than telegram/whatsapp/console without a target.
    #[error("❌ Invalid routing: {origin} {name} requires --notify-target")]
    ChannelNeedsTarget {
        /// `--notify-channel` or the config entry.
        origin: String,
        /// The channel.
        name: String,
    },
    /// A target but no way to know its channel.
    #[error(
        "❌ Invalid routing: --notify-target requires --notify-channel (or a --session key that names the channel)"
    )]
    TargetNeedsChannel,
    /// `--notify-channel` disagrees with the channel the key names.
    #[error(
        "❌ Invalid routing: --notify-channel {flag} does not match the session key's channel ({key_channel})\n   session key: {key}\n   Pass --notify-target too to send elsewhere on purpose."
    )]
    ChannelMismatch {
        /// The flag.
        flag: String,
        /// The key's channel.
        key_channel: String,
        /// The key.
        key: String,
    },
    /// A thread route with a non-Telegram `--notify-channel`.
    #[error("❌ Invalid routing: thread session requires --notify-channel telegram")]
    ThreadRequiresTelegram,
    /// `--notify-thread-id` disagrees with the key's thread.
    #[error(
        "❌ Invalid routing: --notify-thread-id does not match --session key\n   session key: {key}\n   provided:   {provided}\n   expected:   {expected}"
    )]
    ThreadIdMismatch {
        /// The key.
        key: String,
        /// The flag.
        provided: String,
        /// The key's thread id.
        expected: String,
    },
    /// A Telegram thread id that is not a positive integer.
    #[error(
        "❌ Invalid routing: Telegram thread id {0:?} is not a positive integer (message_thread_id)"
    )]
    BadTelegramThreadId(String),
    /// A Telegram target that is not a chat id or `@username`.
    #[error("❌ Invalid routing: Telegram target {0:?} is not a chat id (integer) or @username")]
    BadTelegramTarget(String),
    /// A Telegram reply-to id that is not an integer.
    #[error(
        "❌ Invalid routing: --reply-to-message-id {0:?} is not a Telegram message id (integer)"
    )]
    BadReplyTo(String),
    /// `--reply-to-message-id` on a Telegram thread route.
    #[error(
        "❌ Invalid routing: --reply-to-message-id cannot be combined with a Telegram thread\n   Telegram rejects replyTo + message_thread_id, and the retry without the thread lands in the main chat."
    )]
    ReplyToInThread,
    /// `--notify-session-id` disagrees with the session's uuid.
    #[error(
        "❌ Invalid routing: --notify-session-id does not match --session key\n   session key: {key}\n   provided:   {provided}\n   expected:   {expected}"
    )]
    SessionIdMismatch {
        /// The key.
        key: String,
        /// The flag.
        provided: String,
        /// The session's uuid.
        expected: String,
    },
    /// `--notify-session-id` for a key the gateway says does not exist.
    #[error(
        "❌ Invalid routing: --session key is not in the gateway's sessions_list, so --notify-session-id cannot be checked\n   session key: {key}\n   provided:   {provided}\n   Use the exact live session key and its sessionId from sessions_list."
    )]
    SessionUnknown {
        /// The key.
        key: String,
        /// The flag.
        provided: String,
    },
    /// `--notify-target` disagrees with the thread session's chat.
    #[error(
        "❌ Invalid routing: --notify-target does not match thread session metadata\n   provided:   {provided}\n   expected:   {expected}"
    )]
    TargetMismatch {
        /// The flag.
        provided: String,
        /// The session's chat.
        expected: String,
    },
    /// A thread route whose chat could not be found.
    #[error(
        "❌ Invalid routing: thread session requires resolvable telegram target (auto-resolve failed)\n   Tip: ensure session exists in sessions_list or local thread session files"
    )]
    ThreadTargetUnresolved,
    /// A thread route whose session uuid could not be found.
    #[error(
        "❌ Invalid routing: thread session requires --notify-session-id (auto-resolve failed)\n   Tip: pass --notify-session-id <uuid> from sessions_list"
    )]
    ThreadSessionIdUnresolved,
    /// `--telegram-routing-mode thread-only` and no thread.
    #[error(
        "❌ Unsafe routing blocked: Telegram launch requires thread session (:thread:<id> or :topic:<id>)\n   Use --session agent:{agent_id}:main:thread:<id>"
    )]
    ThreadOnly {
        /// The agent id for the hint.
        agent_id: String,
    },
    /// Auto mode: a DM-scope key without `--allow-main-telegram`.
    #[error(
        "❌ Unsafe routing blocked: session key is non-thread user scope ({form}).\n   For thread chats use --session agent:{agent_id}:main:thread:<id>.\n   For intentional non-thread Telegram, pass --allow-main-telegram or --telegram-routing-mode allow-non-thread."
    )]
    UserScope {
        /// The key's form, peer redacted (`agent:main:telegram:user:...`).
        form: String,
        /// The agent id for the hint.
        agent_id: String,
    },
    /// Auto mode: the target has a thread session active in the last 24 h.
    #[error(
        "❌ Unsafe routing blocked: recent thread session detected for this Telegram target.\n   Use thread session key (:thread:<id>) or pass --allow-main-telegram to force non-thread.\n   recent thread session: {recent}"
    )]
    RecentThread {
        /// The thread session found.
        recent: String,
    },
    /// Telegram route without a target.
    #[error(
        "❌ Invalid routing: Telegram target could not be resolved from session metadata\n   Provide a valid thread/user session key resolvable via sessions_list/local files."
    )]
    TelegramTargetUnresolved,
    /// A key that maps to no channel/target.
    #[error(
        "❌ Invalid routing: notification target could not be resolved from source session\n   session: {key}\n   Use a session key that names its chat, or pass --notify-channel and --notify-target."
    )]
    TargetUnresolved {
        /// The key.
        key: String,
    },
    /// A WhatsApp group key that the gateway does not know.
    #[error(
        "❌ Invalid routing: WhatsApp source session does not exist\n   session: {key}\n   Use the exact live agent/session key from sessions_list."
    )]
    WhatsappSessionMissing {
        /// The key.
        key: String,
    },
}

impl RoutingError {
    /// The process exit code for this error (always 2: bad input).
    pub fn exit_code(&self) -> i32 {
        2
    }
}

impl From<RoutingError> for crate::core::error::Error {
    fn from(e: RoutingError) -> Self {
        crate::core::error::Error::Usage(e.to_string())
    }
}

/// Why a session lookup failed. Routing treats every such failure as "not
/// found here" and goes on to the next source; the error text ends up in
/// [`Route::warnings`].
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The gateway could not be reached (or the tool call failed in transport).
    #[error("gateway unreachable: {0}")]
    Unavailable(String),
    /// The gateway answered with an error.
    #[error("gateway error: {0}")]
    Gateway(String),
    /// The answer was not the expected shape.
    #[error("unexpected sessions_list response: {0}")]
    BadResponse(String),
    /// A local file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

// ---------------------------------------------------------------------------
// Session lookups
// ---------------------------------------------------------------------------

/// Where a [`SessionMeta`] came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MetaOrigin {
    /// The gateway's `sessions_list`.
    Gateway,
    /// A local session file.
    LocalFile {
        /// The file.
        path: PathBuf,
    },
}

impl MetaOrigin {
    /// The matching [`RouteSource`].
    pub fn route_source(&self) -> RouteSource {
        match self {
            MetaOrigin::Gateway => RouteSource::Gateway,
            MetaOrigin::LocalFile { path } => RouteSource::LocalFile { path: path.clone() },
        }
    }
}

/// What a lookup knows about one OpenClaw session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionMeta {
    /// The session key.
    pub key: String,
    /// The session uuid.
    pub session_id: Option<String>,
    /// Delivery channel (`deliveryContext.channel`, else the session's `channel`).
    pub channel: Option<String>,
    /// Delivery target, without its `telegram:` prefix.
    pub target: Option<String>,
    /// Delivery account id.
    pub account: Option<String>,
    /// Delivery thread id.
    pub thread_id: Option<String>,
    /// Last update, Unix milliseconds.
    pub updated_at_ms: Option<i64>,
    /// Where this came from.
    pub origin: MetaOrigin,
}

/// The gateway's view of sessions.
#[allow(async_fn_in_trait)] // used through generics; Send is inferred for concrete types
pub trait SessionSource {
    /// The session with exactly this key, if the gateway knows it.
    ///
    /// # Errors
    /// [`SourceError`] when the gateway cannot answer.
    async fn find_session(&self, key: &str) -> Result<Option<SessionMeta>, SourceError>;

    /// Thread/topic sessions delivering to this Telegram `target` that were
    /// updated within `max_age`.
    ///
    /// # Errors
    /// [`SourceError`] when the gateway cannot answer.
    async fn recent_thread_sessions(
        &self,
        target: &str,
        max_age: Duration,
    ) -> Result<Vec<SessionMeta>, SourceError>;
}

/// The agents' session files on this machine (legacy OpenClaw storage).
#[allow(async_fn_in_trait)]
pub trait LocalSessions {
    /// The newest session file of this Telegram thread, for this agent (or for
    /// any agent when `agent_id` is `None`).
    ///
    /// # Errors
    /// [`SourceError::Io`] when the files exist but cannot be read.
    async fn find_thread(
        &self,
        agent_id: Option<&str>,
        thread_id: &str,
    ) -> Result<Option<SessionMeta>, SourceError>;

    /// Thread session files modified within `max_age` whose chat is `target`.
    ///
    /// # Errors
    /// [`SourceError::Io`] when the files exist but cannot be read.
    async fn recent_thread_sessions(
        &self,
        agent_id: Option<&str>,
        target: &str,
        max_age: Duration,
    ) -> Result<Vec<SessionMeta>, SourceError>;
}

/// Calls one gateway tool (`POST /tools/invoke`). The gateway client implements
/// this; the answer is the response body (the `{"ok":…,"result":…}` envelope),
/// its `result`, or its `details`: all three are accepted.
#[allow(async_fn_in_trait)]
pub trait ToolInvoker {
    /// Invoke `tool` with `args`.
    ///
    /// # Errors
    /// A description of the transport failure.
    async fn invoke(&self, tool: &str, args: Value) -> Result<Value, String>;
}

/// No gateway (no token configured): every lookup says so.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoGateway;

impl SessionSource for NoGateway {
    async fn find_session(&self, _key: &str) -> Result<Option<SessionMeta>, SourceError> {
        Err(SourceError::Unavailable("no gateway configured".into()))
    }

    async fn recent_thread_sessions(
        &self,
        _target: &str,
        _max_age: Duration,
    ) -> Result<Vec<SessionMeta>, SourceError> {
        Err(SourceError::Unavailable("no gateway configured".into()))
    }
}

/// [`SessionSource`] over the gateway's `sessions_list` tool.
#[derive(Debug, Clone)]
pub struct GatewaySessions<I> {
    invoker: I,
    page_limit: u64,
}

/// One parsed `sessions_list` page.
struct SessionsPage {
    sessions: Vec<Value>,
    has_more: bool,
    next_offset: Option<u64>,
}

impl<I: ToolInvoker> GatewaySessions<I> {
    /// Lookups through `invoker`, [`SESSIONS_PAGE_LIMIT`] sessions a page.
    pub fn new(invoker: I) -> Self {
        Self {
            invoker,
            page_limit: SESSIONS_PAGE_LIMIT,
        }
    }

    /// Use pages of `limit` sessions (at least 1).
    pub fn with_page_limit(mut self, limit: u64) -> Self {
        self.page_limit = limit.max(1);
        self
    }

    /// Call `sessions_list` with `args` and every following page
    /// (`hasMore`/`nextOffset`), handing each session to `visit` until it
    /// returns true or the list ends.
    async fn scan(
        &self,
        args: &Value,
        mut visit: impl FnMut(&Value) -> bool,
    ) -> Result<(), SourceError> {
        let mut offset: u64 = 0;
        for _ in 0..MAX_SESSION_PAGES {
            let mut page_args = args.clone();
            if let Some(obj) = page_args.as_object_mut() {
                obj.insert("limit".into(), json!(self.page_limit));
                if offset > 0 {
                    obj.insert("offset".into(), json!(offset));
                }
            }
            let resp = self
                .invoker
                .invoke("sessions_list", page_args)
                .await
                .map_err(SourceError::Unavailable)?;
            let page = parse_sessions_page(&resp)?;
            for s in &page.sessions {
                if visit(s) {
                    return Ok(());
                }
            }
            if !page.has_more {
                return Ok(());
            }
            let next = page
                .next_offset
                .unwrap_or(offset + page.sessions.len() as u64);
            if next <= offset {
                return Err(SourceError::BadResponse(format!(
                    "hasMore is true but the next offset ({next}) does not advance past {offset}"
                )));
            }
            offset = next;
        }
        Err(SourceError::BadResponse(format!(
            "more than {MAX_SESSION_PAGES} pages of sessions"
        )))
    }
}

impl<I: ToolInvoker> SessionSource for GatewaySessions<I> {
    async fn find_session(&self, key: &str) -> Result<Option<SessionMeta>, SourceError> {
        let mut found = None;
        // `search` is a substring filter; the exact match is ours.
        self.scan(&json!({ "search": key }), |s| {
            if s.get("key").and_then(Value::as_str) == Some(key) {
                found = meta_from_gateway(s);
                true
            } else {
                false
            }
        })
        .await?;
        Ok(found)
    }

    async fn recent_thread_sessions(
        &self,
        target: &str,
        max_age: Duration,
    ) -> Result<Vec<SessionMeta>, SourceError> {
        let now = now_ms();
        let max_ms = i64::try_from(max_age.as_millis()).unwrap_or(i64::MAX);
        let minutes = max_age.as_secs().div_ceil(60).max(1);
        let mut out = Vec::new();
        // No `search`: a DM thread's key (`agent:main:main:thread:<id>`) does not
        // contain the chat id, so only the delivery context can tell.
        self.scan(&json!({ "activeMinutes": minutes }), |s| {
            let Some(meta) = meta_from_gateway(s) else {
                return false;
            };
            let parsed = SessionKey::parse(&meta.key).ok();
            let is_thread = match &parsed {
                Some(k) => k.thread_id().is_some(),
                None => meta.key.contains(":thread:") || meta.key.contains(":topic:"),
            };
            let same_target = meta.target.as_deref() == Some(target)
                || parsed.as_ref().and_then(SessionKey::telegram_chat) == Some(target);
            let age = meta.updated_at_ms.map(|t| now - t);
            if is_thread && same_target && age.is_some_and(|a| a > 0 && a <= max_ms) {
                out.push(meta);
            }
            false
        })
        .await?;
        Ok(out)
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Read a `sessions_list` answer in any of its wrappings: the HTTP envelope
/// `{"ok":true,"result":{…}}`, the `result` (`content[].text` is the payload as
/// a JSON string, `details` the same as an object), or the payload itself.
fn parse_sessions_page(resp: &Value) -> Result<SessionsPage, SourceError> {
    if resp.get("ok").and_then(Value::as_bool) == Some(false)
        || (resp.get("error").is_some() && resp.get("result").is_none())
    {
        let msg = resp
            .pointer("/error/message")
            .and_then(Value::as_str)
            .map_or_else(|| resp.to_string(), str::to_owned);
        return Err(SourceError::Gateway(msg));
    }
    let result = resp.get("result").unwrap_or(resp);
    let has_sessions = |v: &Value| v.get("sessions").is_some_and(Value::is_array);
    let payload: Value = if let Some(d) = result.get("details").filter(|d| has_sessions(d)) {
        d.clone()
    } else if has_sessions(result) {
        result.clone()
    } else {
        let texts = result
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("text").and_then(Value::as_str));
        texts
            .filter_map(|t| serde_json::from_str::<Value>(t).ok())
            .find(has_sessions)
            .ok_or_else(|| {
                SourceError::BadResponse("no sessions in result.details or result.content".into())
            })?
    };
    let sessions = payload
        .get("sessions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Ok(SessionsPage {
        sessions,
        has_more: payload
            .get("hasMore")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        next_offset: payload.get("nextOffset").and_then(Value::as_u64),
    })
}

/// A string or a number as a string (thread ids come both ways).
fn str_or_num(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One `sessions_list` entry as [`SessionMeta`]: the delivery context
/// (`deliveryContext.{channel,to,accountId,threadId}`, older gateways'
/// `lastChannel`/`lastTo`/`lastAccountId`/`lastThreadId`), with `to` split into
/// channel prefix, target and topic (`telegram:-100…:topic:5`).
fn meta_from_gateway(s: &Value) -> Option<SessionMeta> {
    let key = s.get("key").and_then(Value::as_str)?.to_owned();
    let dc = s.get("deliveryContext");
    let field = |dc_name: &str, last_name: &str| {
        str_or_num(dc.and_then(|d| d.get(dc_name))).or_else(|| str_or_num(s.get(last_name)))
    };
    let mut channel = field("channel", "lastChannel").or_else(|| str_or_num(s.get("channel")));
    let mut thread_id = field("threadId", "lastThreadId");
    let mut target = None;
    let to = field("to", "lastTo").or_else(|| {
        // The seed also read `displayName`; only a plain `telegram:<chat id>` is a target
        // (`telegram:g-100…-topic-5` is a label, not a chat).
        str_or_num(s.get("displayName"))
            .filter(|d| d.strip_prefix("telegram:").is_some_and(is_telegram_chat_id))
    });
    if let Some(to) = to {
        let (prefix, rest) = split_channel_prefix(&to);
        if channel.is_none() {
            channel = prefix.map(str::to_owned);
        }
        let (t, topic) = match rest.split_once(":topic:") {
            Some((t, topic)) => (t, Some(topic.to_owned())),
            None => (rest, None),
        };
        if thread_id.is_none() {
            thread_id = topic;
        }
        target = Some(t.to_owned()).filter(|t| !t.is_empty());
    }
    Some(SessionMeta {
        key,
        session_id: str_or_num(s.get("sessionId")),
        channel,
        target,
        account: field("accountId", "lastAccountId"),
        thread_id,
        updated_at_ms: s.get("updatedAt").and_then(Value::as_i64),
        origin: MetaOrigin::Gateway,
    })
}

/// `telegram:-100` → (`telegram`, `-100`); `telegram:group:-100` → same;
/// `+4915…` / `-100` → (None, as is). A prefix is a name of letters, digits,
/// `-` and `_` that starts with a letter.
fn split_channel_prefix(to: &str) -> (Option<&str>, &str) {
    let Some((head, rest)) = to.split_once(':') else {
        return (None, to);
    };
    let is_name = head.starts_with(|c: char| c.is_ascii_alphabetic())
        && head
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !is_name || rest.is_empty() {
        return (None, to);
    }
    let rest = ["group:", "user:", "direct:", "channel:"]
        .iter()
        .find_map(|k| rest.strip_prefix(k))
        .unwrap_or(rest);
    (Some(head), rest)
}

/// [`LocalSessions`] over `<openclaw home>/agents/<agentId>/sessions/*-topic-<id>.jsonl`
/// (the storage of OpenClaw versions before SQLite; current versions keep
/// sessions in SQLite and only the gateway lookup finds them).
#[derive(Debug, Clone)]
pub struct LocalSessionFiles {
    openclaw_home: PathBuf,
    scan_lines: usize,
}

impl LocalSessionFiles {
    /// Files under `openclaw_home` (`~/.openclaw`).
    pub fn new(openclaw_home: impl Into<PathBuf>) -> Self {
        Self {
            openclaw_home: openclaw_home.into(),
            scan_lines: LOCAL_SCAN_LINES,
        }
    }

    fn find_thread_blocking(
        &self,
        agent_id: Option<&str>,
        thread_id: &str,
    ) -> Result<Option<SessionMeta>, SourceError> {
        let suffix = format!("-topic-{thread_id}.jsonl");
        let mut newest: Option<TopicFile> = None;
        for f in topic_files(&self.openclaw_home, agent_id)? {
            if f.name.ends_with(&suffix) && newest.as_ref().is_none_or(|n| f.mtime > n.mtime) {
                newest = Some(f);
            }
        }
        let Some(f) = newest else {
            return Ok(None);
        };
        let target = scan_chat_target(&f.path, self.scan_lines)?;
        Ok(Some(f.meta(thread_id, target)))
    }

    fn recent_blocking(
        &self,
        agent_id: Option<&str>,
        target: &str,
        max_age: Duration,
    ) -> Result<Vec<SessionMeta>, SourceError> {
        let now = SystemTime::now();
        let mut files: Vec<TopicFile> = topic_files(&self.openclaw_home, agent_id)?
            .into_iter()
            .filter(|f| {
                now.duration_since(f.mtime)
                    .map_or(true, |age| age <= max_age)
            })
            .collect();
        files.sort_by_key(|f| std::cmp::Reverse(f.mtime));
        let mut out = Vec::new();
        for f in files {
            // One unreadable file must not hide the others.
            let Ok(found) = scan_chat_target(&f.path, self.scan_lines) else {
                continue;
            };
            if found.as_deref() == Some(target) {
                let thread = f.thread_id().to_owned();
                out.push(f.meta(&thread, found));
            }
        }
        Ok(out)
    }
}

impl LocalSessions for LocalSessionFiles {
    async fn find_thread(
        &self,
        agent_id: Option<&str>,
        thread_id: &str,
    ) -> Result<Option<SessionMeta>, SourceError> {
        let this = self.clone();
        let (agent, thread) = (agent_id.map(str::to_owned), thread_id.to_owned());
        tokio::task::spawn_blocking(move || this.find_thread_blocking(agent.as_deref(), &thread))
            .await
            .map_err(|e| SourceError::Io {
                path: self.openclaw_home.clone(),
                source: std::io::Error::other(e),
            })?
    }

    async fn recent_thread_sessions(
        &self,
        agent_id: Option<&str>,
        target: &str,
        max_age: Duration,
    ) -> Result<Vec<SessionMeta>, SourceError> {
        let this = self.clone();
        let (agent, target) = (agent_id.map(str::to_owned), target.to_owned());
        tokio::task::spawn_blocking(move || {
            this.recent_blocking(agent.as_deref(), &target, max_age)
        })
        .await
        .map_err(|e| SourceError::Io {
            path: self.openclaw_home.clone(),
            source: std::io::Error::other(e),
        })?
    }
}

/// A `<session id>-topic-<thread id>.jsonl` file.
struct TopicFile {
    path: PathBuf,
    name: String,
    agent_id: String,
    mtime: SystemTime,
}

impl TopicFile {
    fn split(&self) -> (&str, &str) {
        let stem = self.name.strip_suffix(".jsonl").unwrap_or(&self.name);
        match stem.rfind("-topic-") {
            Some(i) => (&stem[..i], &stem[i + "-topic-".len()..]),
            None => (stem, ""),
        }
    }

    fn thread_id(&self) -> &str {
        self.split().1
    }

    fn meta(&self, thread_id: &str, target: Option<String>) -> SessionMeta {
        SessionMeta {
            key: format!("agent:{}:main:thread:{thread_id}", self.agent_id),
            session_id: Some(self.split().0.to_owned()).filter(|s| !s.is_empty()),
            channel: Some("telegram".into()),
            target,
            account: None,
            thread_id: Some(thread_id.to_owned()),
            updated_at_ms: self
                .mtime
                .duration_since(UNIX_EPOCH)
                .ok()
                .and_then(|d| i64::try_from(d.as_millis()).ok()),
            origin: MetaOrigin::LocalFile {
                path: self.path.clone(),
            },
        }
    }
}

/// Every `*-topic-*.jsonl` in the agent's (or every agent's) sessions dir.
/// Missing directories are simply empty.
fn topic_files(home: &Path, agent_id: Option<&str>) -> Result<Vec<TopicFile>, SourceError> {
    let agents_dir = home.join("agents");
    let io_err = |path: &Path, source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let agents: Vec<String> = match agent_id {
        Some(a) => vec![a.to_owned()],
        None => match std::fs::read_dir(&agents_dir) {
            Ok(rd) => rd
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().into_string().ok())
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io_err(&agents_dir, e)),
        },
    };
    let mut out = Vec::new();
    for agent in agents {
        let dir = agents_dir.join(&agent).join("sessions");
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err(&dir, e)),
        };
        for entry in rd.filter_map(Result::ok) {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if !(name.ends_with(".jsonl") && name.contains("-topic-")) {
                continue;
            }
            let Ok(md) = entry.metadata() else { continue };
            if !md.is_file() {
                continue;
            }
            out.push(TopicFile {
                path: entry.path(),
                name,
                agent_id: agent.clone(),
                mtime: md.modified().unwrap_or(UNIX_EPOCH),
            });
        }
    }
    Ok(out)
}

/// The Telegram chat of a session file: from the first `max_lines` lines, the
/// user messages' metadata text. A `chat_id` (or `conversation_label … id:<n>`)
/// anywhere wins over a `sender_id` (as seed CX): in a forum group the sender
/// is a person, the chat is the group. Malformed lines are skipped.
fn scan_chat_target(path: &Path, max_lines: usize) -> Result<Option<String>, SourceError> {
    let file = std::fs::File::open(path).map_err(|source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut sender = None;
    for line in BufReader::new(file).split(b'\n').take(max_lines) {
        let Ok(line) = line else { break };
        let Ok(v) = serde_json::from_slice::<Value>(&line) else {
            continue;
        };
        if v.get("type").and_then(Value::as_str) != Some("message")
            || v.pointer("/message/role").and_then(Value::as_str) != Some("user")
        {
            continue;
        }
        for text in message_texts(v.pointer("/message/content")) {
            if let Some(chat) = chat_id_in(text) {
                return Ok(Some(chat));
            }
            if sender.is_none() {
                sender = number_after_key(text, "sender_id");
            }
        }
    }
    Ok(sender)
}

fn message_texts(content: Option<&Value>) -> Vec<&str> {
    match content {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|c| c.get("text").and_then(Value::as_str))
            .collect(),
        _ => Vec::new(),
    }
}

/// `"chat_id": "-100…"` (also `"telegram:-100…"`), else
/// `"conversation_label": "… id:-100…"`.
fn chat_id_in(text: &str) -> Option<String> {
    number_after_key(text, "chat_id").or_else(|| label_id(text))
}

/// The integer after `"<key>"\s*:\s*"?(telegram:)?` in `text`, at any occurrence.
fn number_after_key(text: &str, key: &str) -> Option<String> {
    let needle = format!("\"{key}\"");
    let mut from = 0;
    while let Some(pos) = text[from..].find(&needle) {
        let after = from + pos + needle.len();
        from = after;
        let rest = text[after..].trim_start();
        let Some(rest) = rest.strip_prefix(':') else {
            continue;
        };
        let rest = rest.trim_start();
        let rest = rest.strip_prefix('"').unwrap_or(rest);
        let rest = rest.strip_prefix("telegram:").unwrap_or(rest);
        if let Some(n) = leading_int(rest) {
            return Some(n.to_owned());
        }
    }
    None
}

/// `-?\d+` at the start of `s`, not followed by another word character.
fn leading_int(s: &str) -> Option<&str> {
    let sign = usize::from(s.starts_with('-'));
    let digits = s[sign..].bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let end = sign + digits;
    let next = s[end..].chars().next();
    if next.is_some_and(|c| c.is_alphanumeric() || c == '_') {
        return None;
    }
    Some(&s[..end])
}

/// The `id:<n>` inside the `conversation_label` string value.
fn label_id(text: &str) -> Option<String> {
    let needle = "\"conversation_label\"";
    let start = text.find(needle)? + needle.len();
    let rest = text[start..].trim_start().strip_prefix(':')?.trim_start();
    let value = rest.strip_prefix('"')?;
    let value = &value[..value.find('"').unwrap_or(value.len())];
    let mut from = 0;
    while let Some(pos) = value[from..].find("id:") {
        let at = from + pos;
        from = at + 3;
        let boundary = value[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        if boundary && let Some(n) = leading_int(&value[at + 3..]) {
            return Some(n.to_owned());
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Resolution
// ---------------------------------------------------------------------------

/// The request after flags and config are merged.
struct Request {
    key: Option<String>,
    channel: Option<Network>,
    target: Option<String>,
    thread_id: Option<String>,
    account: Option<String>,
    session_id: Option<String>,
    reply_to: Option<String>,
    /// Set when a configured route stands in for the flags.
    configured: Option<RouteSource>,
}

fn non_empty(s: &Option<String>) -> Option<String> {
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

fn build_request(input: &RouteInput) -> Result<Option<Request>, RoutingError> {
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
    let mut warnings = Vec::new();

    // Thread id: the flag must agree with the key (an explicit id that differs
    // from the key's is how the seed's injection slipped through).
    let thread_id = match (&req.thread_id, key.as_ref().and_then(SessionKey::thread_id)) {
        (Some(flag), Some(k)) if flag != k => {
            return Err(RoutingError::ThreadIdMismatch {
                key: req.key.clone().unwrap_or_default(),
                provided: flag.clone(),
                expected: k.to_owned(),
            });
        }
        (Some(flag), _) => Some(flag.clone()),
        (None, k) => k.map(str::to_owned),
    };
    let key_channel = key
        .as_ref()
        .and_then(SessionKey::channel)
        .map(Network::from_name);

    if req.channel == Some(Network::Console) {
        if thread_id.is_some()
            && key_channel
                .as_ref()
                .is_none_or(|c| *c == Network::Telegram)
        {
            return Err(RoutingError::ThreadRequiresTelegram);
        }
        let mut route = Route::console(req.configured.clone().unwrap_or(RouteSource::Flags));
        route.session_key = key.as_ref().map(|k| k.as_str().to_owned());
        route.session_id = req.session_id.clone();
        route.reply_to = req.reply_to.clone();
        return Ok(route);
    }

    // Session metadata: gateway first, local thread files as the fallback
    // (also when the gateway is unreachable).
    let mut meta: Option<SessionMeta> = None;
    let mut gateway_says_missing = false;
    if let Some(k) = &key {
        match sessions.find_session(k.as_str()).await {
            Ok(Some(m)) => meta = Some(m),
            Ok(None) => {
                gateway_says_missing = true;
                warnings.push(format!(
                    "session {k} not found in the gateway's sessions_list"
                ));
            }
            Err(e) => warnings.push(format!("session lookup failed: {e}")),
        }
    }
    if meta.is_none()
        && let Some(t) = &thread_id
    {
        match local
            .find_thread(key.as_ref().map(SessionKey::agent_id), t)
            .await
        {
            Ok(Some(m)) => {
                let path = match &m.origin {
                    MetaOrigin::LocalFile { path } => path.display().to_string(),
                    MetaOrigin::Gateway => "gateway".to_owned(),
                };
                // Topic files are named by thread id only, and topic ids repeat
                // across forum groups: a file about another chat is another
                // conversation, not this one.
                let key_chat = key.as_ref().and_then(SessionKey::telegram_chat);
                match (key_chat, m.target.as_deref()) {
                    (Some(kc), Some(ft)) if kc != ft => warnings.push(format!(
                        "ignored local session file {path}: it is about chat {ft}, the key names chat {kc}"
                    )),
                    _ => {
                        warnings.push(format!("used local session file {path}"));
                        meta = Some(m);
                    }
                }
            }
            Ok(None) => {}
            Err(e) => warnings.push(format!("local session files: {e}")),
        }
    }

    // The session id must agree with the session, whatever the route.
    let resolved_sid = meta.as_ref().and_then(|m| m.session_id.clone());
    if let (Some(provided), Some(expected)) = (&req.session_id, &resolved_sid)
        && provided != expected
    {
        return Err(RoutingError::SessionIdMismatch {
            key: req.key.clone().unwrap_or_default(),
            provided: provided.clone(),
            expected: expected.clone(),
        });
    }
    if meta.is_none()
        && let (Some(k), Some(provided)) = (&req.key, &req.session_id)
    {
        // An unknown uuid makes `openclaw agent --session-id` create a new,
        // unrouted session: only accept one we could not check at all.
        if gateway_says_missing {
            return Err(RoutingError::SessionUnknown {
                key: k.clone(),
                provided: provided.clone(),
            });
        }
        warnings.push(format!(
            "--notify-session-id {provided} not checked against {k}: no session metadata"
        ));
    }
    let session_id = req.session_id.clone().or(resolved_sid);
    let account = req
        .account
        .clone()
        .or_else(|| meta.as_ref().and_then(|m| m.account.clone()))
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

    // A thread of a Telegram (or channel-less `main:thread`) key with another
    // --notify-channel; WhatsApp has no threads. Flags alone may route a thread
    // of another gateway channel (Discord, Slack).
    let thread_needs_telegram = thread_id.is_some()
        && match &req.channel {
            None | Some(Network::Telegram) => false,
            Some(Network::Whatsapp | Network::Console) => true,
            Some(Network::Other(_)) => {
                key.is_some()
                    && key_channel
                        .as_ref()
                        .is_none_or(|c| *c == Network::Telegram)
            }
        };
    if thread_needs_telegram {
        return Err(RoutingError::ThreadRequiresTelegram);
    }

    // The channel the route is on: flag, key, else the session's delivery context.
    let channel = match (&req.channel, &key_channel) {
        (Some(f), Some(k)) if f != k && req.target.is_none() => {
            return Err(RoutingError::ChannelMismatch {
                flag: f.to_string(),
                key_channel: k.to_string(),
                key: req.key.clone().unwrap_or_default(),
            });
        }
        (Some(f), _) => Some(f.clone()),
        (None, Some(k)) => Some(k.clone()),
        (None, None) if thread_id.is_some() => Some(Network::Telegram),
        (None, None) => meta
            .as_ref()
            .and_then(|m| m.channel.as_deref())
            .map(Network::from_name),
    };

    if let Some(thread) = thread_id {
        match channel {
            None | Some(Network::Telegram) => {
                telegram_thread_route(&mut route, &req, meta.as_ref(), key.as_ref(), thread)?;
            }
            // A thread of another gateway channel (Slack, Discord): routed there.
            Some(ch @ Network::Other(_)) => {
                let (target, source) = pick_target(&req, meta.as_ref(), key.as_ref(), &ch);
                route.target = Some(target.ok_or_else(|| RoutingError::TargetUnresolved {
                    key: req.key.clone().unwrap_or_default(),
                })?);
                route.source = source;
                route.channel = ch;
                route.thread_id = Some(thread);
            }
            Some(Network::Whatsapp | Network::Console) => {
                return Err(RoutingError::ThreadRequiresTelegram);
            }
        }
    } else {
        let Some(ch) = channel else {
            return Err(match &req.key {
                Some(k) => RoutingError::TargetUnresolved { key: k.clone() },
                None => RoutingError::TargetNeedsChannel,
            });
        };
        let (target, source) = pick_target(&req, meta.as_ref(), key.as_ref(), &ch);
        route.source = source;
        match &ch {
            Network::Telegram => {
                guard_non_thread_telegram(
                    input,
                    key.as_ref(),
                    target.as_deref(),
                    sessions,
                    local,
                    &mut warnings,
                )
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
                if gateway_says_missing
                    && let Some(k) = key.as_ref().filter(|k| k.group_jid().is_some())
                {
                    return Err(RoutingError::WhatsappSessionMissing {
                        key: k.as_str().to_owned(),
                    });
                }
                route.target = Some(target.ok_or_else(|| RoutingError::TargetUnresolved {
                    key: req.key.clone().unwrap_or_default(),
                })?);
            }
            Network::Other(_) | Network::Console => {
                route.target = Some(target.ok_or_else(|| RoutingError::TargetUnresolved {
                    key: req.key.clone().unwrap_or_default(),
                })?);
            }
        }
        route.channel = ch;
    }

    if let Some(configured) = req.configured {
        route.source = configured;
    }
    route.warnings = warnings;
    Ok(route)
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

fn check_telegram_target(target: &str) -> Result<(), RoutingError> {
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
fn telegram_thread_route(
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
async fn guard_non_thread_telegram(
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

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

/// The `--validate-only` report: the seed's `✅ Routing validation` block (same
/// field names, `None`/`True`/`False` as the seed printed them, so scripts that
/// read it keep working) followed by our extra fields.
pub fn render_report(route: &Route, input: &RouteInput) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "None".to_owned());
    let py_bool = |b: bool| if b { "True" } else { "False" };
    let mut out = String::from("✅ Routing validation\n");
    let mut line = |name: &str, value: &str| {
        out.push_str("   ");
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push('\n');
    };
    line("session", &opt(&route.session_key));
    line("thread_id", &opt(&route.thread_id));
    line("channel", route.channel.as_str());
    line("target", &opt(&route.target));
    line("notify_session_id", &opt(&route.session_id));
    line("allow_main_telegram", py_bool(input.allow_main_telegram));
    line(
        "telegram_routing_mode",
        input.telegram_routing_mode.as_str(),
    );
    line("account", &opt(&route.account));
    line("reply_to", &opt(&route.reply_to));
    line("source", &route.source.to_string());
    for w in &route.warnings {
        line("warning", w);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn int_scanning() {
        assert_eq!(
            number_after_key(r#"x {"chat_id": "-100123", "sender_id": 5}"#, "chat_id").as_deref(),
            Some("-100123")
        );
        assert_eq!(
            number_after_key(r#""chat_id":"telegram:-42""#, "chat_id").as_deref(),
            Some("-42")
        );
        assert_eq!(number_after_key(r#""chat_id": "abc""#, "chat_id"), None);
        assert_eq!(number_after_key(r#""chat_id": 12ab"#, "chat_id"), None);
        assert_eq!(
            number_after_key(r#""sender_id" : 77 }"#, "sender_id").as_deref(),
            Some("77")
        );
        assert_eq!(
            label_id(r#"{"conversation_label": "Team chat id:-100999 (forum)"}"#).as_deref(),
            Some("-100999")
        );
        assert_eq!(label_id(r#"{"conversation_label": "userid:5"}"#), None);
    }

    #[test]
    fn to_prefixes() {
        assert_eq!(
            split_channel_prefix("telegram:-100"),
            (Some("telegram"), "-100")
        );
        assert_eq!(
            split_channel_prefix("telegram:group:-100"),
            (Some("telegram"), "-100")
        );
        assert_eq!(split_channel_prefix("-100:topic:5"), (None, "-100:topic:5"));
        assert_eq!(split_channel_prefix("+4915"), (None, "+4915"));
        assert_eq!(split_channel_prefix("120363@g.us"), (None, "120363@g.us"));
    }
}
