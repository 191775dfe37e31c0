//! Why routing refused: [`RoutingError`], whose `Display` is the message for
//! the user (seed wording), always a usage error (exit code 2).

use crate::core::openclaw::session_key::SessionKeyError;

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
        "❌ Unsafe routing blocked: Telegram launch requires thread session (:topic:<id> or :thread:<id>)\n   Use the topic's key from sessions_list: --session agent:{agent_id}:telegram:group:<chat>:topic:<thread>"
    )]
    ThreadOnly {
        /// The agent id for the hint.
        agent_id: String,
    },
    /// Auto mode: a DM-scope key without `--allow-main-telegram`.
    #[error(
        "❌ Unsafe routing blocked: session key is non-thread user scope ({form}).\n   For a forum topic use its key from sessions_list: --session agent:{agent_id}:telegram:group:<chat>:topic:<thread>.\n   For intentional non-thread Telegram, pass --allow-main-telegram or --telegram-routing-mode allow-non-thread."
    )]
    UserScope {
        /// The key's form, peer redacted (`agent:main:telegram:user:...`).
        form: String,
        /// The agent id for the hint.
        agent_id: String,
    },
    /// Auto mode: the target has a thread session active in the last 24 h.
    #[error(
        "❌ Unsafe routing blocked: recent thread session detected for this Telegram target.\n   Use that thread's session key (below) or pass --allow-main-telegram to force non-thread.\n   recent thread session: {recent}"
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
        crate::core::error::Error::usage_from(e)
    }
}
