//! Real transcripts folded into a run state and rendered as heartbeats, as
//! the runner does: background subagents and several results in one Claude
//! run (claude ≥ 2.1.332), a session id that changes mid-run, and an ACP tool
//! call named by the heartbeat.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::backends::{AcpParser, ClaudeParser, LineParser};
use crate::core::model::events::{AgentEvent, Usage, UsageScope};
use crate::core::model::state::RunState;
use crate::core::notify::render_heartbeat;

/// Path of a fixture under `tests/fixtures/`.
fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(fixture(rel)).unwrap()
}

/// Fold the lines of `text` into a run state, as the orchestrator does.
fn state_of(lines: &[&str]) -> RunState {
    let mut parser = ClaudeParser::new();
    let mut state = RunState::new();
    for line in lines {
        for event in parser.parse_line(line) {
            state.apply(&event);
        }
    }
    state
}

fn heartbeat(state: &RunState) -> String {
    let now = tokio::time::Instant::now();
    render_heartbeat("CC", Duration::from_secs(60), state, now, true)
}

#[test]
fn background_subagent_is_counted_while_it_runs_and_every_turn_is_totalled() {
    let text = read("claude-2.1.332/subagent-background.jsonl");
    let lines: Vec<&str> = text.lines().collect();
    // Up to the subagent's progress report: the Task call has returned
    // ("Async agent launched"), the subagent still runs.
    let progress = lines
        .iter()
        .position(|l| l.contains("\"task_progress\""))
        .unwrap();
    let running = state_of(&lines[..=progress]);
    assert_eq!(running.open_subagents.len(), 1);
    let beat = heartbeat(&running);
    assert!(beat.contains("sub:1"), "{beat}");
    assert!(
        beat.contains("🤖 Inspect files: Running Sub step"),
        "{beat}"
    );
    assert!(running.background_busy());
    // The whole run: two results, the outcome and text from the last one, the
    // totals from the running `modelUsage` (every call, the subagent's too).
    let done = state_of(&lines);
    assert!(done.open_subagents.is_empty());
    assert_eq!(done.subagents_started, 1);
    assert_eq!(done.terminal, Some(Ok(())));
    assert_eq!(done.best_text(), Some("DONE with subagent"));
    let model_calls = text
        .lines()
        .filter(|l| l.starts_with("{\"type\":\"assistant\""))
        .count() as u64;
    assert_eq!(model_calls, 5);
    assert_eq!(
        done.usage(),
        Usage {
            input_tokens: 100 * model_calls,
            cached_input_tokens: 0,
            output_tokens: 7 * model_calls
        }
    );
    // `total_cost_usd` is a running total too: taken as is, never added up.
    assert_eq!(done.cost_usd, Some(0.0027));
}

#[test]
fn a_result_before_the_subagent_ends_does_not_end_the_work() {
    // The real lines, reordered the way the CLI may print them: the first turn's
    // result before the subagent has finished.
    let text = read("claude-2.1.332/subagent-background.jsonl");
    let lines: Vec<&str> = text.lines().collect();
    let first_result = lines
        .iter()
        .find(|l| l.contains("\"result_index\":0"))
        .unwrap();
    let progress = lines
        .iter()
        .position(|l| l.contains("\"task_progress\""))
        .unwrap();
    let mut early: Vec<&str> = lines[..=progress].to_vec();
    early.push(first_result);
    let state = state_of(&early);
    assert_eq!(state.terminal, Some(Ok(())));
    assert!(state.background_busy(), "the subagent still runs");
    assert!(heartbeat(&state).contains("sub:1"));
    assert_eq!(
        state.background_note().as_deref(),
        Some("1 background task still running (Inspect files)")
    );
}

