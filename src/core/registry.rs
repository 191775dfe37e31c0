//! The seed-compatible session registries: `<openclaw home>/claude_sessions.json`
//! and `codex_sessions.json`, `{"sessions": {<id>: entry}}`.
//!
//! The seed scripts and other tools read (and may write) these files, so the
//! schema stays theirs: the seed fields are always written, in the seed's
//! order, with Python's `indent=2` layout and ASCII-only escapes; our new
//! fields are added; fields and top-level keys we do not know are kept.
//!
//! What the seed got wrong (seed-behaviour E.1/E.2) and this module does not:
//! - **Writes** take an exclusive `flock` on a sibling `<registry>.lock` (0600;
//!   a sibling, so the rename below does not swap the locked inode away), then
//!   read → parse → mutate → write a temp file in the same directory, fsync,
//!   rename (mode 0600). Concurrent writers, threads or processes, never lose
//!   each other's entries.
//! - **Reads** take no lock: every writer of ours renames a complete file into
//!   place, so a reader sees the old or the new file, never half of one. (A
//!   seed script still writes in place; a parse failure is therefore re-read a
//!   few times before it counts, see [`RegistryError::Corrupt`].) Reads never
//!   write, so `get` does not bump `last_accessed`.
//! - A file that does not parse, or has no `sessions` object, is
//!   [`RegistryError::Corrupt`] and is **never** overwritten. A single entry we
//!   cannot read (not an object, or a known field of the wrong type) is kept
//!   byte for byte, skipped by listings, and refused by updates of that id.
//! - Entries a write does not change are copied through verbatim (as
//!   `RawValue`s), so other tools' data is not re-encoded, and a write costs
//!   one scan of the file, not a full parse of every entry.
//! - An update keeps `created_at`, and keeps every field the update leaves
//!   `None` (so a resume keeps its label); `null` labels are fine everywhere;
//!   label search prefers exact matches and then the newest.
//!
//! The map key is the entry's id. The id field inside the entry (`session_id`
//! for Claude, `thread_id` for Codex) is written from the key, on every write
//! to any entry that lacks it. A legacy Codex entry that only has `session_id`
//! thus gains `thread_id` (as the seed's `_normalize_registry` did); its
//! `session_id` is kept as an unknown field. Reads return the normalized
//! entry without writing.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::backends::Backend;
use crate::core::error::RegistryError;
use crate::core::fsutil;
use crate::core::paths::Paths;
use crate::core::timefmt;

/// How many characters of the task the seed kept as `task_summary`.
pub const TASK_SUMMARY_CHARS: usize = 200;
/// How many times a registry that does not parse is re-read (it may be
/// mid-write by a seed script, which writes in place) before it is corrupt.
const PARSE_ATTEMPTS: u32 = 3;
/// Pause between those re-reads.
const PARSE_RETRY_DELAY: Duration = Duration::from_millis(25);

/// Names of the fields [`Entry`] owns; anything else is preserved in `extra`.
const KNOWN_FIELDS: [&str; 16] = [
    "label",
    "task_summary",
    "project_dir",
    "created_at",
    "last_accessed",
    "status",
    "openclaw_session",
    "output_file",
    "cost_estimate",
    "backend",
    "run_id",
    "cost_usd",
    "input_tokens",
    "output_tokens",
    "duration_s",
    "resumed_from",
];

/// The status of a registry entry. Values written by other tools that we do
/// not know are kept as [`Status::Other`] and written back unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Status {
    /// The run is in progress (written at start).
    Running,
    /// The agent finished its turn successfully.
    Completed,
    /// The agent or the run failed.
    Failed,
    /// The run hit its wall-clock timeout.
    Timeout,
    /// The run was stopped by a signal (ours or the user's).
    Killed,
    /// A resume was asked for but the CLI did not know the session.
    ResumeFailed,
    /// The CLI moved the conversation to a new session id mid-run: resume
    /// that one instead (its entry's `resumed_from` names this one).
    Replaced,
    /// A value some other tool wrote.
    Other(String),
}

