//! OpenClaw session keys, parsed into a typed [`SessionKey`].
//!
//! A key names one conversation of one OpenClaw agent. The grammar, as the
//! gateway builds keys (`src/routing/session-key.ts` in OpenClaw 2026.9), is
//! `agent:<agentId>:<scope>` with these scopes:
//!
//! | scope | [`Scope`] |
//! | --- | --- |
//! | `main` | [`Scope::Main`] (the agent's main DM scope) |
//! | `<channel>:group:<id>`, `<channel>:channel:<id>` | [`Scope::Group`] (`whatsapp:group:<jid>@g.us`, `telegram:group:-100…`) |
//! | `direct:<peer>`, `<channel>:direct:<peer>`, `<channel>:<account>:direct:<peer>`, `<channel>:dm:<peer>` | [`Scope::Direct`] |
//! | `<channel>:user:<id>` | [`Scope::User`] (the seed's `telegram:user:<id>` DM scope) |
//! | `cron:<job>[:run:<id>]` | [`Scope::Cron`] |
//! | `subagent:…`, `acp:…` | [`Scope::Subagent`], [`Scope::Acp`] (opaque) |
//! | `explicit:<sessionId>` | [`Scope::Explicit`] |
//! | `<channel>:<kind>:<id>` | [`Scope::Generic`] |
//! | anything else | [`Scope::Custom`] |
//!
//! Any scope except the opaque ones may end with a thread suffix: `:thread:<id>`
//! (generic, and Telegram DM threads as `main:thread:<id>`) or `:topic:<id>`
//! (Telegram forum topics: `telegram:group:-1001234567890:topic:369520`).
//!
//! Ids after the kind may contain colons (Matrix room ids `!room:server`), so
//! the id is everything up to the thread suffix. Telegram ids are checked here:
//! chat and user ids must be integers and thread ids positive integers, because
//! they are sent to the Bot API as numbers (the seed let a non-numeric
//! `--notify-thread-id` reach generated code, seed-behaviour E.3). A `main:thread`
//! key does not name its channel, so its thread id is checked by routing, once
//! the route turns out to be Telegram (see [`telegram_thread_id`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a string is not a session key we can route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionKeyError {
    /// The key is empty.
    #[error("session key is empty")]
    Empty,
    /// The key contains whitespace (keys never do; likely a copy/paste error).
    #[error("session key {key:?} contains whitespace")]
    Whitespace {
        /// The key as given.
        key: String,
    },
    /// `global` / `unknown`: OpenClaw's unscoped sentinels, which name no chat.
    #[error("session key {key:?} is an unscoped sentinel, not a routable session")]
    Sentinel {
        /// The key as given.
        key: String,
    },
    /// The key does not start with `agent:`.
    #[error("session key {key:?} does not start with agent:<agentId>:")]
    NotAgentKey {
        /// The key as given.
        key: String,
    },
    /// The agent id is empty or has characters OpenClaw never puts there.
    #[error(
        "session key {key:?} has an invalid agent id {agent_id:?} (letters, digits, _ and - only)"
    )]
    BadAgentId {
        /// The key as given.
        key: String,
        /// The agent id part.
        agent_id: String,
    },
    /// Nothing after `agent:<agentId>:`.
    #[error("session key {key:?} has no scope after agent:<agentId>:")]
    MissingScope {
        /// The key as given.
        key: String,
    },
    /// Two colons in a row, or a trailing colon.
    #[error("session key {key:?} has an empty segment")]
    EmptySegment {
        /// The key as given.
        key: String,
    },
    /// `…:thread` or `…:topic` without an id after it.
    #[error("session key {key:?} ends with :{marker} but has no id after it")]
    MissingThreadId {
        /// The key as given.
        key: String,
        /// `thread` or `topic`.
        marker: String,
    },
    /// A Telegram chat, user or thread id that is not an integer.
    #[error("session key {key:?}: Telegram {what} {value:?} is not {expected}")]
    BadTelegramId {
        /// The key as given.
        key: String,
        /// `chat id`, `user id` or `thread id`.
        what: &'static str,
        /// The offending id.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// A WhatsApp group id that is not a group JID.
    #[error("session key {key:?}: WhatsApp group id {value:?} is not a group JID (…@g.us)")]
    BadWhatsappGroup {
        /// The key as given.
        key: String,
        /// The offending id.
        value: String,
    },
}

/// How a group-like scope is called by its channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupKind {
    /// `<channel>:group:<id>`.
    Group,
    /// `<channel>:channel:<id>` (Discord, Slack channels).
    Channel,
}

