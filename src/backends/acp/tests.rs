#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use serde_json::{Value, json};

use super::*;
use crate::backends::{Backend, LineParser, LiveInput, Permission, Protocol, RunRequest, Step};
use crate::core::model::events::{AgentEvent, FailureKind};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/acp");

/// The agent's lines of a recorded transcript (`{"dir":"in"|"out","line":…}`).
fn agent_lines(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(format!("{FIXTURES}/claude-agent-acp-0.101.0-{name}.jsonl"))
        .unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["dir"] == "in")
        .map(|v| v["line"].as_str().unwrap().to_owned())
        .collect()
}

fn setup(resume: Option<&str>, policy: PermissionPolicy) -> AcpSetup {
    AcpSetup {
        backend: "claude-acp",
        prompt: "run the tool".into(),
        cwd: PathBuf::from("/tmp/p/proj"),
        resume_id: resume.map(str::to_owned),
        model: None,
        mode: None,
        policy,
    }
}

/// Feed every line; collect events and the decoded writes.
fn drive(p: &mut AcpProtocol, lines: &[String]) -> (Vec<AgentEvent>, Vec<Value>) {
    let mut step = Step::default();
    for l in lines {
        p.on_line(l, &mut step);
    }
    let writes = step
        .writes
        .iter()
        .map(|w| serde_json::from_slice::<Value>(w).unwrap())
        .collect();
    (step.events, writes)
}

#[test]
fn real_tool_run_maps_session_tool_text_usage_and_cost() {
    let mut p = AcpProtocol::new(setup(None, PermissionPolicy::Allow));
    let (events, writes) = drive(&mut p, &agent_lines("tool"));
    // session/new in the project, then the prompt in that session.
    assert_eq!(writes[0]["method"], "session/new");
    assert_eq!(writes[0]["params"]["cwd"], "/tmp/p/proj");
    assert_eq!(writes[1]["method"], "session/prompt");
    assert_eq!(writes[1]["params"]["prompt"][0]["text"], "run the tool");
    let sid = writes[1]["params"]["sessionId"].as_str().unwrap();
    assert_eq!(
        events[0],
        AgentEvent::AgentInfo {
            name: Some("@agentclientprotocol/claude-agent-acp".into()),
            version: Some("0.101.0".into()),
            load_session: true,
        }
    );
    assert!(
        matches!(&events[1], AgentEvent::SessionStarted { resume_id, cli_version, .. }
        if resume_id == sid && cli_version.as_deref() == Some("0.101.0"))
    );
    // Announced as "Terminal"; the command arrives in the next update.
    let started = events
        .iter()
        .position(|e| {
            matches!(e, AgentEvent::ToolStarted { name, summary, .. }
        if name == "execute" && summary == "Terminal")
        })
        .unwrap();
    assert!(
        matches!(&events[started + 1], AgentEvent::ToolUpdated { name, summary, .. }
        if name == "execute" && summary == "echo hello-from-tool"),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AgentEvent::ToolFinished { ok: true, .. }))
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AgentEvent::Usage { usage, .. }
        if usage.input_tokens == 200 && usage.output_tokens == 14))
    );
    match events.last().unwrap() {
        AgentEvent::TurnCompleted {
            final_text,
            cost_usd,
            ..
        } => {
            assert_eq!(final_text.as_deref(), Some("DONE"));
            assert_eq!(*cost_usd, Some(0.00162));
        }
        e => panic!("{e:?}"),
    }
    assert!(
        !events.iter().any(|e| matches!(
            e,
            AgentEvent::Warning { .. } | AgentEvent::UnknownEvent { .. }
        )),
        "{events:?}"
    );
    // Nothing in flight: nothing to cancel; the process exiting now is fine.
    assert_eq!(p.on_stop(), None);
    assert!(p.finish(Some(0), "").is_empty());
}

