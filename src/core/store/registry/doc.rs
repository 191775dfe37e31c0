//! The registry file in memory: the sessions in file order, each parsed only
//! when needed (the others are written back byte for byte), the top-level keys
//! of other tools, and Python's ASCII-only JSON escapes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use super::entry::Entry;
use crate::core::error::RegistryError;

/// A stored session. Entries are parsed only when needed: an upsert parses
/// the one it changes, and writes every other entry back verbatim.
#[derive(Debug, Clone)]
pub(super) enum Slot {
    /// Not looked at: written back byte for byte.
    Raw(Box<RawValue>),
    /// Parsed (and possibly changed).
    Entry(Box<Entry>),
    /// Looked at but not an entry we can read: written back byte for byte.
    Unreadable { raw: Box<RawValue>, error: String },
}

impl Serialize for Slot {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Slot::Entry(e) => e.serialize(s),
            Slot::Raw(raw) | Slot::Unreadable { raw, .. } => raw.serialize(s),
        }
    }
}

/// A JSON object's members in file order, values unparsed (serde_json's
/// `Map` would sort the keys, and the seed's label search walks the sessions
/// in insertion order).
#[derive(Debug, Default)]
pub(super) struct OrderedRaw(pub(super) Vec<(String, Box<RawValue>)>);

impl OrderedRaw {
    /// Duplicate key: the last value wins, at the first place (what Python's
    /// `json.loads` does).
    fn insert(&mut self, index: &mut HashMap<String, usize>, k: String, v: Box<RawValue>) {
        match index.get(&k) {
            Some(&i) => self.0[i].1 = v,
            None => {
                index.insert(k.clone(), self.0.len());
                self.0.push((k, v));
            }
        }
    }
}

impl<'de> Deserialize<'de> for OrderedRaw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedRaw;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<OrderedRaw, A::Error> {
                let (mut out, mut index) = (OrderedRaw::default(), HashMap::new());
                while let Some((k, v)) = a.next_entry::<String, Box<RawValue>>()? {
                    out.insert(&mut index, k, v);
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}

/// The top level as read: the sessions in order, and any other keys.
#[derive(Debug, Default)]
pub(super) struct RawDoc {
    pub(super) sessions: Option<OrderedRaw>,
    pub(super) other: OrderedRaw,
}

impl<'de> Deserialize<'de> for RawDoc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawDoc;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object with a \"sessions\" object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<RawDoc, A::Error> {
                let (mut doc, mut index) = (RawDoc::default(), HashMap::new());
                while let Some(k) = a.next_key::<String>()? {
                    if k == "sessions" {
                        doc.sessions = Some(a.next_value().map_err(|e: A::Error| {
                            de::Error::custom(format!("\"sessions\" must be an object: {e}"))
                        })?);
                    } else {
                        let v = a.next_value()?;
                        doc.other.insert(&mut index, k, v);
                    }
                }
                Ok(doc)
            }
        }
        d.deserialize_map(V)
    }
}

/// Whether a JSON object has a key, without building its values.
struct KeyProbe<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for KeyProbe<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for KeyProbe<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(k) = a.next_key::<String>()? {
            a.next_value::<IgnoredAny>()?;
            found |= k == self.0;
        }
        Ok(found)
    }
}

/// The registry file in memory.
#[derive(Debug)]
pub(super) struct Doc {
    pub(super) path: PathBuf,
    pub(super) id_field: &'static str,
    pub(super) sessions: Vec<(String, Slot)>,
    pub(super) other: Vec<(String, Box<RawValue>)>,
}

impl Doc {
    pub(super) fn position(&self, id: &str) -> Option<usize> {
        self.sessions.iter().position(|(k, _)| k == id)
    }

    /// Parse slot `i` if it is still raw.
    pub(super) fn resolve(&mut self, i: usize) {
        let (key, slot) = &mut self.sessions[i];
        if let Slot::Raw(raw) = slot {
            *slot = match Entry::from_stored(key, raw, self.id_field) {
                Ok(e) => Slot::Entry(Box::new(e)),
                Err(error) => {
                    tracing::warn!(path = %self.path.display(), key, error, "unreadable registry entry kept as is");
                    Slot::Unreadable {
                        raw: raw.clone(),
                        error,
                    }
                }
            };
        }
    }

    /// Parse the raw entries that lack the id field, so that writing them
    /// adds it (the legacy Codex `session_id`-only entries). Only keys are
    /// scanned; the other entries stay verbatim.
    pub(super) fn normalize(&mut self) {
        for i in 0..self.sessions.len() {
            if let Slot::Raw(raw) = &self.sessions[i].1 {
                let mut de = serde_json::Deserializer::from_str(raw.get());
                // Not an object (`Err`): left as is, like any unreadable entry.
                if matches!(KeyProbe(self.id_field).deserialize(&mut de), Ok(false)) {
                    self.resolve(i);
                }
            }
        }
    }

    pub(super) fn resolve_all(&mut self) {
        for i in 0..self.sessions.len() {
            self.resolve(i);
        }
    }

    /// The entry at `i`, parsed; an unreadable one is an error.
    pub(super) fn entry_mut(&mut self, i: usize) -> Result<&mut Entry, RegistryError> {
        self.resolve(i);
        let (key, slot) = &mut self.sessions[i];
        match slot {
            Slot::Entry(e) => Ok(e),
            Slot::Unreadable { error, .. } => Err(corrupt_entry(&self.path, key, error)),
            Slot::Raw(_) => Err(corrupt_entry(&self.path, key, "not parsed")),
        }
    }

    /// The readable entries, in file order (after [`Doc::resolve_all`]).
    pub(super) fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.sessions.iter().filter_map(|(_, s)| match s {
            Slot::Entry(e) => Some(&**e),
            Slot::Raw(_) | Slot::Unreadable { .. } => None,
        })
    }
}

impl Serialize for Doc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Sessions<'a>(&'a [(String, Slot)]);
        impl Serialize for Sessions<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for (k, v) in self.0 {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
        let mut m = s.serialize_map(Some(1 + self.other.len()))?;
        m.serialize_entry("sessions", &Sessions(&self.sessions))?;
        for (k, v) in &self.other {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

fn corrupt_entry(path: &Path, id: &str, error: &str) -> RegistryError {
    RegistryError::Corrupt {
        path: path.to_path_buf(),
        message: format!("entry {id:?}: {error}"),
    }
}

/// Escape every non-ASCII character as `\uXXXX` (surrogate pairs above the
/// BMP), as Python's `json.dumps` does by default, so seed scripts that read
/// the file with a non-UTF-8 locale still can. serde_json emits non-ASCII only
/// inside string literals, so this is a pure re-encoding of the same JSON.
pub(super) fn ascii_escape(json: &str) -> String {
    if json.is_ascii() {
        return json.to_owned();
    }
    let mut out = String::with_capacity(json.len() + json.len() / 4);
    let mut buf = [0_u16; 2];
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            for unit in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn ascii_escape_matches_python() {
        // json.dumps("é😀") == '"\\u00e9\\ud83d\\ude00"'
        assert_eq!(ascii_escape("\"é😀\""), "\"\\u00e9\\ud83d\\ude00\"");
        let v: Value = serde_json::from_str(&ascii_escape("{\"k\": \"日本\"}")).unwrap_or_default();
        assert_eq!(v["k"], "日本");
    }
}
