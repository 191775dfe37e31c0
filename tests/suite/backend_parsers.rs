//! Backend parsers against the real CLI transcripts in `tests/fixtures/`.
//!
//! Every transcript of both sets, the first (`tests/fixtures/{claude,codex}/`:
//! claude 2.1.197, codex 0.169.0) and the newest (`claude-2.1.332/`,
//! `codex-0.171.0/`), is fed line by line to a fresh parser, then `finish` is
//! called with the run's exit code (from `tests/fixtures/exit-codes.txt`, or
//! `exit-codes-latest.txt` for the newest set) and its `.stderr` file (empty
//! when the capture kept none). The whole event list must equal
//! `tests/fixtures/expected/<set>/<name>.json`, which was checked by hand
//! against the transcript: those files are the parsers' specification. A
//! change for the newest CLI therefore cannot break users of the older one.
//!
//! Exit codes are passed as recorded, `Some(rc)`: the runner reports a signal
//! death as `128 + n` (143 = SIGTERM), as `capture.sh` recorded it. `None` (no
//! code at all) is covered by a focused test below.
//!
//! To regenerate the expected files after a deliberate change:
//! `CLAWRUN_UPDATE_EXPECTED=1 cargo test --test all parsers`, then read the diff.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use clawrun::backends::config::BackendsConfig;
use clawrun::backends::{AnyParser, Backend, ClaudeParser, CodexParser, LineParser};
use clawrun::events::{AgentEvent, FailureKind, Usage, UsageScope};
use pretty_assertions::assert_eq;

use crate::common::fixture;

fn exit_codes(file: &str) -> HashMap<String, i32> {
    let text = std::fs::read_to_string(fixture(file)).unwrap();
    text.lines()
        .filter_map(|line| {
            let (name, rc) = line.split_once(" rc=")?;
            Some((name.to_string(), rc.trim().parse().unwrap()))
        })
        .collect()
}

fn parser_for(backend: &str) -> AnyParser {
    BackendsConfig::builtin()
        .unwrap()
        .backend(backend)
        .unwrap()
        .parser()
}

fn feed(parser: &mut impl LineParser, text: &str) -> Vec<AgentEvent> {
    text.lines()
        .flat_map(|line| parser.parse_line(line))
        .collect()
}

/// Check every transcript in `tests/fixtures/<set>/` (a `backend` set, exit
/// codes in `codes_file`) against its expected events.
fn check_set(backend: &str, set: &str, codes_file: &str, minimum: usize) {
    let codes = exit_codes(codes_file);
    let dir = fixture(set);
    let expected_dir = fixture(&format!("expected/{set}"));
    let update = std::env::var_os("CLAWRUN_UPDATE_EXPECTED").is_some();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        names.len() >= minimum,
        "only {} {backend} fixtures",
        names.len()
    );
    for name in &names {
        let lines = std::fs::read_to_string(dir.join(format!("{name}.jsonl"))).unwrap();
        let stderr =
            std::fs::read_to_string(dir.join(format!("{name}.stderr"))).unwrap_or_default();
        let rc = *codes
            .get(&format!("{backend}-{name}"))
            .unwrap_or_else(|| panic!("no exit code for {backend}-{name}"));
        let mut parser = parser_for(backend);
        let mut events = feed(&mut parser, &lines);
        events.extend(parser.finish(Some(rc), &stderr));
        // The orchestrator's way: one buffer, appended to line after line.
        let mut again = parser_for(backend);
        let mut appended = vec![AgentEvent::Thinking];
        for line in lines.lines() {
            again.parse_line_into(line, &mut appended);
        }
        assert_eq!(appended.remove(0), AgentEvent::Thinking, "{set}/{name}");
        appended.extend(again.finish(Some(rc), &stderr));
        assert_eq!(appended, events, "{set}/{name}: parse_line_into");
        let expected_path = expected_dir.join(format!("{name}.json"));
        if update {
            std::fs::create_dir_all(&expected_dir).unwrap();
            let json = serde_json::to_string_pretty(&events).unwrap();
            std::fs::write(&expected_path, json + "\n").unwrap();
            continue;
        }
        let text = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        let expected: Vec<AgentEvent> = serde_json::from_str(&text).unwrap();
        assert_eq!(events, expected, "{set}/{name}");
    }
    // No expected file without its transcript.
    for entry in std::fs::read_dir(&expected_dir).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        assert!(
            names.contains(&stem),
            "orphan expected file {}",
            path.display()
        );
    }
}

