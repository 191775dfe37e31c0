//! Routing rules, table-tested: every guard and error message (exact text), each
//! session-key form, the workdir map and fallback, the gateway lookup (paging,
//! envelopes, unreachable) and the local session-file fallback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clawrun::routing::{
    ConfiguredRoute, GatewaySessions, LocalSessionFiles, Network, NoGateway, Route, RouteInput,
    RouteSource, SessionSource, TelegramRoutingMode, ToolInvoker, WorkdirRoute, resolve_route,
};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

const CHAT: &str = "-1001234567890";
const TOPIC_KEY: &str = "agent:main:telegram:group:-1001234567890:topic:369520";
const TOPIC_SID: &str = "fe321555-0437-44a8-a0fe-2d9d9f56b7ad";
const DM_THREAD_KEY: &str = "agent:main:main:thread:111";
const DM_SID: &str = "11111111-1111-4111-8111-111111111111";
const WA_KEY: &str = "agent:main:whatsapp:group:120363012345678901@g.us";
const WA_JID: &str = "120363012345678901@g.us";
const WA_SID: &str = "22222222-2222-4222-8222-222222222222";
const MAIN_SID: &str = "33333333-3333-4333-8333-333333333333";
const SLACK_KEY: &str = "agent:main:slack:channel:c0123:thread:1700000000.1";
const SLACK_SID: &str = "44444444-4444-4444-8444-444444444444";
const LOCAL_SID: &str = "55555555-5555-4555-8555-555555555555";
const OLDER_SID: &str = "66666666-6666-4666-8666-666666666666";
const OPS_SID: &str = "77777777-7777-4777-8777-777777777777";
const OTHER_SID: &str = "99999999-9999-4999-8999-999999999999";

const HOUR_MS: i64 = 3_600_000;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

// ---------------------------------------------------------------------------
// Fakes
// ---------------------------------------------------------------------------

/// How the fake wraps its `sessions_list` answer.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// Full HTTP body: `{"ok":true,"result":{"content":[{text}],"details":{…}}}`.
    Envelope,
    /// Only `result.content[0].text` (a JSON string), no `details`.
    ContentOnly,
    /// Only `{"details":{…}}`.
    DetailsOnly,
}

/// A loopback-free stand-in for the gateway's `/tools/invoke` `sessions_list`:
/// honours `search` (substring of the key), `activeMinutes`, `limit`, `offset`.
struct FakeGateway {
    sessions: Vec<Value>,
    up: bool,
    honour_search: bool,
    shape: Shape,
    calls: Mutex<Vec<Value>>,
}

impl FakeGateway {
    fn new(sessions: Vec<Value>) -> Self {
        Self {
            sessions,
            up: true,
            honour_search: true,
            shape: Shape::Envelope,
            calls: Mutex::new(Vec::new()),
        }
    }

    fn down() -> Self {
        Self {
            up: false,
            ..Self::new(Vec::new())
        }
    }

    fn calls(&self) -> Vec<Value> {
        self.calls.lock().unwrap().clone()
    }
}

impl ToolInvoker for &FakeGateway {
    async fn invoke(&self, tool: &str, args: Value) -> Result<Value, String> {
        self.calls
            .lock()
            .unwrap()
            .push(json!({"tool": tool, "args": args.clone()}));
        if !self.up {
            return Err("error sending request for url (http://127.0.0.1:18789/tools/invoke): connection refused".into());
        }
        assert_eq!(tool, "sessions_list");
        let search = args.get("search").and_then(Value::as_str);
        let active = args.get("activeMinutes").and_then(Value::as_i64);
        let limit = args["limit"].as_u64().unwrap_or(100) as usize;
        let offset = args.get("offset").and_then(Value::as_u64).unwrap_or(0) as usize;
        let now = now_ms();
        let matching: Vec<&Value> = self
            .sessions
            .iter()
            .filter(|s| {
                !self.honour_search || search.is_none_or(|q| s["key"].as_str().unwrap().contains(q))
            })
            .filter(|s| {
                active.is_none_or(|m| now - s["updatedAt"].as_i64().unwrap_or(0) <= m * 60_000)
            })
            .collect();
        let page: Vec<Value> = matching
            .iter()
            .skip(offset)
            .take(limit)
            .map(|v| (*v).clone())
            .collect();
        let has_more = offset + page.len() < matching.len();
        let mut details = json!({"count": page.len(), "sessions": page, "hasMore": has_more, "limitApplied": limit});
        if has_more {
            details["nextOffset"] = json!(offset + limit);
        }
        let text = serde_json::to_string_pretty(&details).unwrap();
        Ok(match self.shape {
            Shape::Envelope => {
                json!({"ok": true, "result": {"content": [{"type": "text", "text": text}], "details": details}})
            }
            Shape::ContentOnly => {
                json!({"ok": true, "result": {"content": [{"type": "text", "text": text}]}})
            }
            Shape::DetailsOnly => json!({"details": details}),
        })
    }
}

fn session(key: &str, sid: &str, to: Option<&str>, age_ms: i64) -> Value {
    let mut s = json!({
        "key": key, "sessionId": sid, "agentId": "main", "kind": "group",
        "archived": false, "updatedAt": now_ms() - age_ms, "status": "done"
    });
    if let Some(to) = to {
        let channel = to.split(':').next().unwrap();
        let channel = if channel.starts_with('+') {
            "whatsapp"
        } else {
            channel
        };
        s["deliveryContext"] = json!({"channel": channel, "to": to, "accountId": "bot2"});
    }
    s
}

/// The gateway of the table tests (shapes as observed on OpenClaw 2026.9.6:
/// topic sessions carry no deliveryContext; older ones do).
fn world_sessions() -> Vec<Value> {
    vec![
        session(TOPIC_KEY, TOPIC_SID, None, HOUR_MS),
        session(DM_THREAD_KEY, DM_SID, Some("telegram:5551234"), 2 * HOUR_MS),
        session(WA_KEY, WA_SID, None, 100 * HOUR_MS),
        session("agent:main:main", MAIN_SID, Some("+4915112345678"), HOUR_MS),
        session("agent:ops:main", OTHER_SID, Some("telegram:777"), HOUR_MS),
        session(
            "agent:main:main:thread:222",
            OTHER_SID,
            Some("telegram:4440000"),
            25 * HOUR_MS,
        ),
        session(SLACK_KEY, SLACK_SID, None, HOUR_MS),
        session("agent:main:cron:nightly", OTHER_SID, None, HOUR_MS),
    ]
}

