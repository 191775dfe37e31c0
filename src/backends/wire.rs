//! Lenient readers for the CLIs' JSON lines, shared by the Claude and Codex parsers.
//!
//! The CLIs' output formats change without notice, so the private wire structs in
//! `claude.rs` and `codex.rs` read every field through these helpers: a field of
//! the expected JSON type is taken, anything else (a `null`, a number where a
//! string was expected, an object where an array was expected) is consumed and
//! read as "absent". One odd field therefore never costs the whole line; only
//! malformed JSON does, and the parsers turn that into an `AgentEvent::Warning`.
//!
//! Everything borrows from the line where it can (`Cow::Borrowed` for strings
//! without escapes) and skips what it does not need with
//! [`serde::de::IgnoredAny`], so a line is scanned once and nothing is copied
//! that is not kept. This is the parsers' hot path (see `benches/parse.rs`).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The `visit_*` methods for every JSON value but arrays and objects, all
/// giving `$ret`: for visitors that only want a container.
macro_rules! ignore_scalars {
    ($ret:expr) => {
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($ret)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($ret)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($ret)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($ret)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($ret)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($ret)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($ret)
        }
    };
}

/// Any JSON value, reduced to the scalars we can use.
enum Scalar<'de> {
    Str(Cow<'de, str>),
    U64(u64),
    I64(i64),
    F64(f64),
    Bool(bool),
    /// `null`, an array or an object (consumed).
    Other,
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::U64(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::I64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::F64(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Other)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Other)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

/// A string, borrowed from the line when it has no escapes.
pub(crate) fn str<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    Ok(match Scalar::deserialize(d)? {
        Scalar::Str(s) => Some(s),
        _ => None,
    })
}

/// A non-negative integer (also from a float or a numeric string).
pub(crate) fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Scalar::deserialize(d)? {
        Scalar::U64(v) => Some(v),
        Scalar::I64(v) => u64::try_from(v).ok(),
        Scalar::F64(v) if v.is_finite() && v >= 0.0 => Some(v as u64),
        Scalar::Str(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// An integer (also from a float or a numeric string).
pub(crate) fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Scalar::deserialize(d)? {
        Scalar::U64(v) => i64::try_from(v).ok(),
        Scalar::I64(v) => Some(v),
        Scalar::F64(v) if v.is_finite() => Some(v as i64),
        Scalar::Str(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// A number.
pub(crate) fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Scalar::deserialize(d)? {
        Scalar::U64(v) => Some(v as f64),
        Scalar::I64(v) => Some(v as f64),
        Scalar::F64(v) => Some(v),
        _ => None,
    })
}

/// A boolean.
pub(crate) fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Scalar::deserialize(d)? {
        Scalar::Bool(v) => Some(v),
        _ => None,
    })
}

/// One array element read leniently as a string.
struct StrElem<'de>(Option<Cow<'de, str>>);

impl<'de> Deserialize<'de> for StrElem<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        str(d).map(StrElem)
    }
}

/// An array of strings (other elements skipped); not an array: empty.
pub(crate) fn str_seq<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Cow<'de, str>>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<Cow<'de, str>>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(StrElem(item)) = seq.next_element()? {
                out.extend(item);
            }
            Ok(out)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Vec::new())
        }
        ignore_scalars!(Vec::new());
    }
    d.deserialize_any(V)
}

// ---------------------------------------------------------------------------
// Records: wire structs filled in place.
//
// `#[derive(Deserialize)]` builds each struct in locals and moves it out, once
// per nesting level; with a few hundred bytes of `Option` fields per struct and
// lines of a hundred bytes, those copies cost more than reading the JSON. A
// record is instead created with `Default` and its fields are written where they
// are, by the `record!` macro's `MapAccess` loop.

/// A wire struct whose fields are filled in place from a JSON object.
pub(crate) trait Record<'de>: Default {
    /// Read the object's entries into `self`; unknown keys are skipped.
    fn fill<A: MapAccess<'de>>(&mut self, map: A) -> Result<(), A::Error>;
}

/// A field type read leniently in place: the expected JSON type sets it, any
/// other value leaves it empty.
pub(crate) trait Field<'de> {
    /// Read `d` into `self`.
    fn read<D: Deserializer<'de>>(&mut self, d: D) -> Result<(), D::Error>;
}

/// Reads the next map value into a field.
pub(crate) struct FieldSeed<'s, F>(pub(crate) &'s mut F);

