//! A run's resolved route: where its notifications go ([`Route`], on a chat
//! [`Network`]) and which OpenClaw session its wake reaches, plus the
//! `--telegram-routing-mode` choice that shaped it.
//!
//! Leaf types without I/O: `core::routing` computes a [`Route`], the run
//! directory stores it in `run.json` (so its serde shape is a file format), and
//! the notifier turns it into a [`Destination`].
//!
//! A [`Network`] is *where* a message goes (`telegram`, `whatsapp`, `discord`,
//! the console), as OpenClaw names it; which implementation carries it there is
//! a [`ChannelKind`](crate::core::config::ChannelKind) (`telegram-direct`,
//! `message-tool`, …), chosen from the network and the tokens available.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::core::model::message::Destination;

/// The `--telegram-routing-mode` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TelegramRoutingMode {
    /// Non-thread Telegram is allowed unless it looks like a misroute.
    #[default]
    Auto,
    /// Telegram runs must come from a thread session.
    ThreadOnly,
    /// Non-thread Telegram is allowed without checks.
    AllowNonThread,
}

impl TelegramRoutingMode {
    /// The flag value.
    pub fn as_str(self) -> &'static str {
        match self {
            TelegramRoutingMode::Auto => "auto",
            TelegramRoutingMode::ThreadOnly => "thread-only",
            TelegramRoutingMode::AllowNonThread => "allow-non-thread",
        }
    }
}

/// The chat network a route delivers to (the route's `channel` field, as
/// OpenClaw names networks). Serialized as its name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Network {
    /// Telegram (Bot API or gateway).
    Telegram,
    /// WhatsApp (gateway).
    Whatsapp,
    /// Another gateway channel (`discord`, `slack`, `signal`, …).
    Other(String),
    /// Local console only (stderr and the run's `notifications.jsonl`).
    Console,
}

impl Network {
    /// The channel's name.
    pub fn as_str(&self) -> &str {
        match self {
            Network::Telegram => "telegram",
            Network::Whatsapp => "whatsapp",
            Network::Console => "console",
            Network::Other(name) => name,
        }
    }

    /// The channel for a name, case-insensitively (no validation).
    pub fn from_name(name: &str) -> Self {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "telegram" => Network::Telegram,
            "whatsapp" => Network::Whatsapp,
            "console" => Network::Console,
            _ => Network::Other(lower),
        }
    }
}

impl From<String> for Network {
    fn from(s: String) -> Self {
        Network::from_name(&s)
    }
}

impl From<Network> for String {
    fn from(c: Network) -> Self {
        c.as_str().to_owned()
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the route's target came from (shown by `--validate-only`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RouteSource {
    /// Nothing was given: console.
    Default,
    /// `--notify-channel` / `--notify-target`.
    Flags,
    /// The session key itself (`telegram:group:<chat>`, `whatsapp:group:<jid>`, …).
    SessionKey,
    /// The session's delivery context from the gateway's `sessions_list`.
    Gateway,
    /// A local session file.
    LocalFile {
        /// The file.
        path: PathBuf,
    },
    /// The workdir map entry for this prefix.
    WorkdirMap {
        /// The matching prefix.
        workdir: PathBuf,
    },
    /// The configured fallback route.
    Fallback,
    /// Taken over from the last run of the resumed session (`--resume`
    /// without `--session` or `--notify-*` flags).
    Inherited {
        /// That run.
        run_id: String,
    },
}

impl fmt::Display for RouteSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteSource::Default => f.write_str("default (nothing given)"),
            RouteSource::Flags => f.write_str("flags"),
            RouteSource::SessionKey => f.write_str("session key"),
            RouteSource::Gateway => f.write_str("gateway sessions_list"),
            RouteSource::LocalFile { path } => write!(f, "local session file {}", path.display()),
            RouteSource::WorkdirMap { workdir } => write!(f, "workdir map ({})", workdir.display()),
            RouteSource::Fallback => f.write_str("fallback route"),
            RouteSource::Inherited { run_id } => {
                write!(
                    f,
                    "inherited from run {run_id} (the resumed session's last run)"
                )
            }
        }
    }
}

/// The resolved route of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Where notifications go.
    pub channel: Network,
    /// Chat id / JID / target; `None` only for the console.
    pub target: Option<String>,
    /// Thread/topic id (validated as an integer for Telegram).
    pub thread_id: Option<String>,
    /// Gateway account id.
    pub account: Option<String>,
    /// The OpenClaw session key (wakes via `sessions_send`).
    pub session_key: Option<String>,
    /// The OpenClaw session uuid (wakes via `openclaw agent --session-id`).
    pub session_id: Option<String>,
    /// Message to reply to.
    pub reply_to: Option<String>,
    /// Where the target came from.
    pub source: RouteSource,
    /// Non-fatal notes (gateway unreachable, local fallback used, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Route {
    /// The console route: no chat, nothing to wake unless a session is known.
    pub fn console(source: RouteSource) -> Self {
        Route {
            channel: Network::Console,
            target: None,
            thread_id: None,
            account: None,
            session_key: None,
            session_id: None,
            reply_to: None,
            source,
            warnings: Vec::new(),
        }
    }

    /// The delivery destination for channels.
    pub fn destination(&self) -> Destination {
        Destination {
            channel: match self.channel {
                Network::Console => None,
                ref c => Some(c.as_str().to_owned()),
            },
            target: self.target.clone(),
            thread_id: self.thread_id.clone(),
            account: self.account.clone(),
        }
    }
}
