//! Telegram text handling: HTML-safe splitting, truncation, stripping and escaping.
//!
//! Telegram limits a message to 4096 characters, counted in UTF-16 code units
//! (an emoji outside the Basic Multilingual Plane counts twice). Messages sent with
//! `parse_mode: HTML` may only contain a small set of tags
//! (<https://core.telegram.org/bots/api#html-style>) and must have them balanced in
//! every message, so a long HTML text cannot be cut at an arbitrary offset:
//!
//! - tags (`<b>`, `<blockquote expandable>`, `<a href="…">`) and entities (`&amp;`,
//!   `&#128512;`) are never cut in half;
//! - tags still open at a cut are closed at the end of the chunk and reopened, with
//!   their attributes, at the start of the next one;
//! - a cut prefers the last line break, then the last space, in the second half of
//!   the chunk, and never splits a character (surrogate pairs stay together).
//!
//! Lengths are measured on the raw HTML (tags and entities included). That is
//! stricter than Telegram, which counts the text after parsing, so every chunk we
//! produce is accepted.

/// Telegram's maximum message length, in UTF-16 code units.
pub const TELEGRAM_MAX_MESSAGE_LEN: usize = 4096;

/// Length of `s` in UTF-16 code units, the unit Telegram counts in.
pub fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Escape `&`, `<` and `>` for Telegram HTML (quotes are left alone, as in text nodes).
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// The text a reader sees: tags removed and entities decoded.
///
/// Used for the plain-text fallback when Telegram cannot parse our HTML, and by
/// tests to compare what was sent with what was meant.
pub fn strip_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    for token in tokenize(html) {
        match token {
            Token::Text(t) => out.push_str(t),
            Token::Entity(e) => out.push_str(&decode_entity(e)),
            Token::Open { .. } | Token::Close { .. } => {}
        }
    }
    out
}

/// Split Telegram HTML into chunks of at most `limit` UTF-16 code units each, with
/// balanced tags in every chunk. See the module docs for the rules.
///
/// Empty input gives no chunks. `limit` is clamped to at least 64 so that reopened
/// tags always leave room for text.
pub fn split_html(html: &str, limit: usize) -> Vec<String> {
    let limit = limit.max(64);
    let mut splitter = Splitter::new(limit);
    for token in tokenize(html) {
        match token {
            Token::Text(t) => splitter.push_text(t),
            Token::Entity(e) => splitter.push_atom(e),
            Token::Open { name, raw } => splitter.open(name, raw),
            Token::Close { name, raw } => splitter.close(name, raw),
        }
    }
    splitter.finish()
}

/// Split plain text into chunks of at most `limit` UTF-16 code units, preferring
/// line breaks, then spaces. The chunks concatenate back to `text`.
pub fn split_plain(text: &str, limit: usize) -> Vec<String> {
    let limit = limit.max(1);
    let mut chunks = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let cut = cut_point(rest, limit);
        let (head, tail) = rest.split_at(cut);
        chunks.push(head.to_owned());
        rest = tail;
    }
    chunks
}

/// The first `limit` UTF-16 code units' worth of `html`, with tags balanced, and
/// whether anything was cut off.
pub fn truncate_html(html: &str, limit: usize) -> (String, bool) {
    let mut chunks = split_html(html, limit).into_iter();
    let first = chunks.next().unwrap_or_default();
    (first, chunks.next().is_some())
}

/// The first `limit` UTF-16 code units' worth of `text`, and whether anything was cut off.
pub fn truncate_plain(text: &str, limit: usize) -> (String, bool) {
    let mut chunks = split_plain(text, limit).into_iter();
    let first = chunks.next().unwrap_or_default();
    (first, chunks.next().is_some())
}

/// A lexical piece of Telegram HTML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    /// Literal text (may contain a stray `<` or `&` that is not markup).
    Text(&'a str),
    /// `&name;`, `&#123;` or `&#x1F600;`.
    Entity(&'a str),
    /// `<name attr…>`.
    Open { name: &'a str, raw: &'a str },
    /// `</name>`.
    Close { name: &'a str, raw: &'a str },
}

fn tokenize(html: &str) -> Vec<Token<'_>> {
    let bytes = html.as_bytes();
    let mut tokens = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let markup = match bytes[i] {
            b'<' => tag_at(html, i),
            b'&' => entity_at(html, i),
            _ => None,
        };
        match markup {
            Some((token, end)) => {
                if text_start < i {
                    tokens.push(Token::Text(&html[text_start..i]));
                }
                tokens.push(token);
                i = end;
                text_start = end;
            }
            None => i += 1,
        }
    }
    if text_start < bytes.len() {
        tokens.push(Token::Text(&html[text_start..]));
    }
    tokens
}

