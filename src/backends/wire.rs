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
//!
//! Here: the readers of one value (strings, numbers, booleans, string lists);
//! `record` fills whole wire structs in place (the `record!` macro); `text`
//! makes the short texts of summaries and failure messages.

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

mod record;
mod text;

pub(crate) use record::{
    FieldSeed, Key, Record, StrArgs, Values, leading_str, parse_record, record,
};
pub(crate) use text::{base_name, no_result_message, short, tail_lines};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

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
