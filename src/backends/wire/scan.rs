//! One JSON line read in place, in one pass: a cursor over the line that reads
//! the values a record asks for and skips every other one without building
//! or checking it.
//!
//! This is the parsers' hot path. A line is mostly bulk the parsers do not
//! need (tool results, file contents, the tool lists of `system/init`), so a
//! value that is skipped costs a search for its end: strings are crossed to
//! the next quote or backslash 16 bytes at a time (one SSE2 compare per
//! block on x86_64), then with `memchr`; objects and arrays hop to the next
//! quote or bracket of their own kind (brackets of the other kind balance
//! inside them), and numbers and literals are taken up to the next
//! delimiter, unread. A value that is read costs what reading it needs:
//! a string without escapes is borrowed from the line; one with escapes is
//! unescaped by `serde_json`.
//!
//! The structure is checked (an object's keys, colons and commas, every
//! string and bracket closed, nothing after the top-level value), so a cut
//! or garbled line is an error and becomes a warning; what a skipped value
//! holds is not (a bad escape, a control character or a misspelt literal
//! inside a tool's output does not cost the line), nor is the rest of an
//! object once a record has read every field it names
//! ([`Scanner::skip_rest`]): it is skipped as a value is, and the rest of
//! the line itself, when it ends with its closing brace, is not read at all
//! ([`Scanner::skip_line_rest`]).

use std::borrow::Cow;
use std::fmt;

/// Why a line could not be read: what was expected, and at which byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed {
    expected: &'static str,
    at: usize,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {} at byte {}", self.expected, self.at)
    }
}

impl std::error::Error for Malformed {}

/// A JSON string as it stands in the line: its text between the quotes, not
/// yet unescaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawStr<'a> {
    /// The string with its quotes.
    quoted: &'a str,
    /// It holds a backslash.
    escaped: bool,
}

impl<'a> RawStr<'a> {
    /// The text between the quotes, escapes as written.
    #[inline]
    fn body(&self) -> &'a str {
        &self.quoted[1..self.quoted.len() - 1]
    }

    /// The string's value: borrowed when it has no escapes; `None` when an
    /// escape is not valid JSON.
    #[inline]
    pub(crate) fn text(&self) -> Option<Cow<'a, str>> {
        if self.escaped {
            self.unescaped().map(Cow::Owned)
        } else {
            Some(Cow::Borrowed(self.body()))
        }
    }

    /// The value of a string with escapes.
    #[cold]
    fn unescaped(&self) -> Option<String> {
        serde_json::from_str(self.quoted).ok()
    }

    /// Whether the string's value is `s` (without unescaping when it has no
    /// escapes).
    pub(crate) fn is(&self, s: &str) -> bool {
        if self.escaped {
            self.text().is_some_and(|t| t == s)
        } else {
            self.body() == s
        }
    }
}

/// A number, `true`, `false` or `null` as written (not checked).
pub(crate) type Token<'a> = &'a str;

/// A cursor in one line of JSON.
///
/// A broken structure is kept as the scanner's error: the cursor then goes to
/// the end of the line, so every later read finds nothing, and [`Scanner::end`]
/// returns the first error. (The reads themselves return plain values: on the
/// hot path, a `Result` around every string costs more than the string.)
#[derive(Debug, Clone)]
pub(crate) struct Scanner<'a> {
    src: &'a str,
    pos: usize,
    error: Option<Malformed>,
}

impl<'a> Scanner<'a> {
    /// A cursor at the start of `src`.
    pub(crate) fn new(src: &'a str) -> Self {
        Self {
            src,
            pos: 0,
            error: None,
        }
    }

    /// A cursor at byte `pos` of `src` (a char boundary: after a value
    /// the caller read itself).
    pub(crate) fn at(src: &'a str, pos: usize) -> Self {
        Self {
            src,
            pos,
            error: None,
        }
    }

    /// Keep the first error, and leave nothing more to read.
    #[cold]
    fn fail(&mut self, expected: &'static str) {
        if self.error.is_none() {
            self.error = Some(Malformed {
                expected,
                at: self.pos,
            });
        }
        self.pos = self.src.len();
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    /// Skip JSON whitespace ([`WS`]).
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    /// After whitespace, `b`: consumed (`false` and an error when it is not there).
    #[inline]
    fn expect(&mut self, b: u8, expected: &'static str) -> bool {
        self.ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            return true;
        }
        self.fail(expected);
        false
    }

