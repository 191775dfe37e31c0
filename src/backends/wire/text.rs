//! Short texts made from what the CLIs print: one-line summaries of tool
//! calls, file names, the tail of stderr, the message for a CLI that stopped
//! without a result.

/// Collapse runs of whitespace (newlines included) into one space and cut to at
/// most `max` characters, ending with `…` when cut.
pub(crate) fn short(text: &str, max: usize) -> String {
    // Fast path: already short (in bytes, so in characters too) and on one
    // line, with single ASCII spaces and none at either end.
    if text.len() <= max && is_collapsed(text) {
        return text.to_string();
    }
    let collapsed = text
        .split_whitespace()
        .flat_map(|word| std::iter::once(' ').chain(word.chars()))
        .skip(1);
    let mut out = String::with_capacity(text.len().min(max.saturating_mul(4)));
    for (count, ch) in collapsed.enumerate() {
        if count == max {
            // One character too many: keep `max - 1` and mark the cut.
            out.pop();
            let kept = out.trim_end().len();
            out.truncate(kept);
            out.push('…');
            break;
        }
        out.push(ch);
    }
    out
}

/// Whether `text` is what [`short`] would make of it, but for the length: no
/// whitespace other than single ASCII spaces between words.
fn is_collapsed(text: &str) -> bool {
    if !text.is_ascii() {
        return text.chars().all(|c| c == ' ' || !c.is_whitespace())
            && !text.contains("  ")
            && text.trim() == text;
    }
    let bytes = text.as_bytes();
    if bytes.first() == Some(&b' ') || bytes.last() == Some(&b' ') {
        return false;
    }
    let mut prev_space = false;
    for &b in bytes {
        match b {
            b' ' if prev_space => return false,
            b' ' => prev_space = true,
            b'\t' | b'\n' | 0x0b | 0x0c | b'\r' => return false,
            _ => prev_space = false,
        }
    }
    true
}

/// Whether `hay` contains `needle` (ASCII letters in any case), without
/// making a lower-case copy of `hay`.
pub(crate) fn contains_ignore_ascii_case(hay: &str, needle: &str) -> bool {
    let needle = needle.as_bytes();
    let Some(first) = needle.first() else {
        return true;
    };
    let (lower, upper) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    let mut rest = hay.as_bytes();
    // Only where the first letter is, in either case, is the rest compared.
    while let Some(i) = memchr::memchr2(lower, upper, rest) {
        rest = &rest[i..];
        if rest
            .get(..needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
        {
            return true;
        }
        rest = &rest[1..];
    }
    false
}

/// The last path component of `path` (the whole text when it has none).
pub(crate) fn base_name(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    match memchr::memrchr(b'/', trimmed.as_bytes()) {
        // Not empty: `trimmed` does not end with a slash.
        Some(at) => &trimmed[at + 1..],
        None if !trimmed.is_empty() => trimmed,
        None => path,
    }
}

/// The last non-empty lines of `text`, at most `max` characters in all (the
/// last line alone is cut from the front when it is longer).
pub(crate) fn tail_lines<'t>(
    lines: impl DoubleEndedIterator<Item = &'t str>,
    max: usize,
) -> String {
    let mut picked: Vec<&str> = Vec::new();
    let mut total = 0;
    for line in lines.rev() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        let len = line.chars().count();
        if picked.is_empty() && len > max {
            let skip = len - max;
            let start = line.char_indices().nth(skip).map_or(0, |(i, _)| i);
            return line[start..].to_string();
        }
        // +1 for the newline joining it to the next picked line.
        if total + len + usize::from(!picked.is_empty()) > max {
            break;
        }
        total += len + usize::from(!picked.is_empty());
        picked.push(line);
    }
    picked.reverse();
    picked.join("\n")
}

/// A failure message for a CLI that stopped without a terminal event.
pub(crate) fn no_result_message(exit_code: Option<i32>) -> String {
    match exit_code {
        Some(code) if (129..=192).contains(&code) => {
            let signal = nix::sys::signal::Signal::try_from(code - 128).map_or_else(
                |_| format!("signal {}", code - 128),
                |s| s.as_str().to_string(),
            );
            format!("exited with code {code} ({signal}) without a result")
        }
        Some(code) => format!("exited with code {code} without a result"),
        None => "killed by a signal without a result".to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn contains_ignores_ascii_case() {
        use super::contains_ignore_ascii_case as has;
        assert!(has("You hit your Usage Limit.", "usage limit"));
        assert!(has("x", "") && !has("", "x") && !has("usage limi", "usage limit"));
    }

    #[test]
    fn short_collapses_whitespace_and_cuts_with_ellipsis() {
        assert_eq!(short("  echo   hi\nthere ", 80), "echo hi there");
        assert_eq!(short("abcdef", 6), "abcdef");
        assert_eq!(short("abcdefg", 6), "abcde…");
        assert_eq!(short("abc defg", 6), "abc d…");
        assert_eq!(short("abcde fg", 6), "abcde…");
        let long = "x".repeat(200);
        let cut = short(&long, 80);
        assert_eq!(cut.chars().count(), 80);
        assert!(cut.ends_with('…'));
        assert_eq!(short("ééééé", 3), "éé…");
    }

    #[test]
    fn short_fast_path_agrees_with_the_slow_path() {
        // The fast path returns its input unchanged; these must all go the slow way.
        for (text, want) in [
            (" a", "a"),
            ("a ", "a"),
            ("a  b", "a b"),
            ("a\tb", "a b"),
            ("a\r\nb", "a b"),
            ("a\u{a0}b", "a b"),
            ("é  é", "é é"),
            (" é", "é"),
            ("é\u{2003}é", "é é"),
        ] {
            assert_eq!(short(text, 80), want, "{text:?}");
        }
        for text in ["a b c", "é é", "", "x", "a-b_c/d"] {
            assert_eq!(short(text, 80), text);
        }
    }

    #[test]
    fn base_name_takes_last_component() {
        assert_eq!(base_name("/home/dev/work/notes.txt"), "notes.txt");
        assert_eq!(base_name("notes.txt"), "notes.txt");
        assert_eq!(base_name("src/"), "src");
        assert_eq!(base_name("/"), "/");
    }

    #[test]
    fn tail_lines_keeps_last_lines_within_limit() {
        let text = "one\n\ntwo\nthree\n\n";
        assert_eq!(tail_lines(text.lines(), 500), "one\ntwo\nthree");
        assert_eq!(tail_lines(text.lines(), 9), "two\nthree");
        assert_eq!(tail_lines(text.lines(), 3), "ree");
        assert_eq!(tail_lines("".lines(), 10), "");
    }

    #[test]
    fn no_result_message_names_signals() {
        assert_eq!(
            no_result_message(Some(0)),
            "exited with code 0 without a result"
        );
        assert_eq!(
            no_result_message(Some(143)),
            "exited with code 143 (SIGTERM) without a result"
        );
        assert_eq!(
            no_result_message(None),
            "killed by a signal without a result"
        );
    }
}
