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
pub mod delivery;
mod denials;
mod followups;
pub mod foreground;
mod heartbeat;
mod launch;
mod notifier;
pub mod outbox;
pub mod stale;
mod text;
mod warnings;

pub use crash::{WakeTarget, crash_items, render_crash};
use denials::denial_cause;
pub use denials::denials_line;
pub use followups::followups_not_run_line;
pub use notifier::Notifier;

use std::path::Path;

use crate::backends::Names;
use crate::channels::{Body, MessageKind};
use serde::Serialize;

use crate::core::model::state::{Outcome, RunState};
use crate::core::store::run::{CompletionMode, RunRecord, RunSpec};

/// Characters of the result shown in the result message.
pub const PREVIEW_CHARS: usize = 2000;
/// Characters of the task shown in the launch message.
pub const TASK_PREVIEW_CHARS: usize = 3500;

pub use crate::core::model::text::{fmt_usage, fmt_usd, terminal_safe};
pub use heartbeat::render_heartbeat;
pub use launch::render_launch;
pub use text::{
    esc, esc_preview, fmt_duration, preview, render_waiting, resume_command, resume_fact,
    tail_chars,
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

/// Everything the wake text carries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WakePayload {
    /// Run id.
    pub run_id: String,
    /// Wake id (the wake's idempotency key).
    pub wake_id: String,
    /// Backend.
    pub backend: String,
    /// Outcome word.
    pub status: String,
    /// clawrun's exit code for the outcome, as documented (README "Exit
    /// codes", SKILL's table: 4 timeout, 5 killed, …); `None` while waiting.
    pub exit_code: Option<i32>,
    /// The agent process's own exit status (`143` = SIGTERM), when it ended
    /// with one other than 0: shown apart, never as `exit=`.
    pub agent_exit: Option<i32>,
    /// Resume id.
    pub resume_id: Option<String>,
    /// Why the session cannot be resumed though it has an id
    /// ([`crate::core::store::run::RunRecord::no_resume`]).
    pub no_resume: Option<String>,
    /// Output file.
    pub output: String,
    /// Result preview.
    pub preview: String,
    /// Completion mode.
    pub mode: CompletionMode,
    /// Iteration i of N.
    pub iteration: u32,
    /// N.
    pub max_iterations: u32,
    /// Project.
    pub project: String,
    /// Label.
    pub label: Option<String>,
    /// The run's own worktree.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worktree: Option<crate::core::git::RunWorktree>,
    /// What changed in the project since the run's start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<crate::core::git::ChangeSummary>,
    /// Tool calls the permission mode or sandbox refused, with what refused
    /// them (`1 tool call denied by the read-only preset: Write src/x.rs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denied: Option<String>,
    /// The safety summary of a limited run (`read-only (--sandbox read-only)`),
    /// so the agent knows why nothing changed even when the CLI reported no
    /// denial.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safety: Option<String>,
    /// Follow-ups queued with `clawrun respond` that the run ended before
    /// running ([`followups_not_run_line`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub followups_not_run: Option<String>,
    /// The run's warnings that matter to the agent ([`warnings_line`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<String>,
}

/// Characters of the result in the wake text.
pub const WAKE_PREVIEW_CHARS: usize = 1200;

/// The wake status of a multi-turn run that finished a turn and waits for input.
pub const WAITING_STATUS: &str = "waiting";
/// Characters of the agent's last text quoted in a "waiting for input" notice.
pub const WAITING_PREVIEW_CHARS: usize = 500;

/// A process exit status in words: `143 (SIGTERM)` for a signal death as
/// the runner records it (128 + n), else the number.
fn describe_exit(code: i32) -> String {
    let signal = match code {
        130 => Some("SIGINT"),
        137 => Some("SIGKILL"),
        143 => Some("SIGTERM"),
        129 => Some("SIGHUP"),
        _ => None,
    };
    match signal {
        Some(name) => format!("{code} ({name})"),
        None => code.to_string(),
    }
}

impl WakePayload {
    /// The wake as it may travel in argv: no result content
    /// ([`compact::render_argv_wake`]).
    pub fn argv_text(&self) -> String {
        compact::render_argv_wake(
            &self.status,
            self.label.as_deref(),
            &self.run_id,
            &self.output,
        )
    }
}