    /// The line was read whole: nothing but whitespace is left, and no
    /// structure was broken on the way.
    ///
    /// # Errors
    /// The first broken structure, or what follows the value.
    pub(crate) fn end(&mut self) -> Result<(), Malformed> {
        self.ws();
        if self.pos < self.src.len() {
            self.fail("the end of the line");
        }
        self.error.map_or(Ok(()), Err)
    }

    /// The object's next entry (not its first) has the key `key`, written
    /// compactly (`,"key":`, as the CLIs print): consumed, and `true`, the
    /// cursor at its value. Else nothing moves. For a reader that knows the
    /// order a CLI writes its keys in: one compare instead of a look-up.
    #[inline]
    pub(crate) fn compact_key(&mut self, key: &str) -> bool {
        let rest = self.src.as_bytes().get(self.pos..).unwrap_or_default();
        let n = key.len();
        let found = rest.len() > n + 3
            && rest[..2] == *b",\""
            && rest[2..2 + n] == *key.as_bytes()
            && rest[2 + n..4 + n] == *b"\":";
        if found {
            self.pos += n + 4;
        }
        found
    }

    /// Whether nothing is left to read (the line was read to its end, or
    /// taken as read, or broken: see [`Scanner::end`]).
    pub(crate) fn at_end(&self) -> bool {
        self.pos == self.src.len()
    }

    /// The line's object closes at the cursor, and the line ends there.
    ///
    /// # Errors
    /// As [`Scanner::end`], or no closing brace.
    pub(crate) fn close_line(&mut self) -> Result<(), Malformed> {
        self.expect(b'}', "'}'");
        self.end()
    }