impl Status {
    /// The string stored in the file.
    pub fn as_str(&self) -> &str {
        match self {
            Status::Running => "running",
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Timeout => "timeout",
            Status::Killed => "killed",
            Status::ResumeFailed => "resume_failed",
            Status::Replaced => "replaced",
            Status::Other(s) => s,
        }
    }
}

impl From<String> for Status {
    fn from(s: String) -> Self {
        match s.as_str() {
            "running" => Status::Running,
            "completed" => Status::Completed,
            "failed" => Status::Failed,
            "timeout" => Status::Timeout,
            "killed" => Status::Killed,
            "resume_failed" => Status::ResumeFailed,
            "replaced" => Status::Replaced,
            _ => Status::Other(s),
        }
    }
}

impl From<Status> for String {
    fn from(s: Status) -> Self {
        match s {
            Status::Other(s) => s,
            known => known.as_str().to_owned(),
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One registry entry. The seed fields are `Option` because other tools may
/// have left them out or written `null`; they are always written back (as
/// `null` when `None`), like the seed does. New fields are written only when
/// set. Serializing an `Entry` (e.g. for `--json`) gives exactly the object
/// stored in the file, id field first.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Entry {
    /// The id (the map key): Claude `session_id` / Codex `thread_id`. Written
    /// into the entry under [`Entry::id_field`].
    #[serde(skip)]
    pub id: String,
    /// The id field name of this entry's registry.
    #[serde(skip)]
    id_field: &'static str,
    /// Human label (`--label`); `null` when none was given.
    #[serde(default)]
    pub label: Option<String>,
    /// The first 200 characters of the task.
    #[serde(default)]
    pub task_summary: Option<String>,
    /// Absolute project directory.
    #[serde(default)]
    pub project_dir: Option<String>,
    /// Naive local ISO time of the first registration.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Naive local ISO time of the last write.
    #[serde(default)]
    pub last_accessed: Option<String>,
    /// Run status.
    #[serde(default)]
    pub status: Option<Status>,
    /// The OpenClaw session key the run reported to.
    #[serde(default)]
    pub openclaw_session: Option<String>,
    /// Where the run's result text was written.
    #[serde(default)]
    pub output_file: Option<String>,
    /// Seed field, always `null` there; kept as found for compatibility. Our
    /// cost goes to `cost_usd`.
    #[serde(default)]
    pub cost_estimate: Option<Value>,
    /// Backend name ("claude" | "codex").
    #[serde(default)]
    pub backend: Option<String>,
    /// The clawrun run id of the latest run on this session.
    #[serde(default)]
    pub run_id: Option<String>,
    /// Cost of the latest run in USD, when the CLI reports it.
    #[serde(default)]
    pub cost_usd: Option<f64>,
    /// Input tokens of the latest run.
    #[serde(default)]
    pub input_tokens: Option<u64>,
    /// Output tokens of the latest run.
    #[serde(default)]
    pub output_tokens: Option<u64>,
    /// Wall-clock duration of the latest run, seconds.
    #[serde(default)]
    pub duration_s: Option<f64>,
    /// The id this session was resumed or forked from.
    #[serde(default)]
    pub resumed_from: Option<String>,
    /// Fields other tools wrote; preserved on rewrite.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Entry {
    fn new(id: &str, id_field: &'static str) -> Self {
        Entry {
            id: id.to_owned(),
            id_field,
            label: None,
            task_summary: None,
            project_dir: None,
            created_at: None,
            last_accessed: None,
            status: None,
            openclaw_session: None,
            output_file: None,
            cost_estimate: None,
            backend: None,
            run_id: None,
            cost_usd: None,
            input_tokens: None,
            output_tokens: None,
            duration_s: None,
            resumed_from: None,
            extra: Map::new(),
        }
    }

    /// The id field name: "session_id" | "thread_id".
    pub fn id_field(&self) -> &'static str {
        self.id_field
    }

    /// `last_accessed` as Unix microseconds, when it parses.
    pub fn last_accessed_micros(&self) -> Option<i64> {
        self.last_accessed
            .as_deref()
            .and_then(timefmt::parse_iso_micros)
    }

    /// Build an entry from a stored value; `Err` says why it does not fit.
    fn from_stored(key: &str, raw: &RawValue, id_field: &'static str) -> Result<Self, String> {
        let mut entry: Entry = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
        if let Some(stored) = entry.extra.remove(id_field) {
            if stored.as_str() != Some(key) {
                tracing::warn!(key, %stored, id_field, "registry entry id differs from its key; the key wins");
            }
        }
        entry.id = key.to_owned();
        entry.id_field = id_field;
        Ok(entry)
    }

    fn apply(&mut self, u: &EntryUpdate) {
        fn set<T: Clone>(slot: &mut Option<T>, v: &Option<T>) {
            if let Some(v) = v {
                *slot = Some(v.clone());
            }
        }
        set(&mut self.label, &u.label);
        if let Some(task) = &u.task {
            self.task_summary = Some(task.chars().take(TASK_SUMMARY_CHARS).collect());
        }
        if let Some(dir) = &u.project_dir {
            // Not canonicalized: the seed stored `Path.resolve()`, but a
            // symlinked project is still the same project to the user.
            let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
            self.project_dir = Some(abs.to_string_lossy().into_owned());
        }
        set(&mut self.status, &u.status);
        set(&mut self.openclaw_session, &u.openclaw_session);
        if let Some(out) = &u.output_file {
            self.output_file = Some(out.to_string_lossy().into_owned());
        }
        set(&mut self.run_id, &u.run_id);
        set(&mut self.cost_usd, &u.cost_usd);
        set(&mut self.input_tokens, &u.input_tokens);
        set(&mut self.output_tokens, &u.output_tokens);
        set(&mut self.duration_s, &u.duration_s);
        set(&mut self.resumed_from, &u.resumed_from);
    }
}

impl Serialize for Entry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(self.id_field, &self.id)?;
        // Seed fields: always present, in the seed's order.
        m.serialize_entry("label", &self.label)?;
        m.serialize_entry("task_summary", &self.task_summary)?;
        m.serialize_entry("project_dir", &self.project_dir)?;
        m.serialize_entry("created_at", &self.created_at)?;
        m.serialize_entry("last_accessed", &self.last_accessed)?;
        m.serialize_entry("status", &self.status)?;
        m.serialize_entry("openclaw_session", &self.openclaw_session)?;
        m.serialize_entry("output_file", &self.output_file)?;
        m.serialize_entry("cost_estimate", &self.cost_estimate)?;
        // New fields: only when known.
        fn opt<M: SerializeMap, T: Serialize>(
            m: &mut M,
            k: &str,
            v: &Option<T>,
        ) -> Result<(), M::Error> {
            match v {
                Some(v) => m.serialize_entry(k, v),
                None => Ok(()),
            }
        }
        opt(&mut m, "backend", &self.backend)?;
        opt(&mut m, "run_id", &self.run_id)?;
        opt(&mut m, "cost_usd", &self.cost_usd)?;
        opt(&mut m, "input_tokens", &self.input_tokens)?;
        opt(&mut m, "output_tokens", &self.output_tokens)?;
        opt(&mut m, "duration_s", &self.duration_s)?;
        opt(&mut m, "resumed_from", &self.resumed_from)?;
        for (k, v) in &self.extra {
            // `extra` is public: never let it duplicate a key written above.
            if k != self.id_field && !KNOWN_FIELDS.contains(&k.as_str()) {
                m.serialize_entry(k, v)?;
            }
        }
        m.end()
    }
}