#[test]
fn real_load_ignores_the_replayed_history_and_resumes_the_session() {
    let sid = "e28d7fdb-15ad-4707-a6ec-11e602cf4dfd";
    let mut p = AcpProtocol::new(setup(Some(sid), PermissionPolicy::Allow));
    let (events, writes) = drive(&mut p, &agent_lines("load"));
    assert_eq!(writes[0]["method"], "session/load");
    assert_eq!(writes[0]["params"]["sessionId"], sid);
    assert_eq!(writes[1]["method"], "session/prompt");
    assert!(matches!(&events[1], AgentEvent::SessionStarted { resume_id, .. } if resume_id == sid));
    // The old turn's tool call is history, not this run's.
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, AgentEvent::ToolStarted { .. })),
        "{events:?}"
    );
    assert!(
        matches!(events.last().unwrap(), AgentEvent::TurnCompleted { final_text: Some(t), .. } if t == "hi from fake")
    );
}

#[test]
fn real_load_of_a_missing_session_is_resume_not_found_and_sends_no_prompt() {
    let mut p = AcpProtocol::new(setup(
        Some("00000000-0000-0000-0000-000000000000"),
        PermissionPolicy::Allow,
    ));
    let lines: Vec<String> = agent_lines("load-missing").into_iter().take(3).collect();
    let (events, writes) = drive(&mut p, &lines);
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert!(
        matches!(events.last().unwrap(), AgentEvent::TurnFailed { kind: FailureKind::ResumeNotFound, message, .. }
        if message.contains("Resource not found"))
    );
    assert_eq!(p.encode(LiveInput::Message("more")), None);
}

#[test]
fn resume_without_load_session_is_refused_at_initialize() {
    let mut p = AcpProtocol::new(setup(Some("s-1"), PermissionPolicy::Allow));
    let init = r#"{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":1,"agentCapabilities":{}}}"#;
    let (events, writes) = drive(&mut p, &[init.to_owned()]);
    assert!(writes.is_empty());
    assert!(matches!(
        &events[0],
        AgentEvent::AgentInfo {
            load_session: false,
            ..
        }
    ));
    assert!(
        matches!(&events[1], AgentEvent::TurnFailed { message, .. } if message.contains("loadSession"))
    );
    assert!(p.finish(Some(0), "").is_empty(), "no second failure");
}

#[test]
fn permission_requests_follow_the_policy_with_the_offered_option_ids() {
    let lines = agent_lines("perm");
    let asks: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("session/request_permission"))
        .collect();
    assert!(!asks.is_empty());
    for (policy, option, warned) in [
        (PermissionPolicy::Allow, "allow-once", false),
        (PermissionPolicy::Deny, "reject", true),
    ] {
        let mut p = AcpProtocol::new(setup(None, policy));
        let mut step = Step::default();
        p.on_line(asks[0], &mut step);
        let answer: Value = serde_json::from_slice(&step.writes[0]).unwrap();
        assert_eq!(answer["id"], 0);
        assert_eq!(
            answer["result"]["outcome"],
            json!({"outcome": "selected", "optionId": option})
        );
        assert_eq!(
            step.events
                .iter()
                .any(|e| matches!(e, AgentEvent::Warning { .. })),
            warned
        );
    }
    // No option of the wanted kind: cancelled, never unanswered.
    let bytes = permission_answer(
        &json!(7),
        Some(&json!([{"optionId": "x", "kind": "allow_once"}])),
        false,
    );
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["result"]["outcome"]["outcome"], "cancelled");
    assert_eq!(policy_for(&Permission::Default), PermissionPolicy::Allow);
    assert_eq!(
        policy_for(&Permission::Mode("bypassPermissions".into())),
        PermissionPolicy::Allow
    );
    assert_eq!(
        policy_for(&Permission::Mode("default".into())),
        PermissionPolicy::Deny
    );
}

