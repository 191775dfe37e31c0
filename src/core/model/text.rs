//! Numbers and text as a human reads them, the same everywhere: one cost
//! format (chat messages, `list`, `sessions`, `stats`), one token format, and
//! agent text made safe to print on a terminal.

use std::borrow::Cow;

use crate::core::model::events::Usage;

/// Costs at or above this are written in scientific notation, so a corrupt
/// or hostile value (`1e308`) prints a dozen characters, not 300 digits.
const MAX_PLAIN_USD: f64 = 1_000_000.0;

/// `n` and the noun, singular for one: `1 run`, `2 runs` (`plural` is the
/// noun's plural form).
pub fn count(n: u64, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}

/// A cost in US dollars: `$0.0041`, `$12.3456`, `$1.235e9`; `$?` for a value
/// that is not a cost (negative, NaN, infinite).
pub fn fmt_usd(usd: f64) -> String {
    if !usd.is_finite() || usd < 0.0 {
        "$?".to_owned()
    } else if usd >= MAX_PLAIN_USD {
        format!("${usd:.3e}")
    } else {
        format!("${usd:.4}")
    }
}

/// An optional cost: [`fmt_usd`], or `-` when none was reported.
pub fn fmt_cost(usd: Option<f64>) -> String {
    usd.map_or_else(|| "-".to_owned(), fmt_usd)
}

/// `format_tokens` of the seed: `950`, `1.2K`, `12K`.
pub fn fmt_tokens(n: u64) -> String {
    if n < 1000 {
        n.to_string()
    } else if n < 10_000 {
        format!("{:.1}K", n as f64 / 1000.0)
    } else {
        format!("{}K", n / 1000)
    }
}

/// The token totals of a run as every message shows them: `500 in / 63 out`
/// (input including cached input, and output, as summed by
/// [`crate::core::model::state::RunState::usage`]).
pub fn fmt_usage(u: &Usage) -> String {
    format!(
        "{} in / {} out",
        fmt_tokens(u.input_tokens),
        fmt_tokens(u.output_tokens)
    )
}

/// Bidirectional-text controls: they reorder what a terminal shows (a
/// filename that reads `exe.txt` but is `txt.exe`).
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` safe to print on a terminal: ANSI escape sequences (colours, cursor
/// moves, titles, hyperlinks) are removed; other control characters and
/// bidirectional controls are shown as `<U+202E>`; newlines and tabs stay.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    let clean = |c: char| c == '\n' || c == '\t' || !(c.is_control() || is_bidi(c));
    if text.chars().all(clean) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut it = text.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\u{1b}' => skip_escape(&mut it),
            // C1 CSI / OSC introducers: the same sequences in one character.
            '\u{9b}' => skip_until_final(&mut it),
            '\u{9d}' => skip_string(&mut it),
            c if clean(c) => out.push(c),
            c => out.push_str(&format!("<U+{:04X}>", c as u32)),
        }
    }
    Cow::Owned(out)
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// After ESC: `[` CSI, `]` OSC / `P` DCS / `_` APC / `^` PM strings, or one
/// more character.
fn skip_escape(it: &mut Chars<'_>) {
    match it.next() {
        Some('[') => skip_until_final(it),
        Some(']' | 'P' | '_' | '^') => skip_string(it),
        _ => {}
    }
}

/// A CSI sequence: parameters and intermediates up to a final byte `@`..`~`.
fn skip_until_final(it: &mut Chars<'_>) {
    for c in it.by_ref() {
        if ('@'..='~').contains(&c) {
            return;
        }
    }
}

/// A string sequence: up to BEL or ST (`ESC \`).
fn skip_string(it: &mut Chars<'_>) {
    while let Some(c) = it.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                if it.peek() == Some(&'\\') {
                    it.next();
                }
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular() {
        assert_eq!(count(1, "run", "runs"), "1 run");
        assert_eq!(count(0, "run", "runs"), "0 runs");
        assert_eq!(count(2, "entry", "entries"), "2 entries");
    }

    #[test]
    fn costs_are_bounded_and_the_same_everywhere() {
        assert_eq!(fmt_usd(0.0041), "$0.0041");
        assert_eq!(fmt_usd(12.5), "$12.5000");
        assert_eq!(fmt_usd(1e308), "$1.000e308");
        assert_eq!(fmt_usd(f64::NAN), "$?");
        assert_eq!(fmt_usd(-1.0), "$?");
        assert_eq!(fmt_cost(None), "-");
    }

    #[test]
    fn escapes_and_bidi_controls_do_not_reach_the_terminal() {
        let t = "\u{1b}[31mred\u{1b}[0m \u{1b}]0;title\u{7}x\u{202e}y\tz\n\u{1b}]8;;http://e\u{1b}\\link";
        assert_eq!(terminal_safe(t), "red x<U+202E>y\tz\nlink");
        assert!(matches!(terminal_safe("plain ✅\n"), Cow::Borrowed(_)));
        assert_eq!(terminal_safe("a\rb\u{0}"), "a<U+000D>b<U+0000>");
    }
}