/// A change to an entry. `None` fields leave the stored value alone (on a
/// new entry they stay `null`/absent, except `status`, which defaults to
/// `running`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntryUpdate {
    /// Label.
    pub label: Option<String>,
    /// The full task; stored as `task_summary` (first 200 characters).
    pub task: Option<String>,
    /// Project directory; made absolute (not canonicalized).
    pub project_dir: Option<PathBuf>,
    /// Status.
    pub status: Option<Status>,
    /// OpenClaw session key.
    pub openclaw_session: Option<String>,
    /// Output file.
    pub output_file: Option<PathBuf>,
    /// clawrun run id.
    pub run_id: Option<String>,
    /// Cost in USD.
    pub cost_usd: Option<f64>,
    /// Input tokens.
    pub input_tokens: Option<u64>,
    /// Output tokens.
    pub output_tokens: Option<u64>,
    /// Duration in seconds.
    pub duration_s: Option<f64>,
    /// The id this session was resumed/forked from. On a *new* entry, `label`,
    /// `openclaw_session` and `project_dir` left `None` are inherited from
    /// that entry when it exists in the same registry.
    pub resumed_from: Option<String>,
}

/// A stored session. Entries are parsed only when needed: an upsert parses
/// the one it changes, and writes every other entry back verbatim.
#[derive(Debug, Clone)]
enum Slot {
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
struct OrderedRaw(Vec<(String, Box<RawValue>)>);

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
struct RawDoc {
    sessions: Option<OrderedRaw>,
    other: OrderedRaw,
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
struct Doc {
    path: PathBuf,
    id_field: &'static str,
    sessions: Vec<(String, Slot)>,
    other: Vec<(String, Box<RawValue>)>,
}

impl Doc {
    fn position(&self, id: &str) -> Option<usize> {
        self.sessions.iter().position(|(k, _)| k == id)
    }

