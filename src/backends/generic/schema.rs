//! The TOML schema of `[generic.<name>]` as written in `backends.toml`: every
//! field optional or defaulted, unknown keys refused. [`super::config`] checks
//! it and turns it into a [`super::GenericConfig`].

use std::collections::BTreeMap;

use serde::Deserialize;

#[allow(unused_imports)] // doc links
use crate::core::model::events::AgentEvent;

/// `[generic.<name>]` in `backends.toml`: a backend for a CLI that prints JSONL.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericToml {
    /// Program to run: a name looked up on PATH, or a path. Required.
    pub program: Option<String>,
    /// Arguments, always given (`{project}` allowed).
    pub args: Option<Vec<String>>,
    /// Arguments added when the run names a model; must contain `{model}`.
    pub model_args: Option<Vec<String>>,
    /// Arguments added when the run resumes a session; must contain `{resume_id}`.
    pub resume_args: Option<Vec<String>>,
    /// Extra environment variables for the agent process.
    pub env: Option<BTreeMap<String, String>>,
    /// Long name for messages (default: the backend name).
    pub display_name: Option<String>,
    /// Short tag for heartbeats and progress notes (default: the display name).
    pub tag: Option<String>,
    /// Whether the CLI needs a git work tree: informational, accepted so
    /// that files setting it still load; nothing acts on it.
    pub needs_git_repo: Option<bool>,
    /// When the CLI exits 0 without a terminal event, count the turn as
    /// completed (default false: a run without a terminal event has failed).
    pub complete_on_exit_zero: Option<bool>,
    /// Texts that, found in a failure message or in stderr, mean the session to
    /// resume does not exist (exit code 6 instead of 3).
    pub resume_not_found: Option<Vec<String>>,
    /// The CLI version this definition was written for (informational).
    pub tested_version: Option<String>,
    /// How lines map to events. Required.
    pub events: Option<EventsToml>,
}

/// `[generic.<name>.events]`: how the CLI's lines map to [`AgentEvent`]s.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsToml {
    /// JSON pointer of the field holding each line's type (`/type`).
    #[serde(rename = "type")]
    pub type_pointer: String,
    /// Types that carry nothing of interest: skipped without a warning.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Per type: the event it becomes and where its fields are.
    #[serde(default)]
    pub on: BTreeMap<String, EventRuleToml>,
}

/// `[generic.<name>.events.on.<type>]`: the event one type of line becomes.
/// Every field except `event` is a JSON pointer into the line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case", deny_unknown_fields)]
pub enum EventRuleToml {
    /// [`AgentEvent::SessionStarted`]: the id to resume with.
    SessionStarted {
        /// The session id (required in the line; a line without it is a warning).
        resume_id: String,
        /// The model name.
        model: Option<String>,
        /// The CLI's version.
        cli_version: Option<String>,
    },
    /// [`AgentEvent::AssistantText`]: a complete piece of assistant text.
    AssistantText {
        /// The text.
        text: String,
    },
    /// [`AgentEvent::TextDelta`]: a streamed fragment (liveness only).
    TextDelta {
        /// The fragment.
        text: String,
    },
    /// [`AgentEvent::Thinking`]: the model is reasoning.
    Thinking {},
    /// [`AgentEvent::ToolStarted`].
    ToolStarted {
        /// The tool's name (required in the line).
        name: String,
        /// The call id (default: one made up, closed by the next `tool_finished`
        /// without an id).
        call_id: Option<String>,
        /// A short label: the command, the file (shortened to 80 characters).
        summary: Option<String>,
    },
    /// [`AgentEvent::ToolFinished`].
    ToolFinished {
        /// The call id (default: the oldest open call).
        call_id: Option<String>,
        /// A boolean: whether the call succeeded (default true).
        ok: Option<String>,
    },
    /// [`AgentEvent::Usage`]: token counts.
    Usage {
        /// Prompt tokens.
        input_tokens: Option<String>,
        /// Of those, served from a cache.
        cached_input_tokens: Option<String>,
        /// Generated tokens.
        output_tokens: Option<String>,
        /// A per-message id: reports with the same id replace each other.
        /// Without it, each report is the run's total so far.
        message_id: Option<String>,
    },
    /// [`AgentEvent::TurnCompleted`] (or [`AgentEvent::TurnFailed`] when
    /// `failed_if` is true in the line). Terminal.
    TurnCompleted {
        /// The final answer.
        final_text: Option<String>,
        /// Prompt tokens of the whole run.
        input_tokens: Option<String>,
        /// Of those, served from a cache.
        cached_input_tokens: Option<String>,
        /// Generated tokens of the whole run.
        output_tokens: Option<String>,
        /// Cost in US dollars.
        cost_usd: Option<String>,
        /// A boolean: when true, the turn failed after all.
        failed_if: Option<String>,
        /// The failure message, when `failed_if` is true.
        message: Option<String>,
    },
    /// [`AgentEvent::TurnFailed`]. Terminal.
    TurnFailed {
        /// The failure message.
        message: Option<String>,
        /// Cost in US dollars.
        cost_usd: Option<String>,
    },
}
