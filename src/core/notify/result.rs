//! The result message of a finished run: a headline by outcome, the run's
//! facts (task, project, cost, changes, safety, denials, how to resume), then
//! a preview of the result and where the full output is — in plain text,
//! Telegram HTML and WhatsApp markdown.

use crate::backends::Names;
use crate::channels::Body;
use crate::core::model::state::{Outcome, RunState};
use crate::core::store::run::RunRecord;

use super::{
    PREVIEW_CHARS, changes, denials_line, esc, fmt_duration, fmt_usage, fmt_usd,
    followups_not_run_line, preview, resume_fact, warnings_line,
};

/// Render the result message of a finished run (`prompt`: the task;
/// `denial_cause`: what refused denied tool calls, see
/// [`super::RunInfo::denial_cause`]; `safety`: the preset of a limited run,
/// see [`super::RunInfo::limited_safety`]).
pub fn render_result(
    names: Names,
    outcome: Outcome,
    record: &RunRecord,
    state: &RunState,
    text: &str,
    duration: i64,
    (prompt, denial_cause, safety): (&str, &str, Option<&str>),
) -> Body {
    let (icon, headline) = headline(names.display, outcome, record, duration);
    let mut facts = vec![
        ("Task", preview(prompt, 200)),
        ("Project", record.project.display().to_string()),
        ("Duration", fmt_duration(duration)),
    ];
    if let Some(l) = &record.label {
        facts.insert(0, ("Label", l.clone()));
    }
    facts.extend(spending_facts(state));
    facts.extend(changes::result_facts(record));
    facts.extend(after_facts(outcome, record, state, (denial_cause, safety)));
    let what = match outcome {
        Outcome::Completed => "Result",
        Outcome::Timeout | Outcome::Killed => "Partial result",
        _ => "Output",
    };
    let result = ResultPreview {
        what,
        chars: text.chars().count(),
        shown: preview(text, PREVIEW_CHARS),
        output: record.output_file.display().to_string(),
    };
    render_body(icon, &headline, &facts, &result)
}

/// The icon and headline of an outcome.
fn headline(
    x: &str,
    outcome: Outcome,
    record: &RunRecord,
    duration: i64,
) -> (&'static str, String) {
    match outcome {
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
    }
}

/// Tokens (when any were counted), cost (when known), tool calls.
fn spending_facts(state: &RunState) -> Vec<(&'static str, String)> {
    let usage = state.usage();
    let mut facts = Vec::new();
    if usage.total() > 0 {
        facts.push(("Tokens", fmt_usage(&usage)));
    }
    if let Some(c) = state.cost_usd {
        facts.push(("Cost", fmt_usd(c)));
    }
    facts.push(("Tool calls", state.tool_calls.to_string()));
    facts
}

/// What follows the changes: safety, denials, follow-ups not run, warnings,
/// how to resume, and a session a resume did not find.
fn after_facts(
    outcome: Outcome,
    record: &RunRecord,
    state: &RunState,
    (denial_cause, safety): (&str, Option<&str>),
) -> Vec<(&'static str, String)> {
    let mut facts = Vec::new();
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
    facts
}

/// The result's part of the message.
struct ResultPreview {
    /// `Result`, `Partial result` or `Output`.
    what: &'static str,
    /// Characters of the whole result.
    chars: usize,
    /// What is quoted of it.
    shown: String,
    /// The output file, or why it was not written.
    output: String,
}

/// The message in each markup.
fn render_body(icon: &str, headline: &str, facts: &[(&str, String)], r: &ResultPreview) -> Body {
    let ResultPreview {
        what,
        chars: n,
        shown,
        output: out,
    } = r;
    let mut plain = format!("{icon} {headline}\n\n");
    let mut html = format!("{icon} <b>{}</b>\n\n", esc(headline));
    let mut md = format!("{icon} *{headline}*\n\n");
    for (k, v) in facts {
        plain.push_str(&format!("{k}: {v}\n"));
        html.push_str(&format!("<b>{k}:</b> {}\n", esc(v)));
        md.push_str(&format!("*{k}:* {v}\n"));
    }
    plain.push_str(&format!(
        "\n{what} ({n} chars):\n\n{shown}\n\nFull output: {out}"
    ));
    html.push_str(&format!(
        "\n<b>{what}</b> ({n} chars):\n<blockquote expandable>{}</blockquote>\n<b>Full output:</b> <code>{}</code>",
        esc(shown),
        esc(out)
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
