//! Unit tests of the notifier: rendering and heartbeat timing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::text::{resume_command, shell_quote};
use super::wake::WakePayload;
use super::*;
use crate::backends::Names;
use crate::core::model::events::{AgentEvent, Usage, UsageScope};
use crate::core::model::state::{Outcome, RunState};
use crate::core::model::text::fmt_tokens;
use crate::core::store::run::{CompletionMode, RunRecord};
use std::time::Duration;
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn heartbeat_at_controlled_times() {
    let started = Instant::now();
    let mut s = RunState::new();
    s.apply(&AgentEvent::SubagentStarted {
        call_id: "t".into(),
        description: "d".into(),
    });
    for i in 0..18 {
        s.apply(&AgentEvent::ToolStarted {
            call_id: format!("c{i}"),
            name: "Bash".into(),
            summary: String::new(),
            parent_tool_id: None,
        });
        s.apply(&AgentEvent::ToolFinished {
            call_id: format!("c{i}"),
            ok: true,
        });
    }
    s.apply(&AgentEvent::Usage {
        scope: UsageScope::Cumulative,
        usage: Usage {
            input_tokens: 50_000,
            cached_input_tokens: 0,
            output_tokens: 12_345,
        },
    });
    s.touch(Instant::now());
    tokio::time::advance(Duration::from_secs(180)).await;
    // Active 0 s ago at 3 min: green, with the events since the last mark.
    s.touch(Instant::now());
    let hb = render_heartbeat("CC", started.elapsed(), &s, Instant::now(), true);
    assert_eq!(
        hb,
        "🟢 CC (3min) | sub:1 | 50K in / 12K out | 18 calls | 🔧 Bash ✍️"
    );
    s.events_since_mark = 0;
    tokio::time::advance(Duration::from_secs(45)).await;
    let hb = render_heartbeat("CC", started.elapsed(), &s, Instant::now(), true);
    assert_eq!(
        hb,
        "🟡 CC (3min) | sub:1 | 50K in / 12K out | 18 calls | 🧠 Thinking..."
    );
    tokio::time::advance(Duration::from_secs(100)).await;
    let hb = render_heartbeat("CC", started.elapsed(), &s, Instant::now(), true);
    assert_eq!(
        hb,
        "🔴 CC (5min) | sub:1 | 50K in / 12K out | 18 calls | 🧠 Thinking... (145s)"
    );
    // Codex shows open operations instead of subagents, only when there are some.
    let hb = render_heartbeat(
        "Codex",
        started.elapsed(),
        &RunState::new(),
        Instant::now(),
        false,
    );
    assert!(hb.starts_with("🟢 Codex (5min)"), "{hb}");
}

#[test]
fn seed_formats() {
    assert_eq!(fmt_duration(59), "59s");
    assert_eq!(fmt_duration(185), "3min");
    // Issue 25: human at every size, never `120min` or `0min`.
    assert_eq!(fmt_duration(8), "8s");
    assert_eq!(fmt_duration(-3), "0s");
    assert_eq!(fmt_duration(7200), "2h");
    assert_eq!(fmt_duration(5400), "1h 30min");
    assert_eq!(fmt_duration(86_400 + 7200 + 59), "1d 2h");
    assert_eq!(hh_mm_utc(3600 * 25 + 60 * 7), "01:07 UTC");
    // The launch preview: escaped, cut on a character and never in an entity.
    assert_eq!(esc_preview("a<b", 10, 100), "a&lt;b");
    assert_eq!(esc_preview("a<b", 10, 5), "a…");
    assert_eq!(esc_preview("🎉🎉🎉", 10, 5), "🎉🎉…");
    assert_eq!(esc_preview("abcdef", 3, 100), "abc…");
    assert_eq!(fmt_tokens(999), "999");
    assert_eq!(fmt_tokens(1234), "1.2K");
    assert_eq!(fmt_tokens(12_345), "12K");
    assert_eq!(esc("<a & b>\"'"), "&lt;a &amp; b&gt;\"'");
    assert_eq!(preview("héllo", 2), "hé…");
    assert_eq!(preview("hé", 2), "hé");
}

