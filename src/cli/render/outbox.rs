//! The outbox as text: what is pending, and what a flush did.

use std::path::PathBuf;

use clawrun::core::notify::outbox::{Entry, RunFlush};

/// The pending notifications, run by run.
pub fn pending(pending: &[(PathBuf, Vec<Entry>)]) -> String {
    if pending.is_empty() {
        return "Nothing pending.\n".to_owned();
    }
    let mut out = String::new();
    for (dir, entries) in pending {
        out.push_str(&format!("{}:\n", dir.display()));
        for e in entries {
            out.push_str(&format!(
                "  {}  {} attempt(s){}{}\n",
                e.key,
                e.attempts,
                if e.in_doubt { ", in doubt" } else { "" },
                e.last_error
                    .as_deref()
                    .map(|x| format!(", last error: {x}"))
                    .unwrap_or_default()
            ));
        }
    }
    out
}

/// What a flush did, run by run.
pub fn flushed(results: &[RunFlush]) -> String {
    let mut out = String::new();
    for r in results {
        match (&r.report, &r.error) {
            (_, Some(e)) => out.push_str(&format!("{}: ❌ {e}\n", r.run_id)),
            (None, None) => out.push_str(&format!(
                "{}: busy (another process is delivering)\n",
                r.run_id
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