#[test]
fn real_cancel_stop_sends_session_cancel_and_maps_cancelled() {
    let lines = agent_lines("cancel");
    let end = lines.iter().position(|l| l.contains("stopReason")).unwrap();
    let mut p = AcpProtocol::new(setup(None, PermissionPolicy::Allow));
    let (_, writes) = drive(&mut p, &lines[..end]);
    let sid = writes[1]["params"]["sessionId"].clone();
    let cancel: Value = serde_json::from_slice(&p.on_stop().unwrap()).unwrap();
    assert_eq!(cancel["method"], "session/cancel");
    assert_eq!(cancel["params"]["sessionId"], sid);
    assert!(cancel.get("id").is_none(), "a notification");
    let (events, _) = drive(&mut p, &lines[end..]);
    assert!(
        matches!(events.last().unwrap(), AgentEvent::TurnFailed { message, .. } if message.contains("cancelled"))
    );
}

fn opened() -> AcpProtocol {
    let mut p = AcpProtocol::new(setup(None, PermissionPolicy::Allow));
    let init = r#"{"jsonrpc":"2.0","id":0,"result":{"agentCapabilities":{"loadSession":true}}}"#;
    let new = r#"{"jsonrpc":"2.0","id":1,"result":{"sessionId":"s-1"}}"#;
    drive(&mut p, &[init.into(), new.into()]);
    p
}