#[test]
fn shell_quoting_and_the_resume_command() {
    assert_eq!(shell_quote("/a/b-c"), "/a/b-c");
    assert_eq!(
        shlex::split(&shell_quote("it's")),
        Some(vec!["it's".to_owned()])
    );
    assert_eq!(shell_quote(""), "''");
    let cmd = resume_command(
        "claude",
        "sess-1",
        std::path::Path::new("/home/me/my project"),
    );
    assert_eq!(
        shlex::split(&cmd),
        Some(
            [
                "clawrun",
                "run",
                "--backend",
                "claude",
                "--resume",
                "sess-1",
                "-p",
                "/home/me/my project",
                "--task-file",
                "FILE",
                "--detach",
            ]
            .map(String::from)
            .to_vec()
        )
    );
}

#[test]
fn the_crash_message_says_which_run_died_and_where() {
    let info = RunInfo {
        run_id: "20261201-050000-abcdef".into(),
        names: Names {
            display: "Claude Code",
            tag: "CC",
            result_marker: "[CLAUDE_CODE_RESULT]",
            install: "",
        },
        label: Some("Fix <login>".into()),
        project: "/home/me/app".into(),
        prompt: "Fix the login bug".into(),
        timeout_secs: 7200,
        resume: None,
        worktree: None,
        safety: "full".into(),
        denial_cause: "the full preset".into(),
        limited_safety: None,
    };
    let b = render_crash(&info, "the runner (pid 42) died", &Usage::default(), None);
    assert_eq!(
        b.plain,
        "💥 Claude Code runner crashed!\n\nTask: Fix the login bug\nError: the runner (pid 42) \
         died\nLabel: Fix <login>\nProject: /home/me/app\nRun: 20261201-050000-abcdef"
    );
    let html = b.html.unwrap_or_default();
    assert!(html.contains("<b>Label:</b> Fix &lt;login&gt;"), "{html}");
    assert!(
        html.contains("<b>Run:</b> 20261201-050000-abcdef"),
        "{html}"
    );
    let without_label = render_crash(
        &RunInfo {
            label: None,
            ..info.clone()
        },
        "x",
        &Usage::default(),
        None,
    );
    assert!(
        !without_label.plain.contains("Label:") && !without_label.plain.contains("Tokens:"),
        "{}",
        without_label.plain
    );
    // What the run had spent when its runner died, as the result shows it.
    let spent = Usage {
        input_tokens: 1200,
        output_tokens: 340,
        ..Usage::default()
    };
    let with_usage = render_crash(&info, "x", &spent, Some(0.0123));
    assert!(
        with_usage
            .plain
            .ends_with("Run: 20261201-050000-abcdef\nTokens: 1.2K in / 340 out\nCost: $0.0123"),
        "{}",
        with_usage.plain
    );
}

#[test]
fn denials_are_counted_named_and_made_relative_to_the_project() {
    let p = std::path::Path::new("/home/me/app");
    assert_eq!(denials_line(&[], "the read-only preset", p), None);
    let one = [("Write".to_owned(), "/home/me/app/src/x.rs".to_owned())];
    assert_eq!(
        denials_line(&one, "the read-only preset", p).as_deref(),
        Some("1 tool call denied by the read-only preset: Write src/x.rs")
    );
    let many: Vec<(String, String)> = (0..5)
        .map(|i| ("Bash".to_owned(), format!("touch /etc/{i}")))
        .collect();
    assert_eq!(
        denials_line(&many, "--sandbox read-only", p).as_deref(),
        Some(
            "5 tool calls denied by --sandbox read-only: Bash touch /etc/0, Bash touch /etc/1, \
             Bash touch /etc/2, +2 more"
        )
    );
}