    /// A string whose opening quote is at the cursor.
    #[inline(always)]
    fn string(&mut self) -> Option<RawStr<'a>> {
        let bytes = self.src.as_bytes();
        let start = self.pos;
        self.pos += 1;
        let mut escaped = false;
        loop {
            let Some(i) = bytes.get(self.pos..).and_then(quote_or_backslash) else {
                self.pos = bytes.len();
                self.fail("the end of a string");
                return None;
            };
            self.pos += i;
            if bytes[self.pos] == b'"' {
                self.pos += 1;
                return Some(RawStr {
                    quoted: &self.src[start..self.pos],
                    escaped,
                });
            }
            // A backslash and the character it escapes (a `\u` escape's
            // digits hold no quote).
            escaped = true;
            self.pos += 2;
        }
    }

    /// An object or an array whose opening bracket is at the cursor, skipped.
    fn container(&mut self, open: u8, close: u8) {
        self.pos += 1;
        self.close(open, close);
    }

    /// The rest of the object being read, skipped as a skipped value is (its
    /// strings and brackets closed, its commas and colons not looked at),
    /// up to and including its closing brace: a record has read every field
    /// it names.
    pub(crate) fn skip_rest(&mut self) {
        self.close(b'{', b'}');
    }

    /// The rest of the line, when the object being read is the line itself
    /// and a record has read every field it names: taken as read when the
    /// line ends with a closing brace (what the CLI printed whole), else
    /// skipped as [`Scanner::skip_rest`] does. What follows the fields a
    /// line type maps from (ids, timestamps, a tool's own copy of its
    /// result) is then never looked at.
    pub(crate) fn skip_line_rest(&mut self) {
        if self.src.trim_end_matches(WS).ends_with('}') {
            self.pos = self.src.len();
        } else {
            self.skip_rest();
        }
    }

    /// Skip to the end of the container (`open` … `close`) the cursor is in.
    fn close(&mut self, open: u8, close: u8) {
        let bytes = self.src.as_bytes();
        let mut depth = 1usize;
        while let Some(i) = quote_or_bracket(&bytes[self.pos..], open, close) {
            self.pos += i;
            match bytes[self.pos] {
                b'"' => {
                    self.string();
                }
                b if b == open => {
                    depth += 1;
                    self.pos += 1;
                }
                _ => {
                    depth -= 1;
                    self.pos += 1;
                    if depth == 0 {
                        return;
                    }
                }
            }
        }
        self.pos = bytes.len();
        self.fail(if close == b'}' { "'}'" } else { "']'" });
    }

    /// A number or a literal at the cursor: its text, up to the next
    /// delimiter.
    fn token(&mut self) -> Option<Token<'a>> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        while self.pos < bytes.len() && !ENDS_TOKEN[usize::from(bytes[self.pos])] {
            self.pos += 1;
        }
        if self.pos == start {
            self.fail("a value");
            return None;
        }
        Some(&self.src[start..self.pos])
    }

    /// Skip the next value, whatever it is.
    pub(crate) fn skip(&mut self) {
        self.ws();
        match self.peek() {
            Some(b'"') => {
                self.string();
            }
            Some(b'{') => self.container(b'{', b'}'),
            Some(b'[') => self.container(b'[', b']'),
            _ => {
                self.token();
            }
        }
    }

    /// The next value when it is a string; any other value is skipped (`None`).
    #[inline]
    pub(crate) fn raw_str(&mut self) -> Option<RawStr<'a>> {
        self.ws();
        if self.peek() == Some(b'"') {
            return self.string();
        }
        self.skip();
        None
    }

    /// The next value when it is a string, unescaped (see [`RawStr::text`]);
    /// any other value is skipped (`None`).
    #[inline]
    pub(crate) fn str(&mut self) -> Option<Cow<'a, str>> {
        self.raw_str().and_then(|s| s.text())
    }

    /// The next value when it is a number (its text), a string (its value)
    /// or a boolean; any other value is skipped (`None`).
    pub(crate) fn scalar(&mut self) -> Option<Scalar<'a>> {
        self.ws();
        match self.peek() {
            Some(b'"') => self.string()?.text().map(Scalar::Str),
            Some(b'-' | b'0'..=b'9') => self.token().map(Scalar::Number),
            Some(b't' | b'f') => match self.token()? {
                "true" => Some(Scalar::Bool(true)),
                "false" => Some(Scalar::Bool(false)),
                _ => None,
            },
            _ => {
                self.skip();
                None
            }
        }
    }

    /// The next value when it is written as plain digits that fit a `u64`
    /// (most numbers of a line: token counts); the cursor is not moved
    /// otherwise (whitespace first, a sign, a fraction, an exponent, an
    /// overflow), and [`Scanner::scalar`] reads the value.
    #[inline]
    pub(crate) fn plain_u64(&mut self) -> Option<u64> {
        let bytes = self.src.as_bytes();
        let mut end = self.pos;
        let mut n: u64 = 0;
        while let Some(digit) = bytes
            .get(end)
            .map(|b| b.wrapping_sub(b'0'))
            .filter(|&d| d <= 9)
        {
            n = n.checked_mul(10)?.checked_add(u64::from(digit))?;
            end += 1;
        }
        let ended = bytes.get(end).is_none_or(|&b| ENDS_TOKEN[usize::from(b)]);
        if end == self.pos || !ended {
            return None;
        }
        self.pos = end;
        Some(n)
    }

    /// At an object: its opening brace is consumed and `true` is returned
    /// (read its entries with [`Scanner::next_key`]). Any other value is
    /// skipped (`false`).
    #[inline]
    pub(crate) fn object(&mut self) -> bool {
        self.open_or_skip(b'{')
    }

    /// The next value's text when it is an object (skipped, to be read
    /// later with a scanner of its own); any other value is skipped (`None`).
    pub(crate) fn raw_object(&mut self) -> Option<&'a str> {
        self.ws();
        if self.peek() != Some(b'{') {
            self.skip();
            return None;
        }
        let start = self.pos;
        self.container(b'{', b'}');
        self.error.is_none().then(|| &self.src[start..self.pos])
    }

    /// The opening brace of an object, consumed (an error when it is not
    /// there: see [`Scanner::end`]).
    pub(crate) fn open_object(&mut self) {
        self.expect(b'{', "'{'");
    }

    /// At an array: its opening bracket is consumed and `true` is returned
    /// (read its elements with [`Scanner::next_elem`]). Any other value is
    /// skipped (`false`).
    #[inline]
    pub(crate) fn array(&mut self) -> bool {
        self.open_or_skip(b'[')
    }

    /// At `open`: consumed, `true`; at any other value: skipped, `false`.
    #[inline]
    fn open_or_skip(&mut self, open: u8) -> bool {
        self.ws();
        if self.peek() == Some(open) {
            self.pos += 1;
            return true;
        }
        self.skip();
        false
    }

    /// The next key of the object being read, the cursor then at its value
    /// (which the caller reads or skips); `None` at the object's end, which is
    /// consumed, or at a broken structure (a missing comma, key or colon, a
    /// line that ends inside the object). `first` is kept by the caller:
    /// `true` before the first key.
    pub(crate) fn next_key(&mut self, first: &mut bool) -> Option<RawStr<'a>> {
        let bytes = self.src.as_bytes();
        // The CLIs print compact JSON: `,"key":` (or `{"key":`) with no
        // whitespace, read here with one look per byte.
        let at = self.pos + usize::from(!*first);
        if bytes.get(at) == Some(&b'"') && (*first || bytes[self.pos] == b',') {
            *first = false;
            self.pos = at;
            let key = self.string()?;
            if bytes.get(self.pos) == Some(&b':') {
                self.pos += 1;
                return Some(key);
            }
            return self.expect(b':', "':'").then_some(key);
        }
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return None;
        }
        if !std::mem::take(first) {
            if !self.expect(b',', "',' or '}'") {
                return None;
            }
            self.ws();
        }
        if self.peek() != Some(b'"') {
            self.fail("a key");
            return None;
        }
        let key = self.string()?;
        self.expect(b':', "':'").then_some(key)
    }

    /// Whether the array being read has another element (the cursor then at
    /// it; the caller reads or skips it); at the array's end, `false` and
    /// the end is consumed, as at a broken structure. `first` as in
    /// [`Scanner::next_key`].
    pub(crate) fn next_elem(&mut self, first: &mut bool) -> bool {
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return false;
        }
        if self.pos >= self.src.len() {
            self.fail("']'");
            return false;
        }
        std::mem::take(first) || self.expect(b',', "',' or ']'")
    }
}

