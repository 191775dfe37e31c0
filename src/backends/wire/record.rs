//! Records: wire structs filled in place from a JSON object by the
//! [`Scanner`], the `record!` macro that declares them, and the tool-call
//! arguments ([`StrArgs`]) read the same way.
//!
//! A record is created with `Default` and each field the line has is written
//! where it is: no struct is built in locals and moved out per nesting level
//! (with a few hundred bytes of `Option` fields per struct and lines of a
//! hundred bytes, those copies would cost more than reading the line). Keys a
//! record does not name are skipped, unread.

use std::borrow::Cow;

use super::scan::{self, Malformed, RawStr, Scalar, Scanner};

/// A wire struct whose fields are filled in place from a JSON object.
pub(crate) trait Record<'de>: Default {
    /// Read the entries of the object whose opening brace the scanner has
    /// just consumed into `self`, up to and including its closing brace;
    /// keys it does not name are skipped. (A broken structure stops the
    /// reading and is the scanner's error.)
    fn fill(&mut self, sc: &mut Scanner<'de>) {
        self.fill_at(sc, false);
    }

    /// [`Record::fill`]; `line`: the object is the whole line, whose rest
    /// is not read once every field is (see [`Scanner::skip_line_rest`]).
    fn fill_at(&mut self, sc: &mut Scanner<'de>, line: bool) {
        self.fill_entries(sc, line, true);
    }

    /// [`Record::fill_at`] from the cursor on: `first` when no entry of
    /// the object was read yet, else the cursor is after an entry's value
    /// (a caller that read the object's first entries itself).
    fn fill_entries(&mut self, sc: &mut Scanner<'de>, line: bool, first: bool);
}

/// A field type read leniently in place: a value of the expected JSON type
/// sets it, any other value leaves it empty.
pub(crate) trait Field<'de> {
    /// Read the value at the scanner into `self`.
    fn read(&mut self, sc: &mut Scanner<'de>);
}

/// Read the entries of an object (its opening brace consumed) with `entry`,
/// which reads or skips each key's value.
#[inline]
fn entries<'de>(sc: &mut Scanner<'de>, mut entry: impl FnMut(&mut Scanner<'de>, RawStr<'de>)) {
    let mut first = true;
    while let Some(key) = sc.next_key(&mut first) {
        entry(sc, key);
    }
}

/// Read the elements of an array (its opening bracket consumed) with `elem`,
/// which reads or skips each one.
#[inline]
fn elements<'de>(sc: &mut Scanner<'de>, mut elem: impl FnMut(&mut Scanner<'de>)) {
    let mut first = true;
    while sc.next_elem(&mut first) {
        elem(sc);
    }
}

/// Push a record filled from the value at the scanner when it is an object
/// (filled in place, where it will stay); any other value is skipped.
fn push_record<'de, R: Record<'de>>(sc: &mut Scanner<'de>, out: &mut Vec<R>) {
    if sc.object() {
        out.push(R::default());
        if let Some(last) = out.last_mut() {
            last.fill(sc);
        }
    }
}

impl<'de, R: Record<'de>> Field<'de> for Option<R> {
    fn read(&mut self, sc: &mut Scanner<'de>) {
        if sc.object() {
            self.insert(R::default()).fill(sc);
        } else {
            *self = None;
        }
    }
}

/// An array of records; elements that are not objects are dropped, and
/// anything but an array reads as empty.
impl<'de, R: Record<'de>> Field<'de> for Vec<R> {
    fn read(&mut self, sc: &mut Scanner<'de>) {
        self.clear();
        if sc.array() {
            elements(sc, |sc| push_record(sc, self));
        }
    }
}

/// An array of records read in place, its first element kept inline: a
/// Claude line holds one content block, read without an allocation.
/// Elements that are not objects are dropped, and anything but an array
/// reads as empty.
#[derive(Debug)]
pub(crate) struct List<R> {
    first: Option<R>,
    rest: Vec<R>,
}

impl<R> Default for List<R> {
    fn default() -> Self {
        Self {
            first: None,
            rest: Vec::new(),
        }
    }
}

impl<R> IntoIterator for List<R> {
    type Item = R;
    type IntoIter = std::iter::Chain<std::option::IntoIter<R>, std::vec::IntoIter<R>>;

    fn into_iter(self) -> Self::IntoIter {
        self.first.into_iter().chain(self.rest)
    }
}

impl<'de, R: Record<'de>> Field<'de> for List<R> {
    fn read(&mut self, sc: &mut Scanner<'de>) {
        self.first = None;
        self.rest.clear();
        if sc.array() {
            elements(sc, |sc| {
                if self.first.is_some() {
                    push_record(sc, &mut self.rest);
                } else if sc.object() {
                    self.first.insert(R::default()).fill(sc);
                }
            });
        }
    }
}