/// Write a legacy session file, `age` old.
fn write_session_file(
    home: &Path,
    agent: &str,
    name: &str,
    lines: &[&str],
    age: Duration,
) -> PathBuf {
    let dir = home.join("agents").join(agent).join("sessions");
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    fs::write(&path, lines.join("\n")).unwrap();
    let f = fs::File::options().write(true).open(&path).unwrap();
    f.set_modified(SystemTime::now() - age).unwrap();
    path
}

fn user_msg(text: &str) -> String {
    json!({"type": "message", "message": {"role": "user", "content": [{"type": "text", "text": text}]}}).to_string()
}

/// The local files of the table tests.
fn world_files(home: &Path) {
    let meta = |body: &str| {
        user_msg(&format!(
            "Conversation info (untrusted metadata):\n```json\n{body}\n```\nhello"
        ))
    };
    // Newest file of thread 369999: a malformed line, then sender_id, then chat_id
    // (chat_id must win, and the bad line must not stop the scan).
    write_session_file(
        home,
        "main",
        &format!("{LOCAL_SID}-topic-369999.jsonl"),
        &[
            r#"{"type":"session","id":"x"}"#,
            "{not json at all",
            &json!({"type": "message", "message": {"role": "assistant", "content": "chat_id: 1"}})
                .to_string(),
            &meta(r#"{"sender_id": "5551234"}"#),
            &meta(r#"{"chat_id": "-100777", "sender_id": "5551234"}"#),
        ],
        Duration::from_secs(60),
    );
    // An older file of the same thread with another chat: must lose.
    write_session_file(
        home,
        "main",
        &format!("{OLDER_SID}-topic-369999.jsonl"),
        &[&meta(r#"{"chat_id": "-100888"}"#)],
        Duration::from_secs(2 * 3600),
    );
    // Another agent's thread: only a sender id.
    write_session_file(
        home,
        "ops",
        &format!("{OPS_SID}-topic-4242.jsonl"),
        &[&meta(r#"{"sender_id": 8888}"#)],
        Duration::from_secs(60),
    );
    // A thread active now for chat 3330000, and a stale one for 6660000.
    write_session_file(
        home,
        "main",
        "aaaaaaaa-topic-5000.jsonl",
        &["garbage", &meta(r#"{"chat_id": 3330000}"#)],
        Duration::from_secs(600),
    );
    write_session_file(
        home,
        "main",
        "bbbbbbbb-topic-5001.jsonl",
        &[&meta(r#"{"chat_id": 6660000}"#)],
        Duration::from_secs(30 * 3600),
    );
}

// ---------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
struct Want {
    channel: Network,
    target: Option<String>,
    thread: Option<String>,
    sid: Option<String>,
    source: RouteSource,
}

fn ok(
    channel: Network,
    target: &str,
    thread: Option<&str>,
    sid: Option<&str>,
    source: RouteSource,
) -> Result<Want, String> {
    Ok(Want {
        channel,
        target: Some(target.to_owned()),
        thread: thread.map(str::to_owned),
        sid: sid.map(str::to_owned),
        source,
    })
}

fn tg() -> Network {
    Network::Telegram
}

#[derive(Clone, Copy, PartialEq)]
enum Gw {
    Up,
    Down,
}

struct Case {
    name: &'static str,
    gw: Gw,
    input: RouteInput,
    want: Result<Want, String>,
}

fn key(k: &str) -> RouteInput {
    RouteInput {
        session_key: Some(k.into()),
        ..RouteInput::default()
    }
}

fn flags(channel: &str, target: &str) -> RouteInput {
    RouteInput {
        notify_channel: Some(channel.into()),
        notify_target: Some(target.into()),
        ..RouteInput::default()
    }
}

fn with(mut i: RouteInput, f: impl FnOnce(&mut RouteInput)) -> RouteInput {
    f(&mut i);
    i
}

fn err(s: &str) -> Result<Want, String> {
    Err(s.to_owned())
}

const USER_SCOPE_HINTS: &str = "   For intentional non-thread Telegram, pass --allow-main-telegram or --telegram-routing-mode allow-non-thread.";

fn cases(home: &Path) -> Vec<Case> {
    let local = |name: &str, agent: &str| RouteSource::LocalFile {
        path: home.join("agents").join(agent).join("sessions").join(name),
    };
    vec![
        // --- nothing given ---
        Case {
            name: "nothing given: console",
            gw: Gw::Up,
            input: RouteInput::default(),
            want: Ok(Want {
                channel: Network::Console,
                target: None,
                thread: None,
                sid: None,
                source: RouteSource::Default,
            }),
        },
        Case {
            name: "--notify-channel console keeps the key, no lookups needed",
            gw: Gw::Down,
            input: with(key(WA_KEY), |i| i.notify_channel = Some("console".into())),
            want: Ok(Want {
                channel: Network::Console,
                target: None,
                thread: None,
                sid: None,
                source: RouteSource::Flags,
            }),
        },
        // --- thread sessions ---
        Case {
            name: "forum topic key: chat from the key, uuid from the gateway",
            gw: Gw::Up,
            input: key(TOPIC_KEY),
            want: ok(
                tg(),
                CHAT,
                Some("369520"),
                Some(TOPIC_SID),
                RouteSource::SessionKey,
            ),
        },
        Case {
            name: "DM thread key: target from deliveryContext.to",
            gw: Gw::Up,
            input: key(DM_THREAD_KEY),
            want: ok(
                tg(),
                "5551234",
                Some("111"),
                Some(DM_SID),
                RouteSource::Gateway,
            ),
        },
        Case {
            name: "DM thread key, matching --notify-session-id and --notify-target",
            gw: Gw::Up,
            input: with(key(DM_THREAD_KEY), |i| {
                i.notify_session_id = Some(DM_SID.into());
                i.notify_target = Some("5551234".into());
                i.notify_thread_id = Some("111".into());
                i.notify_channel = Some("telegram".into());
            }),
            want: ok(
                tg(),
                "5551234",
                Some("111"),
                Some(DM_SID),
                RouteSource::Gateway,
            ),
        },
        Case {
            name: "gateway unreachable: local topic file (newest, chat_id over sender_id, bad line skipped)",
            gw: Gw::Down,
            input: key("agent:main:main:thread:369999"),
            want: ok(
                tg(),
                "-100777",
                Some("369999"),
                Some(LOCAL_SID),
                local(&format!("{LOCAL_SID}-topic-369999.jsonl"), "main"),
            ),
        },
        Case {
            name: "gateway does not know the key: local file of agent ops",
            gw: Gw::Up,
            input: key("agent:ops:main:topic:4242"),
            want: ok(
                tg(),
                "8888",
                Some("4242"),
                Some(OPS_SID),
                local(&format!("{OPS_SID}-topic-4242.jsonl"), "ops"),
            ),
        },
        Case {
            name: "thread flags without a key: local file found by thread id",
            gw: Gw::Down,
            input: RouteInput {
                notify_thread_id: Some("4242".into()),
                ..RouteInput::default()
            },
            want: ok(
                tg(),
                "8888",
                Some("4242"),
                Some(OPS_SID),
                local(&format!("{OPS_SID}-topic-4242.jsonl"), "ops"),
            ),
        },
        Case {
            name: "thread flags complete without any lookup",
            gw: Gw::Down,
            input: with(flags("telegram", "-100555"), |i| {
                i.notify_thread_id = Some("77".into());
                i.notify_session_id = Some(OTHER_SID.into());
            }),
            want: ok(
                tg(),
                "-100555",
                Some("77"),
                Some(OTHER_SID),
                RouteSource::Flags,
            ),
        },
        Case {
            name: "topic key, gateway unreachable, --notify-session-id given",
            gw: Gw::Down,
            input: with(key("agent:main:telegram:group:-100999:topic:5"), |i| {
                i.notify_session_id = Some(OTHER_SID.into())
            }),
            want: ok(
                tg(),
                "-100999",
                Some("5"),
                Some(OTHER_SID),
                RouteSource::SessionKey,
            ),
        },
        Case {
            name: "--notify-session-id for a key the gateway does not know",
            gw: Gw::Up,
            input: with(key("agent:main:telegram:group:-100999:topic:5"), |i| {
                i.notify_session_id = Some(OTHER_SID.into())
            }),
            want: Err(format!(
                "❌ Invalid routing: --session key is not in the gateway's sessions_list, so --notify-session-id cannot be checked\n   session key: agent:main:telegram:group:-100999:topic:5\n   provided:   {OTHER_SID}\n   Use the exact live session key and its sessionId from sessions_list."
            )),
        },
        Case {
            name: "thread session with --notify-channel whatsapp",
            gw: Gw::Up,
            input: with(key(DM_THREAD_KEY), |i| {
                i.notify_channel = Some("whatsapp".into())
            }),
            want: err("❌ Invalid routing: thread session requires --notify-channel telegram"),
        },
        Case {
            name: "topic key with --notify-channel whatsapp",
            gw: Gw::Up,
            input: with(key(TOPIC_KEY), |i| {
                i.notify_channel = Some("whatsapp".into())
            }),
            want: err("❌ Invalid routing: thread session requires --notify-channel telegram"),
        },
        Case {
            name: "thread session with --notify-channel console",
            gw: Gw::Up,
            input: with(key(DM_THREAD_KEY), |i| {
                i.notify_channel = Some("console".into())
            }),
            want: err("❌ Invalid routing: thread session requires --notify-channel telegram"),
        },
        Case {
            name: "mismatched --notify-session-id",
            gw: Gw::Up,
            input: with(key(TOPIC_KEY), |i| {
                i.notify_session_id = Some(OTHER_SID.into())
            }),
            want: Err(format!(
                "❌ Invalid routing: --notify-session-id does not match --session key\n   session key: {TOPIC_KEY}\n   provided:   {OTHER_SID}\n   expected:   {TOPIC_SID}"
            )),
        },
        Case {
            name: "mismatched --notify-target on a thread",
            gw: Gw::Up,
            input: with(key(DM_THREAD_KEY), |i| i.notify_target = Some("999".into())),
            want: err(
                "❌ Invalid routing: --notify-target does not match thread session metadata\n   provided:   999\n   expected:   5551234",
            ),
        },
        Case {
            name: "--notify-thread-id differing from the key's (the seed's injection path)",
            gw: Gw::Up,
            input: with(key(DM_THREAD_KEY), |i| {
                i.notify_thread_id = Some("1}); import os #".into())
            }),
            want: Err(format!(
                "❌ Invalid routing: --notify-thread-id does not match --session key\n   session key: {DM_THREAD_KEY}\n   provided:   1}}); import os #\n   expected:   111"
            )),
        },
        Case {
            name: "non-integer --notify-thread-id never reaches Telegram",
            gw: Gw::Up,
            input: with(flags("telegram", "5"), |i| {
                i.notify_thread_id = Some("1}); import os #".into());
                i.notify_session_id = Some(OTHER_SID.into());
            }),
            want: err(
                "❌ Invalid routing: Telegram thread id \"1}); import os #\" is not a positive integer (message_thread_id)",
            ),
        },
        Case {
            name: "non-integer thread id in a main:thread key",
            gw: Gw::Up,
            input: key("agent:main:main:thread:abc"),
            want: err(
                "❌ Invalid routing: Telegram thread id \"abc\" is not a positive integer (message_thread_id)",
            ),
        },
        Case {
            name: "thread target unresolvable",
            gw: Gw::Up,
            input: key("agent:main:main:thread:31337"),
            want: err(
                "❌ Invalid routing: thread session requires resolvable telegram target (auto-resolve failed)\n   Tip: ensure session exists in sessions_list or local thread session files",
            ),
        },
        Case {
            name: "thread session id unresolvable",
            gw: Gw::Down,
            input: key("agent:main:telegram:group:-100999:topic:5"),
            want: err(
                "❌ Invalid routing: thread session requires --notify-session-id (auto-resolve failed)\n   Tip: pass --notify-session-id <uuid> from sessions_list",
            ),
        },
        Case {
            name: "reply-to on a thread",
            gw: Gw::Up,
            input: with(key(TOPIC_KEY), |i| {
                i.reply_to_message_id = Some("42".into())
            }),
            want: err(
                "❌ Invalid routing: --reply-to-message-id cannot be combined with a Telegram thread\n   Telegram rejects replyTo + message_thread_id, and the retry without the thread lands in the main chat.",
            ),
        },
        Case {
            name: "a Slack thread is routed to Slack",
            gw: Gw::Up,
            input: key(SLACK_KEY),
            want: ok(
                Network::Other("slack".into()),
                "c0123",
                Some("1700000000.1"),
                Some(SLACK_SID),
                RouteSource::SessionKey,
            ),
        },
        Case {
            name: "a local topic file about another group is not this topic's session",
            gw: Gw::Down,
            input: key("agent:main:telegram:group:-100999:topic:369999"),
            want: err(
                "❌ Invalid routing: thread session requires --notify-session-id (auto-resolve failed)\n   Tip: pass --notify-session-id <uuid> from sessions_list",
            ),
        },
        Case {
            name: "a Discord thread from flags alone",
            gw: Gw::Down,
            input: with(flags("discord", "123"), |i| {
                i.notify_thread_id = Some("456".into())
            }),
            want: ok(
                Network::Other("discord".into()),
                "123",
                Some("456"),
                None,
                RouteSource::Flags,
            ),
        },
        Case {
            name: "a Telegram thread key with --notify-channel discord",
            gw: Gw::Up,
            input: with(key(DM_THREAD_KEY), |i| {
                i.notify_channel = Some("discord".into());
                i.notify_target = Some("123".into());
            }),
            want: err("❌ Invalid routing: thread session requires --notify-channel telegram"),
        },
        Case {
            name: "WhatsApp has no threads",
            gw: Gw::Down,
            input: with(flags("whatsapp", "1@g.us"), |i| {
                i.notify_thread_id = Some("5".into())
            }),
            want: err("❌ Invalid routing: thread session requires --notify-channel telegram"),
        },
        // --- non-thread Telegram guards ---
        Case {
            name: "thread-only blocks a user-scope key",
            gw: Gw::Up,
            input: with(key("agent:main:telegram:user:5551234"), |i| {
                i.telegram_routing_mode = TelegramRoutingMode::ThreadOnly
            }),
            want: err(
                "❌ Unsafe routing blocked: Telegram launch requires thread session (:topic:<id> or :thread:<id>)\n   Use the topic's key from sessions_list: --session agent:main:telegram:group:<chat>:topic:<thread>",
            ),
        },
        Case {
            name: "thread-only blocks flags, even with --allow-main-telegram",
            gw: Gw::Up,
            input: with(flags("telegram", "5551234"), |i| {
                i.telegram_routing_mode = TelegramRoutingMode::ThreadOnly;
                i.allow_main_telegram = true;
            }),
            want: err(
                "❌ Unsafe routing blocked: Telegram launch requires thread session (:topic:<id> or :thread:<id>)\n   Use the topic's key from sessions_list: --session agent:main:telegram:group:<chat>:topic:<thread>",
            ),
        },
        Case {
            name: "auto blocks a user-scope key",
            gw: Gw::Up,
            input: key("agent:main:telegram:user:5551234"),
            want: Err(format!(
                "❌ Unsafe routing blocked: session key is non-thread user scope (agent:main:telegram:user:...).\n   For a forum topic use its key from sessions_list: --session agent:main:telegram:group:<chat>:topic:<thread>.\n{USER_SCOPE_HINTS}"
            )),
        },
        Case {
            name: "auto blocks a user-scope key of agent ops (seed only checked main)",
            gw: Gw::Down,
            input: key("agent:ops:telegram:user:5551234"),
            want: Err(format!(
                "❌ Unsafe routing blocked: session key is non-thread user scope (agent:ops:telegram:user:...).\n   For a forum topic use its key from sessions_list: --session agent:ops:telegram:group:<chat>:topic:<thread>.\n{USER_SCOPE_HINTS}"
            )),
        },
        Case {
            name: "auto blocks a telegram direct key",
            gw: Gw::Up,
            input: key("agent:research:telegram:work:direct:5551234"),
            want: Err(format!(
                "❌ Unsafe routing blocked: session key is non-thread user scope (agent:research:telegram:work:direct:...).\n   For a forum topic use its key from sessions_list: --session agent:research:telegram:group:<chat>:topic:<thread>.\n{USER_SCOPE_HINTS}"
            )),
        },
        Case {
            name: "auto blocks a main key that delivers to Telegram",
            gw: Gw::Up,
            input: key("agent:ops:main"),
            want: Err(format!(
                "❌ Unsafe routing blocked: session key is non-thread user scope (agent:ops:main).\n   For a forum topic use its key from sessions_list: --session agent:ops:telegram:group:<chat>:topic:<thread>.\n{USER_SCOPE_HINTS}"
            )),
        },
        Case {
            name: "--allow-main-telegram lets a user-scope key through",
            gw: Gw::Up,
            input: with(key("agent:main:telegram:user:5551234"), |i| {
                i.allow_main_telegram = true
            }),
            want: ok(tg(), "5551234", None, None, RouteSource::SessionKey),
        },
        Case {
            name: "allow-non-thread lets a user-scope key through",
            gw: Gw::Up,
            input: with(key("agent:ops:telegram:user:5551234"), |i| {
                i.telegram_routing_mode = TelegramRoutingMode::AllowNonThread
            }),
            want: ok(tg(), "5551234", None, None, RouteSource::SessionKey),
        },
        Case {
            name: "auto blocks a group with a topic active in the last 24 h (gateway)",
            gw: Gw::Up,
            input: key("agent:main:telegram:group:-1001234567890"),
            want: Err(format!(
                "❌ Unsafe routing blocked: recent thread session detected for this Telegram target.\n   Use that thread's session key (below) or pass --allow-main-telegram to force non-thread.\n   recent thread session: {TOPIC_KEY}"
            )),
        },
        Case {
            name: "--allow-main-telegram lets that group through",
            gw: Gw::Up,
            input: with(key("agent:main:telegram:group:-1001234567890"), |i| {
                i.allow_main_telegram = true
            }),
            want: ok(tg(), CHAT, None, None, RouteSource::SessionKey),
        },
        Case {
            name: "recent DM thread via deliveryContext blocks flags to that user",
            gw: Gw::Up,
            input: flags("telegram", "5551234"),
            want: Err(format!(
                "❌ Unsafe routing blocked: recent thread session detected for this Telegram target.\n   Use that thread's session key (below) or pass --allow-main-telegram to force non-thread.\n   recent thread session: {DM_THREAD_KEY}"
            )),
        },
        Case {
            name: "gateway unreachable: recent local thread file still blocks",
            gw: Gw::Down,
            input: flags("telegram", "3330000"),
            want: err(
                "❌ Unsafe routing blocked: recent thread session detected for this Telegram target.\n   Use that thread's session key (below) or pass --allow-main-telegram to force non-thread.\n   recent thread session: agent:main:main:thread:5000",
            ),
        },
        Case {
            name: "gateway answers without a match: local files still checked",
            gw: Gw::Up,
            input: flags("telegram", "3330000"),
            want: err(
                "❌ Unsafe routing blocked: recent thread session detected for this Telegram target.\n   Use that thread's session key (below) or pass --allow-main-telegram to force non-thread.\n   recent thread session: agent:main:main:thread:5000",
            ),
        },
        Case {
            name: "thread sessions older than 24 h do not block (gateway and local)",
            gw: Gw::Up,
            input: flags("telegram", "4440000"),
            want: ok(tg(), "4440000", None, None, RouteSource::Flags),
        },
        Case {
            name: "stale local file does not block",
            gw: Gw::Down,
            input: flags("telegram", "6660000"),
            want: ok(tg(), "6660000", None, None, RouteSource::Flags),
        },
        Case {
            name: "Telegram target unresolvable",
            gw: Gw::Up,
            input: RouteInput {
                notify_channel: Some("telegram".into()),
                ..RouteInput::default()
            },
            want: err(
                "❌ Invalid routing: Telegram target could not be resolved from session metadata\n   Provide a valid thread/user session key resolvable via sessions_list/local files.",
            ),
        },
        Case {
            name: "Telegram target must be a chat id",
            gw: Gw::Up,
            input: with(flags("telegram", "5; rm -rf"), |i| {
                i.allow_main_telegram = true
            }),
            want: err(
                "❌ Invalid routing: Telegram target \"5; rm -rf\" is not a chat id (integer) or @username",
            ),
        },
        Case {
            name: "Telegram reply-to must be an integer",
            gw: Gw::Up,
            input: with(flags("telegram", "-100555"), |i| {
                i.reply_to_message_id = Some("x1".into())
            }),
            want: err(
                "❌ Invalid routing: --reply-to-message-id \"x1\" is not a Telegram message id (integer)",
            ),
        },
        // --- WhatsApp and other channels ---
        Case {
            name: "WhatsApp group key",
            gw: Gw::Up,
            input: key(WA_KEY),
            want: ok(
                Network::Whatsapp,
                WA_JID,
                None,
                Some(WA_SID),
                RouteSource::SessionKey,
            ),
        },
        Case {
            name: "WhatsApp group key, gateway unreachable: JID from the key",
            gw: Gw::Down,
            input: key(WA_KEY),
            want: ok(
                Network::Whatsapp,
                WA_JID,
                None,
                None,
                RouteSource::SessionKey,
            ),
        },
        Case {
            name: "WhatsApp group key the gateway does not have",
            gw: Gw::Up,
            input: key("agent:main:whatsapp:group:1@g.us"),
            want: err(
                "❌ Invalid routing: WhatsApp source session does not exist\n   session: agent:main:whatsapp:group:1@g.us\n   Use the exact live agent/session key from sessions_list.",
            ),
        },
        Case {
            name: "WhatsApp DM under agent:main:main, target from deliveryContext",
            gw: Gw::Up,
            input: key("agent:main:main"),
            want: ok(
                Network::Whatsapp,
                "+4915112345678",
                None,
                Some(MAIN_SID),
                RouteSource::Gateway,
            ),
        },
        Case {
            name: "WhatsApp DM key names its peer",
            gw: Gw::Down,
            input: key("agent:main:whatsapp:dm:+4915100000000"),
            want: ok(
                Network::Whatsapp,
                "+4915100000000",
                None,
                None,
                RouteSource::SessionKey,
            ),
        },
        Case {
            name: "mismatched --notify-session-id on a WhatsApp key",
            gw: Gw::Up,
            input: with(key(WA_KEY), |i| {
                i.notify_session_id = Some(OTHER_SID.into())
            }),
            want: Err(format!(
                "❌ Invalid routing: --notify-session-id does not match --session key\n   session key: {WA_KEY}\n   provided:   {OTHER_SID}\n   expected:   {WA_SID}"
            )),
        },
        Case {
            name: "a key that maps to no channel is an error",
            gw: Gw::Up,
            input: key("agent:main:cron:nightly"),
            want: err(
                "❌ Invalid routing: notification target could not be resolved from source session\n   session: agent:main:cron:nightly\n   Use a session key that names its chat, or pass --notify-channel and --notify-target.",
            ),
        },
        Case {
            name: "unknown main key with the gateway down is an error, not silence",
            gw: Gw::Down,
            input: key("agent:main:main"),
            want: err(
                "❌ Invalid routing: notification target could not be resolved from source session\n   session: agent:main:main\n   Use a session key that names its chat, or pass --notify-channel and --notify-target.",
            ),
        },
        Case {
            name: "other gateway channel with a target",
            gw: Gw::Up,
            input: flags("discord", "123456789"),
            want: ok(
                Network::Other("discord".into()),
                "123456789",
                None,
                None,
                RouteSource::Flags,
            ),
        },
        Case {
            name: "other gateway channel needs a target",
            gw: Gw::Up,
            input: RouteInput {
                notify_channel: Some("discord".into()),
                ..RouteInput::default()
            },
            want: err("❌ Invalid routing: --notify-channel discord requires --notify-target"),
        },
        Case {
            name: "not a channel name",
            gw: Gw::Up,
            input: flags("tele gram", "1"),
            want: err(
                "❌ Invalid routing: --notify-channel \"tele gram\" is not a channel name\n   Use telegram, whatsapp, console or a gateway channel name (letters, digits, - and _).",
            ),
        },
        Case {
            name: "target without a channel",
            gw: Gw::Up,
            input: RouteInput {
                notify_target: Some("5".into()),
                ..RouteInput::default()
            },
            want: err(
                "❌ Invalid routing: --notify-target requires --notify-channel (or a --session key that names the channel)",
            ),
        },
        Case {
            name: "--notify-channel contradicting the key",
            gw: Gw::Up,
            input: with(key(WA_KEY), |i| i.notify_channel = Some("telegram".into())),
            want: Err(format!(
                "❌ Invalid routing: --notify-channel telegram does not match the session key's channel (whatsapp)\n   session key: {WA_KEY}\n   Pass --notify-target too to send elsewhere on purpose."
            )),
        },
        Case {
            name: "--notify-channel + --notify-target override a key on purpose",
            gw: Gw::Up,
            input: with(key(WA_KEY), |i| {
                i.notify_channel = Some("discord".into());
                i.notify_target = Some("42".into());
            }),
            want: ok(
                Network::Other("discord".into()),
                "42",
                None,
                Some(WA_SID),
                RouteSource::Flags,
            ),
        },
        Case {
            name: "malformed key",
            gw: Gw::Up,
            input: key("agent::main"),
            want: err(
                "❌ Invalid routing: session key \"agent::main\" has an invalid agent id \"\" (letters, digits, _ and - only)",
            ),
        },
        Case {
            name: "Telegram key with a non-integer topic",
            gw: Gw::Up,
            input: key("agent:main:telegram:group:-100:topic:x"),
            want: err(
                "❌ Invalid routing: session key \"agent:main:telegram:group:-100:topic:x\": Telegram thread id \"x\" is not a positive integer",
            ),
        },
    ]
}

#[tokio::test]
async fn routing_table() {
    let home = tempfile::tempdir().unwrap();
    world_files(home.path());
    let local = LocalSessionFiles::new(home.path());
    let up = FakeGateway::new(world_sessions());
    let down = FakeGateway::down();
    let mut failures = Vec::new();
    for case in cases(home.path()) {
        let gw = if case.gw == Gw::Up { &up } else { &down };
        let sessions = GatewaySessions::new(gw);
        let got = resolve_route(&case.input, &sessions, &local)
            .await
            .map(|r: Route| Want {
                channel: r.channel,
                target: r.target,
                thread: r.thread_id,
                sid: r.session_id,
                source: r.source,
            })
            .map_err(|e| e.to_string());
        if got != case.want {
            failures.push(format!(
                "{}:\n   got:  {got:?}\n   want: {:?}",
                case.name, case.want
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------
// Details the table does not show
// ---------------------------------------------------------------------------

#[tokio::test]
async fn gateway_unreachable_is_reported_and_local_fallback_used() {
    let home = tempfile::tempdir().unwrap();
    world_files(home.path());
    let down = FakeGateway::down();
    let route = resolve_route(
        &key("agent:main:main:thread:369999"),
        &GatewaySessions::new(&down),
        &LocalSessionFiles::new(home.path()),
    )
    .await
    .unwrap();
    assert_eq!(route.target.as_deref(), Some("-100777"));
    assert_eq!(down.calls().len(), 1, "one lookup, no retry loop");
    assert!(
        route
            .warnings
            .iter()
            .any(|w| w.contains("gateway unreachable") && w.contains("connection refused")),
        "{:?}",
        route.warnings
    );
    assert!(
        route
            .warnings
            .iter()
            .any(|w| w.contains("used local session file")),
        "{:?}",
        route.warnings
    );

    // NoGateway (no token configured) behaves the same.
    let route = resolve_route(
        &key("agent:main:main:thread:369999"),
        &NoGateway,
        &LocalSessionFiles::new(home.path()),
    )
    .await
    .unwrap();
    assert_eq!(route.session_id.as_deref(), Some(LOCAL_SID));
}

#[tokio::test]
async fn paging_is_followed_until_the_key_is_found() {
    // 7 sessions, pages of 2, a gateway that ignores `search` (older versions):
    // the key is the 7th, on the 4th page.
    let mut sessions: Vec<Value> = (0..6)
        .map(|n| {
            session(
                &format!("agent:main:whatsapp:group:{n}@g.us"),
                OTHER_SID,
                None,
                HOUR_MS,
            )
        })
        .collect();
    sessions.push(session(WA_KEY, WA_SID, None, HOUR_MS));
    let mut gw = FakeGateway::new(sessions);
    gw.honour_search = false;
    let src = GatewaySessions::new(&gw).with_page_limit(2);
    let meta = src.find_session(WA_KEY).await.unwrap().unwrap();
    assert_eq!(meta.session_id.as_deref(), Some(WA_SID));
    let calls = gw.calls();
    let offsets: Vec<Option<u64>> = calls.iter().map(|c| c["args"]["offset"].as_u64()).collect();
    assert_eq!(offsets, vec![None, Some(2), Some(4), Some(6)]);
    for c in &calls {
        assert_eq!(c["args"]["search"], WA_KEY);
        assert_eq!(c["args"]["limit"], 2);
    }

    // Not there at all: every page is read, then None (not an error).
    assert_eq!(
        src.find_session("agent:main:whatsapp:group:nope@g.us")
            .await
            .unwrap(),
        None
    );
    assert_eq!(gw.calls().len(), 4 + 4);
}

#[tokio::test]
async fn exact_key_match_only() {
    // `search` is a substring filter: a longer key containing ours must not match.
    let gw = FakeGateway::new(vec![
        session(
            "agent:main:main:thread:1110",
            OTHER_SID,
            Some("telegram:1"),
            HOUR_MS,
        ),
        session(
            "agent:main:main:thread:111",
            DM_SID,
            Some("telegram:5551234"),
            HOUR_MS,
        ),
    ]);
    let meta = GatewaySessions::new(&gw)
        .find_session("agent:main:main:thread:111")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(meta.session_id.as_deref(), Some(DM_SID));
    let gw = FakeGateway::new(vec![session(
        "agent:main:main:thread:1110",
        OTHER_SID,
        None,
        HOUR_MS,
    )]);
    assert_eq!(
        GatewaySessions::new(&gw)
            .find_session("agent:main:main:thread:111")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn every_envelope_shape_is_read() {
    for shape in [Shape::Envelope, Shape::ContentOnly, Shape::DetailsOnly] {
        let mut gw = FakeGateway::new(world_sessions());
        gw.shape = shape;
        let meta = GatewaySessions::new(&gw)
            .find_session(DM_THREAD_KEY)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(meta.session_id.as_deref(), Some(DM_SID));
        assert_eq!(meta.target.as_deref(), Some("5551234"));
        assert_eq!(meta.channel.as_deref(), Some("telegram"));
        assert_eq!(meta.account.as_deref(), Some("bot2"));
    }
}

/// An invoker that returns one canned answer.
struct Canned(Value);

impl ToolInvoker for Canned {
    async fn invoke(&self, _tool: &str, _args: Value) -> Result<Value, String> {
        Ok(self.0.clone())
    }
}

#[tokio::test]
async fn gateway_errors_and_odd_sessions() {
    let err = GatewaySessions::new(Canned(
        json!({"ok": false, "error": {"type": "tool_error", "message": "tool execution failed"}}),
    ))
    .find_session(TOPIC_KEY)
    .await
    .unwrap_err();
    assert_eq!(err.to_string(), "gateway error: tool execution failed");
    let err = GatewaySessions::new(Canned(
        json!({"error": {"message": "Unauthorized", "type": "unauthorized"}}),
    ))
    .find_session(TOPIC_KEY)
    .await
    .unwrap_err();
    assert_eq!(err.to_string(), "gateway error: Unauthorized");
    let err = GatewaySessions::new(Canned(
        json!({"ok": true, "result": {"content": [{"type": "text", "text": "not json"}]}}),
    ))
    .find_session(TOPIC_KEY)
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("unexpected sessions_list response"),
        "{err}"
    );
    // hasMore without progress must not loop forever.
    let err = GatewaySessions::new(Canned(
        json!({"details": {"sessions": [], "hasMore": true, "nextOffset": 0}}),
    ))
    .find_session(TOPIC_KEY)
    .await
    .unwrap_err();
    assert!(err.to_string().contains("does not advance"), "{err}");

    // deliveryContext forms: topic in `to`, numeric threadId, legacy lastTo, displayName.
    let answer = json!({"details": {"sessions": [
        {"key": "a", "sessionId": "s", "deliveryContext": {"to": "telegram:-100123:topic:77"}},
        {"key": "b", "deliveryContext": {"channel": "telegram", "to": "telegram:group:-100", "threadId": 9}},
        {"key": "c", "lastChannel": "whatsapp", "lastTo": "120@g.us", "lastAccountId": "acc"},
        {"key": "d", "displayName": "telegram:g-1001234567890-topic-369520"},
        {"key": "e", "displayName": "telegram:5551234"}
    ], "hasMore": false}});
    let src = GatewaySessions::new(Canned(answer));
    let a = src.find_session("a").await.unwrap().unwrap();
    assert_eq!(
        (
            a.channel.as_deref(),
            a.target.as_deref(),
            a.thread_id.as_deref()
        ),
        (Some("telegram"), Some("-100123"), Some("77"))
    );
    let b = src.find_session("b").await.unwrap().unwrap();
    assert_eq!(
        (b.target.as_deref(), b.thread_id.as_deref()),
        (Some("-100"), Some("9"))
    );
    let c = src.find_session("c").await.unwrap().unwrap();
    assert_eq!(
        (
            c.channel.as_deref(),
            c.target.as_deref(),
            c.account.as_deref()
        ),
        (Some("whatsapp"), Some("120@g.us"), Some("acc"))
    );
    let d = src.find_session("d").await.unwrap().unwrap();
    assert_eq!(d.target, None, "a display label is not a chat id");
    let e = src.find_session("e").await.unwrap().unwrap();
    assert_eq!(e.target.as_deref(), Some("5551234"));
}

#[tokio::test]
async fn recent_thread_check_pages_and_filters_by_age() {
    let gw = FakeGateway::new(world_sessions());
    let src = GatewaySessions::new(&gw).with_page_limit(1);
    let recent = src
        .recent_thread_sessions(CHAT, Duration::from_secs(24 * 3600))
        .await
        .unwrap();
    assert_eq!(
        recent.iter().map(|m| m.key.as_str()).collect::<Vec<_>>(),
        vec![TOPIC_KEY]
    );
    let calls = gw.calls();
    assert!(calls.len() > 2, "pages were followed: {calls:?}");
    assert_eq!(calls[0]["args"]["activeMinutes"], 1440);
    assert!(
        src.recent_thread_sessions("4440000", Duration::from_secs(24 * 3600))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        src.recent_thread_sessions("4440000", Duration::from_secs(26 * 3600))
            .await
            .unwrap()
            .len(),
        1
    );
}

fn wd(dir: &str, channel: &str, target: &str) -> WorkdirRoute {
    WorkdirRoute {
        workdir: PathBuf::from(dir),
        channel: Some(channel.into()),
        target: Some(target.into()),
        ..WorkdirRoute::default()
    }
}

#[tokio::test]
async fn workdir_map_longest_prefix_then_fallback() {
    let home = tempfile::tempdir().unwrap();
    let local = LocalSessionFiles::new(home.path());
    let gw = FakeGateway::new(world_sessions());
    let sessions = GatewaySessions::new(&gw);
    let map = vec![
        wd("/proj", "whatsapp", "1@g.us"),
        wd("/proj/sub/", "discord", "sub-channel"),
        wd("/proj/sub/deep/er", "discord", "deeper"),
        WorkdirRoute {
            workdir: PathBuf::from("/keyed"),
            session_key: Some(WA_KEY.into()),
            ..WorkdirRoute::default()
        },
    ];
    let fallback = ConfiguredRoute {
        channel: Some("telegram".into()),
        target: Some("-100555".into()),
        account: Some("acc2".into()),
        ..ConfiguredRoute::default()
    };
    let input = |project: &str| RouteInput {
        project_dir: PathBuf::from(project),
        workdir_routes: map.clone(),
        fallback: Some(fallback.clone()),
        ..RouteInput::default()
    };
    let cases: Vec<(&str, Network, Option<&str>, RouteSource)> = vec![
        (
            "/proj/sub/deep",
            Network::Other("discord".into()),
            Some("sub-channel"),
            RouteSource::WorkdirMap {
                workdir: "/proj/sub/".into(),
            },
        ),
        (
            "/proj/sub",
            Network::Other("discord".into()),
            Some("sub-channel"),
            RouteSource::WorkdirMap {
                workdir: "/proj/sub/".into(),
            },
        ),
        (
            "/proj/subway",
            Network::Whatsapp,
            Some("1@g.us"),
            RouteSource::WorkdirMap {
                workdir: "/proj".into(),
            },
        ),
        (
            "/proj/sub/deep/er/x",
            Network::Other("discord".into()),
            Some("deeper"),
            RouteSource::WorkdirMap {
                workdir: "/proj/sub/deep/er".into(),
            },
        ),
        (
            "/keyed/x",
            Network::Whatsapp,
            Some(WA_JID),
            RouteSource::WorkdirMap {
                workdir: "/keyed".into(),
            },
        ),
        (
            "/elsewhere",
            Network::Telegram,
            Some("-100555"),
            RouteSource::Fallback,
        ),
    ];
    for (project, channel, target, source) in cases {
        let r = resolve_route(&input(project), &sessions, &local)
            .await
            .unwrap();
        assert_eq!(
            (&r.channel, r.target.as_deref(), &r.source),
            (&channel, target, &source),
            "{project}"
        );
    }
    let keyed = resolve_route(&input("/keyed"), &sessions, &local)
        .await
        .unwrap();
    assert_eq!(keyed.session_key.as_deref(), Some(WA_KEY));
    assert_eq!(keyed.session_id.as_deref(), Some(WA_SID));
    let fb = resolve_route(&input("/elsewhere"), &sessions, &local)
        .await
        .unwrap();
    assert_eq!(fb.account.as_deref(), Some("acc2"));

    // Explicit flags win over the map.
    let mut explicit = input("/proj/sub");
    explicit.notify_channel = Some("discord".into());
    explicit.notify_target = Some("mine".into());
    let r = resolve_route(&explicit, &sessions, &local).await.unwrap();
    assert_eq!(
        (r.target.as_deref(), r.source),
        (Some("mine"), RouteSource::Flags)
    );

    // Configured routes pass the same guards: thread-only blocks the Telegram fallback.
    let mut strict = input("/elsewhere");
    strict.telegram_routing_mode = TelegramRoutingMode::ThreadOnly;
    let e = resolve_route(&strict, &sessions, &local).await.unwrap_err();
    assert!(
        e.to_string()
            .starts_with("❌ Unsafe routing blocked: Telegram launch requires thread session"),
        "{e}"
    );

    // A bad configured channel is named as such.
    let bad = RouteInput {
        project_dir: "/x".into(),
        workdir_routes: vec![WorkdirRoute {
            workdir: "/x".into(),
            channel: Some("matrix".into()),
            ..WorkdirRoute::default()
        }],
        ..RouteInput::default()
    };
    let e = resolve_route(&bad, &sessions, &local).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "❌ Invalid routing: workdir route /x: channel matrix requires --notify-target"
    );
    assert_eq!(e.exit_code(), 2);

    // No map match and no fallback: console.
    let none = RouteInput {
        project_dir: "/elsewhere".into(),
        workdir_routes: map.clone(),
        ..RouteInput::default()
    };
    let r = resolve_route(&none, &sessions, &local).await.unwrap();
    assert_eq!(
        (r.channel, r.source),
        (Network::Console, RouteSource::Default)
    );
}

#[tokio::test]
async fn report_and_json() {
    let gw = FakeGateway::new(world_sessions());
    let home = tempfile::tempdir().unwrap();
    let input = key(DM_THREAD_KEY);
    let route = resolve_route(
        &input,
        &GatewaySessions::new(&gw),
        &LocalSessionFiles::new(home.path()),
    )
    .await
    .unwrap();
    let json = serde_json::to_value(&route).unwrap();
    assert_eq!(
        json,
        json!({
            "channel": "telegram", "target": "5551234", "thread_id": "111", "account": "bot2",
            "session_key": DM_THREAD_KEY, "session_id": DM_SID, "reply_to": null,
            "source": {"kind": "gateway"}
        })
    );
    let back: Route = serde_json::from_value(json).unwrap();
    assert_eq!(back, route);
    let d = route.destination();
    assert_eq!(
        (
            d.channel.as_deref(),
            d.target.as_deref(),
            d.thread_id.as_deref()
        ),
        (Some("telegram"), Some("5551234"), Some("111"))
    );

    let console = resolve_route(
        &RouteInput::default(),
        &NoGateway,
        &LocalSessionFiles::new(home.path()),
    )
    .await
    .unwrap();
    assert_eq!(console.channel.as_str(), "console");
    assert_eq!(console.target, None);
    assert_eq!(console.source.to_string(), "default (nothing given)");
    assert_eq!(console.destination().channel, None);
}

#[test]
fn resolve_route_future_is_send_for_concrete_sources() {
    // The orchestrator may resolve inside a spawned task.
    fn assert_send<T: Send>(_: &T) {}
    let gw = FakeGateway::new(Vec::new());
    let sessions = GatewaySessions::new(&gw);
    let local = LocalSessionFiles::new("/nonexistent");
    let input = RouteInput::default();
    let fut = resolve_route(&input, &sessions, &local);
    assert_send(&fut);
    let no_gw = resolve_route(&input, &NoGateway, &local);
    assert_send(&no_gw);
}
