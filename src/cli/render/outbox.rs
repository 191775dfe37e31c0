//! The outbox as text: what is pending or was given up, and what a flush did.

use crate::core::model::text::count;
use crate::core::notify::outbox::{Entry, RunFlush, RunOutbox};
use crate::core::notify::stale;

/// The pending notifications, run by run, with the lines that could not be
/// read and the outboxes that could not be read at all.
pub fn pending(runs: &[RunOutbox]) -> String {
    if runs.is_empty() {
        return "Nothing pending.\n".to_owned();
    }
    let mut out = String::new();
    for run in runs {
        out.push_str(&format!("{}:\n", run.run_dir.display()));
        if let Some(e) = &run.error {
            out.push_str(&format!("  ❌ the outbox cannot be read: {e}\n"));
        }
        match run.skipped_lines.len() {
            0 => {}
            1 => out.push_str("  ⚠ 1 unreadable line skipped"),
            n => out.push_str(&format!("  ⚠ {n} unreadable lines skipped")),
        }
        if let Some(first) = run.skipped_lines.first() {
            let lines: Vec<String> = run
                .skipped_lines
                .iter()
                .map(|l| l.line.to_string())
                .collect();
            out.push_str(&format!(" (line {}: {})\n", lines.join(", "), first.reason));
        }
        for e in &run.pending {
            out.push_str(&format!(
                "  {}  {}{}{}\n",
                e.key,
                count(u64::from(e.attempts), "attempt", "attempts"),
                if e.in_doubt { ", in doubt" } else { "" },
                e.last_error
                    .as_deref()
                    .map(|x| format!(", last error: {x}"))
                    .unwrap_or_default()
            ));
        }
        for e in &run.abandoned {
            out.push_str(&format!("  {}  {}\n", e.key, abandoned_words(e)));
        }
        if run.pending.is_empty() && run.error.is_none() {
            out.push_str("  nothing pending\n");
        }
    }
    out
}

/// Why an item was given up: a wake skipped as stale says which later run
/// of its chain made it so.
fn abandoned_words(e: &Entry) -> String {
    let reason = e.last_error.as_deref().unwrap_or("given up");
    match stale::superseded_by(reason) {
        Some(_) => format!("skipped (not sent): {}", stale::skip_words(reason)),
        None => format!("given up (not sent): {reason}"),
    }
}

/// What a flush did, run by run.
pub fn flushed(results: &[RunFlush]) -> String {
    let mut out = String::new();
    for r in results {
        match (&r.report, &r.error) {
            (_, Some(e)) => out.push_str(&format!("{}: ❌ {e}\n", r.run_id)),
            (None, None) => out.push_str(&format!(
                "{}: {} item(s) being delivered by their runner (it holds the outbox; not left behind)\n",
                r.run_id, r.held
            )),
            (Some(p), None) => out.push_str(&format!(
                "{}: {} delivered, {} abandoned, {} pending{}\n",
                r.run_id,
                p.delivered.len(),
                p.abandoned.len(),
                p.pending,
                p.last_error
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            )),
        }
    }
    if results.is_empty() {
        out.push_str("Nothing pending.\n");
    }
    out
}