/// A tag starting at byte `start` (which holds `<`): the token and the byte after `>`.
fn tag_at(html: &str, start: usize) -> Option<(Token<'_>, usize)> {
    let rest = &html[start + 1..];
    let (closing, name_part) = match rest.strip_prefix('/') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let name_len = name_part
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-')
        .count();
    if name_len == 0 || !name_part.as_bytes()[0].is_ascii_alphabetic() {
        return None;
    }
    let name = &name_part[..name_len];
    let after_name = &name_part[name_len..];
    // Attributes may contain `>` only inside quotes; Telegram's attribute values are quoted.
    let mut quote = None;
    let mut end = None;
    for (k, c) in after_name.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => {
                end = Some(k);
                break;
            }
            (None, '<') => return None,
            (None, _) => {}
        }
    }
    let end = end?;
    if closing && !after_name[..end].trim().is_empty() {
        return None;
    }
    if !closing && end > 0 && !after_name.starts_with(char::is_whitespace) {
        return None;
    }
    let stop = start + 1 + usize::from(closing) + name_len + end + 1;
    let raw = &html[start..stop];
    let token = if closing {
        Token::Close { name, raw }
    } else {
        Token::Open { name, raw }
    };
    Some((token, stop))
}

/// An entity starting at byte `start` (which holds `&`): the token and the byte after `;`.
fn entity_at(html: &str, start: usize) -> Option<(Token<'_>, usize)> {
    let rest = &html[start + 1..];
    let body_len = rest
        .bytes()
        .take(12)
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'#')
        .count();
    if body_len == 0 || rest.as_bytes().get(body_len) != Some(&b';') {
        return None;
    }
    let stop = start + 1 + body_len + 1;
    Some((Token::Entity(&html[start..stop]), stop))
}

/// Decode one entity (`&amp;` → `&`); unknown names are kept as written.
fn decode_entity(entity: &str) -> String {
    let body = entity.trim_start_matches('&').trim_end_matches(';');
    let decoded = match body {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some('\u{a0}'),
        _ => {
            let num = body.strip_prefix('#');
            num.and_then(|n| match n.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => n.parse().ok(),
            })
            .and_then(char::from_u32)
        }
    };
    decoded.map_or_else(|| entity.to_owned(), String::from)
}

/// Byte index at which to cut `text` so that the head is at most `limit` UTF-16
/// units: after the last newline (else space) in the second half, else at the
/// limit. Always at least one character.
fn cut_point(text: &str, limit: usize) -> usize {
    let mut units = 0;
    let mut hard = text.len();
    for (i, c) in text.char_indices() {
        if units + c.len_utf16() > limit {
            hard = i;
            break;
        }
        units += c.len_utf16();
    }
    if hard == text.len() {
        return hard;
    }
    if hard == 0 {
        // Not even one character fits: take one anyway so we always progress.
        return text.chars().next().map_or(text.len(), char::len_utf8);
    }
    let head = &text[..hard];
    let min = hard / 2;
    for sep in ['\n', ' '] {
        match head.rfind(sep) {
            Some(pos) if pos >= min => return pos + 1,
            Some(_) | None => {}
        }
    }
    hard
}

/// Builds chunks token by token, tracking open tags.
struct Splitter<'a> {
    limit: usize,
    chunks: Vec<String>,
    current: String,
    /// UTF-16 length of `current`.
    len: usize,
    /// Whether `current` holds any text or entity (not only reopened tags).
    has_content: bool,
    /// Tags open at this point: (name, raw open tag).
    stack: Vec<(&'a str, &'a str)>,
}

