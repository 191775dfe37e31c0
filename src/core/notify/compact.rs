//! The compact result of a run in exec mode: the last lines an exec-mode
//! follower prints, which OpenClaw's exit event hands to the agent (it
//! carries only the last ~400 characters of the output). They stand on their
//! own: status, label, run id, the result's first line, what changed, where
//! the full output is, the one resume command and, in iterate mode, what to
//! do next.

use crate::core::model::state::Outcome;
use crate::core::store::run::{CompletionMode, RunRecord, RunSpec, RunStatus};

/// The most characters the compact result has: OpenClaw's exit event takes
/// the last 400 characters (UTF-16 units) of a background exec's output
/// (`DEFAULT_NOTIFY_TAIL_CHARS`), with its trailing newline.
pub const MAX_COMPACT_CHARS: usize = 399;
/// What the woken agent reads of those 400: whitespace collapsed to single
/// spaces, then the first 180 characters (`DEFAULT_NOTIFY_SNIPPET_CHARS`). The
/// first line and the result's first line fit in them.
pub const EVENT_SNIPPET_CHARS: usize = 180;
/// The fewest characters of the result's first line kept when the rest is long.
const MIN_RESULT_CHARS: usize = 30;

/// Render the compact result of the ended run `record` of `spec`; `output`
/// is the run's final text (its first non-empty line is quoted).
pub fn render_compact(spec: &RunSpec, record: &RunRecord, output: &str) -> String {
    let status = match record.status {
        RunStatus::Done(o) => o.as_str(),
        other => other.as_str(),
    };
    let head = status_line(status, spec.label.as_deref(), &spec.run_id);
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
    // Room in the snippet the agent reads (less a character of margin).
    let room = (EVENT_SNIPPET_CHARS - 1)
        .saturating_sub(head.chars().count() + " Result: ".len())
        .max(MIN_RESULT_CHARS);
    let first = crate::core::model::text::terminal_safe(first);
    let mut text = format!("{head}\nResult: {}", cut(&first, room));
    for line in tail {
        text.push('\n');
        text.push_str(&line);
    }
    cut_units(&text, MAX_COMPACT_CHARS)
}

/// `s` cut to `n` UTF-16 units (OpenClaw counts those), with `…` when cut.
fn cut_units(s: &str, n: usize) -> String {
    if s.encode_utf16().count() <= n {
        return s.to_owned();
    }
    let mut out = String::new();
    let mut units = 0;
    for c in s.chars() {
        if units + c.len_utf16() > n - 1 {
            break;
        }
        units += c.len_utf16();
        out.push(c);
    }
    out.push('…');
    out
}

/// The compact status line, `[clawrun] <status> · <label> · run <id>` (the
/// label cut to 40 characters): what `clawrun list` shows anyway.
pub fn status_line(status: &str, label: Option<&str>, run_id: &str) -> String {
    let mut head = format!("[clawrun] {status}");
    if let Some(l) = label.filter(|l| !l.trim().is_empty()) {
        head.push_str(&format!(" · {}", cut(l.trim(), 40)));
    }
    head.push_str(&format!(" · run {run_id}"));
    head
}

/// The wake as `openclaw system event --text` carries it, in argv where every
/// local user sees it in `ps`: so no result content, only what `clawrun list`
/// shows anyway (the status line, where the output file is) and how to read
/// the result.
pub fn render_argv_wake(status: &str, label: Option<&str>, run_id: &str, output: &str) -> String {
    format!(
        "{}\nOutput: {output}\nRead the result with `clawrun show {run_id}` or the output file.",
        status_line(status, label, run_id)
    )
}

/// `text` padded with spaces to exactly [`MAX_COMPACT_CHARS`] UTF-16 units,
/// so that with its newline it is exactly the 400-unit tail OpenClaw's exit
/// event takes, and the snippet the agent reads starts at its first line
/// (not in the launch proof printed before it). The spaces vanish when
/// OpenClaw collapses whitespace.
pub fn pad_for_exit_event(text: &str) -> String {
    let units = text.encode_utf16().count();
    let mut out = text.to_owned();
    out.extend(std::iter::repeat_n(
        ' ',
        MAX_COMPACT_CHARS.saturating_sub(units),
    ));
    out
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

/// `s` cut to at most `n` characters, with `…` when cut.
fn cut(s: &str, n: usize) -> String {
    super::preview(s, n.saturating_sub(1))
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

    #[test]
    fn the_argv_wake_holds_the_status_line_and_where_to_read_nothing_more() {
        let t = render_argv_wake("completed", Some("  Fix login  "), "r1", "/o/r1.txt");
        assert_eq!(
            t,
            "[clawrun] completed · Fix login · run r1\nOutput: /o/r1.txt\n\
             Read the result with `clawrun show r1` or the output file."
        );
        assert!(
            render_argv_wake("failed", None, "r2", "/o").starts_with("[clawrun] failed · run r2\n")
        );
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
    fn the_snippet_the_agent_reads_has_status_and_result() {
        let mut spec = spec();
        spec.label = Some("fix the login".into());
        let mut rec = record();
        rec.status = RunStatus::Done(Outcome::Failed);
        rec.resume_id = Some("sess-1".into());
        let text = render_compact(&spec, &rec, &format!("API Error: 500 {}", "y".repeat(500)));
        let padded = pad_for_exit_event(&text);
        assert_eq!(padded.encode_utf16().count(), MAX_COMPACT_CHARS);
        // What OpenClaw does: the last 400 units of the output, whitespace
        // collapsed, the first 180 characters.
        let output = format!("launch proof {}\n{padded}\n", "z".repeat(300));
        let units: Vec<u16> = output.encode_utf16().collect();
        let tail = String::from_utf16(&units[units.len() - 400..]).unwrap();
        let seen: String = tail.split_whitespace().collect::<Vec<_>>().join(" ");
        let snippet: String = seen.chars().take(EVENT_SNIPPET_CHARS).collect();
        assert!(
            snippet.starts_with(&format!(
                "[clawrun] failed · fix the login · run {}",
                spec.run_id
            )),
            "{snippet}"
        );
        assert!(snippet.contains("Result: API Error: 500"), "{snippet}");
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