#[test]
fn the_wake_names_the_preset_of_a_limited_run_and_its_denials() {
    let mut p = WakePayload {
        run_id: "r1".into(),
        wake_id: "r1:wake:1".into(),
        backend: "codex".into(),
        status: WakeStatus::Ended(Outcome::Completed),
        exit_code: Some(0),
        agent_exit: None,
        resume_id: None,
        no_resume: None,
        output: "/o.md".into(),
        preview: "done".into(),
        mode: CompletionMode::Single,
        iteration: 1,
        max_iterations: 1,
        project: "/p".into(),
        label: None,
        denied: None,
        safety: Some("read-only (--sandbox read-only)".into()),
        worktree: None,
        changes: None,
        followups_not_run: None,
        warnings: None,
    };
    let t = render_wake("[M]", &p);
    assert!(
        t.contains("\nSafety: read-only (--sandbox read-only)\nProject: /p\n"),
        "{t}"
    );
    p.denied = Some("1 tool call denied by the read-only preset: Edit x".into());
    let t = render_wake("[M]", &p);
    assert!(
        t.contains("\nSafety: read-only (--sandbox read-only)\nDenied: 1 tool call"),
        "{t}"
    );
    p.safety = None;
    p.denied = None;
    assert!(!render_wake("[M]", &p).contains("Safety"));
    assert!(!render_wake("[M]", &p).contains("Warnings"));
    p.warnings = Some("denials are not reported".into());
    assert!(
        render_wake("[M]", &p).contains("\nWarnings: denials are not reported\n"),
        "the wake carries the run's warnings"
    );
    // A session the agent cannot load: why, never a command that is refused
    // (issue 25), even in iterate mode.
    p.resume_id = Some("acp-1".into());
    assert!(
        render_wake("[M]", &p).contains("\nResume: clawrun run --backend codex --resume acp-1")
    );
    p.no_resume = Some("the agent does not advertise `loadSession`".into());
    p.mode = CompletionMode::Iterate;
    p.max_iterations = 3;
    let t = render_wake("[M]", &p);
    assert!(!t.contains("--resume"), "{t}");
    assert!(
        t.contains("\nResume: not possible: the agent does not advertise `loadSession`\n"),
        "{t}"
    );
    assert!(t.contains("cannot be resumed (see Resume above)"), "{t}");
}

#[test]
fn a_denial_under_chat_approvals_is_the_chat_s_not_the_preset_s() {
    use crate::backends::{Permission, RunRequest};
    use crate::core::model::approval::ApprovalMode;
    let chat = RunRequest {
        approvals: ApprovalMode::Chat,
        ..RunRequest::default()
    };
    assert_eq!(super::denial_cause(&chat), "the approvals in the chat");
    let flag = RunRequest {
        permission: Permission::Sandbox("read-only".into()),
        permission_given: true,
        ..RunRequest::default()
    };
    assert_eq!(super::denial_cause(&flag), "--sandbox read-only");
    assert_eq!(
        super::denial_cause(&RunRequest::default()),
        "the full preset"
    );
}

#[tokio::test(start_paused = true)]
async fn a_heartbeat_shows_the_agent_s_plan_and_its_current_entry() {
    let started = Instant::now();
    let mut s = RunState::new();
    s.apply(&AgentEvent::Plan {
        done: 2,
        total: 5,
        current: Some("Write the tests".into()),
    });
    s.touch(Instant::now());
    let hb = render_heartbeat("ACP", started.elapsed(), &s, Instant::now(), false);
    assert_eq!(hb, "🟢 ACP (0s) | plan 2/5 | 📋 Write the tests ✍️");
}

