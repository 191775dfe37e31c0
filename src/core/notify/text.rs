//! The small text helpers every message uses: durations, Telegram HTML
//! escaping, previews, shell quoting and the one resume command; and the
//! short "waiting for input" notice built from them.

use std::path::Path;

/// A duration for people, everywhere one is shown: `45s`, `3min`, `2h`,
/// `1h 30min`, `1d 2h` (the seed's `45s` / `3min` below an hour; never
/// `120min` or `0min`). Negative durations (clock skew) show as `0s`.
pub fn fmt_duration(secs: i64) -> String {
    let secs = secs.max(0);
    let (big, unit, rest, rest_unit) = match secs {
        0..60 => return format!("{secs}s"),
        60..3600 => return format!("{}min", secs / 60),
        3600..86_400 => (secs / 3600, "h", secs % 3600 / 60, "min"),
        _ => (secs / 86_400, "d", secs % 86_400 / 3600, "h"),
    };
    if rest == 0 {
        format!("{big}{unit}")
    } else {
        format!("{big}{unit} {rest}{rest_unit}")
    }
}

/// `HH:MM UTC` of a Unix time (when a usage limit resets).
pub fn hh_mm_utc(t: i64) -> String {
    let day = t.rem_euclid(86_400);
    format!("{:02}:{:02} UTC", day / 3600, (day % 3600) / 60)
}

/// Escape text for Telegram HTML (the Telegram channel's own escaping).
pub use crate::channels::telegram_text::escape_html as esc;

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

/// What a message says under `Resume:`: the command, or why there is none
/// (`no_resume`, see [`crate::core::store::run::RunRecord::no_resume`]);
/// `None` when the session id is unknown.
pub fn resume_fact(
    backend: &str,
    resume_id: Option<&str>,
    project: &Path,
    no_resume: Option<&str>,
) -> Option<String> {
    match (no_resume, resume_id) {
        (Some(why), _) => Some(format!("not possible: {why}")),
        (None, Some(id)) => Some(resume_command(backend, id, project)),
        (None, None) => None,
    }
}

/// Quote `s` for a POSIX shell when it needs it (`shlex`; a NUL byte, which
/// no path or session id holds, is kept as it is rather than refused).
pub fn shell_quote(s: &str) -> String {
    shlex::Quoter::new()
        .allow_nul(true)
        .quote(s)
        .map_or_else(|_| s.to_owned(), std::borrow::Cow::into_owned)
}

/// The first `max_chars` characters of `s`, escaped for Telegram HTML, cut
/// so that the escaped text, `…` included, is at most `max_units` UTF-16
/// code units (what Telegram counts): never inside a character or an entity.
pub fn esc_preview(s: &str, max_chars: usize, max_units: usize) -> String {
    let units = |c: char| match c {
        '&' => 5,
        '<' | '>' => 4,
        c => c.len_utf16(),
    };
    let (mut used, mut out) = (0, String::new());
    let fits_whole =
        s.chars().count() <= max_chars && s.chars().map(units).sum::<usize>() <= max_units;
    if fits_whole {
        return esc(s);
    }
    // Room for the ellipsis (one unit).
    let budget = max_units.saturating_sub(1);
    for c in s.chars().take(max_chars) {
        if used + units(c) > budget {
            break;
        }
        used += units(c);
        out.push(c);
    }
    format!("{}…", esc(&out))
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