    /// Parse slot `i` if it is still raw.
    fn resolve(&mut self, i: usize) {
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
    fn normalize(&mut self) {
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

    fn resolve_all(&mut self) {
        for i in 0..self.sessions.len() {
            self.resolve(i);
        }
    }

    /// The entry at `i`, parsed; an unreadable one is an error.
    fn entry_mut(&mut self, i: usize) -> Result<&mut Entry, RegistryError> {
        self.resolve(i);
        let (key, slot) = &mut self.sessions[i];
        match slot {
            Slot::Entry(e) => Ok(e),
            Slot::Unreadable { error, .. } => Err(corrupt_entry(&self.path, key, error)),
            Slot::Raw(_) => Err(corrupt_entry(&self.path, key, "not parsed")),
        }
    }

    /// The readable entries, in file order (after [`Doc::resolve_all`]).
    fn entries(&self) -> impl Iterator<Item = &Entry> {
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

/// One backend's registry file.
#[derive(Debug, Clone)]
pub struct Registry {
    path: PathBuf,
    backend: &'static str,
    id_field: &'static str,
}

impl Registry {
    /// A registry at `path` for `backend` ("claude" | "codex") whose entries
    /// carry their id under `id_field` ("session_id" | "thread_id"). Nothing
    /// is touched until the first call.
    pub fn new(path: PathBuf, backend: &'static str, id_field: &'static str) -> Self {
        Registry {
            path,
            backend,
            id_field,
        }
    }

    /// The registry of `backend` under the OpenClaw home.
    pub fn for_backend(paths: &Paths, backend: &impl Backend) -> Self {
        Self::new(
            paths.registry(backend.registry_file()),
            backend.name(),
            backend.id_field(),
        )
    }

    /// The registry file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The id field name of this registry's entries.
    pub fn id_field(&self) -> &'static str {
        self.id_field
    }

    /// The lock file next to the registry: `<registry>.lock`.
    pub fn lock_path(&self) -> PathBuf {
        let mut name = self
            .path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| OsString::from("registry"));
        name.push(".lock");
        self.path.with_file_name(name)
    }

    /// Insert or update `id` under the lock, and return the stored entry.
    ///
    /// A new entry gets `created_at = now` and status `running` unless given.
    /// An existing entry keeps `created_at` and every field `update` leaves
    /// `None` (a resume keeps its label and session key). Both get
    /// `last_accessed = now` and `backend`.
    ///
    /// # Errors
    /// [`RegistryError::Corrupt`] when the file (or this id's entry) cannot be
    /// read; the file is then left untouched. [`RegistryError::Io`] otherwise.
    pub fn upsert(&self, id: &str, update: &EntryUpdate) -> Result<Entry, RegistryError> {
        let backend = self.backend;
        self.mutate(|doc| {
            let now = timefmt::now_local_iso();
            let i = match doc.position(id) {
                Some(i) => i,
                None => {
                    let mut e = Entry::new(id, doc.id_field);
                    let parent = update.resumed_from.as_deref().and_then(|p| doc.position(p));
                    if let Some(parent) = parent.and_then(|p| doc.entry_mut(p).ok()) {
                        e.label = parent.label.clone();
                        e.openclaw_session = parent.openclaw_session.clone();
                        e.project_dir = parent.project_dir.clone();
                    }
                    e.status = Some(Status::Running);
                    doc.sessions.push((id.to_owned(), Slot::Entry(Box::new(e))));
                    doc.sessions.len() - 1
                }
            };
            let entry = doc.entry_mut(i)?;
            entry.apply(update);
            if entry.created_at.is_none() {
                entry.created_at = Some(now.clone());
            }
            entry.last_accessed = Some(now);
            entry.backend = Some(backend.to_owned());
            Ok((entry.clone(), true))
        })
    }

    /// Change an existing entry with `f` under the lock (the seed's
    /// `update_session`): `last_accessed` is bumped first, so `f` may still
    /// set it; a change of `id` is ignored. `Ok(None)` if `id` is absent
    /// (nothing is written).
    ///
    /// # Errors
    /// As [`Registry::upsert`].
    pub fn update(
        &self,
        id: &str,
        f: impl FnOnce(&mut Entry),
    ) -> Result<Option<Entry>, RegistryError> {
        self.mutate(|doc| {
            let Some(i) = doc.position(id) else {
                return Ok((None, false));
            };
            let entry = doc.entry_mut(i)?;
            entry.last_accessed = Some(timefmt::now_local_iso());
            f(entry);
            entry.id = id.to_owned();
            Ok((Some(entry.clone()), true))
        })
    }

    /// The entry for `id`. Read-only: nothing is written.
    ///
    /// # Errors
    /// [`RegistryError::Corrupt`] when the file or this entry cannot be read;
    /// [`RegistryError::Io`] otherwise. A missing file is an empty registry.
    pub fn get(&self, id: &str) -> Result<Option<Entry>, RegistryError> {
        let mut doc = self.load()?;
        match doc.position(id) {
            None => Ok(None),
            Some(i) => doc.entry_mut(i).map(|e| Some(e.clone())),
        }
    }

    /// Entries newest first by `last_accessed`, optionally only those accessed
    /// in the last `since_hours` hours (a non-finite value means no filter).
    ///
    /// Entries whose `last_accessed` is missing or does not parse cannot be
    /// placed in time: they are **kept** by the filter (never dropped
    /// silently) and listed **last**, by id. Entries that cannot be read at
    /// all are skipped (with a warning in the log).
    ///
    /// # Errors
    /// As [`Registry::get`].
    pub fn list(&self, since_hours: Option<f64>) -> Result<Vec<Entry>, RegistryError> {
        let mut doc = self.load()?;
        doc.resolve_all();
        let cutoff = since_hours
            .filter(|h| h.is_finite())
            .map(|h| timefmt::now_micros().saturating_sub((h * 3_600_000_000.0) as i64));
        let mut out: Vec<Entry> = doc
            .entries()
            .filter(|e| match (cutoff, e.last_accessed_micros()) {
                (Some(cutoff), Some(t)) => t >= cutoff,
                (Some(_), None) | (None, _) => true,
            })
            .cloned()
            .collect();
        sort_newest_first(&mut out);
        Ok(out)
    }

    /// Entries whose label matches `label`, case-insensitively (surrounding
    /// whitespace ignored): exact matches first, then substring matches, each
    /// group newest first. Entries without a label never match; an empty
    /// `label` matches nothing.
    ///
    /// # Errors
    /// As [`Registry::get`].
    pub fn find_by_label(&self, label: &str) -> Result<Vec<Entry>, RegistryError> {
        let query = label.trim().to_lowercase();
        if query.is_empty() {
            return Ok(Vec::new());
        }
        let mut doc = self.load()?;
        doc.resolve_all();
        let (mut exact, mut partial) = (Vec::new(), Vec::new());
        for e in doc.entries() {
            let Some(l) = e.label.as_deref() else {
                continue;
            };
            let l = l.trim().to_lowercase();
            if l == query {
                exact.push(e.clone());
            } else if l.contains(&query) {
                partial.push(e.clone());
            }
        }
        sort_newest_first(&mut exact);
        sort_newest_first(&mut partial);
        exact.append(&mut partial);
        Ok(exact)
    }

    /// Keep only the entries for which `keep` is true (for `gc`); returns how
    /// many were removed. Entries that cannot be read are kept and not shown
    /// to `keep`. Nothing is written when nothing is removed.
    ///
    /// # Errors
    /// As [`Registry::upsert`].
    pub fn retain(&self, mut keep: impl FnMut(&Entry) -> bool) -> Result<usize, RegistryError> {
        self.mutate(|doc| {
            doc.resolve_all();
            let before = doc.sessions.len();
            doc.sessions.retain(|(_, s)| match s {
                Slot::Entry(e) => keep(e),
                Slot::Raw(_) | Slot::Unreadable { .. } => true,
            });
            let removed = before - doc.sessions.len();
            Ok((removed, removed > 0))
        })
    }

    /// Run `f` on the parsed file under the exclusive lock; write the result
    /// when `f` says it changed something.
    fn mutate<T>(
        &self,
        f: impl FnOnce(&mut Doc) -> Result<(T, bool), RegistryError>,
    ) -> Result<T, RegistryError> {
        self.ensure_parent()?;
        let lock_path = self.lock_path();
        let lock_file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&lock_path)
            .map_err(|source| RegistryError::Io {
                path: lock_path.clone(),
                source,
            })?;
        let mut lock = fd_lock::RwLock::new(lock_file);
        let _guard = lock.write().map_err(|source| RegistryError::Io {
            path: lock_path.clone(),
            source,
        })?;
        let mut doc = self.load()?;
        let (out, changed) = f(&mut doc)?;
        if changed {
            doc.normalize();
            let json = serde_json::to_string_pretty(&doc).map_err(|e| RegistryError::Io {
                path: self.path.clone(),
                source: io::Error::other(e),
            })?;
            let mut text = ascii_escape(&json);
            text.push('\n');
            fsutil::write_atomic(&self.path, text.as_bytes()).map_err(|source| {
                RegistryError::Io {
                    path: self.path.clone(),
                    source,
                }
            })?;
        }
        Ok(out)
    }

    /// Create the registry's directory (0700) if it does not exist. An
    /// existing directory (the user's OpenClaw home) is left as it is.
    fn ensure_parent(&self) -> Result<(), RegistryError> {
        let Some(dir) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) else {
            return Ok(());
        };
        if dir.is_dir() {
            return Ok(());
        }
        fsutil::create_private_dir(dir).map_err(|source| RegistryError::Io {
            path: dir.to_path_buf(),
            source,
        })
    }