#[test]
fn claude_fixtures_match_expected_events() {
    check_set("claude", "claude", "exit-codes.txt", 17);
}

#[test]
fn codex_fixtures_match_expected_events() {
    check_set("codex", "codex", "exit-codes.txt", 17);
}

#[test]
fn newest_claude_fixtures_match_expected_events() {
    check_set("claude", "claude-2.1.332", "exit-codes-latest.txt", 17);
}

#[test]
fn newest_codex_fixtures_match_expected_events() {
    check_set("codex", "codex-0.171.0", "exit-codes-latest.txt", 17);
}

/// Every event type and subtype in the newest transcripts maps to something
/// or is ignored on purpose: none comes out as unknown or as a warning.
#[test]
fn newest_transcripts_have_no_unknown_events() {
    for (backend, set) in [("claude", "claude-2.1.332"), ("codex", "codex-0.171.0")] {
        let dir = fixture(set);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "jsonl") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let events = feed(&mut parser_for(backend), &text);
            let odd: Vec<&AgentEvent> = events
                .iter()
                .filter(|e| {
                    matches!(
                        e,
                        AgentEvent::UnknownEvent { .. } | AgentEvent::Warning { .. }
                    )
                })
                .collect();
            // Codex's own `error` item for an unknown model is a real warning.
            let allowed = usize::from(path.ends_with("unknown-model.jsonl"));
            assert!(odd.len() <= allowed, "{}: {odd:?}", path.display());
        }
    }
}

// ---------------------------------------------------------------------------
// Folding events the way the orchestrator must, to check they never double count.

#[derive(Debug, Default)]
struct Tally {
    per_message: BTreeMap<String, Usage>,
    cumulative: Option<Usage>,
    subagents_open: HashSet<String>,
    subagents_started: usize,
    subagents_finished: usize,
    tools_open: HashSet<String>,
}

impl Tally {
    fn fold(events: &[AgentEvent]) -> Self {
        let mut t = Tally::default();
        for event in events {
            match event {
                AgentEvent::Usage {
                    scope: UsageScope::Message { id },
                    usage,
                } => {
                    t.per_message.insert(id.clone(), *usage);
                }
                AgentEvent::Usage {
                    scope: UsageScope::Cumulative,
                    usage,
                } => {
                    t.per_message.clear();
                    t.cumulative = Some(*usage);
                }
                AgentEvent::SubagentStarted { call_id, .. } => {
                    assert!(t.subagents_open.insert(call_id.clone()), "started twice");
                    t.subagents_started += 1;
                }
                AgentEvent::SubagentFinished { call_id } => {
                    assert!(t.subagents_open.remove(call_id), "finished but not open");
                    t.subagents_finished += 1;
                }
                AgentEvent::ToolStarted { call_id, .. } => {
                    assert!(t.tools_open.insert(call_id.clone()), "tool started twice");
                }
                AgentEvent::ToolFinished { call_id, .. } => {
                    assert!(t.tools_open.remove(call_id), "tool finished but not open");
                }
                _ => {}
            }
        }
        t
    }

    fn total(&self) -> Usage {
        let mut sum = self.cumulative.unwrap_or_default();
        for u in self.per_message.values() {
            sum.input_tokens += u.input_tokens;
            sum.cached_input_tokens += u.cached_input_tokens;
            sum.output_tokens += u.output_tokens;
        }
        sum
    }
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(fixture(rel)).unwrap()
}