#[test]
fn stop_reasons_errors_and_malformed_lines() {
    for (reason, done) in [
        ("end_turn", true),
        ("max_tokens", false),
        ("max_turn_requests", false),
        ("refusal", false),
        ("cancelled", false),
        ("weird", false),
    ] {
        let mut p = opened();
        let line = format!(r#"{{"jsonrpc":"2.0","id":2,"result":{{"stopReason":"{reason}"}}}}"#);
        let (events, _) = drive(&mut p, &[line]);
        let ok = matches!(events.last().unwrap(), AgentEvent::TurnCompleted { .. });
        assert_eq!(ok, done, "{reason}: {events:?}");
    }
    let mut p = opened();
    let err = r#"{"jsonrpc":"2.0","id":2,"error":{"code":-32603,"message":"Internal error","data":{"details":"boom"}}}"#;
    let (events, _) = drive(&mut p, &["not json {".into(), "[1]".into(), err.into()]);
    assert!(matches!(&events[0], AgentEvent::Warning { .. }));
    assert!(matches!(&events[1], AgentEvent::Warning { .. }));
    assert!(
        matches!(&events[2], AgentEvent::TurnFailed { message, .. } if message.contains("Internal error: boom"))
    );
}

#[test]
fn exit_mid_prompt_fails_with_stderr() {
    let mut p = opened();
    let events = p.finish(Some(3), "starting\nFATAL: out of cheese\n");
    assert!(
        matches!(&events[0], AgentEvent::TurnFailed { message, kind: FailureKind::NoResult, .. }
        if message.contains("code 3") && message.contains("out of cheese"))
    );
}

#[test]
fn respond_is_another_prompt_queued_behind_the_running_one() {
    let mut p = opened();
    // The first prompt runs: the message waits, nothing is written now.
    assert_eq!(p.encode(LiveInput::Message("second")), Some(Vec::new()));
    let (_, writes) = drive(
        &mut p,
        &[r#"{"jsonrpc":"2.0","id":2,"result":{"stopReason":"end_turn"}}"#.into()],
    );
    assert_eq!(writes[0]["method"], "session/prompt");
    assert_eq!(writes[0]["params"]["prompt"][0]["text"], "second");
    assert_eq!(writes[0]["params"]["sessionId"], "s-1");
    let (_, _) = drive(
        &mut p,
        &[r#"{"jsonrpc":"2.0","id":3,"result":{"stopReason":"end_turn"}}"#.into()],
    );
    // Between turns: written at once.
    let now: Value =
        serde_json::from_slice(&p.encode(LiveInput::Message("third")).unwrap()).unwrap();
    assert_eq!(now["params"]["prompt"][0]["text"], "third");
}

#[test]
fn unknown_agent_requests_get_method_not_found() {
    let mut p = opened();
    let (_, writes) = drive(
        &mut p,
        &[r#"{"jsonrpc":"2.0","id":"r1","method":"fs/read_text_file","params":{}}"#.into()],
    );
    assert_eq!(writes[0]["id"], "r1");
    assert_eq!(writes[0]["error"]["code"], -32601);
}

#[test]
fn replay_parser_reads_a_stream_without_ids() {
    let mut parser = AcpParser::default();
    let events: Vec<AgentEvent> = agent_lines("tool")
        .iter()
        .flat_map(|l| parser.parse_line(l))
        .collect();
    assert!(matches!(&events[0], AgentEvent::SessionStarted { .. }));
    assert!(matches!(
        events.last().unwrap(),
        AgentEvent::TurnCompleted { .. }
    ));
}

#[test]
fn backend_command_and_config() {
    let toml: AcpToml =
        toml::from_str("program = \"agent\"\nargs = [\"acp\"]\nmode = \"bypassPermissions\"\n")
            .unwrap();
    let b = AcpBackend::new(AcpConfig::from_toml("myagent", toml, "f").unwrap());
    let req = RunRequest {
        prompt: "secret task".into(),
        project: "/p".into(),
        ..RunRequest::default()
    };
    b.validate(&req).unwrap();
    let cmd = b.live_command(&req).unwrap();
    assert_eq!(
        (cmd.program.as_str(), cmd.args.clone()),
        ("agent", vec!["acp".to_owned()])
    );
    assert!(
        !cmd.args.iter().any(|a| a.contains("secret")),
        "the task is never in argv"
    );
    let first: Value = serde_json::from_str(cmd.stdin.trim()).unwrap();
    assert_eq!(first["method"], "initialize");
    assert_eq!(b.registry_file(), "myagent_sessions.json");
    assert!(b.capabilities().two_way);
    let bad = RunRequest { fork: true, ..req };
    assert!(b.validate(&bad).is_err());
    let err = toml::from_str::<AcpToml>("program = \"a\"\nflavour = 1\n").unwrap_err();
    assert!(err.to_string().contains("flavour"));
    let err = AcpConfig::from_toml("claude", AcpToml::default(), "f")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("acp.claude") && err.contains("program"),
        "{err}"
    );
    // `install` is what doctor shows for a missing agent; empty is an error.
    let toml: AcpToml =
        toml::from_str("program = \"agent\"\ninstall = \"npm install -g agent\"\n").unwrap();
    let c = AcpConfig::from_toml("myagent", toml, "f").unwrap();
    assert_eq!(c.names.install, "npm install -g agent");
    let toml: AcpToml = toml::from_str("program = \"agent\"\ninstall = \" \"\n").unwrap();
    let err = AcpConfig::from_toml("myagent", toml, "f").unwrap_err();
    assert!(err.to_string().contains("acp.myagent.install"), "{err}");
}

#[test]
fn configured_mode_and_model_are_set_before_the_prompt() {
    let mut s = setup(None, PermissionPolicy::Allow);
    s.mode = Some("default".into());
    s.model = Some("m1".into());
    let mut p = AcpProtocol::new(s);
    let init = r#"{"jsonrpc":"2.0","id":0,"result":{"agentCapabilities":{}}}"#;
    let new = r#"{"jsonrpc":"2.0","id":1,"result":{"sessionId":"s-1"}}"#;
    let mode_err =
        r#"{"jsonrpc":"2.0","id":2,"error":{"code":-32601,"message":"Method not found"}}"#;
    let model_ok = r#"{"jsonrpc":"2.0","id":3,"result":{}}"#;
    let (events, writes) = drive(
        &mut p,
        &[init.into(), new.into(), mode_err.into(), model_ok.into()],
    );
    let methods: Vec<&str> = writes
        .iter()
        .map(|w| w["method"].as_str().unwrap())
        .collect();
    assert_eq!(
        methods,
        [
            "session/new",
            "session/set_mode",
            "session/set_model",
            "session/prompt"
        ]
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AgentEvent::Warning { message } if message.contains("mode")))
    );
}

#[test]
fn real_opencode_run_maps_its_tool_call_text_and_cost() {
    let text = std::fs::read_to_string(format!("{FIXTURES}/opencode-1.18.33-tool.jsonl")).unwrap();
    let lines: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["dir"] == "in")
        .map(|v| v["line"].as_str().unwrap().to_owned())
        .collect();
    let mut p = AcpProtocol::new(setup(None, PermissionPolicy::Allow));
    let (events, writes) = drive(&mut p, &lines);
    assert_eq!(writes[1]["method"], "session/prompt");
    assert!(
        matches!(&events[1], AgentEvent::SessionStarted { resume_id, cli_version, .. }
        if resume_id.starts_with("ses_") && cli_version.as_deref() == Some("1.18.33"))
    );
    assert!(events.iter().any(|e| matches!(e, AgentEvent::ToolStarted { name, summary, .. } if name == "execute" && summary == "shell")));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AgentEvent::ToolFinished { .. }))
    );
    assert!(
        matches!(events.last().unwrap(), AgentEvent::TurnCompleted { final_text: Some(t), cost_usd: Some(c), .. }
        if t == "DONE" && *c > 0.0)
    );
}

