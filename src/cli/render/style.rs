//! Colour for status words on a terminal. Strings carry ANSI styles; they are
//! printed through `anstream`, which drops them when the stream is not a
//! terminal, when `NO_COLOR` is set, or when the terminal cannot show them
//! (`CLICOLOR_FORCE=1` forces them).

use anstyle::{AnsiColor, Style};

/// The style of a run status word (`completed`, `running`, `failed`, …).
fn status_style(word: &str) -> Style {
    let colour = match word.split_whitespace().next().unwrap_or_default() {
        "completed" => AnsiColor::Green,
        "running" | "starting" | "waiting" | "queued" => AnsiColor::Cyan,
        "timeout" | "killed" | "stale" => AnsiColor::Yellow,
        "failed" | "crashed" | "resume_failed" => AnsiColor::Red,
        _ => return Style::new(),
    };
    Style::new().fg_color(Some(colour.into())).bold()
}

/// `shown` (the status word, maybe padded) in the colour of `word`.
pub fn status(word: &str, shown: &str) -> String {
    let style = status_style(word);
    format!("{style}{shown}{style:#}")
}