impl<'de, F: Field<'de>> de::DeserializeSeed<'de> for FieldSeed<'_, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.0.read(d)
    }
}

/// A map key, borrowed when it has no escapes.
pub(crate) struct Key<'de>(Cow<'de, str>);

impl Key<'_> {
    /// The key text.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Visits one JSON value into a record: `true` when it was an object.
struct RecordVisitor<'s, R>(&'s mut R);

impl<'de, R: Record<'de>> Visitor<'de> for RecordVisitor<'_, R> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<bool, A::Error> {
        self.0.fill(map)?;
        Ok(true)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    ignore_scalars!(false);
}

/// Reads one array element into a record: `true` when it was an object.
struct ElemSeed<'s, R>(&'s mut R);

impl<'de, R: Record<'de>> de::DeserializeSeed<'de> for ElemSeed<'_, R> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(RecordVisitor(self.0))
    }
}

/// Visits an array of records; elements that are not objects are dropped.
struct RecordSeqVisitor<'s, R>(&'s mut Vec<R>);

impl<'de, R: Record<'de>> Visitor<'de> for RecordSeqVisitor<'_, R> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            self.0.push(R::default());
            let Some(last) = self.0.last_mut() else {
                return Ok(());
            };
            match seq.next_element_seed(ElemSeed(last))? {
                Some(true) => {}
                Some(false) => {
                    self.0.pop();
                }
                None => {
                    self.0.pop();
                    return Ok(());
                }
            }
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }
    ignore_scalars!(());
}

impl<'de, R: Record<'de>> Field<'de> for Option<R> {
    fn read<D: Deserializer<'de>>(&mut self, d: D) -> Result<(), D::Error> {
        let record = self.insert(R::default());
        if !d.deserialize_any(RecordVisitor(record))? {
            *self = None;
        }
        Ok(())
    }
}

impl<'de, R: Record<'de>> Field<'de> for Vec<R> {
    fn read<D: Deserializer<'de>>(&mut self, d: D) -> Result<(), D::Error> {
        self.clear();
        d.deserialize_any(RecordSeqVisitor(self))
    }
}

/// The values of a JSON object keyed by names we do not need (Claude's
/// `modelUsage`, keyed by model), each read as a record; values that are not
/// objects are dropped, and anything but an object reads as empty.
#[derive(Debug, Default)]
pub(crate) struct Values<R>(pub(crate) Vec<R>);

/// Visits an object of records.
struct ValuesVisitor<'s, R>(&'s mut Vec<R>);

impl<'de, R: Record<'de>> Visitor<'de> for ValuesVisitor<'_, R> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key::<IgnoredAny>()?.is_some() {
            let mut value = R::default();
            if map.next_value_seed(ElemSeed(&mut value))? {
                self.0.push(value);
            }
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    ignore_scalars!(());
}

impl<'de, R: Record<'de>> Field<'de> for Values<R> {
    fn read<D: Deserializer<'de>>(&mut self, d: D) -> Result<(), D::Error> {
        self.0.clear();
        d.deserialize_any(ValuesVisitor(&mut self.0))
    }
}

impl<'de> Field<'de> for Option<Cow<'de, str>> {
    fn read<D: Deserializer<'de>>(&mut self, d: D) -> Result<(), D::Error> {
        *self = str(d)?;
        Ok(())
    }
}

impl<'de> Field<'de> for Vec<Cow<'de, str>> {
    fn read<D: Deserializer<'de>>(&mut self, d: D) -> Result<(), D::Error> {
        *self = str_seq(d)?;
        Ok(())
    }
}

impl<'de> Field<'de> for Option<u64> {
    fn read<D: Deserializer<'de>>(&mut self, d: D) -> Result<(), D::Error> {
        *self = u64(d)?;
        Ok(())
    }
}

impl<'de> Field<'de> for Option<i64> {
    fn read<D: Deserializer<'de>>(&mut self, d: D) -> Result<(), D::Error> {
        *self = i64(d)?;
        Ok(())
    }
}

impl<'de> Field<'de> for Option<f64> {
    fn read<D: Deserializer<'de>>(&mut self, d: D) -> Result<(), D::Error> {
        *self = f64(d)?;
        Ok(())
    }
}

impl<'de> Field<'de> for Option<bool> {
    fn read<D: Deserializer<'de>>(&mut self, d: D) -> Result<(), D::Error> {
        *self = bool(d)?;
        Ok(())
    }
}

