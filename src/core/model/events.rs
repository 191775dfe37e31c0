//! Normalized agent events: the one vocabulary every backend parser speaks.
//!
//! A backend maps each line its CLI prints to zero or more [`AgentEvent`]s. The
//! orchestrator never looks at raw CLI JSON; it folds these events into the run
//! state (tokens, tools, subagents, activity) and decides the outcome from them.
//!
//! The enum is versioned by [`EVENT_SCHEMA_VERSION`]: events are also written to
//! disk (`events.jsonl` in a run directory is not kept, but notifications and
//! `--json` outputs embed them), so a change of shape bumps the version.

use serde::{Deserialize, Serialize};

/// Token usage, normalized across backends.
///
/// `input_tokens` counts every prompt token the model read (for Claude this
/// includes cache reads and cache writes; for Codex `cached_input_tokens` is a
/// subset of `input_tokens` and is reported separately, never added).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens, cache reads and writes included.
    pub input_tokens: u64,
    /// Of `input_tokens`, those served from the prompt cache.
    pub cached_input_tokens: u64,
    /// Generated tokens (reasoning included where the CLI reports it).
    pub output_tokens: u64,
}

impl Usage {
    /// Input plus output tokens.
    pub fn total(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }
}

/// How a usage report relates to earlier ones, so nothing is counted twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scope", rename_all = "snake_case")]
pub enum UsageScope {
    /// The latest figures for one model message: replaces any earlier report
    /// with the same id (Claude repeats a message's usage on every content block).
    Message {
        /// The model message id (`msg_…`).
        id: String,
    },
    /// Totals for the whole run so far: replaces every per-message figure.
    Cumulative,
}

/// Why a turn failed, when the CLI lets us tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FailureKind {
    /// The session or thread to resume does not exist (or, for Claude Code before
    /// 2.1.332, not from this directory).
    ResumeNotFound,
    /// The model API answered with an error status.
    Api {
        /// HTTP status, when reported.
        status: Option<u16>,
    },
    /// The model API refused for a usage or rate limit.
    RateLimit,
    /// The CLI stopped without a terminal event (killed, crashed, refused to start).
    NoResult,
    /// Anything else the CLI reported as a failure.
    Other,
}

/// One normalized event from a coding-agent CLI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentEvent {
    /// The CLI announced its session. `resume_id` is the Claude `session_id` or
    /// the Codex `thread_id`: what `--resume` takes.
    SessionStarted {
        /// Id to resume this conversation with.
        resume_id: String,
        /// Model name as the CLI reports it.
        model: Option<String>,
        /// CLI version as the CLI reports it (`claude_code_version`).
        cli_version: Option<String>,
    },
    /// A complete piece of assistant text.
    AssistantText {
        /// The text.
        text: String,
        /// Set when a subagent wrote it: the id of the tool call that started the subagent.
        parent_tool_id: Option<String>,
    },
    /// A streamed fragment of assistant text (partial-message mode): liveness only,
    /// the complete text follows as [`AgentEvent::AssistantText`].
    TextDelta {
        /// The fragment.
        text: String,
    },
    /// The model is reasoning (a thinking block or a reasoning item).
    Thinking,
    /// A tool call began.
    ToolStarted {
        /// The CLI's id for the call.
        call_id: String,
        /// Tool name (`Bash`, `Edit`, `command_execution`, …).
        name: String,
        /// A short human label: the command, the file name, the pattern.
        summary: String,
        /// Set when a subagent made the call.
        parent_tool_id: Option<String>,
    },
    /// A running tool call got a better label: the agent announced it with a
    /// generic title ("Terminal") and names the command later.
    ToolUpdated {
        /// The CLI's id for the call.
        call_id: String,
        /// Tool name, as in [`AgentEvent::ToolStarted`].
        name: String,
        /// The new short label: the command, the file name, the pattern.
        summary: String,
    },
    /// A tool call ended.
    ToolFinished {
        /// The CLI's id for the call.
        call_id: String,
        /// False when the tool reported an error or a non-zero exit.
        ok: bool,
    },
    /// The agent's plan, as it stands now (an ACP `plan` update replaces the
    /// whole plan each time).
    Plan {
        /// Entries completed.
        done: u32,
        /// Entries in all.
        total: u32,
        /// The entry in progress (else the first pending one), when any.
        current: Option<String>,
    },
    /// What the agent said about itself when the connection opened (ACP
    /// `initialize`): the runner remembers it per backend, so a `--resume`
    /// the agent cannot honour is refused before anything starts.
    AgentInfo {
        /// The agent's name (`agentInfo.name`), when given.
        name: Option<String>,
        /// Its version (`agentInfo.version`), when given.
        version: Option<String>,
        /// It can load an earlier session (`agentCapabilities.loadSession`).
        load_session: bool,
    },
    /// A subagent (Claude `Task`/`Agent` tool) began.
    SubagentStarted {
        /// The tool call id that started it; later events name it as their parent.
        call_id: String,
        /// What it was asked to do.
        description: String,
    },
    /// A subagent ended.
    SubagentFinished {
        /// The tool call id that started it.
        call_id: String,
    },
    /// A running subagent said what it is doing (Claude `system/task_progress`).
    SubagentProgress {
        /// The tool call id that started it.
        call_id: String,
        /// What it does now, as the CLI put it ("Running Sub step").
        activity: String,
    },
    /// Token usage report.
    Usage {
        /// How this report combines with earlier ones.
        scope: UsageScope,
        /// The figures.
        usage: Usage,
    },
    /// The CLI is retrying a failed API call; not fatal.
    ApiRetry {
        /// Attempt number, from 1.
        attempt: u32,
        /// The CLI's retry limit, when known.
        max_retries: Option<u32>,
        /// HTTP status of the failed call, when known.
        status: Option<u16>,
        /// The CLI's message.
        message: String,
    },
    /// The CLI hit a usage or rate limit.
    RateLimited {
        /// When the limit resets (Unix seconds), when the CLI says.
        resets_at: Option<i64>,
        /// The CLI's message.
        message: String,
    },
    /// The turn ended successfully.
    TurnCompleted {
        /// The final answer, when the CLI states it (Claude `result.result`).
        final_text: Option<String>,
        /// Usage totals for the run, when reported.
        usage: Option<Usage>,
        /// Cost in US dollars, when reported (Claude `total_cost_usd`).
        cost_usd: Option<f64>,
    },
    /// The turn failed.
    TurnFailed {
        /// Why, as the CLI put it.
        message: String,
        /// Classification of the failure.
        kind: FailureKind,
        /// Cost in US dollars, when reported even on failure.
        cost_usd: Option<f64>,
    },
    /// A tool call the run's permission mode or sandbox refused (Claude's
    /// `permission_denials` in its result). The call itself was already
    /// reported as started and finished (failed).
    ToolDenied {
        /// The tool: `Write`, `Bash`, `Edit`, …
        tool: String,
        /// What it was asked to touch: a path, a command (shortened).
        detail: String,
    },
    /// A non-fatal oddity: a malformed line, an odd shape.
    Warning {
        /// What was odd.
        message: String,
    },
    /// A line type, subtype or content block this clawrun does not know, named
    /// once per run. A few of them mean the CLI's format has changed: the run's
    /// version guard says so (see `core::version_guard`).
    UnknownEvent {
        /// Which one: `system/brand_new`, `content block "hologram"`.
        what: String,
    },
}