impl<'a> Splitter<'a> {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            chunks: Vec::new(),
            current: String::new(),
            len: 0,
            has_content: false,
            stack: Vec::new(),
        }
    }

    /// UTF-16 length of the closing tags needed for the current stack.
    fn closers_len(&self) -> usize {
        self.stack.iter().map(|(name, _)| name.len() + 3).sum()
    }

    /// Room left for content, keeping space for the closing tags.
    fn room(&self) -> usize {
        self.limit.saturating_sub(self.len + self.closers_len())
    }

    /// Close open tags, emit the chunk, and start the next one with them reopened.
    fn flush(&mut self) {
        if self.has_content {
            let mut chunk = std::mem::take(&mut self.current);
            for (name, _) in self.stack.iter().rev() {
                chunk.push_str("</");
                chunk.push_str(name);
                chunk.push('>');
            }
            self.chunks.push(chunk);
        }
        self.current.clear();
        self.len = 0;
        self.has_content = false;
        for (_, raw) in &self.stack {
            self.current.push_str(raw);
            self.len += utf16_len(raw);
        }
    }

    fn push_text(&mut self, mut text: &str) {
        while !text.is_empty() {
            let room = self.room();
            if utf16_len(text) <= room {
                self.append(text, true);
                return;
            }
            if room == 0 {
                self.flush_or_force();
                continue;
            }
            let cut = cut_point(text, room);
            // `cut_point` returns one character even if it does not fit.
            if utf16_len(&text[..cut]) > room {
                self.flush_or_force();
                continue;
            }
            self.append(&text[..cut], true);
            text = &text[cut..];
            self.flush();
        }
    }

    /// The chunk is full: flush it, unless it holds no content yet (the reopened
    /// tags alone fill it), in which case drop the reopened tags so text fits.
    fn flush_or_force(&mut self) {
        if self.has_content {
            self.flush();
        } else {
            // Pathological nesting: give up on reopening tags for this chunk.
            self.stack.clear();
            self.current.clear();
            self.len = 0;
        }
    }

    /// An indivisible piece (entity): goes whole into this chunk or the next.
    fn push_atom(&mut self, atom: &str) {
        if utf16_len(atom) > self.room() && self.has_content {
            self.flush();
        }
        self.append(atom, true);
    }

    fn open(&mut self, name: &'a str, raw: &'a str) {
        // The tag, its closer and at least one character must fit.
        let need = utf16_len(raw) + name.len() + 3 + 1;
        if need > self.room() && self.has_content {
            self.flush();
        }
        self.append(raw, false);
        self.stack.push((name, raw));
    }

    fn close(&mut self, name: &'a str, raw: &'a str) {
        let Some(pos) = self
            .stack
            .iter()
            .rposition(|(n, _)| n.eq_ignore_ascii_case(name))
        else {
            // A stray closing tag: keep it as text; Telegram will reject it and the
            // caller falls back to plain text.
            self.push_text(raw);
            return;
        };
        // Close everything opened inside it too (mis-nested input).
        while self.stack.len() > pos {
            if let Some((open_name, _)) = self.stack.pop() {
                self.current.push_str("</");
                self.current.push_str(open_name);
                self.current.push('>');
                self.len += open_name.len() + 3;
            }
        }
    }

    fn append(&mut self, s: &str, content: bool) {
        self.current.push_str(s);
        self.len += utf16_len(s);
        self.has_content |= content;
    }

    fn finish(mut self) -> Vec<String> {
        if self.has_content {
            for (name, _) in self.stack.iter().rev() {
                self.current.push_str("</");
                self.current.push_str(name);
                self.current.push('>');
            }
            self.chunks.push(self.current);
        }
        self.chunks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_html_is_one_chunk() {
        assert_eq!(split_html("<b>hi</b> there", 4096), vec!["<b>hi</b> there"]);
        assert!(split_html("", 4096).is_empty());
    }

    #[test]
    fn open_tags_are_closed_and_reopened() {
        let html = format!("<blockquote expandable>{}</blockquote>", "word ".repeat(40));
        let chunks = split_html(&html, 100);
        assert!(chunks.len() > 2);
        for c in &chunks {
            assert!(utf16_len(c) <= 100, "{c}");
            assert!(c.starts_with("<blockquote expandable>"), "{c}");
            assert!(c.ends_with("</blockquote>"), "{c}");
        }
        let text: String = chunks.iter().map(|c| strip_html(c)).collect();
        assert_eq!(text, strip_html(&html));
    }

    #[test]
    fn entities_and_surrogate_pairs_are_not_cut() {
        let html = "&amp;😀".repeat(50);
        for c in split_html(&html, 64) {
            assert!(utf16_len(&c) <= 64);
            assert_eq!(c.matches('&').count(), c.matches("&amp;").count(), "{c}");
        }
    }

    #[test]
    fn stray_angle_brackets_are_text() {
        assert_eq!(
            strip_html("a < b && c > d &lt;x&gt; &#128512;"),
            "a < b && c > d <x> 😀"
        );
        let tokens = tokenize("<b>x</b><a href=\"u>v\">l</a>");
        assert_eq!(tokens.len(), 6);
    }

    #[test]
    fn plain_split_prefers_newlines() {
        let text = format!("{}\n{}", "a".repeat(70), "b".repeat(70));
        assert_eq!(
            split_plain(&text, 100),
            vec![format!("{}\n", "a".repeat(70)), "b".repeat(70)]
        );
    }

    #[test]
    fn escape_roundtrips_through_strip() {
        let raw = "if a < b && c > d { \"q\" }";
        assert_eq!(strip_html(&escape_html(raw)), raw);
    }
}