/// The part of a key after `agent:<agentId>:`, without its thread suffix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `main`: the agent's main scope (DMs with the default `dmScope`).
    Main,
    /// `<channel>:group:<id>` or `<channel>:channel:<id>`.
    Group {
        /// Channel name (`whatsapp`, `telegram`, `discord`, …).
        channel: String,
        /// `group` or `channel`.
        kind: GroupKind,
        /// Group JID, chat id, channel id.
        id: String,
    },
    /// A direct (one-to-one) peer: `direct:<peer>`, `<channel>:direct:<peer>`,
    /// `<channel>:<account>:direct:<peer>`, `<channel>:dm:<peer>`.
    Direct {
        /// Channel name, absent for the `per-peer` form `direct:<peer>`.
        channel: Option<String>,
        /// Account id, in the `per-account-channel-peer` form.
        account: Option<String>,
        /// The peer (phone number, JID, user id).
        peer: String,
    },
    /// `<channel>:user:<id>`: the seed's Telegram user scope.
    User {
        /// Channel name (in practice `telegram`).
        channel: String,
        /// The user id.
        user_id: String,
    },
    /// `cron:<job>[:run:<id>]`.
    Cron {
        /// The cron job id.
        job: String,
        /// The run id, if any.
        run: Option<String>,
    },
    /// `subagent:…` (opaque).
    Subagent {
        /// Everything after `subagent:`.
        rest: String,
    },
    /// `acp:…` (opaque).
    Acp {
        /// Everything after `acp:`.
        rest: String,
    },
    /// `explicit:<sessionId>`: made by `openclaw agent --session-id` for an unknown id.
    Explicit {
        /// The session id.
        session_id: String,
    },
    /// Another `<channel>:<kind>:<id>` form.
    Generic {
        /// Channel name.
        channel: String,
        /// The kind segment.
        kind: String,
        /// The id (may contain colons).
        id: String,
    },
    /// Any other (custom) key.
    Custom {
        /// The scope text.
        rest: String,
    },
}

/// Which thread suffix a key carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThreadKind {
    /// `:thread:<id>`.
    Thread,
    /// `:topic:<id>` (Telegram forum topics).
    Topic,
}

impl ThreadKind {
    /// The marker as it appears in keys.
    pub fn as_str(self) -> &'static str {
        match self {
            ThreadKind::Thread => "thread",
            ThreadKind::Topic => "topic",
        }
    }
}

/// A thread suffix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Thread {
    /// `thread` or `topic`.
    pub kind: ThreadKind,
    /// The thread id, as in the key.
    pub id: String,
}

/// A parsed OpenClaw session key. The raw string is kept and is what
/// [`fmt::Display`], [`SessionKey::as_str`] and serde use.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionKey {
    raw: String,
    agent_id: String,
    scope: Scope,
    thread: Option<Thread>,
}

const TELEGRAM: &str = "telegram";
const WHATSAPP: &str = "whatsapp";
const WHATSAPP_GROUP_SUFFIX: &str = "@g.us";

/// `id` as a Telegram thread (`message_thread_id`): a positive integer written
/// with ASCII digits only (no sign, no spaces). `None` otherwise.
pub fn telegram_thread_id(id: &str) -> Option<i64> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse::<i64>().ok().filter(|n| *n > 0)
}

/// Whether `id` is a Telegram chat id: an integer, negative for groups
/// (`-1001234567890`), written with ASCII digits and an optional leading `-`.
pub fn is_telegram_chat_id(id: &str) -> bool {
    let digits = id.strip_prefix('-').unwrap_or(id);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && id.parse::<i64>().is_ok()
}

fn is_agent_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

impl SessionKey {
    /// Parse a key.
    ///
    /// # Errors
    /// [`SessionKeyError`] saying what is wrong with it.
    pub fn parse(raw: &str) -> Result<Self, SessionKeyError> {
        let key = || raw.to_owned();
        if raw.is_empty() {
            return Err(SessionKeyError::Empty);
        }
        if raw.chars().any(char::is_whitespace) {
            return Err(SessionKeyError::Whitespace { key: key() });
        }
        if eq(raw, "global") || eq(raw, "unknown") {
            return Err(SessionKeyError::Sentinel { key: key() });
        }
        let parts: Vec<&str> = raw.split(':').collect();
        if parts.len() < 2 || !eq(parts[0], "agent") {
            return Err(SessionKeyError::NotAgentKey { key: key() });
        }
        let agent_id = parts[1];
        if !is_agent_id(agent_id) {
            return Err(SessionKeyError::BadAgentId {
                key: key(),
                agent_id: agent_id.to_owned(),
            });
        }
        let rest = &parts[2..];
        if rest.is_empty() || (rest.len() == 1 && rest[0].is_empty()) {
            return Err(SessionKeyError::MissingScope { key: key() });
        }
        if rest.iter().any(|s| s.is_empty()) {
            return Err(SessionKeyError::EmptySegment { key: key() });
        }

        let opaque = ["subagent", "acp", "explicit", "cron"]
            .iter()
            .any(|k| eq(rest[0], k));
        let (base, thread) = if opaque {
            (rest, None)
        } else {
            split_thread(raw, rest)?
        };
        let scope = parse_scope(base);
        let parsed = SessionKey {
            raw: raw.to_owned(),
            agent_id: agent_id.to_owned(),
            scope,
            thread,
        };
        parsed.check_channel_ids()?;
        Ok(parsed)
    }

