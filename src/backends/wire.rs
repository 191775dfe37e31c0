//! Lenient readers for the CLIs' JSON lines, shared by the Claude and Codex parsers.
//!
//! The CLIs' output formats change without notice, so the private wire structs in
//! `claude.rs` and `codex.rs` read every field leniently: a field of the
//! expected JSON type is taken, anything else (a `null`, a number where a
//! string was expected, an object where an array was expected) is skipped and
//! read as "absent". One odd field therefore never costs the whole line; only
//! a broken line does, and the parsers turn that into an `AgentEvent::Warning`.
//!
//! A line is read in one pass by `scan`'s [`Scanner`]: what a record names is
//! read (strings borrowed from the line when they have no escapes), what it
//! does not is skipped without being built or checked. This is the parsers'
//! hot path (see `benches/parse.rs`).
//!
//! Here: `scan`, the cursor over one line; `record`, the wire structs filled in
//! place (the `record!` macro) and tool-call arguments; `text`, the short
//! texts of summaries and failure messages.

mod record;
mod scan;
mod text;

pub(crate) use record::{
    Field, List, Record, StrArgs, Values, leading_str, parse_nested_rest, parse_record, record,
};
pub(crate) use scan::{Malformed, RawStr, Scanner};
pub(crate) use text::{
    base_name, contains_ignore_ascii_case, no_result_message, short, tail_lines,
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::borrow::Cow;

    use super::*;

    record! {
        struct Inner<'a> {
            "name" => name: Option<Cow<'a, str>>,
        }
    }

    record! {
        struct T<'a> {
            "s" => s: Option<Cow<'a, str>>,
            "n" => n: Option<u64>,
            "i" => i: Option<i64>,
            "f" => f: Option<f64>,
            "b" => b: Option<bool>,
            "list" => list: Vec<Cow<'a, str>>,
            "inner" => inner: Option<Inner<'a>>,
            "many" => many: Vec<Inner<'a>>,
            "blocks" => blocks: List<Inner<'a>>,
            "by_name" => by_name: Values<Inner<'a>>,
            "args" => args: Option<StrArgs<'a>>,
        }
    }

    fn read(line: &str) -> T<'_> {
        let mut t = T::default();
        parse_record(line, &mut t).unwrap();
        t
    }

    #[test]
    fn counts_are_read_from_any_way_of_writing_them() {
        for (n, want) in [
            ("12", Some(12)),
            (" 12 ", Some(12)),
            ("3.9", Some(3)),
            ("1e3", Some(1000)),
            ("\"7\"", Some(7)),
            ("18446744073709551616", Some(u64::MAX)),
            ("-1", None),
            ("null", None),
        ] {
            let line = format!(r#"{{"n":{n},"s":"x"}}"#);
            let t = read(&line);
            assert_eq!(t.n, want, "{n}");
            assert_eq!(t.s.as_deref(), Some("x"), "the field after {n}");
        }
    }

    #[test]
    fn lenient_readers_turn_odd_types_into_none() {
        let t = read(
            r#"{"s":{"a":[1,2]},"n":"12","i":-3.7,"f":"1.5","b":1,"list":"x","inner":[1],"blocks":{"name":"x"},
                "many":{"name":"x"},"by_name":[{"name":"y"}],"args":"z","other":{"s":"q"}}"#,
        );
        assert_eq!(t.s, None);
        assert_eq!(t.n, Some(12));
        assert_eq!(t.i, Some(-3));
        assert_eq!(t.f, None, "a number in a string is not a float");
        assert_eq!(t.b, None);
        assert!(t.list.is_empty());
        assert!(t.inner.is_none() && t.many.is_empty() && t.by_name.0.is_empty());
        assert_eq!(t.blocks.into_iter().count(), 0);
        assert!(t.args.is_none());
    }

    #[test]
    fn fields_of_the_expected_type_are_read() {
        let t = read(
            r#"{"s":"a\"b","n":7.0,"i":"-4","f":2.5e1,"b":false,"list":["a",1,null,"b"],
                "blocks":[{"name":"a"},3,{"name":"b"},{"name":"c"}],
                "inner":{"name":"one","x":[{}]},"many":[{"name":"a"},3,{"name":"b"}],
                "by_name":{"m1":{"name":"p"},"m2":2},"args":{"command":"ls\n-la","n":1,"path":"src"}}"#,
        );
        assert_eq!(t.s.as_deref(), Some("a\"b"));
        assert_eq!(
            (t.n, t.i, t.f, t.b),
            (Some(7), Some(-4), Some(25.0), Some(false))
        );
        assert_eq!(t.list, vec!["a", "b"]);
        assert_eq!(t.inner.unwrap().name.as_deref(), Some("one"));
        let names = |v: &[Inner<'_>]| -> Vec<String> {
            v.iter()
                .filter_map(|i| i.name.as_deref())
                .map(str::to_string)
                .collect()
        };
        assert_eq!(names(&t.many), ["a", "b"]);
        assert_eq!(names(&t.by_name.0), ["p"]);
        assert_eq!(
            names(&t.blocks.into_iter().collect::<Vec<_>>()),
            ["a", "b", "c"]
        );
        let args = t.args.unwrap();
        assert_eq!(args.get("command").as_deref(), Some("ls\n-la"));
        assert_eq!(args.get("n"), None);
        assert_eq!(args.first().as_deref(), Some("ls\n-la"));
        assert_eq!(
            StrArgs::parse(r#"{"path":"src"}"#).get("path").as_deref(),
            Some("src")
        );
    }

    record! {
        struct Outer<'a> {
            "inner" => inner: Option<Inner<'a>>,
            "z" => z: Option<u64>,
        }
    }

    #[test]
    fn a_record_whose_fields_are_all_read_skips_the_rest_whole() {
        // Inside the line: the rest of the object is skipped as a skipped
        // value is (its strings and brackets must close, its commas and
        // colons are not looked at), and the line goes on after it.
        let mut outer = Outer::default();
        let line = r#"{"inner":{"name":"first","x":{"a":["}",1]},"name":"again","y":"]"},"z":7}"#;
        parse_record(line, &mut outer).unwrap();
        assert_eq!(outer.inner.unwrap().name.as_deref(), Some("first"));
        assert_eq!(outer.z, Some(7));
        for (line, ok) in [
            (r#"{"inner":{"name":"a","x":1 "y":2},"z":1}"#, true),
            (r#"{"inner":{"name":"a","x":"open},"z":1}"#, false),
            (r#"{"inner":{"name":"a","x":{"b":1},"z":1}"#, false),
        ] {
            let mut outer = Outer::default();
            assert_eq!(parse_record(line, &mut outer).is_ok(), ok, "{line}");
        }
        // The line itself: once its record is read, the rest is not read
        // when the line ends with a closing brace; else it is skipped, and
        // must close.
        for (line, ok) in [
            (r#"{"name":"a","x":{"b":1},"y":"]"} "#, true),
            (r#"{"name":"a","x":{"b":[1}"#, true),
            (r#"{"name":"a","x":"open"#, false),
            (r#"{"name":"a"} trailing"#, false),
            (r#"{"x":1 "name":"a"}"#, false),
        ] {
            let mut inner = Inner::default();
            assert_eq!(parse_record(line, &mut inner).is_ok(), ok, "{line}");
            if ok {
                assert_eq!(inner.name.as_deref(), Some("a"));
            }
        }
    }

    #[test]
    fn a_broken_line_is_an_error() {
        for line in [
            r#"{"s":"x""#,
            r#"[1]"#,
            r#"{"n":}"#,
            r#"{"s":"x"} {}"#,
            "nul",
        ] {
            let mut t = T::default();
            assert!(parse_record(line, &mut t).is_err(), "{line}");
        }
    }
}