    /// Read and parse the file; missing = empty. A parse failure is retried
    /// while the bytes keep changing (a seed script writing in place).
    fn load(&self) -> Result<Doc, RegistryError> {
        let mut previous: Option<Vec<u8>> = None;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let bytes = match std::fs::read(&self.path) {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(self.empty_doc()),
                Err(source) => {
                    return Err(RegistryError::Io {
                        path: self.path.clone(),
                        source,
                    });
                }
            };
            match self.parse(&bytes) {
                Ok(doc) => return Ok(doc),
                Err(message) => {
                    let unchanged = previous.as_deref() == Some(bytes.as_slice());
                    if attempt >= PARSE_ATTEMPTS || unchanged {
                        return Err(RegistryError::Corrupt {
                            path: self.path.clone(),
                            message,
                        });
                    }
                    previous = Some(bytes);
                    std::thread::sleep(PARSE_RETRY_DELAY);
                }
            }
        }
    }

    fn empty_doc(&self) -> Doc {
        Doc {
            path: self.path.clone(),
            id_field: self.id_field,
            sessions: Vec::new(),
            other: Vec::new(),
        }
    }

    /// Check the file's shape; entries stay unparsed until needed.
    fn parse(&self, bytes: &[u8]) -> Result<Doc, String> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err("the file is empty".to_owned());
        }
        let raw: RawDoc = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let sessions = raw.sessions.ok_or("no \"sessions\" key")?;
        Ok(Doc {
            sessions: sessions
                .0
                .into_iter()
                .map(|(k, v)| (k, Slot::Raw(v)))
                .collect(),
            other: raw.other.0,
            ..self.empty_doc()
        })
    }
}