#[test]
fn claude_usage_is_reported_once_per_message() {
    // multi: five messages, two content lines each for four of them; each
    // message's usage (100 in, 1 out at message_start) counts once.
    let events = feed(&mut ClaudeParser::new(), &read("claude/multi.jsonl"));
    let usage_events = events
        .iter()
        .filter(|e| matches!(e, AgentEvent::Usage { .. }))
        .count();
    assert_eq!(usage_events, 5);
    let tally = Tally::fold(&events);
    assert_eq!(
        tally.total(),
        Usage {
            input_tokens: 500,
            cached_input_tokens: 0,
            output_tokens: 5
        }
    );
    assert!(tally.tools_open.is_empty());
}

#[test]
fn claude_partial_messages_merge_message_delta_into_message_start() {
    // With --include-partial-messages the final output count comes in
    // message_delta; folded per message it equals the result's totals (200/14).
    let events = feed(
        &mut ClaudeParser::new(),
        &read("claude/partial-messages.jsonl"),
    );
    let tally = Tally::fold(&events);
    assert_eq!(
        tally.total(),
        Usage {
            input_tokens: 200,
            cached_input_tokens: 0,
            output_tokens: 14
        }
    );
    let final_usage = events.iter().find_map(|e| match e {
        AgentEvent::TurnCompleted { usage, .. } => *usage,
        _ => None,
    });
    assert_eq!(final_usage, Some(tally.total()));
    // A later, smaller report for the same message never lowers the figures.
    let mut parser = ClaudeParser::new();
    feed(&mut parser, &read("claude/partial-messages.jsonl"));
    let again = parser.parse_line(
        r#"{"type":"assistant","message":{"id":"msg_ca47dc1a6bfa40fdb7b9","model":"m","content":[],"usage":{"input_tokens":100,"output_tokens":1}}}"#,
    );
    assert_eq!(again, vec![]);
}

#[test]
fn claude_cache_tokens_count_as_input() {
    let events = ClaudeParser::new().parse_line(
        r#"{"type":"assistant","message":{"id":"msg_1","model":"m","content":[],"usage":{"input_tokens":3,"cache_creation_input_tokens":20,"cache_read_input_tokens":100,"output_tokens":5}}}"#,
    );
    assert_eq!(
        events,
        vec![AgentEvent::Usage {
            scope: UsageScope::Message {
                id: "msg_1".to_string()
            },
            usage: Usage {
                input_tokens: 123,
                cached_input_tokens: 100,
                output_tokens: 5
            }
        }]
    );
}

#[test]
fn codex_cumulative_usage_replaces_earlier_reports() {
    let mut parser = CodexParser::new();
    let mut events = feed(&mut parser, &read("codex/tool.jsonl"));
    events.extend(feed(&mut CodexParser::new(), &read("codex/resume.jsonl")));
    let tally = Tally::fold(&events);
    // resume reports 300 for the whole thread (it includes the first turn's 200).
    assert_eq!(
        tally.total(),
        Usage {
            input_tokens: 300,
            cached_input_tokens: 60,
            output_tokens: 21
        }
    );
}

#[test]
fn claude_subagent_opens_and_closes_once() {
    let events = feed(&mut ClaudeParser::new(), &read("claude/subagent.jsonl"));
    let tally = Tally::fold(&events);
    assert_eq!(tally.subagents_started, 1);
    assert_eq!(tally.subagents_finished, 1);
    assert!(tally.subagents_open.is_empty());
    assert!(tally.tools_open.is_empty());
    // The subagent's own tool call names the Task call as its parent.
    assert!(events.iter().any(|e| matches!(e,
        AgentEvent::ToolStarted { name, parent_tool_id: Some(p), .. }
            if name == "Bash" && p == "toolu_b13d3face97e4668b123")));
}

