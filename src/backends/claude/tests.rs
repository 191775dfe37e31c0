#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use pretty_assertions::assert_eq;

use super::conversation::tool_summary;
use super::*;
use crate::backends::config::BackendsConfig;
use crate::backends::{Backend, CommandSpec, Permission, RunRequest};

fn backend() -> ClaudeBackend {
    ClaudeBackend::new(BackendsConfig::builtin().unwrap().claude)
}

fn request() -> RunRequest {
    RunRequest {
        prompt: "fix the bug".to_string(),
        project: PathBuf::from("/work/p"),
        ..RunRequest::default()
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

#[test]
fn multi_turn_reads_stream_json_input_and_sends_the_prompt_as_a_user_line() {
    let req = RunRequest {
        allowed_tools: strings(&["Read", "Bash"]),
        prompt: "say \"hi\"\nthen stop".to_string(),
        ..request()
    };
    let cmd = multi_turn_command(backend().command(&req));
    assert_eq!(
        cmd.args,
        strings(&[
            "-p",
            "--input-format",
            "stream-json",
            "--output-format",
            "stream-json",
            "--dangerously-skip-permissions",
            "--allowedTools",
            "Read",
            "Bash",
            "--verbose",
        ])
    );
    // One line, exactly the shape claude 2.1.197 accepts.
    assert_eq!(cmd.stdin.matches('\n').count(), 1);
    assert!(cmd.stdin.ends_with('\n'));
    assert_eq!(
        cmd.stdin,
        "{\"message\":{\"content\":[{\"text\":\"say \\\"hi\\\"\\nthen stop\",\"type\":\"text\"}],\
         \"role\":\"user\"},\"type\":\"user\"}\n"
    );
    let v: serde_json::Value = serde_json::from_str(cmd.stdin.trim_end()).unwrap();
    assert_eq!(v["message"]["content"][0]["text"], "say \"hi\"\nthen stop");
    let i: serde_json::Value =
        serde_json::from_str(interrupt_request_line("r-1").trim_end()).unwrap();
    assert_eq!(
        i,
        serde_json::json!({"type": "control_request", "request_id": "r-1",
                           "request": {"subtype": "interrupt"}})
    );
}

#[test]
fn plain_run_uses_default_permission_and_stdin() {
    assert_eq!(
        backend().command(&request()),
        CommandSpec {
            program: "claude".to_string(),
            args: strings(&[
                "-p",
                "--output-format",
                "stream-json",
                "--dangerously-skip-permissions",
                "--verbose",
            ]),
            env: vec![],
            cwd: PathBuf::from("/work/p"),
            stdin: "fix the bug".to_string(),
        }
    );
}

#[test]
fn every_option_maps_to_its_flag() {
    let mut config = BackendsConfig::builtin().unwrap().claude;
    config.program = "/opt/claude".to_string();
    config.args = strings(&["--add-dir", "/data"]);
    config.env.insert("IS_SANDBOX".to_string(), "1".to_string());
    let req = RunRequest {
        model: Some("opus".to_string()),
        resume_id: Some("b97f592b".to_string()),
        fork: true,
        permission: Permission::Mode("plan".to_string()),
        allowed_tools: strings(&["Bash(git *)", "Read"]),
        append_system_prompt: Some("- be brief".to_string()),
        max_budget_usd: Some(1.5),
        ..request()
    };
    assert_eq!(ClaudeBackend::new(config.clone()).validate(&req), Ok(()));
    assert_eq!(
        ClaudeBackend::new(config).command(&req),
        CommandSpec {
            program: "/opt/claude".to_string(),
            args: strings(&[
                "-p",
                "--output-format",
                "stream-json",
                "--permission-mode",
                "plan",
                "--model",
                "opus",
                "--resume",
                "b97f592b",
                "--fork-session",
                "--append-system-prompt=- be brief",
                "--max-budget-usd",
                "1.5",
                "--allowedTools",
                "Bash(git *)",
                "Read",
                "--verbose",
                "--add-dir",
                "/data",
            ]),
            env: vec![("IS_SANDBOX".to_string(), "1".to_string())],
            cwd: PathBuf::from("/work/p"),
            stdin: "fix the bug".to_string(),
        }
    );
}

#[test]
fn validate_rejects_what_claude_cannot_do() {
    let b = backend();
    let bad = [
        RunRequest {
            permission: Permission::Sandbox("read-only".to_string()),
            ..request()
        },
        RunRequest {
            permission: Permission::Mode("yolo".to_string()),
            ..request()
        },
        RunRequest {
            fork: true,
            ..request()
        },
        RunRequest {
            resume_id: Some("--help".to_string()),
            ..request()
        },
        RunRequest {
            max_budget_usd: Some(f64::NAN),
            ..request()
        },
        RunRequest {
            search: Some(false),
            ..request()
        },
        RunRequest {
            prompt: " ".to_string(),
            ..request()
        },
    ];
    for req in bad {
        let err = b.validate(&req).unwrap_err();
        assert_eq!(err.backend, "claude");
    }
    let err = b
        .validate(&RunRequest {
            permission: Permission::Mode("yolo".to_string()),
            ..request()
        })
        .unwrap_err();
    assert!(err.message.contains("acceptEdits"), "{err}");
    assert_eq!(b.validate(&request()), Ok(()));
}

#[test]
fn tool_summaries() {
    fn args(json: &str) -> StrArgs<'_> {
        StrArgs::parse(json)
    }
    assert_eq!(
        tool_summary(
            "Bash",
            &args(r#"{"command":"ls  -la\n/tmp","description":"x"}"#)
        ),
        "ls -la /tmp"
    );
    assert_eq!(
        tool_summary(
            "Edit",
            &args(r#"{"file_path":"/a/b/c.rs","old_string":"x"}"#)
        ),
        "c.rs"
    );
    assert_eq!(
        tool_summary("Grep", &args(r#"{"pattern":"fn main","path":"src"}"#)),
        "fn main"
    );
    assert_eq!(
        tool_summary(
            "Task",
            &args(r#"{"prompt":"long","description":"Inspect"}"#)
        ),
        "Inspect"
    );
    assert_eq!(
        tool_summary("WebFetch", &args(r#"{"url":"https://x.y/z"}"#)),
        "https://x.y/z"
    );
    assert_eq!(
        tool_summary("mcp__x__y", &args(r#"{"n":1,"q":"","name":"abc"}"#)),
        "abc"
    );
    assert_eq!(tool_summary("Other", &args(r#"{"n":1}"#)), "");
    let long = format!(r#"{{"command":"{}"}}"#, "y".repeat(300));
    assert_eq!(tool_summary("Bash", &args(&long)).chars().count(), 80);
    let long = format!(r#"{{"x":"{}"}}"#, "y".repeat(300));
    assert_eq!(tool_summary("Other", &args(&long)).chars().count(), 60);
}

#[test]
fn usage_limit_texts() {
    assert_eq!(
        usage_limit_text("Claude AI usage limit reached|1750032000"),
        Some(("Claude AI usage limit reached".to_string(), 1_750_032_000))
    );
    assert_eq!(usage_limit_text("a|b"), None);
    assert_eq!(usage_limit_text("DONE"), None);
}

#[test]
fn approvals_chat_asks_over_stdio_instead_of_bypassing() {
    use crate::core::model::approval::ApprovalMode;
    let req = RunRequest {
        approvals: ApprovalMode::Chat,
        ..request()
    };
    let cmd = backend().live_command(&req).unwrap();
    assert_eq!(
        cmd.args,
        strings(&[
            "-p",
            "--input-format",
            "stream-json",
            "--output-format",
            "stream-json",
            "--permission-prompt-tool",
            "stdio",
            "--verbose",
        ])
    );
    // An explicit mode that still prompts is kept.
    let edits = RunRequest {
        permission: Permission::Mode("acceptEdits".into()),
        ..req.clone()
    };
    assert!(backend().validate(&edits).is_ok());
    let args = backend().command(&edits).args;
    assert!(
        args.windows(2)
            .any(|w| w == ["--permission-mode", "acceptEdits"])
    );
    // A mode that never prompts leaves nothing to ask: refused.
    for mode in ["bypassPermissions", "dontAsk"] {
        let bypass = RunRequest {
            permission: Permission::Mode(mode.into()),
            ..req.clone()
        };
        let err = backend().validate(&bypass).unwrap_err().to_string();
        assert!(err.contains("--approvals chat"), "{err}");
    }
}

/// Real transcripts (claude 2.1.197 and 2.1.332 with `--permission-prompt-tool
/// stdio`): the `can_use_tool` request becomes one ask, and the answers are
/// the lines those CLIs accepted.
#[test]
fn can_use_tool_requests_become_asks_and_answers_encode() {
    use crate::backends::{LiveInput, Protocol, Step};
    use crate::core::model::approval::Answer;
    for (text, id) in [
        (
            include_str!("../../../tests/fixtures/claude/approval-bash-deny.jsonl"),
            "192cb7cc-68ec-46ce-acff-7adc375a57db",
        ),
        (
            include_str!("../../../tests/fixtures/claude-2.1.332/approval-bash-allow.jsonl"),
            "40175af2-922d-4b13-8508-28c0f943a575",
        ),
    ] {
        let mut live = ClaudeLive::new(ClaudeParser::default());
        let mut step = Step::default();
        for line in text.lines() {
            live.on_line(line, &mut step);
        }
        assert!(step.writes.is_empty());
        assert_eq!(step.asks.len(), 1);
        let ask = &step.asks[0];
        assert_eq!(ask.request_id, id);
        assert_eq!(ask.tool, "Bash");
        assert_eq!(ask.subject(), "touch made-by-agent.txt");
        assert_eq!(ask.description.as_deref(), Some("Create a file"));
        assert!(ask.call_id.as_deref().unwrap().starts_with("toolu_"));
        let allow = live
            .encode(LiveInput::Answer {
                request_id: id,
                answer: &Answer::Allow,
            })
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&allow).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type": "control_response", "response": {
                "subtype": "success", "request_id": id, "response": {"behavior": "allow",
                "updatedInput": {"command": "touch made-by-agent.txt", "description": "Create a file"}}}})
        );
        // Answered once: a second answer to the same request is not written.
        assert_eq!(
            live.encode(LiveInput::Answer {
                request_id: id,
                answer: &Answer::Allow
            }),
            None
        );
    }
    let deny = permission_response_line(
        "r",
        &Answer::Deny {
            message: "no".into(),
        },
        serde_json::Value::Null,
    );
    assert_eq!(
        deny,
        "{\"response\":{\"request_id\":\"r\",\"response\":{\"behavior\":\"deny\",\"message\":\"no\"},\
         \"subtype\":\"success\"},\"type\":\"control_response\"}\n"
    );
}

#[test]
fn safety_presets_map_to_permission_modes() {
    use crate::core::config::Safety;
    let b = backend();
    assert_eq!(b.safety_permission(Safety::Full), Ok(Permission::Default));
    assert_eq!(
        b.safety_permission(Safety::Workspace),
        Ok(Permission::Mode("acceptEdits".into()))
    );
    assert_eq!(
        b.safety_permission(Safety::ReadOnly),
        Ok(Permission::Mode("plan".into()))
    );
}

#[test]
fn permission_denials_of_real_results_become_tool_denied_events() {
    for (file, want) in [
        (
            include_str!("../../../tests/fixtures/safety/claude-2.1.197-plan.jsonl"),
            5,
        ),
        (
            include_str!("../../../tests/fixtures/safety/claude-2.1.332-plan.jsonl"),
            5,
        ),
        (
            include_str!("../../../tests/fixtures/safety/claude-2.1.197-acceptEdits.jsonl"),
            2,
        ),
    ] {
        let mut p = ClaudeParser::default();
        let denied: Vec<AgentEvent> = file
            .lines()
            .flat_map(|l| p.parse_line(l))
            .filter(|e| matches!(e, AgentEvent::ToolDenied { .. }))
            .collect();
        assert_eq!(denied.len(), want, "{denied:?}");
        match &denied[0] {
            AgentEvent::ToolDenied { tool, detail } => {
                assert_eq!(tool, "Write");
                assert!(detail.ends_with(".txt"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    }
}

/// A subagent whose call returns at once ("Async agent launched") goes on
/// in the background: its call's result, read from `tool_use_result` while
/// it runs, does not end it; its task notification does. (Here no
/// `task_started` says it is backgrounded, as when that line is missing.)
#[test]
fn a_launch_result_keeps_its_subagent_running() {
    let lines = [
        r#"{"type":"assistant","message":{"id":"m1","content":[{"type":"tool_use","id":"toolu_task","name":"Agent","input":{"description":"Inspect files"}}]},"parent_tool_use_id":null}"#,
        r#"{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_task","type":"tool_result","content":"Async agent launched"}]},"parent_tool_use_id":null,"session_id":"s","uuid":"u","tool_use_result":{"isAsync":true,"status":"async_launched","agentId":"a1"}}"#,
        r#"{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_inner","type":"tool_result","content":"ok"}]},"parent_tool_use_id":"toolu_task","session_id":"s"}"#,
        r#"{"type":"system","subtype":"task_notification","task_id":"a1","tool_use_id":"toolu_task","status":"completed"}"#,
    ];
    let mut p = ClaudeParser::default();
    let ends: Vec<usize> = lines
        .iter()
        .enumerate()
        .flat_map(|(i, line)| {
            p.parse_line(line)
                .into_iter()
                .filter(|e| matches!(e, AgentEvent::SubagentFinished { .. }))
                .map(move |_| i)
        })
        .collect();
    assert_eq!(ends, [3], "the subagent ends with its notification only");
    // Without the launch status, the call's result ends it.
    let mut p = ClaudeParser::default();
    p.parse_line(lines[0]);
    let plain = lines[1].replace(r#""isAsync":true,"status":"async_launched","#, "");
    let finished = p
        .parse_line(&plain)
        .into_iter()
        .any(|e| matches!(e, AgentEvent::SubagentFinished { .. }));
    assert!(finished);
}
