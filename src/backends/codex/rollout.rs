//! Codex's own session log (its "rollout", `$CODEX_HOME/sessions/YYYY/MM/DD/
//! rollout-<time>-<thread id>.jsonl`): the tool calls its sandbox refused, as
//! [`AgentEvent::ToolDenied`]. `codex exec --json` (0.169.0, 0.171.0) prints
//! nothing for them; only this log records the calls and what the model was
//! told. Pure: the runner finds and reads the file.
//!
//! Shapes (`tests/fixtures/codex-rollout/`, both versions alike), one JSON
//! object a line with a `timestamp` (RFC 3339, UTC) and a `payload`:
//! - the calls, `response_item`s: `function_call` `exec_command` with
//!   arguments `{"cmd": "…"}` (older: `shell_command` `{"command": "…"}`,
//!   `shell` `{"command": ["bash", "-lc", "…"]}`), and `custom_tool_call`
//!   `apply_patch` with the patch as `input`;
//! - their outputs, `function_call_output` / `custom_tool_call_output` by
//!   `call_id`: `Process exited with code 1 … Read-only file system` for a
//!   refused shell write, `patch rejected: writing is blocked by read-only
//!   sandbox; …` or `patch rejected: writing outside of the project; …` for a
//!   refused patch;
//! - `event_msg` `item_completed` (`CommandExecution`, `FileChange`, `id` = the
//!   call id) for each call Codex reported in `--json`: the refused calls have
//!   none.
//!
//! A call is refused when its output says so (a rejected patch, or a non-zero
//! exit with one of the messages Codex itself takes for a sandbox denial) and
//! Codex did not report it as an ordinary command: a command that fails for
//! its own reasons (a failing test, an `exit 1`) is not a denial.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::backends::wire;
use crate::core::model::events::AgentEvent;

/// Longest detail of a refused call, in characters.
const DETAIL_MAX: usize = 80;

/// What a sandboxed command's output holds when the sandbox refused it
/// (lower case; the words Codex itself looks for).
const SANDBOX_WORDS: &[&str] = &[
    "read-only file system",
    "operation not permitted",
    "permission denied",
    "sandbox",
    "seccomp",
    "landlock",
    "failed to write file",
];

/// How a refused patch's output starts.
const PATCH_REJECTED: &str = "patch rejected";

/// The tool names Codex's shell calls go by.
const SHELL_TOOLS: &[&str] = &["exec_command", "shell_command", "shell", "container.exec"];

/// One call of the log that may have been refused.
struct Call {
    id: String,
    /// `shell` or `apply_patch`.
    tool: &'static str,
    detail: String,
}

/// The tool calls the sandbox refused in `log` (a rollout file's text, or its
/// tail), made at or after `since` (Unix seconds), in the order they were made.
pub(crate) fn denials(log: &str, since: i64) -> Vec<AgentEvent> {
    let mut calls = Vec::new();
    let mut outputs: HashMap<String, String> = HashMap::new();
    let mut reported: HashSet<String> = HashSet::new();
    for line in log.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if before(&v, since) {
            continue;
        }
        let p = &v["payload"];
        match (v["type"].as_str(), p["type"].as_str()) {
            (Some("response_item"), Some("function_call" | "custom_tool_call")) => {
                calls.extend(call(p));
            }
            (Some("response_item"), Some("function_call_output" | "custom_tool_call_output")) => {
                if let Some(id) = p["call_id"].as_str() {
                    outputs.insert(id.to_owned(), output_text(&p["output"]));
                }
            }
            (Some("event_msg"), Some("item_completed")) => {
                reported.extend(p["item"]["id"].as_str().map(str::to_owned));
            }
            (Some("event_msg"), Some("exec_command_end" | "patch_apply_end")) => {
                reported.extend(p["call_id"].as_str().map(str::to_owned));
            }
            _ => {}
        }
    }
    calls
        .into_iter()
        .filter(|c| !reported.contains(&c.id))
        .filter(|c| outputs.get(&c.id).is_some_and(|o| refused(o)))
        .map(|c| AgentEvent::ToolDenied {
            tool: c.tool.to_owned(),
            detail: c.detail,
        })
        .collect()
}

/// The line was written before `since` (a line without a readable time is not).
fn before(v: &Value, since: i64) -> bool {
    v["timestamp"]
        .as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .is_some_and(|t| t.as_second() < since)
}

/// A shell or `apply_patch` call, with what it was asked to do.
fn call(p: &Value) -> Option<Call> {
    let id = p["call_id"].as_str()?.to_owned();
    let name = p["name"].as_str()?;
    // A function call's arguments are a JSON text; a custom call's input is raw.
    let args: Value = p["arguments"]
        .as_str()
        .and_then(|a| serde_json::from_str(a).ok())
        .unwrap_or(Value::Null);
    if name == "apply_patch" {
        let patch = p["input"].as_str().or_else(|| args["input"].as_str())?;
        let detail = wire::short(&patched_paths(patch).join(" "), DETAIL_MAX);
        return Some(Call {
            id,
            tool: "apply_patch",
            detail,
        });
    }
    if !SHELL_TOOLS.contains(&name) {
        return None;
    }
    let command = shell_command(&args)?;
    Some(Call {
        id,
        tool: "shell",
        detail: format!("`{}`", wire::short(&command, DETAIL_MAX - 2)),
    })
}