/// Without `modelUsage` (older or trimmed results) each `result`'s `usage` is
/// its own turn's: they add up. With it, the running total is taken as is.
#[test]
fn result_usage_is_per_turn_and_model_usage_a_running_total() {
    let text = read("claude-2.1.332/subagent-background.jsonl");
    let results: Vec<serde_json::Value> = text
        .lines()
        .filter(|l| l.contains("\"type\":\"result\""))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), 2);
    let turn = |r: &serde_json::Value| {
        (
            r["usage"]["input_tokens"].as_u64().unwrap(),
            r["usage"]["output_tokens"].as_u64().unwrap(),
        )
    };
    let (a, b) = (turn(&results[0]), turn(&results[1]));
    assert_eq!((a, b), ((200, 14), (100, 7)), "the issue's figures");
    let totals = |lines: &[String]| -> Vec<Usage> {
        let mut p = ClaudeParser::new();
        lines
            .iter()
            .flat_map(|l| p.parse_line(l))
            .filter_map(|e| match e {
                AgentEvent::TurnCompleted { usage, .. } => usage,
                _ => None,
            })
            .collect()
    };
    // Per-turn usage only: summed.
    let trimmed: Vec<String> = results
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.as_object_mut().unwrap().remove("modelUsage");
            r.to_string()
        })
        .collect();
    let u = |i, o| Usage {
        input_tokens: i,
        cached_input_tokens: 0,
        output_tokens: o,
    };
    assert_eq!(totals(&trimmed), vec![u(a.0, a.1), u(a.0 + b.0, a.1 + b.1)]);
    // With the running total: the same figure twice, not doubled.
    let whole: Vec<String> = results.iter().map(|r| r.to_string()).collect();
    assert_eq!(totals(&whole), vec![u(500, 35), u(500, 35)]);
    // A live state keeps counting messages that come after a result.
    let mut state = RunState::new();
    state.apply(&AgentEvent::TurnCompleted {
        final_text: None,
        usage: Some(u(200, 14)),
        cost_usd: None,
    });
    state.apply(&AgentEvent::Usage {
        scope: UsageScope::Message { id: "m9".into() },
        usage: u(100, 1),
    });
    assert_eq!(state.usage(), u(300, 15));
}

#[test]
fn old_foreground_subagent_still_opens_and_closes() {
    let text = read("claude/subagent.jsonl");
    let lines: Vec<&str> = text.lines().collect();
    let done = state_of(&lines);
    assert!(done.open_subagents.is_empty());
    assert_eq!(done.subagents_started, 1);
    assert_eq!(done.best_text(), Some("DONE with subagent"));
    // The result's modelUsage (400/28) counts the subagent's calls; its
    // `usage` (200/14) only the main agent's.
    assert_eq!(done.usage().input_tokens, 400);
}

#[test]
fn a_session_id_that_changes_mid_run_is_followed() {
    let text = read("claude-2.1.332/tool.jsonl");
    let old = text
        .lines()
        .next()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| v["session_id"].as_str().unwrap().to_owned())
        .unwrap();
    // init names the old id; every later line the new one.
    let (first, rest) = text.split_once('\n').unwrap();
    let rest = rest.replace(&old, "new-session-0001");
    let lines: Vec<&str> = std::iter::once(first).chain(rest.lines()).collect();
    let state = state_of(&lines);
    assert_eq!(state.resume_id.as_deref(), Some("new-session-0001"));
    assert_eq!(state.replaced_ids, vec![old]);
}

/// The heartbeat of a run of the real Claude ACP adapter, mid tool call.
#[test]
fn acp_heartbeat_names_the_current_tool() {
    let text = read("acp/claude-agent-acp-0.101.0-tool.jsonl");
    let lines: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["dir"] == "in")
        .map(|v| v["line"].as_str().unwrap().to_owned())
        .collect();
    let started = lines
        .iter()
        .position(|l| l.contains("\"tool_call\""))
        .unwrap();
    let mut parser = AcpParser::default();
    let mut state = RunState::new();
    // The tool call ("Terminal") and the update that names its command.
    for line in &lines[..=started + 1] {
        for event in parser.parse_line(line) {
            state.apply(&event);
        }
    }
    let now = tokio::time::Instant::now();
    let beat = render_heartbeat("ACP", Duration::from_secs(60), &state, now, false);
    assert!(beat.contains("🔧 execute: echo hello-from-tool"), "{beat}");
}