/// Render the wake text the orchestrating agent reads.
pub fn render_wake(marker: &str, p: &WakePayload) -> String {
    let mut t = format!(
        "{marker} run_id={} wake_id={} backend={} status={} exit={} resume_id={} output={} mode={} iteration={}/{}\n",
        p.run_id,
        p.wake_id,
        p.backend,
        p.status,
        p.exit_code.map_or("-".to_owned(), |c| c.to_string()),
        p.resume_id.as_deref().unwrap_or("-"),
        p.output,
        p.mode.as_str(),
        p.iteration,
        p.max_iterations
    );
    if let Some(l) = &p.label {
        t.push_str(&format!("Label: {l}\n"));
    }
    if let Some(code) = p.agent_exit.filter(|c| *c != 0) {
        t.push_str(&format!("Agent exit status: {}\n", describe_exit(code)));
    }
    t.push_str(&changes::wake_lines(
        &p.run_id,
        p.worktree.as_ref(),
        p.changes.as_ref(),
    ));
    if let Some(s) = &p.safety {
        t.push_str(&format!("Safety: {s}\n"));
    }
    if let Some(d) = &p.denied {
        t.push_str(&format!("Denied: {d}\n"));
    }
    if let Some(f) = &p.followups_not_run {
        t.push_str(&format!("Follow-ups: {f}\n"));
    }
    if let Some(w) = &p.warnings {
        t.push_str(&format!("Warnings: {w}\n"));
    }
    let resume = p
        .resume_id
        .as_deref()
        .filter(|_| p.no_resume.is_none())
        .map(|id| resume_command(&p.backend, id, Path::new(&p.project)));
    if p.status != WAITING_STATUS
        && let Some(fact) = resume_fact(
            &p.backend,
            p.resume_id.as_deref(),
            Path::new(&p.project),
            p.no_resume.as_deref(),
        )
    {
        t.push_str(&format!("Resume: {fact}\n"));
    }
    if p.status == WAITING_STATUS {
        t.push_str(&format!(
            "Project: {}\n\nThe agent asks:\n{}\n\n---\n\
             This is an automated signal from clawrun, not a message from the user: a multi-turn \
             run finished its turn and is waiting for input. The user has already seen the \
             question. If you can answer it from what the user asked, run: clawrun respond {} \
             \"your answer\". If only the user can, ask them and send their answer with \
             clawrun respond {} --user \"their answer\". Otherwise leave it: the run closes by \
             itself when nobody answers.",
            p.project, p.preview, p.run_id, p.run_id
        ));
        return t;
    }
    t.push_str(&format!(
        "Project: {}\n\nResult preview:\n{}\n\n---\n",
        p.project, p.preview
    ));
    t.push_str(
        "This is an automated completion signal from clawrun, not a message from the user; \
         do not quote it verbatim. The user has already received the result message. ",
    );
    match p.mode {
        CompletionMode::Single => {
            t.push_str("Tell the user what it means in a few lines if useful, then stop.")
        }
        CompletionMode::Iterate => {
            if p.iteration < p.max_iterations {
                let how = match &resume {
                    Some(_) => "with the Resume command above (the next task in FILE; it reports \
                                to this chat and counts the iteration)"
                        .to_owned(),
                    None if p.no_resume.is_some() => {
                        "its session cannot be resumed (see Resume above): start a new run \
                         instead"
                            .to_owned()
                    }
                    None => "the session id is unknown, so it cannot be resumed: start a new \
                             run instead"
                        .to_owned(),
                };
                t.push_str(&format!(
                    "Check the result against the user's original goal. If the goal is met, report and stop. \
                     If not, first post a short visible message to the user (what was done, what is \
                     missing, what the next run will do), then launch exactly one next iteration \
                     {how} (iteration {} of {}).",
                    p.iteration + 1,
                    p.max_iterations
                ));
            } else {
                t.push_str("This was the last allowed iteration: report what was done and what is missing, then stop.");
            }
        }
    }
    t.push_str(&format!(" Full output: {}", p.output));
    t
}

