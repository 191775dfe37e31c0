//! The messages a run sends and the wakes it asks for: what the notifier
//! renders, the outbox stores (`outbox.jsonl`) and the channels deliver.
//!
//! Leaf types without I/O; their serde shapes are the on-disk shape of the
//! outbox, so a change here is a change of file format.

use serde::{Deserialize, Serialize};

/// What kind of message this is; channels use it for silence and formatting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// The run started.
    Launch,
    /// Periodic status.
    Heartbeat,
    /// A progress note from the agent (`clawrun notify`).
    Progress,
    /// The run's result (success).
    Result,
    /// The run failed, timed out, was killed or crashed.
    Failure,
    /// Any other lifecycle note (stall, recovery, rate limit, wake failure).
    Notice,
    /// Technical trace marker (`--trace-live`).
    Trace,
    /// Streamed agent text (foreground mode).
    Stream,
}

/// A message body rendered for each kind of markup a channel may use.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    /// Plain text, always present.
    pub plain: String,
    /// Telegram HTML (`<b>`, `<code>`, `<blockquote expandable>`), when it differs.
    pub html: Option<String>,
    /// WhatsApp-style markdown (`*bold*`), when it differs.
    pub markdown: Option<String>,
}

impl Body {
    /// A body with the same plain text for every markup.
    pub fn plain(text: impl Into<String>) -> Self {
        Self {
            plain: text.into(),
            html: None,
            markdown: None,
        }
    }
}

/// Where a message goes, as resolved by routing.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    /// Gateway channel name (`telegram`, `whatsapp`, `discord`, …), when relevant.
    pub channel: Option<String>,
    /// Chat id, group JID, or other target.
    pub target: Option<String>,
    /// Telegram forum topic / DM thread id.
    pub thread_id: Option<String>,
    /// Account id for multi-account gateways.
    pub account: Option<String>,
}

/// A file attached to a message (the full output of a long result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    /// File name shown to the user.
    pub file_name: String,
    /// Path of the file to upload.
    pub path: std::path::PathBuf,
}

/// One message to deliver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outgoing {
    /// Unique per message (`run_id:kind:seq`); passed on as `idempotencyKey` where supported.
    pub idempotency_key: String,
    /// What kind of message.
    pub kind: MessageKind,
    /// Where it goes.
    pub destination: Destination,
    /// The text, per markup.
    pub body: Body,
    /// Deliver without a notification sound where the channel supports it.
    pub silent: bool,
    /// Reply to this message id.
    pub reply_to: Option<String>,
    /// Edit this earlier message in place instead of posting a new one.
    pub edit_of: Option<String>,
    /// A file to send along.
    pub attachment: Option<Attachment>,
}

/// A wake of the orchestrating agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wake {
    /// Unique per wake; passed on as `idempotencyKey` where supported.
    pub idempotency_key: String,
    /// The OpenClaw session key to wake.
    pub session_key: Option<String>,
    /// The OpenClaw session uuid (for `openclaw agent --session-id`).
    pub session_id: Option<String>,
    /// Where the agent's reply should go.
    pub destination: Destination,
    /// The wake text the agent reads.
    pub text: String,
    /// The wake as it may travel in argv (`openclaw system event --text`,
    /// seen by every local user in `ps`): the status line, where the output
    /// is and how to read it, never the result's content
    /// (`crate::core::notify::compact::render_argv_wake`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argv_text: Option<String>,
}
