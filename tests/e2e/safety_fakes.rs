//! The `safety_edit` scenario of the fakes: the model asks to edit
//! [`SAFETY_FILE`] in the project, the way a real model would, so the
//! `--safety` presets can be checked against what the real CLIs allow.
//!
//! - Anthropic: `Read` the file, then `Edit` it (Claude Code refuses an edit
//!   of a file not read first), then [`SAFETY_ANSWER`]. The file's absolute
//!   path is built from the project directory found anywhere in the request
//!   body (2.1.197 names it in the system prompt, 2.1.332 elsewhere).
//! - OpenAI Responses: a shell call that overwrites the file (relative path:
//!   Codex runs it in the project), then an `apply_patch` call that adds
//!   [`SAFETY_PATCHED_FILE`], then [`SAFETY_ANSWER`].

use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use super::{
    AnthropicResponder, Block, ResponsesResponder, message_item, shell_call, sse_response,
};

/// The committed file the `safety_edit` scenario asks to edit.
pub const SAFETY_FILE: &str = "notes.txt";
/// Its content before the run.
pub const SAFETY_ORIGINAL: &str = "original line\n";
/// Its content when the edit went through.
pub const SAFETY_EDITED: &str = "edited line\n";
/// The file the Codex scenario's `apply_patch` call adds.
pub const SAFETY_PATCHED_FILE: &str = "patched.txt";
/// Its content.
pub const SAFETY_PATCHED: &str = "added by apply_patch\n";
/// The model's answer once the edit was tried.
pub const SAFETY_ANSWER: &str = "DONE: tried to edit notes.txt";

/// The project directory named in a request body: the first
/// `…/clawrun-e2e-XXXX/projects/NAME` path (the suite's projects), wherever it
/// appears (system prompt, environment block, user message). Claude's own
/// `~/.claude/projects/…` directories do not match.
pub fn project_dir_in(raw: &str) -> Option<String> {
    let is_path_char = |c: char| c.is_ascii_alphanumeric() || "/._-".contains(c);
    let mut from = 0;
    while let Some(i) = raw[from..].find("/projects/") {
        let at = from + i;
        from = at + 1;
        let start = raw[..at]
            .rfind(|c: char| !is_path_char(c))
            .map_or(0, |j| j + 1);
        let parent = &raw[start..at];
        let in_suite = parent
            .rsplit('/')
            .next()
            .is_some_and(|last| last.starts_with("clawrun-e2e-"));
        if !in_suite {
            continue;
        }
        let rest = &raw[at + "/projects/".len()..];
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || "_-".contains(c)))
            .unwrap_or(rest.len());
        if name_len > 0 {
            return Some(format!("{}/projects/{}", parent, &rest[..name_len]));
        }
    }
    None
}

/// How many tool results the conversation holds so far.
fn tool_results(body: &Value) -> usize {
    body.get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "user")
        .filter_map(|m| m["content"].as_array())
        .flatten()
        .filter(|b| b["type"] == "tool_result")
        .count()
}

/// Claude: Read, Edit, then the answer.
pub(super) fn anthropic(body: &Value, raw: &str, model: &str, stream: bool) -> ResponseTemplate {
    let Some(dir) = project_dir_in(raw) else {
        return AnthropicResponder::answer(
            &[Block::Text(
                "the fake found no project path in the request".into(),
            )],
            "end_turn",
            model,
            stream,
        );
    };
    let file = format!("{dir}/{SAFETY_FILE}");
    let call = match tool_results(body) {
        0 => Block::ToolUse {
            name: "Read".into(),
            input: json!({"file_path": file}),
        },
        1 => Block::ToolUse {
            name: "Edit".into(),
            input: json!({"file_path": file, "old_string": SAFETY_ORIGINAL.trim_end(),
                          "new_string": SAFETY_EDITED.trim_end(), "replace_all": false}),
        },
        _ => {
            return AnthropicResponder::answer(
                &[Block::Text(SAFETY_ANSWER.into())],
                "end_turn",
                model,
                stream,
            );
        }
    };
    AnthropicResponder::answer(&[call], "tool_use", model, stream)
}

/// Codex: a shell command that overwrites the file, an `apply_patch` that
/// adds another, then the answer.
pub(super) fn responses(body: &Value) -> ResponseTemplate {
    let outputs = body
        .get("input")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|i| {
            i.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.ends_with("_call_output"))
        })
        .count();
    let output = match outputs {
        0 => {
            let cmd = format!("printf '{}\\n' > {SAFETY_FILE}", SAFETY_EDITED.trim_end());
            vec![message_item("Editing the file."), shell_call(body, &cmd)]
        }
        1 => vec![message_item("Adding a file."), apply_patch_call()],
        _ => vec![message_item(SAFETY_ANSWER)],
    };
    sse_response(ResponsesResponder::stream(body, output, false))
}

/// A `custom_tool_call` of Codex's freeform `apply_patch` tool adding
/// [`SAFETY_PATCHED_FILE`].
fn apply_patch_call() -> Value {
    let patch = format!(
        "*** Begin Patch\n*** Add File: {SAFETY_PATCHED_FILE}\n+{}\n*** End Patch\n",
        SAFETY_PATCHED.trim_end()
    );
    json!({"type": "custom_tool_call", "id": format!("ctc_{}", super::short_id()),
           "call_id": format!("call_{}", super::short_id()), "name": "apply_patch",
           "input": patch, "status": "completed"})
}