/// Parse one line, which must be a JSON object, into `record` (a fresh
/// `Default` one: fields absent from the line are left as they are).
pub(crate) fn parse_record<'de, R: Record<'de>>(
    line: &'de str,
    record: &mut R,
) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(line);
    de.deserialize_map(RecordMapVisitor(record))?;
    de.end()
}

/// The string value that `s` opens with, when it opens with exactly `prefix`,
/// a colon and a string without escapes (`leading_str(r#"{"type":"user",…"#,
/// r#"{"type""#)` is `("user", r#",…"#)`), and the text after it. A cheap
/// look at the type a line names first; anything else is `None` (and the
/// line is read in full).
pub(crate) fn leading_str<'a>(s: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let rest = s.strip_prefix(prefix)?.strip_prefix(":\"")?;
    let end = memchr::memchr2(b'"', b'\\', rest.as_bytes())?;
    (rest.as_bytes()[end] == b'"').then(|| (&rest[..end], &rest[end + 1..]))
}

/// The top level: an object only (anything else is an error, hence a warning).
struct RecordMapVisitor<'s, R>(&'s mut R);

impl<'de, R: Record<'de>> Visitor<'de> for RecordMapVisitor<'_, R> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.0.fill(map)
    }
}

/// Declare a wire struct filled in place (see [`Record`]): each field names the
/// JSON key it is read from; every other key is skipped.
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
        fn fill<A: serde::de::MapAccess<'de>>(&mut self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<$crate::backends::wire::Key<'de>>()? {
                match key.as_str() {
                    $( $key => map.next_value_seed($crate::backends::wire::FieldSeed(&mut self.$field))?, )*
                    _ => {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
            }
            Ok(())
        }
    };
}
pub(crate) use record;

/// The top-level string arguments of a tool call, in order (other values skipped).
///
/// Used for short human summaries: the named argument a tool is known for, else
/// the first string argument.
#[derive(Debug, Default)]
pub(crate) struct StrArgs<'a>(pub(crate) Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'a> StrArgs<'a> {
    /// The value of argument `key`, if it is a string.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_ref())
    }

    /// The first non-empty string argument.
    pub(crate) fn first(&self) -> Option<&str> {
        self.0
            .iter()
            .map(|(_, v)| v.as_ref())
            .find(|v| !v.trim().is_empty())
    }
}

struct StrArgsVisitor;

impl<'de> Visitor<'de> for StrArgsVisitor {
    type Value = StrArgs<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(StrElem(key)) = map.next_key::<StrElem<'de>>()? {
            let StrElem(value) = map.next_value::<StrElem<'de>>()?;
            if let (Some(k), Some(v)) = (key, value) {
                out.push((k, v));
            }
        }
        Ok(StrArgs(out))
    }
}

impl<'de> Deserialize<'de> for StrArgs<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(StrArgsVisitor)
    }
}

/// Tool arguments: an object, else empty.
impl<'de> Field<'de> for Option<StrArgs<'de>> {
    fn read<D: Deserializer<'de>>(&mut self, d: D) -> Result<(), D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Option<StrArgs<'de>>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                StrArgsVisitor.visit_map(map).map(Some)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(None)
            }
            ignore_scalars!(None);
        }
        *self = d.deserialize_any(V)?;
        Ok(())
    }
}

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

/// The last path component of `path` (the whole text when it has none).
pub(crate) fn base_name(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rsplit('/').next() {
        Some(name) if !name.is_empty() => name,
        _ => path,
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

    #[test]
    fn lenient_readers_turn_odd_types_into_none() {
        #[derive(serde::Deserialize)]
        struct T<'a> {
            #[serde(borrow, default, deserialize_with = "str")]
            s: Option<Cow<'a, str>>,
            #[serde(default, deserialize_with = "u64")]
            n: Option<u64>,
            #[serde(borrow, default, deserialize_with = "str_seq")]
            list: Vec<Cow<'a, str>>,
        }
        let t: T = serde_json::from_str(r#"{"s":{"a":[1,2]},"n":"12","list":"x"}"#).unwrap();
        assert_eq!(t.s, None);
        assert_eq!(t.n, Some(12));
        assert!(t.list.is_empty());
        let t: T =
            serde_json::from_str(r#"{"s":"a\"b","n":null,"list":["a",1,null,"b"]}"#).unwrap();
        assert_eq!(t.s.as_deref(), Some("a\"b"));
        assert_eq!(t.n, None);
        assert_eq!(t.list, vec!["a", "b"]);
    }
}
