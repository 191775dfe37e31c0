//! One registry entry: its status, its fields (the seed's, ours, and any other
//! tool's, kept), how it is written (seed fields first, in the seed's order)
//! and how an [`EntryUpdate`] changes it.

use std::path::PathBuf;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::core::store::timefmt;

/// How many characters of the task the seed kept as `task_summary`.
pub const TASK_SUMMARY_CHARS: usize = 200;

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
    /// The runner itself died or failed (the run record says `crashed`).
    Crashed,
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
            Status::Crashed => "crashed",
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
            "crashed" => Status::Crashed,
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
    /// An entry with only its id (`id_field` names the id's key).
    pub fn new(id: &str, id_field: &'static str) -> Self {
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
    pub(super) fn from_stored(
        key: &str,
        raw: &RawValue,
        id_field: &'static str,
    ) -> Result<Self, String> {
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

    pub(super) fn apply(&mut self, u: &EntryUpdate) {
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
