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
//!
//! Files: this one is the [`Registry`] (locking, loading, atomic writes and
//! the queries); `entry` is one entry and its update; `doc` the file in memory.
//! The text table of `clawrun sessions` is the binary's (`cli/render`).

mod doc;
mod entry;

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::backends::Backend;
use crate::core::error::RegistryError;
use crate::core::store::fsutil;
use crate::core::store::paths::Paths;
use crate::core::store::timefmt;

use doc::{Doc, RawDoc, Slot, ascii_escape};
pub use entry::{Entry, EntryUpdate, Status};

/// How many times a registry that does not parse is re-read (it may be
/// mid-write by a seed script, which writes in place) before it is corrupt.
const PARSE_ATTEMPTS: u32 = 3;
/// Pause between those re-reads.
const PARSE_RETRY_DELAY: Duration = Duration::from_millis(25);

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
        let lock_file =
            crate::core::store::fsutil::open_private_rw(&lock_path).map_err(|source| {
                RegistryError::Io {
                    path: lock_path.clone(),
                    source,
                }
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
            fsutil::write_atomic_through_links(&self.path, text.as_bytes()).map_err(|source| {
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
/// Newest `last_accessed` first; entries without a usable time last; ties by id.
fn sort_newest_first(entries: &mut [Entry]) {
    entries.sort_by_cached_key(|e| {
        // `None < Some`, so reversed, entries without a time come last.
        (std::cmp::Reverse(e.last_accessed_micros()), e.id.clone())
    });
}