/// The command of a shell call's arguments: `cmd`, or `command` as a string or
/// as an argv (`bash -lc "…"` gives the script).
fn shell_command(args: &Value) -> Option<String> {
    if let Some(c) = args["cmd"].as_str().or_else(|| args["command"].as_str()) {
        return Some(c.to_owned());
    }
    let argv: Vec<&str> = args["command"]
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match argv.as_slice() {
        [.., flag, script] if matches!(*flag, "-lc" | "-c") => Some((*script).to_owned()),
        [] => None,
        _ => Some(argv.join(" ")),
    }
}

/// The files a patch adds, updates, deletes or moves to, in order.
fn patched_paths(patch: &str) -> Vec<&str> {
    const HEADERS: &[&str] = &[
        "*** Add File: ",
        "*** Update File: ",
        "*** Delete File: ",
        "*** Move to: ",
    ];
    patch
        .lines()
        .filter_map(|l| HEADERS.iter().find_map(|h| l.strip_prefix(h)))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// A call output's text: a string, or the text parts of a content list.
fn output_text(output: &Value) -> String {
    match output {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}

/// The output of a call the sandbox refused: a rejected patch, or a non-zero
/// exit with a sandbox message.
fn refused(output: &str) -> bool {
    if output.trim_start().starts_with(PATCH_REJECTED) {
        return true;
    }
    if exit_code(output).is_none_or(|c| c == 0) {
        return false;
    }
    let lower = output.to_lowercase();
    SANDBOX_WORDS.iter().any(|w| lower.contains(w))
}

/// The exit code a call output names: `Process exited with code N`
/// (`exec_command`), `Exit code: N` (`shell`, `apply_patch`), or
/// `"exit_code": N` (an older JSON output).
fn exit_code(output: &str) -> Option<i64> {
    if let Ok(v) = serde_json::from_str::<Value>(output)
        && let Some(c) = v["metadata"]["exit_code"].as_i64()
    {
        return Some(c);
    }
    ["Process exited with code ", "Exit code: "]
        .iter()
        .find_map(|prefix| {
            output.lines().find_map(|l| {
                l.trim()
                    .strip_prefix(prefix)
                    .and_then(|n| n.trim().parse().ok())
            })
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn denied(log: &str) -> Vec<(String, String)> {
        denials(log, 0)
            .into_iter()
            .map(|e| match e {
                AgentEvent::ToolDenied { tool, detail } => (tool, detail),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    /// The captured runs (tests/fixtures/README.md): a shell write in the
    /// project, a patch adding a file, the same two outside it, a command
    /// failing on its own (`ls` of a missing dir), one printing a sandbox
    /// message and exiting 1, then `echo fine`.
    #[test]
    fn read_only_refuses_every_write_in_both_versions() {
        for log in [
            include_str!("../../../tests/fixtures/codex-rollout/codex-0.169.0-read-only.jsonl"),
            include_str!("../../../tests/fixtures/codex-rollout/codex-0.171.0-read-only.jsonl"),
        ] {
            assert_eq!(
                denied(log),
                pairs(&[
                    ("shell", "`printf 'edited line\\n' > notes.txt`"),
                    ("apply_patch", "patched.txt"),
                    ("shell", "`printf 'x\\n' > /opt/cx-outside.txt`"),
                    ("apply_patch", "/opt/cx-outside-patch.txt"),
                    // Codex itself took this one for a denial (no item in
                    // `--json`): its output is a sandbox's, word for word.
                    ("shell", "`echo 'Read-only file system' >&2; exit 1`"),
                ])
            );
        }
    }

    #[test]
    fn workspace_write_refuses_only_the_writes_outside_the_project() {
        for log in [
            include_str!(
                "../../../tests/fixtures/codex-rollout/codex-0.169.0-workspace-write.jsonl"
            ),
            include_str!(
                "../../../tests/fixtures/codex-rollout/codex-0.171.0-workspace-write.jsonl"
            ),
        ] {
            assert_eq!(
                denied(log),
                pairs(&[
                    ("shell", "`printf 'x\\n' > /opt/cx-outside.txt`"),
                    ("apply_patch", "/opt/cx-outside-patch.txt"),
                ]),
                "the failing `ls` and the reported `exit 1` are no denials"
            );
        }
    }

    #[test]
    fn calls_before_the_run_are_left_out() {
        let log =
            include_str!("../../../tests/fixtures/codex-rollout/codex-0.169.0-read-only.jsonl");
        let after_all: i64 = "2100-01-01T00:00:00Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second();
        assert!(denials(log, after_all).is_empty());
    }

    fn line(kind: &str, payload: Value) -> String {
        serde_json::json!({"timestamp": "2026-01-01T00:00:00.000Z", "type": kind, "payload": payload})
            .to_string()
    }

    #[test]
    fn a_failing_command_without_a_sandbox_message_is_no_denial() {
        let log = [
            line(
                "response_item",
                serde_json::json!({"type": "function_call", "name": "exec_command",
                    "call_id": "c1", "arguments": "{\"cmd\": \"cargo test\"}"}),
            ),
            line(
                "response_item",
                serde_json::json!({"type": "function_call_output", "call_id": "c1",
                    "output": "Process exited with code 101\nOutput:\ntest failed\n"}),
            ),
            line(
                "response_item",
                serde_json::json!({"type": "function_call", "name": "shell", "call_id": "c2",
                    "arguments": "{\"command\": [\"bash\", \"-lc\", \"touch /x\"]}"}),
            ),
            line(
                "response_item",
                serde_json::json!({"type": "function_call_output", "call_id": "c2",
                    "output": "{\"output\": \"touch: /x: Operation not permitted\", \"metadata\": {\"exit_code\": 1}}"}),
            ),
            "not json".to_owned(),
        ]
        .join("\n");
        assert_eq!(denied(&log), pairs(&[("shell", "`touch /x`")]));
    }
}
