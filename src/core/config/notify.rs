//! `[notify]`: which channel carries a run's messages, how often heartbeats
//! go out, and which messages ring ([`Silence`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{DEFAULT_HEARTBEAT_SECS, NotifyChannel};

/// Which of a run's messages are sent without a notification sound
/// (Telegram `disable_notification`, the message tool's `silent`; WhatsApp
/// has no such thing and ignores it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Silence {
    /// The seed's choice: every message is silent when the run wakes an agent,
    /// because the agent's reply after the wake is the one that rings. A run
    /// that wakes nobody keeps its result (and failure) audible, and so does
    /// the note that the agent could not be woken.
    #[default]
    All,
    /// Launch, heartbeats, progress notes and lifecycle notes are silent; the
    /// result, failures and crashes ring.
    Progress,
    /// Every message rings.
    None,
}

impl Silence {
    /// Whether a message is silent: `final_message` for the result, a failure
    /// or a crash; `wakes` when the run wakes an orchestrating agent.
    pub fn silent(self, final_message: bool, wakes: bool) -> bool {
        match self {
            Silence::All => !final_message || wakes,
            Silence::Progress => !final_message,
            Silence::None => false,
        }
    }
}

/// `[notify]` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NotifyToml {
    /// Channel selection.
    pub channel: Option<NotifyChannel>,
    /// Seconds between heartbeats.
    pub heartbeat_secs: Option<u64>,
    /// Which messages are silent (`all`, `progress`, `none`).
    pub silent: Option<Silence>,
}

/// `[notify]` with defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    /// Channel selection.
    pub channel: NotifyChannel,
    /// Interval between heartbeats.
    pub heartbeat: Duration,
    /// Which messages are silent.
    pub silent: Silence,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            channel: NotifyChannel::Auto,
            heartbeat: Duration::from_secs(DEFAULT_HEARTBEAT_SECS),
            silent: Silence::default(),
        }
    }
}