#[test]
fn a_plan_counts_its_entries_and_names_the_current_one() {
    let line = json!({"jsonrpc": "2.0", "method": "session/update", "params": {"sessionId": "s",
        "update": {"sessionUpdate": "plan", "entries": [
            {"content": "Read the code", "priority": "high", "status": "completed"},
            {"content": "Write the fix", "priority": "high", "status": "in_progress"},
            {"content": "Run the tests", "priority": "medium", "status": "pending"}]}}});
    let events = AcpParser::default().parse_line(&line.to_string());
    assert_eq!(
        events,
        [AgentEvent::Plan {
            done: 1,
            total: 3,
            current: Some("Write the fix".into()),
        }]
    );
}

#[test]
fn the_handshake_is_awaited_until_initialize_is_answered_by_its_id() {
    let mut p = AcpProtocol::new(setup(None, PermissionPolicy::Allow));
    assert!(matches!(
        p.awaiting(),
        Some(crate::backends::Awaiting::Handshake(_))
    ));
    let stray = r#"{"jsonrpc":"2.0","id":4242,"result":{}}"#;
    drive(&mut p, &[stray.into()]);
    let Some(crate::backends::Awaiting::Handshake(what)) = p.awaiting() else {
        panic!("still awaiting")
    };
    assert!(
        what.contains("`initialize`") && what.contains("4242"),
        "{what}"
    );
    let init = r#"{"jsonrpc":"2.0","id":0,"result":{"agentCapabilities":{}}}"#;
    drive(&mut p, &[init.into()]);
    assert_eq!(p.awaiting(), None);
}

#[test]
fn garbage_past_the_limit_fails_the_conversation_once() {
    let mut p = AcpProtocol::new(setup(None, PermissionPolicy::Allow));
    let lines: Vec<String> = (0..GARBAGE_LIMIT + 10)
        .map(|i| format!("<html> {i}"))
        .collect();
    let (events, writes) = drive(&mut p, &lines);
    let failures: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, AgentEvent::TurnFailed { .. }))
        .collect();
    assert_eq!(failures.len(), 1, "{events:?}");
    assert!(
        matches!(failures[0], AgentEvent::TurnFailed { message, .. } if message.contains("not JSON-RPC")),
        "{failures:?}"
    );
    assert!(writes.is_empty());
    // Failed: nothing more to wait for, and the exit adds no second failure.
    assert_eq!(p.awaiting(), None);
    assert!(p.finish(None, "").is_empty());
}