/// JSON's whitespace.
const WS: [char; 4] = [' ', '\n', '\r', '\t'];

/// The bytes that end a number or a literal: JSON's delimiters and whitespace.
const ENDS_TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let ends = b",}]:\"{[ \n\r\t";
    let mut i = 0;
    while i < ends.len() {
        table[ends[i] as usize] = true;
        i += 1;
    }
    table
};

/// Bytes of a string looked at 16 at a time before `memchr2` is called: most
/// strings are short, and a call costs more than a few loads.
const NEAR: usize = 64;

/// Bit `i` set when byte `i` of `block` is a quote or a backslash.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn quotes_or_backslashes(block: &[u8; 16]) -> u32 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    // SAFETY: `block` is 16 readable bytes, and the load is unaligned. SSE2
    // is part of every x86_64.
    let mask = unsafe {
        let v = _mm_loadu_si128(block.as_ptr().cast());
        let eq = |x: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(i8::from_ne_bytes([x])));
        _mm_movemask_epi8(_mm_or_si128(eq(b'"'), eq(b'\\')))
    };
    u32::from_ne_bytes(mask.to_ne_bytes())
}

/// Bit `i` set when byte `i` of `block` is a quote or a backslash.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn quotes_or_backslashes(block: &[u8; 16]) -> u32 {
    quotes_or_backslashes_one_by_one(block)
}

/// [`quotes_or_backslashes`], a byte at a time.
#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline(always)]
fn quotes_or_backslashes_one_by_one(block: &[u8; 16]) -> u32 {
    block
        .iter()
        .enumerate()
        .filter(|&(_, &x)| matches!(x, b'"' | b'\\'))
        .fold(0, |mask, (i, _)| mask | 1 << i)
}

/// Where the first `"` or `\` of `hay` is: 16 bytes at a time up to
/// [`NEAR`], then by `memchr2`.
#[inline]
pub(super) fn quote_or_backslash(hay: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < NEAR {
        let Some(block) = hay.get(i..).and_then(<[u8]>::first_chunk::<16>) else {
            // Fewer than 16 bytes left.
            let tail = hay.get(i..).unwrap_or_default();
            return tail
                .iter()
                .position(|&x| matches!(x, b'"' | b'\\'))
                .map(|j| i + j);
        };
        let mask = quotes_or_backslashes(block);
        if mask != 0 {
            return Some(i + mask.trailing_zeros() as usize);
        }
        i += 16;
    }
    memchr::memchr2(b'"', b'\\', &hay[NEAR..]).map(|j| NEAR + j)
}