#[test]
fn claude_subagent_finish_comes_from_whichever_event_is_first() {
    let task = r#"{"type":"assistant","message":{"id":"m1","model":"x","content":[{"type":"tool_use","id":"t1","name":"Agent","input":{"description":"Look around","prompt":"p"}}]}}"#;
    let started = r#"{"type":"system","subtype":"task_started","task_id":"a","tool_use_id":"t1","description":"Look around"}"#;
    let result = r#"{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"ok"}]}]}}"#;
    let notification = r#"{"type":"system","subtype":"task_notification","task_id":"a","tool_use_id":"t1","status":"completed"}"#;
    let mut p = ClaudeParser::new();
    let events: Vec<AgentEvent> = [task, started, result, notification]
        .iter()
        .flat_map(|l| p.parse_line(l))
        .collect();
    assert_eq!(
        events,
        vec![
            AgentEvent::ToolStarted {
                call_id: "t1".to_string(),
                name: "Agent".to_string(),
                summary: "Look around".to_string(),
                parent_tool_id: None
            },
            AgentEvent::SubagentStarted {
                call_id: "t1".to_string(),
                description: "Look around".to_string()
            },
            AgentEvent::ToolFinished {
                call_id: "t1".to_string(),
                ok: true
            },
            AgentEvent::SubagentFinished {
                call_id: "t1".to_string()
            },
        ]
    );
    // A task_started with no Task tool_use seen still opens the subagent, once.
    let mut p = ClaudeParser::new();
    let events: Vec<AgentEvent> = [started, started, notification, notification]
        .iter()
        .flat_map(|l| p.parse_line(l))
        .collect();
    let tally = Tally::fold(&events);
    assert_eq!((tally.subagents_started, tally.subagents_finished), (1, 1));
}

// ---------------------------------------------------------------------------
// Odd input: a Warning, never a panic.

fn is_warning(events: &[AgentEvent]) -> bool {
    matches!(events, [AgentEvent::Warning { .. }])
}

#[test]
fn malformed_and_non_object_lines_are_warnings() {
    for backend in ["claude", "codex"] {
        let mut p = parser_for(backend);
        for line in [
            "{\"type\":\"result\",",
            "not json at all",
            "[1,2,3]",
            "42",
            "\"text\"",
            "null",
            "{\"type\": }",
            "{}",
            "{\"type\":null}",
            "{\"type\":7}",
        ] {
            let events = p.parse_line(line);
            assert!(is_warning(&events), "{backend}: {line:?} gave {events:?}");
        }
        assert_eq!(p.parse_line(""), vec![]);
        assert_eq!(p.parse_line("   \t"), vec![]);
    }
}

fn is_unknown(events: &[AgentEvent], name: &str) -> bool {
    matches!(events, [AgentEvent::UnknownEvent { what }] if what == name)
}

