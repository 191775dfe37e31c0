//! Records: wire structs filled in place from a JSON object, the `record!`
//! macro that declares them, and the tool-call arguments ([`StrArgs`]) read
//! the same way.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{StrElem, bool, f64, i64, str, str_seq, u64};

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
