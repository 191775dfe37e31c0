#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use pretty_assertions::assert_eq;

use super::*;
use crate::backends::config::BackendsConfig;
use crate::backends::{Backend, CommandSpec, Permission, RunRequest};

fn backend() -> CodexBackend {
    CodexBackend::new(BackendsConfig::builtin().unwrap().codex)
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

fn spec(args: &[&str]) -> CommandSpec {
    CommandSpec {
        program: "codex".to_string(),
        args: strings(args),
        env: vec![],
        cwd: PathBuf::from("/work/p"),
        stdin: "fix the bug".to_string(),
    }
}

#[test]
fn plain_run_searches_and_bypasses_by_default() {
    assert_eq!(
        backend().command(&request()),
        spec(&[
            "--search",
            "exec",
            "--json",
            "-C",
            "/work/p",
            "--dangerously-bypass-approvals-and-sandbox",
            "-",
        ])
    );
}

#[test]
fn sandbox_model_no_search_and_extra_args() {
    let mut config = BackendsConfig::builtin().unwrap().codex;
    config.args = strings(&["--skip-git-repo-check"]);
    let b = CodexBackend::new(config);
    let req = RunRequest {
        model: Some("gpt-5.5".to_string()),
        permission: Permission::Sandbox("workspace-write".to_string()),
        search: Some(false),
        ..request()
    };
    assert_eq!(b.validate(&req), Ok(()));
    assert_eq!(
        b.command(&req),
        spec(&[
            "exec",
            "--json",
            "-C",
            "/work/p",
            "-s",
            "workspace-write",
            "-c",
            "web_search=\"disabled\"",
            "--model",
            "gpt-5.5",
            "--skip-git-repo-check",
            "-",
        ])
    );
}

#[test]
fn resume_and_fork_put_options_before_the_subcommand() {
    let req = RunRequest {
        resume_id: Some("01a20060-1a1b".to_string()),
        ..request()
    };
    assert_eq!(
        backend().command(&req),
        spec(&[
            "--search",
            "exec",
            "--json",
            "-C",
            "/work/p",
            "--dangerously-bypass-approvals-and-sandbox",
            "resume",
            "01a20060-1a1b",
            "-",
        ])
    );
    let req = RunRequest {
        fork: true,
        search: Some(true),
        ..req
    };
    assert_eq!(
        backend().command(&req),
        spec(&[
            "--search",
            "exec",
            "--json",
            "-C",
            "/work/p",
            "--dangerously-bypass-approvals-and-sandbox",
            "fork",
            "01a20060-1a1b",
            "-",
        ])
    );
}

#[test]
fn validate_rejects_claude_options() {
    let b = backend();
    let bad = [
        RunRequest {
            permission: Permission::Mode("plan".to_string()),
            ..request()
        },
        RunRequest {
            permission: Permission::Sandbox("yolo".to_string()),
            ..request()
        },
        RunRequest {
            allowed_tools: strings(&["Bash"]),
            ..request()
        },
        RunRequest {
            append_system_prompt: Some("x".to_string()),
            ..request()
        },
        RunRequest {
            max_budget_usd: Some(1.0),
            ..request()
        },
        RunRequest {
            fork: true,
            ..request()
        },
        RunRequest {
            model: Some("-x".to_string()),
            ..request()
        },
    ];
    for req in bad {
        assert_eq!(b.validate(&req).unwrap_err().backend, "codex");
    }
    assert_eq!(b.validate(&request()), Ok(()));
}

#[test]
fn shell_wrappers_are_unwrapped() {
    assert_eq!(
        shell_inner("/bin/bash -lc 'echo hello-from-tool'"),
        "echo hello-from-tool"
    );
    assert_eq!(
        shell_inner(r#"/bin/bash -lc "printf 'fake notes\\n' > notes.txt""#),
        r"printf 'fake notes\n' > notes.txt"
    );
    assert_eq!(shell_inner("/bin/bash -lc ls"), "ls");
    assert_eq!(shell_inner(r"bash -c 'echo '\''hi'\'''"), "echo 'hi'");
    assert_eq!(shell_inner("git status"), "git status");
    assert_eq!(shell_inner("/bin/bash -lc 'a' 'b'"), "'a' 'b'");
}

#[test]
fn statuses_and_retry_counts() {
    assert_eq!(
        status_in("unexpected status 401 Unauthorized: x"),
        Some(401)
    );
    assert_eq!(
        status_in("exceeded retry limit, last status: 429 Too Many Requests"),
        Some(429)
    );
    assert_eq!(status_in("url: http://127.0.0.1:44290/s"), None);
    assert_eq!(status_in("status 4012"), None);
    assert_eq!(retry_counts(" 1/5 (high demand)"), Some((1, Some(5))));
    assert_eq!(retry_counts(" waiting for network"), None);
}

#[test]
fn safety_presets_map_to_sandboxes() {
    use crate::core::config::Safety;
    let b = backend();
    assert_eq!(b.safety_permission(Safety::Full), Ok(Permission::Default));
    assert_eq!(
        b.safety_permission(Safety::Workspace),
        Ok(Permission::Sandbox("workspace-write".into()))
    );
    assert_eq!(
        b.safety_permission(Safety::ReadOnly),
        Ok(Permission::Sandbox("read-only".into()))
    );
}

/// Codex 0.169.0 and 0.171.0 print nothing for a command its sandbox refused
/// (no `command_execution` item): the stream parses cleanly, with no tool call.
#[test]
fn sandbox_denials_leave_no_trace_in_the_stream() {
    for file in [
        include_str!("../../../tests/fixtures/safety/codex-0.169.0-read-only.jsonl"),
        include_str!("../../../tests/fixtures/safety/codex-0.171.0-read-only.jsonl"),
    ] {
        let mut p = CodexParser::default();
        let events: Vec<AgentEvent> = file.lines().flat_map(|l| p.parse_line(l)).collect();
        assert!(
            !events
                .iter()
                .any(|e| matches!(e, AgentEvent::ToolStarted { .. })),
            "{events:?}"
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e, AgentEvent::TurnCompleted { .. })),
            "{events:?}"
        );
    }
}
