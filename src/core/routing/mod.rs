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
//!
//! One file per part: [`input`] (flags and configured routes merged, rule 1),
//! [`resolve`] (the lookups and rules 2–3), [`telegram`] (the Telegram rules:
//! thread routes and the non-thread guards, rules 3–4) and [`error`]; the
//! `--validate-only` report is the binary's (`cli/render/route.rs`). The session lookups themselves
//! are OpenClaw's ([`crate::core::openclaw::session_lookup`]); they are
//! re-exported here.

pub mod error;
pub mod input;
pub mod resolve;
pub mod telegram;

use std::time::Duration;

pub use self::error::RoutingError;
pub use self::input::{ConfiguredRoute, RouteInput, WorkdirRoute};
pub use self::resolve::resolve_route;
pub use crate::core::model::route::{Network, Route, RouteSource, TelegramRoutingMode};
pub use crate::core::openclaw::session_lookup::{
    GatewaySessions, LocalSessionFiles, LocalSessions, MetaOrigin, NoGateway, SessionMeta,
    SessionSource, SourceError, ToolInvoker,
};

/// How old a thread session may be and still make a non-thread Telegram launch
/// to the same target look like a misroute.
pub const RECENT_THREAD_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