fn corrupt_entry(path: &Path, id: &str, error: &str) -> RegistryError {
    RegistryError::Corrupt {
        path: path.to_path_buf(),
        message: format!("entry {id:?}: {error}"),
    }
}

/// Newest `last_accessed` first; entries without a usable time last; ties by id.
fn sort_newest_first(entries: &mut [Entry]) {
    entries.sort_by_cached_key(|e| {
        // `None < Some`, so reversed, entries without a time come last.
        (std::cmp::Reverse(e.last_accessed_micros()), e.id.clone())
    });
}

/// Escape every non-ASCII character as `\uXXXX` (surrogate pairs above the
/// BMP), as Python's `json.dumps` does by default, so seed scripts that read
/// the file with a non-UTF-8 locale still can. serde_json emits non-ASCII only
/// inside string literals, so this is a pure re-encoding of the same JSON.
fn ascii_escape(json: &str) -> String {
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

/// A text table for `clawrun sessions`: id, status, label, age (since
/// `last_accessed`), cost, project. `id_field` names the id column.
pub fn render_table(entries: &[Entry], id_field: &str) -> String {
    render_table_at(entries, id_field, timefmt::now_micros())
}

/// Most characters of a label shown in the table.
const LABEL_WIDTH: usize = 32;

fn render_table_at(entries: &[Entry], id_field: &str, now_micros: i64) -> String {
    let header = [
        id_field.to_uppercase(),
        "STATUS".into(),
        "LABEL".into(),
        "AGE".into(),
        "COST".into(),
        "PROJECT".into(),
    ];
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|e| {
            let label = match e.label.as_deref().map(clean_cell) {
                Some(l) if l.chars().count() > LABEL_WIDTH => {
                    let mut s: String = l.chars().take(LABEL_WIDTH - 1).collect();
                    s.push('…');
                    s
                }
                Some(l) if !l.is_empty() => l,
                Some(_) | None => "-".to_owned(),
            };
            let age = e.last_accessed_micros().map_or_else(
                || "?".to_owned(),
                |t| timefmt::format_age((now_micros - t) / 1_000_000),
            );
            let cost = e
                .cost_usd
                .map_or_else(|| "-".to_owned(), |c| format!("${c:.2}"));
            [
                clean_cell(&e.id),
                e.status
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), |s| clean_cell(s.as_str())),
                label,
                age,
                cost,
                e.project_dir
                    .as_deref()
                    .map_or_else(|| "-".to_owned(), clean_cell),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', w - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Control characters (a newline in a label) would break the table.
fn clean_cell(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_escape_matches_python() {
        // json.dumps("é😀") == '"\\u00e9\\ud83d\\ude00"'
        assert_eq!(ascii_escape("\"é😀\""), "\"\\u00e9\\ud83d\\ude00\"");
        let v: Value = serde_json::from_str(&ascii_escape("{\"k\": \"日本\"}")).unwrap_or_default();
        assert_eq!(v["k"], "日本");
    }

    #[test]
    fn table_shows_dashes_for_missing_and_truncates_labels() {
        let mut a = Entry::new("abc", "session_id");
        a.label = Some("x".repeat(40));
        a.status = Some(Status::Completed);
        a.cost_usd = Some(0.123);
        a.project_dir = Some("/p".into());
        a.last_accessed = timefmt::format_local_iso(1_000_000_000_000_000);
        let b = Entry::new("d\ne", "session_id");
        let t = render_table_at(&[a, b], "session_id", 1_000_000_000_000_000 + 7_200_000_000);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3, "{t}");
        assert!(lines[0].starts_with("SESSION_ID  STATUS"), "{t}");
        assert!(lines[1].contains(&format!("{}…", "x".repeat(31))), "{t}");
        assert!(
            lines[1].contains(" 2h ") && lines[1].contains("$0.12") && lines[1].ends_with("/p"),
            "{t}"
        );
        assert!(
            lines[2].starts_with("d e ") && lines[2].contains(" ? "),
            "{t}"
        );
    }
}