/// Longest session id (resume id) accepted from a stream, in bytes.
pub const MAX_RESUME_ID_LEN: usize = 256;

/// Check a session id announced by a stream before it is stored or printed:
/// at most [`MAX_RESUME_ID_LEN`] bytes of ASCII letters, digits and `-_.:`,
/// not starting with `.`. Claude session ids (UUIDs) and Codex thread ids
/// fit; a path (`../../etc/passwd`), a control character, a space or a
/// 100,000-character id do not. Pure.
///
/// # Errors
/// Why the id is refused, in a few words.
pub fn check_resume_id(id: &str) -> Result<(), &'static str> {
    if id.is_empty() {
        return Err("it is empty");
    }
    if id.len() > MAX_RESUME_ID_LEN {
        return Err("it is longer than 256 bytes");
    }
    if id.starts_with('.') {
        return Err("it starts with '.'");
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
    {
        return Err("it has characters other than ASCII letters, digits and -_.:");
    }
    Ok(())
}

/// An id that failed [`check_resume_id`], safe to show: escaped (no control
/// or bidi character reaches a terminal or a chat) and cut to 60 characters.
pub fn shown_resume_id(id: &str) -> String {
    let escaped: String = id.chars().flat_map(char::escape_default).collect();
    let mut shown: String = escaped.chars().take(60).collect();
    if escaped.chars().nth(60).is_some() {
        shown.push('…');
    }
    format!("\"{shown}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_ids_are_checked_before_they_are_stored() {
        for good in [
            "b97f592b-6515-4a57-b3bb-0bc3448d4c8a",
            "019a2006-1a1b-7c3d-9e8f-001122334455",
            "thread_1:a.b",
        ] {
            assert_eq!(check_resume_id(good), Ok(()), "{good}");
        }
        let long = "a".repeat(MAX_RESUME_ID_LEN + 1);
        for bad in [
            "",
            "../../etc/passwd",
            ".hidden",
            "a b",
            "id\nwith\0nul",
            "id\u{202e}rtl",
            "é",
            long.as_str(),
        ] {
            assert!(check_resume_id(bad).is_err(), "{bad:?}");
        }
        assert!(check_resume_id(&"a".repeat(MAX_RESUME_ID_LEN)).is_ok());
    }

    #[test]
    fn a_refused_id_is_shown_escaped_and_cut() {
        assert_eq!(shown_resume_id("a\nb\0c"), "\"a\\nb\\u{0}c\"");
        let shown = shown_resume_id(&"x".repeat(100_000));
        assert!(shown.chars().count() < 70, "{shown}");
        assert!(!shown_resume_id("\u{202e}").contains('\u{202e}'));
    }
}
