//! Notifications: what the human is told about a run, rendered per markup
//! (plain, Telegram HTML, WhatsApp markdown), and handed to the run's channel.
//!
//! Templates follow the seed's (launch, result, timeout, failure, crash), fixed
//! where the seed was wrong (UTF-16-safe truncation is the channel's job; every
//! outcome reaches every channel).
//!
//! The notifier never prints: delivery trouble (messages still pending,
//! abandoned, an outbox that cannot be written) is reported through `tracing`
//! (`warn`/`error`), which the binary sends to stderr.

pub mod changes;
pub mod compact;
mod crash;
mod denials;
mod followups;
pub mod foreground;
mod heartbeat;
mod launch;
mod notifier;
pub mod outbox;
mod result;
pub mod stale;
mod text;
pub mod wake;
mod warnings;

pub use crash::{crash_items, render_crash};
use denials::denial_cause;
pub use denials::denials_line;
pub use followups::followups_not_run_line;
pub use notifier::Notifier;
pub use result::render_result;

use crate::backends::Names;
use crate::channels::MessageKind;

use crate::core::store::run::RunSpec;

/// Characters of the result shown in the result message.
pub const PREVIEW_CHARS: usize = 2000;
/// Characters of the task shown in the launch message.
pub const TASK_PREVIEW_CHARS: usize = 3500;

pub use crate::core::model::text::{fmt_usage, fmt_usd, terminal_safe};
pub use heartbeat::render_heartbeat;
pub use launch::render_launch;
pub use text::{
    esc, esc_preview, fmt_duration, hh_mm_utc, preview, render_waiting, resume_fact, shell_quote,
    tail_chars,
};
pub use wake::{
    WAITING_PREVIEW_CHARS, WAKE_PREVIEW_CHARS, WakeState, WakeStatus, WakeTarget, render_wake,
};
pub use warnings::warnings_line;

/// What the notifier needs to know about the run.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// Run id.
    pub run_id: String,
    /// Backend names.
    pub names: Names,
    /// Label.
    pub label: Option<String>,
    /// Project directory.
    pub project: String,
    /// The task.
    pub prompt: String,
    /// Time limit.
    pub timeout_secs: u64,
    /// Resume id given.
    pub resume: Option<String>,
    /// The run's own worktree, `branch in path`.
    pub worktree: Option<String>,
    /// The safety preset and the CLI option it maps to
    /// ([`crate::backends::RunRequest::safety_summary`]).
    pub safety: String,
    /// What refused a denied tool call, for the result: `the read-only preset`,
    /// `--permission-mode plan`.
    pub denial_cause: String,
    /// The safety summary of a limited run, for the result message
    /// ([`crate::backends::RunRequest::limited_safety`]).
    pub limited_safety: Option<String>,
}

impl RunInfo {
    /// From a run spec.
    pub fn new(spec: &RunSpec, names: Names) -> Self {
        Self {
            run_id: spec.run_id.clone(),
            names,
            label: spec.label.clone(),
            project: spec.request.project.display().to_string(),
            prompt: spec.request.prompt.clone(),
            timeout_secs: spec.limits.timeout_secs,
            resume: spec.request.resume_id.clone(),
            worktree: spec.worktree.as_ref().map(changes::worktree_line),
            safety: spec.request.safety_summary(),
            denial_cause: denial_cause(&spec.request),
            limited_safety: spec.request.limited_safety(),
        }
    }
}

/// The serde name of a message kind (`launch`, `heartbeat`, …).
pub fn kind_word(kind: MessageKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod heartbeat_tests;
#[cfg(test)]
mod tests;