/// The values of a JSON object keyed by names we do not need (Claude's
/// `modelUsage`, keyed by model), each read as a record; values that are not
/// objects are dropped, and anything but an object reads as empty.
#[derive(Debug, Default)]
pub(crate) struct Values<R>(pub(crate) Vec<R>);

impl<'de, R: Record<'de>> Field<'de> for Values<R> {
    fn read(&mut self, sc: &mut Scanner<'de>) {
        self.0.clear();
        if sc.object() {
            entries(sc, |sc, _| push_record(sc, &mut self.0));
        }
    }
}

impl<'de> Field<'de> for Option<Cow<'de, str>> {
    fn read(&mut self, sc: &mut Scanner<'de>) {
        *self = sc.str();
    }
}

/// A string kept as written, unescaped only when asked for
/// ([`RawStr::text`]): for a field a line type needs only now and then.
impl<'de> Field<'de> for Option<RawStr<'de>> {
    fn read(&mut self, sc: &mut Scanner<'de>) {
        *self = sc.raw_str();
    }
}

/// An array of strings (other elements skipped); not an array: empty.
impl<'de> Field<'de> for Vec<Cow<'de, str>> {
    fn read(&mut self, sc: &mut Scanner<'de>) {
        self.clear();
        if sc.array() {
            elements(sc, |sc| self.extend(sc.str()));
        }
    }
}

/// A non-negative integer (also from a float or a numeric string).
impl<'de> Field<'de> for Option<u64> {
    fn read(&mut self, sc: &mut Scanner<'de>) {
        if let Some(n) = sc.plain_u64() {
            *self = Some(n);
            return;
        }
        *self = match sc.scalar() {
            Some(Scalar::Number(n)) => n.parse::<u64>().ok().or_else(|| {
                n.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .map(|v| v as u64)
            }),
            Some(Scalar::Str(s)) => s.trim().parse().ok(),
            _ => None,
        };
    }
}

/// An integer (also from a float or a numeric string).
impl<'de> Field<'de> for Option<i64> {
    fn read(&mut self, sc: &mut Scanner<'de>) {
        *self = match sc.scalar() {
            Some(Scalar::Number(n)) => n.parse::<i64>().ok().or_else(|| {
                n.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .map(|v| v as i64)
            }),
            Some(Scalar::Str(s)) => s.trim().parse().ok(),
            _ => None,
        };
    }
}

/// A number.
impl<'de> Field<'de> for Option<f64> {
    fn read(&mut self, sc: &mut Scanner<'de>) {
        *self = match sc.scalar() {
            Some(Scalar::Number(n)) => n.parse().ok(),
            _ => None,
        };
    }
}

/// A boolean.
impl<'de> Field<'de> for Option<bool> {
    fn read(&mut self, sc: &mut Scanner<'de>) {
        *self = match sc.scalar() {
            Some(Scalar::Bool(b)) => Some(b),
            _ => None,
        };
    }
}

/// Parse one line, which must be a JSON object, into `record` (a fresh
/// `Default` one: fields absent from the line are left as they are).
///
/// # Errors
/// The line is not a JSON object, or its structure is broken.
pub(crate) fn parse_record<'de, R: Record<'de>>(
    line: &'de str,
    record: &mut R,
) -> Result<(), Malformed> {
    let mut sc = Scanner::new(line);
    sc.open_object();
    record.fill_at(&mut sc, true);
    sc.end()
}

/// Parse the rest of a line whose head the caller read itself, up to inside
/// an object one level down (`{"type":"…","item":{"id":"…"`, or
/// `{"type":"…","usage":{`): that object's remaining entries into `record`,
/// then the line's own object closed (and the line ended). `at` is the byte
/// the rest starts at; `first`: no entry of the inner object was read yet.
///
/// `unread`: what follows the record's fields maps to nothing, so once every
/// field is read the rest of the line is taken as read when it ends with
/// both closing braces (as [`Scanner::skip_line_rest`] does for a line).
/// Otherwise the line's object must close right after the inner one.
///
/// # Errors
/// The rest's structure is broken, or (not `unread`) the line's object has
/// more entries after the inner one: a layout for the caller's general reader.
pub(crate) fn parse_nested_rest<'de, R: Record<'de>>(
    line: &'de str,
    at: usize,
    first: bool,
    unread: bool,
    record: &mut R,
) -> Result<(), Malformed> {
    let mut sc = Scanner::at(line, at);
    if unread && line.ends_with("}}") {
        record.fill_entries(&mut sc, true, first);
        if sc.at_end() {
            return sc.end();
        }
    } else {
        record.fill_entries(&mut sc, false, first);
    }
    sc.close_line()
}