    /// Telegram and WhatsApp ids are checked at parse time (module docs).
    fn check_channel_ids(&self) -> Result<(), SessionKeyError> {
        let bad = |what, value: &str, expected| SessionKeyError::BadTelegramId {
            key: self.raw.clone(),
            what,
            value: value.to_owned(),
            expected,
        };
        let is_telegram = self.channel().is_some_and(|c| eq(c, TELEGRAM));
        if is_telegram {
            match &self.scope {
                Scope::Group { id, .. } if !is_telegram_chat_id(id) => {
                    return Err(bad("chat id", id, "an integer"));
                }
                Scope::User { user_id: id, .. } | Scope::Direct { peer: id, .. }
                    if !is_telegram_chat_id(id) =>
                {
                    return Err(bad("user id", id, "an integer"));
                }
                _ => {}
            }
            if let Some(t) = &self.thread
                && telegram_thread_id(&t.id).is_none()
            {
                return Err(bad("thread id", &t.id, "a positive integer"));
            }
        }
        if let Scope::Group { channel, id, .. } = &self.scope
            && eq(channel, WHATSAPP)
            && !(id.len() > WHATSAPP_GROUP_SUFFIX.len() && id.ends_with(WHATSAPP_GROUP_SUFFIX))
        {
            return Err(SessionKeyError::BadWhatsappGroup {
                key: self.raw.clone(),
                value: id.clone(),
            });
        }
        Ok(())
    }

    /// The key as given.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The agent id (`main`, `ops`, …).
    pub fn agent_id(&self) -> &str {
        &self.agent_id
    }

    /// The scope, without the thread suffix.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The thread suffix, if any.
    pub fn thread(&self) -> Option<&Thread> {
        self.thread.as_ref()
    }

    /// The thread or topic id, if the key has one.
    pub fn thread_id(&self) -> Option<&str> {
        self.thread.as_ref().map(|t| t.id.as_str())
    }

    /// The channel the key names, if any. `main` (and `main:thread:<id>`),
    /// `direct:<peer>`, cron, subagent, acp, explicit and custom keys name none:
    /// their channel comes from the session's delivery context.
    pub fn channel(&self) -> Option<&str> {
        match &self.scope {
            Scope::Group { channel, .. }
            | Scope::User { channel, .. }
            | Scope::Generic { channel, .. } => Some(channel),
            Scope::Direct { channel, .. } => channel.as_deref(),
            Scope::Main
            | Scope::Cron { .. }
            | Scope::Subagent { .. }
            | Scope::Acp { .. }
            | Scope::Explicit { .. }
            | Scope::Custom { .. } => None,
        }
    }

    /// The account id the key names (`<channel>:<account>:direct:<peer>`).
    pub fn account(&self) -> Option<&str> {
        match &self.scope {
            Scope::Direct { account, .. } => account.as_deref(),
            _ => None,
        }
    }

    /// The WhatsApp group JID (`…@g.us`) of a `whatsapp:group:<jid>` key.
    pub fn group_jid(&self) -> Option<&str> {
        match &self.scope {
            Scope::Group { channel, id, .. } if eq(channel, WHATSAPP) => Some(id),
            _ => None,
        }
    }

    /// The Telegram user of a Telegram DM key: `telegram:user:<id>`,
    /// `telegram:direct:<id>`, `telegram:<account>:direct:<id>`, `telegram:dm:<id>`.
    pub fn telegram_user(&self) -> Option<&str> {
        match &self.scope {
            Scope::User { channel, user_id } if eq(channel, TELEGRAM) => Some(user_id),
            Scope::Direct {
                channel: Some(channel),
                peer,
                ..
            } if eq(channel, TELEGRAM) => Some(peer),
            _ => None,
        }
    }

    /// The Telegram chat the key names: the group/channel chat id, or the user
    /// id of a DM key (a private chat's id is the user's id).
    pub fn telegram_chat(&self) -> Option<&str> {
        match &self.scope {
            Scope::Group { channel, id, .. } if eq(channel, TELEGRAM) => Some(id),
            _ => self.telegram_user(),
        }
    }