/// Render the result message of a finished run (`prompt`: the task;
/// `denial_cause`: what refused denied tool calls, see [`RunInfo::denial_cause`];
/// `safety`: the preset of a limited run, see [`RunInfo::limited_safety`]).
pub fn render_result(
    names: Names,
    outcome: Outcome,
    record: &RunRecord,
    state: &RunState,
    text: &str,
    duration: i64,
    (prompt, denial_cause, safety): (&str, &str, Option<&str>),
) -> Body {
    let x = names.display;
    let (icon, headline) = match outcome {
        Outcome::Completed => ("✅", format!("{x} task complete!")),
        Outcome::Failed => (
            "❌",
            format!("{x} error (exit {})", record.exit_code.unwrap_or(-1)),
        ),
        Outcome::Timeout => (
            "⏰",
            format!(
                "{x} timed out after {} (limit: {})",
                fmt_duration(duration),
                fmt_duration(record.timeout_secs as i64)
            ),
        ),
        Outcome::Killed => ("⛔", format!("{x} run killed")),
        Outcome::ResumeFailed => ("❌", format!("{x} resume failed")),
        Outcome::Crashed => ("💥", format!("{x} runner crashed")),
    };
    let usage = state.usage();
    let mut facts = vec![
        ("Task", preview(prompt, 200)),
        ("Project", record.project.display().to_string()),
        ("Duration", fmt_duration(duration)),
    ];
    if let Some(l) = &record.label {
        facts.insert(0, ("Label", l.clone()));
    }
    if usage.total() > 0 {
        facts.push(("Tokens", fmt_usage(&usage)));
    }
    if let Some(c) = state.cost_usd {
        facts.push(("Cost", fmt_usd(c)));
    }
    facts.push(("Tool calls", state.tool_calls.to_string()));
    facts.extend(changes::result_facts(record));
    if let Some(s) = safety {
        facts.push(("Safety", s.to_owned()));
    }
    if let Some(line) = denials_line(&state.denied, denial_cause, &record.project) {
        facts.push(("Denied", line));
    }
    if let Some(line) = followups_not_run_line(&record.followups_not_run) {
        facts.push(("Follow-ups", line));
    }
    if let Some(line) = warnings_line(&record.warnings) {
        facts.push(("Warnings", line));
    }
    if let Some(r) = resume_fact(
        &record.backend,
        record.resume_id.as_deref(),
        &record.project,
        record.no_resume.as_deref(),
    ) {
        facts.push(("Resume", r));
    }
    if let (Outcome::ResumeFailed, Some(r)) = (outcome, &record.resumed_from) {
        facts.push((
            "Session",
            format!("{r} not found or expired; start a fresh session without --resume"),
        ));
    }
    let n = text.chars().count();
    let what = match outcome {
        Outcome::Completed => "Result",
        Outcome::Timeout | Outcome::Killed => "Partial result",
        _ => "Output",
    };
    let shown = preview(text, PREVIEW_CHARS);
    let out = record.output_file.display().to_string();

    let mut plain = format!("{icon} {headline}\n\n");
    let mut html = format!("{icon} <b>{}</b>\n\n", esc(&headline));
    let mut md = format!("{icon} *{headline}*\n\n");
    for (k, v) in &facts {
        plain.push_str(&format!("{k}: {v}\n"));
        html.push_str(&format!("<b>{k}:</b> {}\n", esc(v)));
        md.push_str(&format!("*{k}:* {v}\n"));
    }
    plain.push_str(&format!(
        "\n{what} ({n} chars):\n\n{shown}\n\nFull output: {out}"
    ));
    html.push_str(&format!(
        "\n<b>{what}</b> ({n} chars):\n<blockquote expandable>{}</blockquote>\n<b>Full output:</b> <code>{}</code>",
        esc(&shown),
        esc(&out)
    ));
    md.push_str(&format!(
        "\n*{what}* ({n} chars):\n\n{shown}\n\nFull output: {out}"
    ));
    Body {
        plain,
        html: Some(html),
        markdown: Some(md),
    }
}

#[cfg(test)]
mod heartbeat_tests;
#[cfg(test)]
mod tests;