#[test]
fn unknown_types_are_named_once_per_run() {
    let mut p = ClaudeParser::new();
    assert!(is_unknown(
        &p.parse_line(r#"{"type":"brand_new","x":1}"#),
        "\"brand_new\""
    ));
    assert_eq!(p.parse_line(r#"{"type":"brand_new","x":2}"#), vec![]);
    assert!(is_unknown(
        &p.parse_line(r#"{"type":"system","subtype":"brand_new"}"#),
        "system/brand_new"
    ));
    assert!(is_unknown(
        &p.parse_line(r#"{"type":"assistant","message":{"content":[{"type":"hologram"}]}}"#),
        "content block \"hologram\""
    ));
    let mut p = CodexParser::new();
    assert!(is_unknown(
        &p.parse_line(r#"{"type":"thread.archived"}"#),
        "\"thread.archived\""
    ));
    assert_eq!(p.parse_line(r#"{"type":"thread.archived"}"#), vec![]);
    assert!(is_unknown(
        &p.parse_line(r#"{"type":"item.completed","item":{"id":"i","type":"hologram"}}"#),
        "item \"hologram\""
    ));
}

/// Events the issue reports for recent CLIs but no transcript shows yet: read
/// leniently, each mapped or ignored on purpose, none unknown.
#[test]
fn reported_new_events_are_handled_leniently() {
    let mut p = ClaudeParser::new();
    let init = r#"{"type":"system","subtype":"init","session_id":"s1","model":"m","claude_code_version":"2.1.332"}"#;
    let ignored = [
        r#"{"type":"tool_progress","tool_use_id":"t","tool_name":"Bash","parent_tool_use_id":null,"elapsed_time_seconds":3}"#,
        r#"{"type":"command_lifecycle","command_uuid":"u","state":"started"}"#,
        r#"{"type":"system","subtype":"session_state_changed","state":"idle"}"#,
        r#"{"type":"system","subtype":"status","status":"requesting"}"#,
        r#"{"type":"system","subtype":"permission_denied","tool_name":"Read","tool_use_id":"t"}"#,
        r#"{"type":"system","subtype":"background_tasks_changed","tasks":[]}"#,
    ];
    assert_eq!(p.parse_line(init).len(), 1);
    for line in ignored {
        assert_eq!(p.parse_line(line), vec![], "{line}");
    }
    // The conversation moves to a new session: that id is the one to resume.
    let started = |id: &str| AgentEvent::SessionStarted {
        resume_id: id.to_string(),
        model: None,
        cli_version: None,
    };
    assert_eq!(
        p.parse_line(r#"{"type":"conversation_reset","newConversationId":"s2","session_id":"s1"}"#),
        vec![started("s2")]
    );
    assert_eq!(
        p.parse_line(r#"{"type":"conversation_reset","newConversationId":"s2"}"#),
        vec![]
    );
    // A result naming yet another session moves the run there too.
    let events = p.parse_line(
        r#"{"type":"result","subtype":"success","is_error":false,"result":"ok","session_id":"s3"}"#,
    );
    assert_eq!(events[0], started("s3"));
    // Codex: turn.completed with turn_id, status and duration_ms.
    let mut c = CodexParser::new();
    let done = c.parse_line(r#"{"type":"turn.completed","turn_id":"t1","status":"completed","duration_ms":12,"usage":{"input_tokens":5,"output_tokens":1}}"#);
    assert!(
        matches!(done.last(), Some(AgentEvent::TurnCompleted { .. })),
        "{done:?}"
    );
    let failed = c.parse_line(
        r#"{"type":"turn.completed","turn_id":"t2","status":"failed","duration_ms":12}"#,
    );
    assert!(
        matches!(failed.as_slice(), [AgentEvent::TurnFailed { .. }]),
        "{failed:?}"
    );
}

#[test]
fn null_and_mistyped_fields_do_not_break_a_line() {
    let mut p = CodexParser::new();
    let started = p.parse_line(
        r#"{"type":"item.started","item":{"id":"item_0","type":"command_execution","command":null,"exit_code":null}}"#,
    );
    assert_eq!(
        started,
        vec![AgentEvent::ToolStarted {
            call_id: "item_0".to_string(),
            name: "shell".to_string(),
            summary: String::new(),
            parent_tool_id: None
        }]
    );
    let done = p.parse_line(
        r#"{"type":"item.completed","item":{"id":"item_0","type":"command_execution","command":{"argv":["ls"]},"exit_code":"0"}}"#,
    );
    assert_eq!(
        done,
        vec![AgentEvent::ToolFinished {
            call_id: "item_0".to_string(),
            ok: true
        }]
    );
    let mut p = ClaudeParser::new();
    assert!(is_warning(
        &p.parse_line(r#"{"type":"assistant","message":null}"#)
    ));
    assert_eq!(
        p.parse_line(
            r#"{"type":"assistant","message":{"id":null,"content":"just text","usage":[1]}}"#
        ),
        vec![]
    );
    assert_eq!(
        p.parse_line(r#"{"type":"system","subtype":"init","session_id":"s","model":null,"claude_code_version":2}"#),
        vec![AgentEvent::SessionStarted {
            resume_id: "s".to_string(),
            model: None,
            cli_version: None
        }]
    );
    assert_eq!(
        p.parse_line(r#"{"type":"assistant","message":{"content":[{"type":"tool_use","id":"t","name":"Bash","input":null}]}}"#),
        vec![AgentEvent::ToolStarted {
            call_id: "t".to_string(),
            name: "Bash".to_string(),
            summary: String::new(),
            parent_tool_id: None
        }]
    );
}

#[test]
fn a_one_megabyte_line_parses() {
    let text = "é".repeat(512 * 1024);
    let line = serde_json::json!({
        "type": "assistant",
        "message": {"id": "m", "model": "x", "content": [{"type": "text", "text": text}]}
    })
    .to_string();
    assert!(line.len() > 1_000_000);
    let events = ClaudeParser::new().parse_line(&line);
    assert_eq!(
        events,
        vec![AgentEvent::AssistantText {
            text: text.clone(),
            parent_tool_id: None
        }]
    );
    let line = serde_json::json!({
        "type": "item.started",
        "item": {"id": "i", "type": "command_execution", "command": format!("/bin/bash -lc '{text}'")}
    })
    .to_string();
    let events = CodexParser::new().parse_line(&line);
    match events.as_slice() {
        [AgentEvent::ToolStarted { summary, .. }] => assert_eq!(summary.chars().count(), 80),
        other => panic!("{other:?}"),
    }
    // Cut in the middle of the line: a warning with a short excerpt.
    let mid = (0..=line.len() / 2)
        .rev()
        .find(|&i| line.is_char_boundary(i))
        .unwrap();
    let cut = &line[..mid];
    let events = CodexParser::new().parse_line(cut);
    match events.as_slice() {
        [AgentEvent::Warning { message }] => assert!(message.chars().count() < 400),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Limits, failures and finish().

#[test]
fn claude_rate_limit_event_and_usage_limit_result() {
    let mut p = ClaudeParser::new();
    assert_eq!(
        p.parse_line(r#"{"type":"rate_limit_event","rate_limit_info":{"status":"allowed_warning","resetsAt":1750000000}}"#),
        vec![]
    );
    assert_eq!(
        p.parse_line(r#"{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":1750000000,"rateLimitType":"five_hour"}}"#),
        vec![AgentEvent::RateLimited {
            resets_at: Some(1_750_000_000),
            message: "Claude usage limit reached (five_hour)".to_string()
        }]
    );
    assert_eq!(
        p.parse_line(r#"{"type":"result","subtype":"success","is_error":false,"result":"Claude AI usage limit reached|1750003600","total_cost_usd":0}"#),
        vec![
            AgentEvent::RateLimited {
                resets_at: Some(1_750_003_600),
                message: "Claude AI usage limit reached".to_string()
            },
            AgentEvent::TurnFailed {
                message: "Claude AI usage limit reached".to_string(),
                kind: FailureKind::RateLimit,
                cost_usd: Some(0.0)
            }
        ]
    );
    assert_eq!(p.finish(Some(1), ""), vec![]);
}

#[test]
fn claude_error_subtypes_fail_even_without_is_error() {
    let mut p = ClaudeParser::new();
    let events = p.parse_line(
        r#"{"type":"result","subtype":"error_max_turns","total_cost_usd":0.5,"errors":["Reached maximum number of turns (3)"]}"#,
    );
    assert_eq!(
        events,
        vec![AgentEvent::TurnFailed {
            message: "Reached maximum number of turns (3)".to_string(),
            kind: FailureKind::Other,
            cost_usd: Some(0.5)
        }]
    );
}

#[test]
fn claude_finish_without_result() {
    let mut p = ClaudeParser::new();
    assert_eq!(
        p.finish(None, ""),
        vec![AgentEvent::TurnFailed {
            message: "killed by a signal without a result".to_string(),
            kind: FailureKind::NoResult,
            cost_usd: None
        }]
    );
    let mut p = ClaudeParser::new();
    assert_eq!(
        p.finish(Some(1), "\nNo conversation found with session ID: abc\n\n"),
        vec![AgentEvent::TurnFailed {
            message: "No conversation found with session ID: abc".to_string(),
            kind: FailureKind::ResumeNotFound,
            cost_usd: None
        }]
    );
    let mut p = ClaudeParser::new();
    let long = format!("{}\nlast words\n", "x".repeat(2000));
    match p.finish(Some(1), &long).as_slice() {
        [
            AgentEvent::TurnFailed {
                message,
                kind: FailureKind::NoResult,
                ..
            },
        ] => {
            assert_eq!(message, "last words");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn codex_usage_limit_error_then_failed_turn() {
    let mut p = CodexParser::new();
    let msg = "You've hit your usage limit. Try again at 3:04 PM.";
    let error = serde_json::json!({"type": "error", "message": msg}).to_string();
    let failed = serde_json::json!({"type": "turn.failed", "error": {"message": msg}}).to_string();
    assert_eq!(
        p.parse_line(&error),
        vec![AgentEvent::RateLimited {
            resets_at: None,
            message: msg.to_string()
        }]
    );
    assert_eq!(
        p.parse_line(&failed),
        vec![AgentEvent::TurnFailed {
            message: msg.to_string(),
            kind: FailureKind::RateLimit,
            cost_usd: None
        }]
    );
    assert_eq!(p.finish(Some(1), ""), vec![]);
}

#[test]
fn codex_finish_prefers_the_last_error_and_ignores_generic_not_found() {
    // An error with no turn.failed after it (killed mid-retry).
    let mut p = CodexParser::new();
    p.parse_line(r#"{"type":"error","message":"stream disconnected before completion"}"#);
    assert_eq!(
        p.finish(
            None,
            "WARNING: proceeding, even though we could not create PATH aliases: x\n"
        ),
        vec![AgentEvent::TurnFailed {
            message: "stream disconnected before completion".to_string(),
            kind: FailureKind::NoResult,
            cost_usd: None
        }]
    );
    // The seed treated any "not found" as a failed resume; only codex's own
    // resume error counts.
    let mut p = CodexParser::new();
    assert_eq!(
        p.finish(Some(1), "Error: config file not found\n"),
        vec![AgentEvent::TurnFailed {
            message: "Error: config file not found".to_string(),
            kind: FailureKind::NoResult,
            cost_usd: None
        }]
    );
}

#[test]
fn codex_reasoning_file_change_web_search_and_mcp_items() {
    let mut p = CodexParser::new();
    let lines = [
        r#"{"type":"item.started","item":{"id":"r1","type":"reasoning","text":""}}"#,
        r#"{"type":"item.completed","item":{"id":"r1","type":"reasoning","text":"**Planning**"}}"#,
        r#"{"type":"item.completed","item":{"id":"f1","type":"file_change","changes":[{"path":"/w/src/a.rs","kind":"update"},{"path":"/w/b.md","kind":"add"}],"status":"completed"}}"#,
        r#"{"type":"item.started","item":{"id":"w1","type":"web_search","query":"rust serde borrow"}}"#,
        r#"{"type":"item.completed","item":{"id":"w1","type":"web_search","query":"rust serde borrow"}}"#,
        r#"{"type":"item.started","item":{"id":"m1","type":"mcp_tool_call","server":"docs","tool":"search","status":"in_progress"}}"#,
        r#"{"type":"item.completed","item":{"id":"m1","type":"mcp_tool_call","server":"docs","tool":"search","status":"failed","error":{"message":"boom"}}}"#,
        r#"{"type":"item.updated","item":{"id":"t1","type":"todo_list","items":[]}}"#,
    ];
    let events: Vec<AgentEvent> = lines.iter().flat_map(|l| p.parse_line(l)).collect();
    let started = |id: &str, name: &str, summary: &str| AgentEvent::ToolStarted {
        call_id: id.to_string(),
        name: name.to_string(),
        summary: summary.to_string(),
        parent_tool_id: None,
    };
    let finished = |id: &str, ok: bool| AgentEvent::ToolFinished {
        call_id: id.to_string(),
        ok,
    };
    assert_eq!(
        events,
        vec![
            AgentEvent::Thinking,
            started("f1", "file_change", "a.rs, b.md"),
            finished("f1", true),
            started("w1", "web_search", "rust serde borrow"),
            finished("w1", true),
            started("m1", "mcp_tool_call", "docs/search"),
            finished("m1", false),
        ]
    );
}

#[test]
fn parsers_from_backends_are_fresh_per_run() {
    let backend = BackendsConfig::builtin()
        .unwrap()
        .backend("claude")
        .unwrap();
    let mut first = backend.parser();
    feed(&mut first, &read("claude/tool.jsonl"));
    assert_eq!(first.finish(Some(0), ""), vec![]);
    let mut second = backend.parser();
    assert_eq!(second.finish(Some(0), "").len(), 1);
    assert!(Path::new(&fixture("expected/claude")).is_dir());
}

/// Every line of every Claude and Codex transcript, cut at each byte and with
/// each byte replaced by a JSON delimiter: the parsers never panic, and a
/// cut line is a warning, or (cut after the fields it maps from, at a
/// closing brace) exactly what the whole line gives: never events made up
/// from half a line.
#[test]
fn cut_and_garbled_lines_never_panic_a_parser() {
    const DELIMITERS: &[u8] = b"\"{}[],:\\ ";
    for (backend, dirs) in [
        ("claude", ["claude", "claude-2.1.332"]),
        ("codex", ["codex", "codex-0.171.0"]),
    ] {
        let mut parser = parser_for(backend);
        for dir in dirs {
            for entry in std::fs::read_dir(fixture(dir)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_none_or(|e| e != "jsonl") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for line in text.lines().filter(|l| l.starts_with('{')) {
                    // Every byte near the ends, every fifth in between.
                    let near_end = |i: usize| i < 64 || i + 64 > line.len();
                    let cuts = (1..line.len())
                        .filter(|&i| near_end(i) || i % 5 == 0)
                        .filter(|&i| line.is_char_boundary(i));
                    for cut in cuts {
                        let events = parser.parse_line(&line[..cut]);
                        let only_warnings = |events: &[AgentEvent]| {
                            events
                                .iter()
                                .all(|e| matches!(e, AgentEvent::Warning { .. }))
                        };
                        // A line cut just after a closing brace may still read
                        // whole (once a line has given every field it maps
                        // from, its rest is not read): then it gives what the
                        // whole line gives, or only a warning.
                        let same_as_whole = line[..cut].ends_with('}') && {
                            let cut_events = parser_for(backend).parse_line(&line[..cut]);
                            cut_events == parser_for(backend).parse_line(line)
                        };
                        assert!(
                            only_warnings(&events) || same_as_whole,
                            "{}: {:?} gave {events:?}",
                            path.display(),
                            &line[..cut]
                        );
                        let mut garbled = line.as_bytes().to_vec();
                        if garbled[cut].is_ascii() {
                            garbled[cut] = DELIMITERS[cut % DELIMITERS.len()];
                            let _ = parser.parse_line(std::str::from_utf8(&garbled).unwrap());
                        }
                    }
                }
            }
        }
    }
}
