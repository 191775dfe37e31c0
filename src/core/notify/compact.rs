//! The compact result of a run in exec mode: the last lines an exec-mode
//! follower prints, which OpenClaw's exit event hands to the agent (it
//! carries only the last ~400 characters of the output). They stand on their
//! own: status, label, run id, the result's first line, what changed, where
//! the full output is, the one resume command and, in iterate mode, what to
//! do next.

use crate::core::model::state::Outcome;
use crate::core::store::run::{CompletionMode, RunRecord, RunSpec, RunStatus};

/// The most characters the compact result has (OpenClaw's exit event keeps
/// the last ~400 characters of a background exec's output).
pub const MAX_COMPACT_CHARS: usize = 400;
/// The fewest characters of the result's first line kept when the rest is long.
const MIN_RESULT_CHARS: usize = 40;

/// Render the compact result of the ended run `record` of `spec`; `output`
/// is the run's final text (its first non-empty line is quoted).
pub fn render_compact(spec: &RunSpec, record: &RunRecord, output: &str) -> String {
    let status = match record.status {
        RunStatus::Done(o) => o.as_str(),
        other => other.as_str(),
    };
    let mut head = format!("[clawrun] {status}");
    if let Some(l) = spec.label.as_deref().filter(|l| !l.trim().is_empty()) {
        head.push_str(&format!(" · {}", cut(l.trim(), 40)));
    }
    head.push_str(&format!(" · run {}", spec.run_id));
    let mut tail = Vec::new();
    if let Some(c) = record.changes.as_deref() {
        let first = c.render_compact();
        tail.push(format!(
            "Changes: {}",
            first.lines().next().unwrap_or_default()
        ));
    }
    tail.push(format!("Output: {}", record.output_file.display()));
    if record.resume_id.is_some() {
        tail.push(format!(
            "Resume: clawrun resume {} --task-file FILE",
            spec.run_id
        ));
    }
    if let Some(next) = iterate_line(spec, record) {
        tail.push(next);
    }
    let first = first_line(output)
        .or_else(|| record.error.as_deref().and_then(first_line))
        .unwrap_or("(no output)");
    let fixed: usize =
        head.chars().count() + tail.iter().map(|l| l.chars().count() + 1).sum::<usize>();
    let room = MAX_COMPACT_CHARS
        .saturating_sub(fixed + "\nResult: ".len())
        .max(MIN_RESULT_CHARS);
    let first = crate::core::model::text::terminal_safe(first);
    let mut text = format!("{head}\nResult: {}", cut(&first, room));
    for line in tail {
        text.push('\n');
        text.push_str(&line);
    }
    cut(&text, MAX_COMPACT_CHARS)
}

/// What the agent does next in iterate mode.
fn iterate_line(spec: &RunSpec, record: &RunRecord) -> Option<String> {
    if spec.chain.completion_mode != CompletionMode::Iterate {
        return None;
    }
    let (i, n) = (spec.chain.iteration, spec.chain.max_iterations);
    if i >= n || record.resume_id.is_none() {
        return Some(format!(
            "Iteration {i}/{n}: the last one; report what is done and missing, then stop."
        ));
    }
    let done = record.status == RunStatus::Done(Outcome::Completed);
    Some(format!(
        "Iteration {i}/{n}: if the goal is not met{}, tell the user what is missing, then \
         run Resume once (iteration {}/{n}).",
        if done { "" } else { " (it did not complete)" },
        i + 1
    ))
}

/// The first non-empty line of `text`, trimmed.
fn first_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).find(|l| !l.is_empty())
}

/// `s` cut to `n` characters, with `…` when cut.
fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec() -> RunSpec {
        serde_json::from_str(include_str!(
            "../../../tests/fixtures/runner/request-v1.json"
        ))
        .unwrap()
    }

    fn record() -> RunRecord {
        serde_json::from_str(include_str!("../../../tests/fixtures/runner/run-v1.json")).unwrap()
    }

    #[test]
    fn it_stands_alone_and_never_passes_400_characters() {
        let mut spec = spec();
        spec.label = Some("fix the login".into());
        let mut rec = record();
        rec.status = RunStatus::Done(Outcome::Completed);
        rec.resume_id = Some("sess-1".into());
        let short = render_compact(&spec, &rec, "\n  All tests pass.\nmore");
        assert!(
            short.starts_with(&format!(
                "[clawrun] completed · fix the login · run {}\nResult: All tests pass.\n",
                spec.run_id
            )),
            "{short}"
        );
        assert!(short.contains(&format!(
            "Resume: clawrun resume {} --task-file FILE",
            spec.run_id
        )));
        // Everything long at once: still at most 400, and the tail lines kept.
        spec.label = Some("l".repeat(300));
        spec.chain.completion_mode = CompletionMode::Iterate;
        spec.chain.iteration = 1;
        spec.chain.max_iterations = 3;
        let long = render_compact(&spec, &rec, &"x".repeat(5000));
        assert!(long.chars().count() <= MAX_COMPACT_CHARS, "{long}");
        assert!(
            long.contains("Iteration 1/3") || long.ends_with('…'),
            "{long}"
        );
        assert!(long.contains("Output: "), "{long}");
        rec.output_file = std::path::PathBuf::from("/p".repeat(400));
        let huge = render_compact(&spec, &rec, "ok");
        assert!(huge.chars().count() <= MAX_COMPACT_CHARS, "{huge}");
    }

    #[test]
    fn a_failure_without_output_quotes_its_error() {
        let mut rec = record();
        rec.status = RunStatus::Done(Outcome::Failed);
        rec.error = Some("API Error: 500\nsecond".into());
        let t = render_compact(&spec(), &rec, "");
        assert!(
            t.contains("[clawrun] failed") && t.contains("Result: API Error: 500\n"),
            "{t}"
        );
    }
}