/// Where the first `"`, `open` or `close` of `hay` is: most hops in a
/// container are a byte or two, looked at one by one.
#[inline]
fn quote_or_bracket(hay: &[u8], open: u8, close: u8) -> Option<usize> {
    let near = hay.len().min(16);
    if let Some(i) = hay[..near]
        .iter()
        .position(|&b| b == b'"' || b == open || b == close)
    {
        return Some(i);
    }
    memchr::memchr3(b'"', open, close, &hay[near..]).map(|j| near + j)
}

/// A value read as a scalar (see [`Scanner::scalar`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar<'a> {
    /// A number as written.
    Number(Token<'a>),
    /// A string's value.
    Str(Cow<'a, str>),
    /// `true` or `false`.
    Bool(bool),
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Every top-level key of `line` with its value skipped, or the error.
    fn keys(line: &str) -> Result<Vec<String>, Malformed> {
        let mut sc = Scanner::new(line);
        sc.open_object();
        let mut first = true;
        let mut out = Vec::new();
        while let Some(key) = sc.next_key(&mut first) {
            out.push(key.text().unwrap().into_owned());
            sc.skip();
        }
        sc.end()?;
        Ok(out)
    }

    #[test]
    fn values_of_every_kind_are_skipped_to_their_end() {
        let line = r#" { "a" : "x\"}]{[" , "b":{"c":[1,{"d":"]}"}],"e":{}} ,"f":[[],[{"g":"["}]],
            "h":-1.5e3,"i":true,"j":null,"k\u0041":"" } "#;
        assert_eq!(keys(line).unwrap(), ["a", "b", "f", "h", "i", "j", "kA"]);
        assert_eq!(keys("{}").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn broken_structure_is_an_error_at_its_byte() {
        for (line, at) in [
            (r#"{"type":"result","#, 17),
            (r#"{"type": }"#, 9),
            (r#"{"type":"x" "y":1}"#, 12),
            (r#"{"type" "x"}"#, 8),
            (r#"{type:"x"}"#, 1),
            (r#"{"a":"open}"#, 11),
            (r#"{"a":[1,2}"#, 10),
            (r#"{"a":{"b":1}"#, 12),
            (r#"{"a":1} x"#, 8),
            (r#"{"a":"\"#, 7),
        ] {
            let err = keys(line).unwrap_err();
            assert_eq!(err.at, at, "{line}: {err}");
        }
        assert_eq!(
            keys(r#"{"a":1 "#).unwrap_err().to_string(),
            "expected ',' or '}' at byte 7"
        );
    }

    #[test]
    fn strings_are_borrowed_unless_escaped() {
        let mut sc = Scanner::new(r#"["plain","a\nb","bad\x",7,"é"]"#);
        assert!(sc.array());
        let mut first = true;
        let mut got = Vec::new();
        while sc.next_elem(&mut first) {
            got.push(sc.str());
        }
        assert!(matches!(got[0], Some(Cow::Borrowed("plain"))));
        assert!(matches!(&got[1], Some(Cow::Owned(s)) if s == "a\nb"));
        assert_eq!(got[2], None, "an invalid escape reads as absent");
        assert_eq!(got[3], None, "a number is not a string");
        assert_eq!(got[4].as_deref(), Some("é"));
        let key = Scanner::new(r#""ty\u0070e""#).raw_str().unwrap();
        assert!(key.is("type") && !key.is("typ"));
    }

    #[test]
    fn the_searches_find_the_first_byte_at_any_distance() {
        for len in [0, 1, 7, 8, 9, 63, 64, 65, 200] {
            for (at, b) in [(len, b'"'), (len, b'\\')] {
                let mut hay = vec![b'a'; len + 10];
                hay[at] = b;
                hay[at + 5] = b'"';
                assert_eq!(quote_or_backslash(&hay), Some(at), "{len}");
                hay[at] = b'}';
                assert_eq!(quote_or_bracket(&hay, b'{', b'}'), Some(at), "{len}");
            }
            assert_eq!(quote_or_backslash(&vec![0x80; len]), None);
            assert_eq!(quote_or_bracket(&vec![b'a'; len], b'[', b']'), None);
        }
    }

    #[test]
    fn a_block_is_searched_as_byte_by_byte() {
        let mut block = [0u8; 16];
        for seed in 0u32..2000 {
            for (i, b) in block.iter_mut().enumerate() {
                // A few bytes of a small alphabet, the high bit included.
                let x = seed.wrapping_mul(2654435761).rotate_left(i as u32 * 3);
                *b = [b'"', b'\\', b'{', b'a', 0x80, 0xff, b'}', 0][(x % 8) as usize];
            }
            assert_eq!(
                quotes_or_backslashes(&block),
                quotes_or_backslashes_one_by_one(&block)
            );
        }
    }

    #[test]
    fn scalars_are_numbers_strings_and_booleans() {
        let mut sc = Scanner::new(r#"[12,-3,"4",true,false,null,[5],{"x":6}]"#);
        assert!(sc.array());
        let mut first = true;
        let mut got = Vec::new();
        while sc.next_elem(&mut first) {
            got.push(sc.scalar());
        }
        assert_eq!(
            got,
            [
                Some(Scalar::Number("12")),
                Some(Scalar::Number("-3")),
                Some(Scalar::Str(Cow::Borrowed("4"))),
                Some(Scalar::Bool(true)),
                Some(Scalar::Bool(false)),
                None,
                None,
                None,
            ]
        );
        sc.end().unwrap();
    }

    #[test]
    fn plain_integers_are_read_in_place_and_the_rest_is_left() {
        let read = |src: &str| {
            let mut sc = Scanner::new(src);
            (sc.plain_u64(), sc.pos)
        };
        assert_eq!(read("0,"), (Some(0), 1));
        assert_eq!(read("12345}"), (Some(12345), 5));
        assert_eq!(read("7"), (Some(7), 1), "the line may end after it");
        assert_eq!(read("18446744073709551615]"), (Some(u64::MAX), 20));
        for left in [
            "18446744073709551616,",
            "1.5,",
            "2e3,",
            "-1,",
            " 1,",
            "\"1\",",
            "12ab,",
            "",
        ] {
            assert_eq!(read(left), (None, 0), "{left}");
        }
    }

    #[test]
    fn a_compact_key_is_taken_only_when_written_exactly_so() {
        let line = r#"{"a":1,"command":"ls","exit_code":0}"#;
        let mut sc = Scanner::at(line, 6);
        assert!(!sc.compact_key("exit_code"), "another key");
        assert!(!sc.compact_key("comman"), "a prefix of the key");
        assert!(sc.compact_key("command"));
        assert_eq!(sc.str().as_deref(), Some("ls"));
        assert!(sc.compact_key("exit_code"));
        assert_eq!(sc.plain_u64(), Some(0));
        assert!(!sc.compact_key("x"), "at the closing brace");
        assert!(sc.close_line().is_ok());
        assert!(sc.at_end());
        for spaced in [r#"{"a":1, "command":"ls"}"#, r#"{"a":1,"command" :"ls"}"#] {
            let mut sc = Scanner::at(spaced, 6);
            assert!(!sc.compact_key("command"), "{spaced}");
            assert_eq!(sc.pos, 6, "nothing moves");
        }
    }

    #[test]
    fn after_an_error_nothing_more_is_read() {
        let mut sc = Scanner::new(r#"{"a":[1 2],"b":"x"}"#);
        sc.open_object();
        let mut first = true;
        assert!(sc.next_key(&mut first).is_some());
        assert!(sc.array());
        let mut first_elem = true;
        assert!(sc.next_elem(&mut first_elem));
        sc.skip();
        assert!(!sc.next_elem(&mut first_elem), "no comma: the array ends");
        assert_eq!(sc.next_key(&mut first), None);
        assert_eq!(sc.str(), None);
        assert_eq!(
            sc.end().unwrap_err().to_string(),
            "expected ',' or ']' at byte 8"
        );
    }
}