/// The string value that `s` opens with, when it opens with exactly `prefix`,
/// a colon and a string without escapes (`leading_str(r#"{"type":"user",…"#,
/// r#"{"type""#)` is `("user", r#",…"#)`), and the text after it. A cheap
/// look at the type a line names first; anything else is `None` (and the
/// line is read in full).
#[inline]
pub(crate) fn leading_str<'a>(s: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let rest = s.strip_prefix(prefix)?.strip_prefix(":\"")?;
    let end = scan::quote_or_backslash(rest.as_bytes())?;
    (rest.as_bytes()[end] == b'"').then(|| (&rest[..end], &rest[end + 1..]))
}

/// Declare a wire struct filled in place (see [`Record`]): each field names the
/// JSON key it is read from; every other key is skipped, and once every field
/// is read the rest of the object is skipped whole (the keys after the last
/// one a line type needs, such as an `assistant` line's ids, are not looked
/// at), or, for the line itself, not read at all.
macro_rules! record {
    (
        $(#[$meta:meta])*
        struct $name:ident<$lt:lifetime> {
            $( $key:literal => $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Default)]
        struct $name<$lt> {
            $( $field: $ty, )*
        }

        impl<'de> $crate::backends::wire::Record<'de> for $name<'de> {
            $crate::backends::wire::record!(@fill $( $key => $field ),*);
        }
    };
    (
        $(#[$meta:meta])*
        struct $name:ident {
            $( $key:literal => $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Default, Clone, Copy)]
        struct $name {
            $( $field: $ty, )*
        }

        impl<'de> $crate::backends::wire::Record<'de> for $name {
            $crate::backends::wire::record!(@fill $( $key => $field ),*);
        }
    };
    (@fill $( $key:literal => $field:ident ),*) => {
        fn fill_entries(
            &mut self,
            sc: &mut $crate::backends::wire::Scanner<'de>,
            line: bool,
            mut first: bool,
        ) {
            // Once as many named keys as the record has fields are read, the
            // rest of the object is skipped whole (see `Scanner::skip_rest`).
            const FIELDS: usize = [$( $key ),*].len();
            let mut named = 0;
            while let Some(key) = sc.next_key(&mut first) {
                let key = key.text().unwrap_or_default();
                match key.as_ref() {
                    $( $key => $crate::backends::wire::Field::read(&mut self.$field, sc), )*
                    _ => {
                        sc.skip();
                        continue;
                    }
                }
                named += 1;
                if named == FIELDS {
                    if line {
                        sc.skip_line_rest();
                    } else {
                        sc.skip_rest();
                    }
                    return;
                }
            }
        }
    };
}
pub(crate) use record;

/// The top-level string arguments of a tool call, kept as the text of their
/// object and read only when asked for: a summary picks one or two, and a
/// `Write` call's `content` (a whole file) is neither copied nor unescaped.
///
/// Used for short human summaries: the named argument a tool is known for, else
/// the first string argument.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct StrArgs<'a>(&'a str);

impl<'a> StrArgs<'a> {
    /// The arguments of the JSON object `json`; anything else reads as none.
    #[cfg(test)]
    pub(crate) fn parse(json: &'a str) -> Self {
        let mut args = None;
        let mut sc = Scanner::new(json);
        Field::read(&mut args, &mut sc);
        args.unwrap_or_default()
    }

    /// The first `f(key, value)` that is something, over the string
    /// arguments in order.
    fn find<T>(&self, mut f: impl FnMut(RawStr<'a>, RawStr<'a>) -> Option<T>) -> Option<T> {
        let mut sc = Scanner::new(self.0);
        if !sc.object() {
            return None;
        }
        let mut first = true;
        while let Some(key) = sc.next_key(&mut first) {
            if let Some(found) = sc.raw_str().and_then(|value| f(key, value)) {
                return Some(found);
            }
        }
        None
    }

    /// The value of argument `key`, if it is a string.
    pub(crate) fn get(&self, key: &str) -> Option<Cow<'a, str>> {
        self.find(|k, v| if k.is(key) { v.text() } else { None })
    }

    /// The first non-empty string argument.
    pub(crate) fn first(&self) -> Option<Cow<'a, str>> {
        self.find(|_, v| v.text().filter(|v| !v.trim().is_empty()))
    }
}

/// Tool arguments: an object, else absent.
impl<'de> Field<'de> for Option<StrArgs<'de>> {
    fn read(&mut self, sc: &mut Scanner<'de>) {
        *self = sc.raw_object().map(StrArgs);
    }
}
