//! The small text helpers every message uses: durations, Telegram HTML
//! escaping, previews, shell quoting and the one resume command; and the
//! short "waiting for input" notice built from them.

use std::path::Path;

/// `fmt_duration` of the seed: `45s`, `3min`.
pub fn fmt_duration(secs: i64) -> String {
    if secs < 60 {
        format!("{secs}s")
    } else {
        format!("{}min", secs / 60)
    }
}

/// Escape text for Telegram HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// The one command that continues a run's session, written the same in the
/// result message, the wake and `clawrun show`: the task goes in a file
/// (`FILE`), never in argv. Without routing flags the new run reports to the
/// chat of the session's last run, with its label, completion mode and
/// iteration chain (so in iterate mode it counts the next iteration).
pub fn resume_command(backend: &str, resume_id: &str, project: &Path) -> String {
    format!(
        "clawrun run --backend {} --resume {} -p {} --task-file FILE --detach",
        shell_quote(backend),
        shell_quote(resume_id),
        shell_quote(&project.display().to_string())
    )
}

/// Quote `s` for a POSIX shell when it needs it (`shlex`; a NUL byte, which
/// no path or session id holds, is kept as it is rather than refused).
pub fn shell_quote(s: &str) -> String {
    shlex::Quoter::new()
        .allow_nul(true)
        .quote(s)
        .map_or_else(|_| s.to_owned(), std::borrow::Cow::into_owned)
}

/// The first `n` characters of `s`, with `…` when cut.
pub fn preview(s: &str, n: usize) -> String {
    let mut it = s.chars();
    let head: String = it.by_ref().take(n).collect();
    if it.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

/// The last `n` characters of `s`, with `…` in front when cut.
pub fn tail_chars(s: &str, n: usize) -> String {
    let count = s.chars().count();
    if count <= n {
        return s.to_owned();
    }
    let tail: String = s.chars().skip(count - n).collect();
    format!("…{tail}")
}

/// The "waiting for input" notice: `🔔 <label> asks:` and the tail of the
/// agent's text, with how to answer.
pub fn render_waiting(label: &str, run_id: &str, text: &str) -> String {
    let asks = tail_chars(text.trim(), super::WAITING_PREVIEW_CHARS);
    format!("🔔 {label} asks:\n{asks}\n\n↩️ Answer with `clawrun respond {run_id} \"…\"`.")
}
