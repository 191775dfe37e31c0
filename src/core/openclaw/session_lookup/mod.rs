//! What OpenClaw knows about its sessions, for routing: the gateway's
//! `sessions_list` ([`GatewaySessions`]) and the agents' legacy session files
//! ([`LocalSessionFiles`]), both behind small traits ([`SessionSource`],
//! [`LocalSessions`]) so routing can be tested with fakes.
//!
//! A lookup failure is a [`SourceError`]; routing treats it as "not found
//! here" and records it as a warning.

mod gateway;
mod local;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use self::gateway::GatewaySessions;
pub use self::local::LocalSessionFiles;
use crate::core::model::route::RouteSource;
use crate::core::openclaw::gateway::GatewayClient;

/// How many lines of a local session file are scanned for the chat id.
pub const LOCAL_SCAN_LINES: usize = 150;
/// `sessions_list` page size (the gateway's maximum).
pub const SESSIONS_PAGE_LIMIT: u64 = 200;
/// Give up paging after this many pages (a gateway whose paging never ends).
pub const MAX_SESSION_PAGES: usize = 500;

/// Why a session lookup failed. Routing treats every such failure as "not
/// found here" and goes on to the next source; the error text ends up in
/// [`Route::warnings`](crate::core::model::route::Route::warnings).
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
    /// The gateway's name for the chat (`displayName`:
    /// `telegram:g-1001234567890-topic-369520`), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
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

impl ToolInvoker for GatewayClient {
    async fn invoke(&self, tool: &str, args: Value) -> std::result::Result<Value, String> {
        GatewayClient::invoke(self, tool, args, None)
            .await
            .map_err(|e| e.to_string())
    }
}