    /// The peer the key itself names for its channel: group id, DM peer, user
    /// id, or the id of a generic `<channel>:<kind>:<id>` key.
    pub fn peer(&self) -> Option<&str> {
        match &self.scope {
            Scope::Group { id, .. } | Scope::Generic { id, .. } => Some(id),
            Scope::Direct { peer, .. } => Some(peer),
            Scope::User { user_id, .. } => Some(user_id),
            Scope::Main
            | Scope::Cron { .. }
            | Scope::Subagent { .. }
            | Scope::Acp { .. }
            | Scope::Explicit { .. }
            | Scope::Custom { .. } => None,
        }
    }

    /// Whether this is a non-thread DM scope of a person: `main`, a user key or a
    /// direct key. Launching a Telegram run from such a key, when the person uses
    /// threads, is the misroute the auto-mode guard exists for.
    pub fn is_dm_scope(&self) -> bool {
        self.thread.is_none()
            && matches!(
                self.scope,
                Scope::Main | Scope::User { .. } | Scope::Direct { .. }
            )
    }

    /// The key with its peer id replaced by `...` (`agent:ops:telegram:user:...`),
    /// for messages that describe the key's form rather than the person.
    pub fn redacted_form(&self) -> String {
        match self.peer() {
            Some(peer) if self.thread.is_none() => match self.raw.strip_suffix(peer) {
                Some(head) => format!("{head}..."),
                None => self.raw.clone(),
            },
            _ => self.raw.clone(),
        }
    }
}

/// Split a trailing `:thread:<id>` / `:topic:<id>` off the scope segments.
/// The marker is looked for from the second segment on (the first is the
/// channel or `main`); the id is everything after it.
fn split_thread<'a>(
    raw: &str,
    rest: &'a [&'a str],
) -> Result<(&'a [&'a str], Option<Thread>), SessionKeyError> {
    for (i, seg) in rest.iter().enumerate().skip(1) {
        let kind = if eq(seg, "thread") {
            ThreadKind::Thread
        } else if eq(seg, "topic") {
            ThreadKind::Topic
        } else {
            continue;
        };
        if i + 1 >= rest.len() {
            return Err(SessionKeyError::MissingThreadId {
                key: raw.to_owned(),
                marker: kind.as_str().to_owned(),
            });
        }
        let id = rest[i + 1..].join(":");
        return Ok((&rest[..i], Some(Thread { kind, id })));
    }
    Ok((rest, None))
}

fn parse_scope(base: &[&str]) -> Scope {
    let join = |s: &[&str]| s.join(":");
    let own = |s: &str| s.to_owned();
    match base {
        [m] if eq(m, "main") => Scope::Main,
        [k, rest @ ..] if eq(k, "subagent") && !rest.is_empty() => {
            Scope::Subagent { rest: join(rest) }
        }
        [k, rest @ ..] if eq(k, "acp") && !rest.is_empty() => Scope::Acp { rest: join(rest) },
        [k, rest @ ..] if eq(k, "explicit") && !rest.is_empty() => Scope::Explicit {
            session_id: join(rest),
        },
        [k, job] if eq(k, "cron") => Scope::Cron {
            job: own(job),
            run: None,
        },
        [k, job, r, run @ ..] if eq(k, "cron") && eq(r, "run") && !run.is_empty() => Scope::Cron {
            job: own(job),
            run: Some(join(run)),
        },
        [d, peer @ ..] if eq(d, "direct") && !peer.is_empty() => Scope::Direct {
            channel: None,
            account: None,
            peer: join(peer),
        },
        [ch, account, d, peer @ ..] if (eq(d, "direct") || eq(d, "dm")) && !peer.is_empty() => {
            Scope::Direct {
                channel: Some(own(ch)),
                account: Some(own(account)),
                peer: join(peer),
            }
        }
        [ch, d, peer @ ..] if (eq(d, "direct") || eq(d, "dm")) && !peer.is_empty() => {
            Scope::Direct {
                channel: Some(own(ch)),
                account: None,
                peer: join(peer),
            }
        }
        [ch, g, id @ ..] if (eq(g, "group") || eq(g, "channel")) && !id.is_empty() => {
            Scope::Group {
                channel: own(ch),
                kind: if eq(g, "group") {
                    GroupKind::Group
                } else {
                    GroupKind::Channel
                },
                id: join(id),
            }
        }
        [ch, u, id @ ..] if eq(u, "user") && !id.is_empty() => Scope::User {
            channel: own(ch),
            user_id: join(id),
        },
        [ch, kind, id @ ..] if !id.is_empty() => Scope::Generic {
            channel: own(ch),
            kind: own(kind),
            id: join(id),
        },
        _ => Scope::Custom { rest: join(base) },
    }
}

impl fmt::Display for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl FromStr for SessionKey {
    type Err = SessionKeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SessionKey::parse(s)
    }
}

impl TryFrom<String> for SessionKey {
    type Error = SessionKeyError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        SessionKey::parse(&s)
    }
}

impl Serialize for SessionKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for SessionKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        SessionKey::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