/// Wake payloads covering every branch of the wake text.
fn golden_payloads() -> Vec<(&'static str, WakePayload)> {
    let base = WakePayload {
        run_id: "r1".into(),
        wake_id: "r1:wake:3".into(),
        backend: "claude".into(),
        status: WakeStatus::Ended(Outcome::Completed),
        exit_code: Some(0),
        agent_exit: None,
        resume_id: Some("sess-1".into()),
        no_resume: None,
        output: "/p/out.md".into(),
        preview: "All done.\nTwo lines.".into(),
        mode: CompletionMode::Single,
        iteration: 1,
        max_iterations: 1,
        project: "/p".into(),
        label: None,
        denied: None,
        safety: None,
        worktree: None,
        changes: None,
        followups_not_run: None,
        warnings: None,
    };
    let full = WakePayload {
        status: WakeStatus::Ended(Outcome::Failed),
        exit_code: Some(1),
        agent_exit: Some(143),
        label: Some("fix the bug".into()),
        denied: Some("1 tool call denied by the read-only preset: Write x".into()),
        safety: Some("read-only (--sandbox read-only)".into()),
        followups_not_run: Some("1 queued follow-up did not run: again".into()),
        warnings: Some("denials are not reported".into()),
        ..base.clone()
    };
    let waiting = WakePayload {
        status: WakeStatus::Waiting,
        exit_code: None,
        preview: "Which file?".into(),
        ..base.clone()
    };
    let iterate = WakePayload {
        mode: CompletionMode::Iterate,
        iteration: 2,
        max_iterations: 3,
        ..base.clone()
    };
    let iterate_unknown = WakePayload {
        resume_id: None,
        ..iterate.clone()
    };
    let iterate_no_resume = WakePayload {
        no_resume: Some("the agent does not advertise `loadSession`".into()),
        ..iterate.clone()
    };
    let iterate_last = WakePayload {
        iteration: 3,
        agent_exit: Some(2),
        ..iterate.clone()
    };
    vec![
        ("single", base),
        ("full", full),
        ("waiting", waiting),
        ("iterate", iterate),
        ("iterate-unknown", iterate_unknown),
        ("iterate-no-resume", iterate_no_resume),
        ("iterate-last", iterate_last),
    ]
}

fn golden_wake_texts() -> String {
    golden_payloads()
        .into_iter()
        .map(|(name, p)| {
            format!(
                "=== {name}\n{}\n=== argv\n{}\n",
                render_wake("[CLAUDE_CODE_RESULT]", &p),
                p.argv_text()
            )
        })
        .collect()
}

fn golden_result_texts() -> String {
    let mut record: RunRecord =
        serde_json::from_str(include_str!("../../../tests/fixtures/runner/run-v1.json")).unwrap();
    let mut state = RunState::new();
    state.cost_usd = Some(0.25);
    state.tool_calls = 4;
    state.denied = vec![("Write".into(), "/tmp/goldrun/proj/x.rs".into())];
    let names = Names {
        display: "Claude Code",
        tag: "CC",
        result_marker: "[CLAUDE_CODE_RESULT]",
        install: "",
    };
    let mut out = String::new();
    for outcome in [
        Outcome::Completed,
        Outcome::Failed,
        Outcome::Timeout,
        Outcome::Killed,
        Outcome::ResumeFailed,
        Outcome::Crashed,
    ] {
        record.resumed_from = (outcome == Outcome::ResumeFailed).then(|| "old-sess".into());
        record.followups_not_run = vec!["and then".into()];
        let b = render_result(
            names,
            outcome,
            &record,
            &state,
            "The <result> text",
            125,
            ("golden task", "the read-only preset", Some("read-only")),
        );
        out.push_str(&format!(
            "=== {outcome:?}\n{}\n=== html\n{}\n=== md\n{}\n",
            b.plain,
            b.html.unwrap_or_default(),
            b.markdown.unwrap_or_default()
        ));
    }
    out
}

/// The wake text is the same, branch by branch, as it was before the wake
/// moved into its own module (the fixture is that code's output).
#[test]
fn the_wake_texts_are_unchanged() {
    let want = include_str!("../../../tests/fixtures/notify/wake-texts.txt");
    assert_eq!(golden_wake_texts(), want);
}

/// The result message is the same, outcome by outcome and markup by markup,
/// as it was before the renderer was split (the fixture is that code's output).
#[test]
fn the_result_texts_are_unchanged() {
    let want = include_str!("../../../tests/fixtures/notify/result-texts.txt");
    assert_eq!(golden_result_texts(), want);
}
