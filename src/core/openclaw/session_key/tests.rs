//! Unit tests of session-key parsing and classification.

#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;
use pretty_assertions::assert_eq;

fn key(s: &str) -> SessionKey {
    SessionKey::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn main_scope_any_agent() {
    for agent in ["main", "ops", "team_2", "A-b"] {
        let k = key(&format!("agent:{agent}:main"));
        assert_eq!(k.agent_id(), agent);
        assert_eq!(k.scope(), &Scope::Main);
        assert_eq!(k.channel(), None);
        assert_eq!(k.thread_id(), None);
        assert!(k.is_dm_scope());
    }
}

#[test]
fn main_thread_and_topic() {
    let k = key("agent:main:main:thread:369520");
    assert_eq!(k.scope(), &Scope::Main);
    assert_eq!(
        k.thread(),
        Some(&Thread {
            kind: ThreadKind::Thread,
            id: "369520".into()
        })
    );
    assert!(!k.is_dm_scope());
    let k = key("agent:ops:main:topic:42");
    assert_eq!(k.agent_id(), "ops");
    assert_eq!(k.thread().map(|t| t.kind), Some(ThreadKind::Topic));
    assert_eq!(k.thread_id(), Some("42"));
    // The channel is unknown here, so a non-numeric id is kept for routing to judge.
    assert_eq!(key("agent:main:main:thread:abc").thread_id(), Some("abc"));
}

#[test]
fn whatsapp_group() {
    let k = key("agent:main:whatsapp:group:120363012345678901@g.us");
    assert_eq!(k.group_jid(), Some("120363012345678901@g.us"));
    assert_eq!(k.channel(), Some("whatsapp"));
    assert_eq!(k.telegram_chat(), None);
    assert_eq!(k.peer(), Some("120363012345678901@g.us"));
    assert!(!k.is_dm_scope());
    let err = SessionKey::parse("agent:main:whatsapp:group:12345").unwrap_err();
    assert!(
        matches!(err, SessionKeyError::BadWhatsappGroup { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "session key \"agent:main:whatsapp:group:12345\": WhatsApp group id \"12345\" is not a group JID (…@g.us)"
    );
}

#[test]
fn direct_peers() {
    let k = key("agent:main:whatsapp:dm:+4915112345678");
    assert_eq!(
        k.scope(),
        &Scope::Direct {
            channel: Some("whatsapp".into()),
            account: None,
            peer: "+4915112345678".into()
        }
    );
    assert_eq!(k.group_jid(), None);
    assert!(k.is_dm_scope());
    let k = key("agent:main:whatsapp:direct:4915112345678@s.whatsapp.net");
    assert_eq!(k.peer(), Some("4915112345678@s.whatsapp.net"));
    let k = key("agent:main:direct:alice");
    assert_eq!(k.channel(), None);
    assert_eq!(k.peer(), Some("alice"));
    let k = key("agent:ops:telegram:work:direct:555");
    assert_eq!(k.channel(), Some("telegram"));
    assert_eq!(k.account(), Some("work"));
    assert_eq!(k.telegram_user(), Some("555"));
    assert_eq!(k.telegram_chat(), Some("555"));
    let k = key("agent:main:telegram:direct:777:thread:12");
    assert_eq!(k.telegram_user(), Some("777"));
    assert_eq!(k.thread_id(), Some("12"));
    assert!(!k.is_dm_scope());
}

#[test]
fn telegram_group_topic_with_negative_chat() {
    let k = key("agent:main:telegram:group:-1001234567890:topic:369520");
    assert_eq!(k.channel(), Some("telegram"));
    assert_eq!(k.telegram_chat(), Some("-1001234567890"));
    assert_eq!(k.telegram_user(), None);
    assert_eq!(k.thread_id(), Some("369520"));
    assert_eq!(k.thread().map(|t| t.kind), Some(ThreadKind::Topic));
    let k = key("agent:main:telegram:group:-1001234567890");
    assert_eq!(k.telegram_chat(), Some("-1001234567890"));
    assert_eq!(k.thread(), None);
}

#[test]
fn telegram_user_scope() {
    let k = key("agent:main:telegram:user:123456");
    assert_eq!(k.telegram_user(), Some("123456"));
    assert_eq!(k.telegram_chat(), Some("123456"));
    assert!(k.is_dm_scope());
    assert_eq!(k.redacted_form(), "agent:main:telegram:user:...");
    let k = key("agent:research:telegram:user:9");
    assert_eq!(k.agent_id(), "research");
    assert_eq!(k.redacted_form(), "agent:research:telegram:user:...");
}

#[test]
fn telegram_ids_must_be_integers() {
    for (raw, what) in [
        ("agent:main:telegram:group:-100abc", "chat id"),
        ("agent:main:telegram:user:bob", "user id"),
        ("agent:main:telegram:direct:12x", "user id"),
        (
            "agent:main:telegram:group:-100123:topic:1});import(os)#",
            "thread id",
        ),
        ("agent:main:telegram:group:-100123:topic:-5", "thread id"),
        ("agent:main:telegram:group:-100123:topic:0", "thread id"),
        ("agent:main:telegram:group:-100123:topic:+5", "thread id"),
        ("agent:main:telegram:user:5:thread:x", "thread id"),
    ] {
        match SessionKey::parse(raw) {
            Err(SessionKeyError::BadTelegramId { what: w, .. }) => assert_eq!(w, what, "{raw}"),
            other => panic!("{raw}: {other:?}"),
        }
    }
    let err = SessionKey::parse("agent:main:telegram:group:-100123:topic:abc").unwrap_err();
    assert_eq!(
        err.to_string(),
        "session key \"agent:main:telegram:group:-100123:topic:abc\": Telegram thread id \"abc\" is not a positive integer"
    );
}

#[test]
fn generic_thread_suffix_on_other_channels() {
    let k = key("agent:main:slack:channel:c0123:thread:1700000000.123456");
    assert_eq!(
        k.scope(),
        &Scope::Group {
            channel: "slack".into(),
            kind: GroupKind::Channel,
            id: "c0123".into()
        }
    );
    // Not Telegram: a non-integer thread id is fine.
    assert_eq!(k.thread_id(), Some("1700000000.123456"));
    let k = key("agent:main:discord:channel:123:thread:456");
    assert_eq!(k.channel(), Some("discord"));
    assert_eq!(k.peer(), Some("123"));
}

#[test]
fn generic_and_colon_ids() {
    let k = key("agent:main:matrix:room:!abc:matrix.org");
    assert_eq!(
        k.scope(),
        &Scope::Generic {
            channel: "matrix".into(),
            kind: "room".into(),
            id: "!abc:matrix.org".into()
        }
    );
    assert_eq!(k.peer(), Some("!abc:matrix.org"));
    let k = key("agent:main:signal:group:AbC+/=");
    assert_eq!(k.peer(), Some("AbC+/="));
}

#[test]
fn special_scopes() {
    assert_eq!(
        key("agent:main:cron:nightly").scope(),
        &Scope::Cron {
            job: "nightly".into(),
            run: None
        }
    );
    assert_eq!(
        key("agent:main:cron:nightly:run:7").scope(),
        &Scope::Cron {
            job: "nightly".into(),
            run: Some("7".into())
        }
    );
    // Opaque scopes never grow a thread suffix.
    let k = key("agent:main:subagent:abc:thread:1");
    assert_eq!(
        k.scope(),
        &Scope::Subagent {
            rest: "abc:thread:1".into()
        }
    );
    assert_eq!(k.thread_id(), None);
    assert_eq!(
        key("agent:main:acp:x:y").scope(),
        &Scope::Acp { rest: "x:y".into() }
    );
    assert_eq!(
        key("agent:main:explicit:9c20168d-0551-4aad-9b0e-39fe511c66e2").scope(),
        &Scope::Explicit {
            session_id: "9c20168d-0551-4aad-9b0e-39fe511c66e2".into()
        }
    );
    let k = key("agent:main:notifier");
    assert_eq!(
        k.scope(),
        &Scope::Custom {
            rest: "notifier".into()
        }
    );
    assert_eq!(k.channel(), None);
    assert_eq!(
        key("agent:main:a:b").scope(),
        &Scope::Custom { rest: "a:b".into() }
    );
}

#[test]
fn malformed_keys() {
    let cases: &[(&str, SessionKeyError)] = &[
        ("", SessionKeyError::Empty),
        (
            "global",
            SessionKeyError::Sentinel {
                key: "global".into(),
            },
        ),
        ("main", SessionKeyError::NotAgentKey { key: "main".into() }),
        (
            "user:main:main",
            SessionKeyError::NotAgentKey {
                key: "user:main:main".into(),
            },
        ),
        (
            "agent::x",
            SessionKeyError::BadAgentId {
                key: "agent::x".into(),
                agent_id: String::new(),
            },
        ),
        (
            "agent:m/../x:main",
            SessionKeyError::BadAgentId {
                key: "agent:m/../x:main".into(),
                agent_id: "m/../x".into(),
            },
        ),
        (
            "agent:main",
            SessionKeyError::MissingScope {
                key: "agent:main".into(),
            },
        ),
        (
            "agent:main:",
            SessionKeyError::MissingScope {
                key: "agent:main:".into(),
            },
        ),
        (
            "agent:main:telegram::5",
            SessionKeyError::EmptySegment {
                key: "agent:main:telegram::5".into(),
            },
        ),
        (
            "agent:main:main:thread",
            SessionKeyError::MissingThreadId {
                key: "agent:main:main:thread".into(),
                marker: "thread".into(),
            },
        ),
        (
            "agent:main:main:thread:",
            SessionKeyError::EmptySegment {
                key: "agent:main:main:thread:".into(),
            },
        ),
        (
            "agent:main:main thread",
            SessionKeyError::Whitespace {
                key: "agent:main:main thread".into(),
            },
        ),
    ];
    for (raw, want) in cases {
        assert_eq!(&SessionKey::parse(raw).unwrap_err(), want, "{raw}");
    }
    assert_eq!(
        SessionKey::parse("main").unwrap_err().to_string(),
        "session key \"main\" does not start with agent:<agentId>:"
    );
}

#[test]
fn raw_is_kept_and_serde_round_trips() {
    let raw = "agent:Main:Telegram:group:-100:topic:3";
    let k = key(raw);
    assert_eq!(k.as_str(), raw);
    assert_eq!(k.to_string(), raw);
    assert_eq!(k.channel(), Some("Telegram"));
    assert_eq!(k.telegram_chat(), Some("-100"));
    let json = serde_json::to_string(&k).unwrap();
    assert_eq!(json, format!("\"{raw}\""));
    let back: SessionKey = serde_json::from_str(&json).unwrap();
    assert_eq!(back, k);
    assert!(serde_json::from_str::<SessionKey>("\"nope\"").is_err());
}

#[test]
fn thread_id_helpers() {
    assert_eq!(telegram_thread_id("369520"), Some(369_520));
    assert_eq!(telegram_thread_id("1"), Some(1));
    for bad in [
        "",
        "0",
        "-1",
        "+1",
        " 1",
        "1 ",
        "1e3",
        "99999999999999999999",
        "1});x",
    ] {
        assert_eq!(telegram_thread_id(bad), None, "{bad:?}");
    }
    assert!(is_telegram_chat_id("-1001234567890"));
    assert!(is_telegram_chat_id("5551234"));
    for bad in ["", "-", "--1", "12a", "@user", "1 "] {
        assert!(!is_telegram_chat_id(bad), "{bad:?}");
    }
}
