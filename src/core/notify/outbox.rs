//! The durable outbox: every message and wake of a run is recorded on disk
//! before it is sent, and marked delivered when the channel confirms.
//!
//! Each run directory has an append-only `outbox.jsonl`. A line is one of:
//! - `enqueued`: the item (message or wake), its idempotency key and sequence;
//! - `attempt`: a send is about to start (a crash after this line leaves the
//!   item "in doubt": it is sent again with the same idempotency key, which the
//!   gateway uses to drop the repeat);
//! - `delivered`: the channel confirmed (with the message id it returned);
//! - `failed`: an attempt failed (retryable or not, and when to try again);
//! - `abandoned`: given up (permanent failure, superseded heartbeat, a wake
//!   skipped as stale: see [`StaleCheck`]).
//!
//! Lines are appended with one `write` each (`O_APPEND`), so the file is valid
//! after a crash at any point. The log is read line by line as bytes: a line
//! that cannot be read (torn by a crash or a full disk, cut in the middle of a
//! multi-byte character, glued to the next append) is skipped and reported
//! ([`Replay::skipped`]), and every other line still counts. Items of
//! one run are delivered strictly in order: the run has one destination, and a
//! later message (or the wake) never overtakes an earlier one. Only one process
//! delivers a given outbox at a time (an exclusive lock on `outbox.lock`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::channels::{Outgoing, Wake};
use crate::core::error::{Error, Result};
use crate::core::now_secs;
use crate::core::store::fsutil;

pub use super::stale::StaleCheck;
pub use deliver::{PassReport, RetryPolicy};
pub use runs::{RunFlush, RunOutbox, flush_all, runs_with_pending};

mod deliver;
mod runs;

/// File name of the outbox in a run directory.
pub const OUTBOX_FILE_NAME: &str = "outbox.jsonl";
/// File name of the outbox lock in a run directory.
pub const OUTBOX_LOCK_NAME: &str = "outbox.lock";

/// One thing to deliver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "item", rename_all = "snake_case")]
pub enum Item {
    /// A message to the human.
    Message(Outgoing),
    /// A wake of the orchestrating agent.
    Wake(Wake),
}

impl Item {
    /// The item's idempotency key.
    pub fn key(&self) -> &str {
        match self {
            Item::Message(m) => &m.idempotency_key,
            Item::Wake(w) => &w.idempotency_key,
        }
    }
}

/// One line of `outbox.jsonl`.
#[allow(clippy::large_enum_variant)] // short-lived, one at a time
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Line {
    /// An item was recorded.
    Enqueued {
        /// Idempotency key.
        key: String,
        /// Position in the run's queue.
        seq: u64,
        /// When.
        at: i64,
        /// Channel type that must deliver it (`console`, `telegram-direct`, …).
        channel: String,
        /// The item.
        #[serde(flatten)]
        item: Item,
    },
    /// A send started.
    Attempt {
        /// Idempotency key.
        key: String,
        /// When.
        at: i64,
    },
    /// The channel confirmed.
    Delivered {
        /// Idempotency key.
        key: String,
        /// When.
        at: i64,
        /// Message id returned by the channel.
        message_id: Option<String>,
    },
    /// An attempt failed.
    Failed {
        /// Idempotency key.
        key: String,
        /// When.
        at: i64,
        /// The error (never contains secrets).
        error: String,
        /// Whether a later attempt may succeed.
        retryable: bool,
    },
    /// Given up.
    Abandoned {
        /// Idempotency key.
        key: String,
        /// When.
        at: i64,
        /// Why.
        reason: String,
    },
}

/// The state of one item, replayed from the log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// Idempotency key.
    pub key: String,
    /// Position in the queue.
    pub seq: u64,
    /// Channel type.
    pub channel: String,
    /// The item.
    pub item: Item,
    /// When it was recorded.
    pub enqueued_at: i64,
    /// Attempts started.
    pub attempts: u32,
    /// An attempt started and has no outcome (the process died mid-send).
    pub in_doubt: bool,
    /// The last error.
    pub last_error: Option<String>,
    /// Status.
    pub status: EntryStatus,
    /// Message id once delivered.
    pub message_id: Option<String>,
}

/// Where an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    /// Not delivered yet.
    Pending,
    /// Delivered.
    Delivered,
    /// Given up.
    Abandoned,
}

/// A line of `outbox.jsonl` that could not be read, and was skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedLine {
    /// Its line number (1-based).
    pub line: usize,
    /// Its length in bytes.
    pub bytes: usize,
    /// Why it could not be read.
    pub reason: String,
}

/// The outbox as replayed from its log.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Replay {
    /// Every item with its state, in queue order.
    pub entries: Vec<Entry>,
    /// The lines that could not be read.
    pub skipped: Vec<SkippedLine>,
}

/// A run's outbox.
#[derive(Debug, Clone)]
pub struct Outbox {
    path: PathBuf,
    lock_path: PathBuf,
}

impl Outbox {
    /// The outbox of the run directory `run_dir`.
    pub fn new(run_dir: &Path) -> Self {
        Self {
            path: run_dir.join(OUTBOX_FILE_NAME),
            lock_path: run_dir.join(OUTBOX_LOCK_NAME),
        }
    }

    /// Path of `outbox.jsonl`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn append(&self, line: &Line) -> Result<()> {
        let text = serde_json::to_string(line)
            .map_err(|e| Error::io("encoding an outbox line", std::io::Error::other(e)))?;
        fsutil::append_line(&self.path, &text)
            .map_err(|e| Error::io(format!("writing {}", self.path.display()), e))
    }

    /// Record `item` for delivery through the channel type `channel`. The item
    /// is on disk when this returns.
    ///
    /// # Errors
    /// I/O errors.
    pub fn enqueue(&self, channel: &str, item: Item) -> Result<()> {
        let seq = self.entries()?.len() as u64 + 1;
        self.append(&Line::Enqueued {
            key: item.key().to_owned(),
            seq,
            at: now_secs(),
            channel: channel.to_owned(),
            item,
        })
    }

    /// Record that `key` was given up.
    ///
    /// # Errors
    /// I/O errors.
    pub fn abandon(&self, key: &str, reason: &str) -> Result<()> {
        self.append(&Line::Abandoned {
            key: key.to_owned(),
            at: now_secs(),
            reason: reason.to_owned(),
        })
    }

    /// Replay the log: every item with its state, in queue order. A missing
    /// file is an empty outbox; an unreadable line is skipped (logged, and
    /// listed by [`Outbox::replay`]).
    ///
    /// # Errors
    /// I/O errors other than "not found".
    pub fn entries(&self) -> Result<Vec<Entry>> {
        Ok(self.replay()?.entries)
    }

    /// Replay the log, with the lines that could not be read.
    ///
    /// # Errors
    /// I/O errors other than "not found": an outbox that cannot be read is an
    /// error, never an empty outbox.
    pub fn replay(&self) -> Result<Replay> {
        use std::io::BufRead;
        let io_err = |e| Error::io(format!("reading {}", self.path.display()), e);
        let file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Replay::default()),
            Err(e) => return Err(io_err(e)),
        };
        let mut reader = std::io::BufReader::new(file);
        let mut lines = Vec::new();
        let mut skipped = Vec::new();
        let mut buf = Vec::new();
        for number in 1.. {
            buf.clear();
            if reader.read_until(b'\n', &mut buf).map_err(io_err)? == 0 {
                break;
            }
            let raw = buf.strip_suffix(b"\n").unwrap_or(&buf);
            if raw.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match parse_line(raw) {
                Ok(line) => lines.push(line),
                Err((recovered, reason)) => {
                    tracing::warn!(
                        "{}: line {number} ({} bytes) skipped: {reason}",
                        self.path.display(),
                        raw.len()
                    );
                    skipped.push(SkippedLine {
                        line: number,
                        bytes: raw.len(),
                        reason,
                    });
                    lines.extend(recovered);
                }
            }
        }
        Ok(Replay {
            entries: replay_lines(lines),
            skipped,
        })
    }

    /// Items not yet delivered nor abandoned, in order.
    ///
    /// # Errors
    /// I/O errors.
    pub fn pending(&self) -> Result<Vec<Entry>> {
        Ok(self
            .entries()?
            .into_iter()
            .filter(|e| e.status == EntryStatus::Pending)
            .collect())
    }

    /// Whether another process (the run's own runner, or another flush) holds
    /// the outbox now, delivering it. A hint for what to say: [`Self::deliver`]
    /// decides by taking the lock itself.
    pub fn is_held(&self) -> bool {
        let Ok(file) = fsutil::open_append(&self.lock_path) else {
            return false;
        };
        let mut lock = fd_lock::RwLock::new(file);
        lock.try_write().is_err()
    }
}

/// The state of every item after `lines`, in queue order.
fn replay_lines(lines: Vec<Line>) -> Vec<Entry> {
    let mut by_key: BTreeMap<String, Entry> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for line in lines {
        match line {
            Line::Enqueued {
                key,
                seq,
                at,
                channel,
                item,
            } => {
                if by_key.contains_key(&key) {
                    continue;
                }
                order.push(key.clone());
                by_key.insert(
                    key.clone(),
                    Entry {
                        key,
                        seq,
                        channel,
                        item,
                        enqueued_at: at,
                        attempts: 0,
                        in_doubt: false,
                        last_error: None,
                        status: EntryStatus::Pending,
                        message_id: None,
                    },
                );
            }
            Line::Attempt { key, .. } => {
                if let Some(e) = by_key.get_mut(&key) {
                    e.attempts += 1;
                    e.in_doubt = true;
                }
            }
            Line::Delivered {
                key, message_id, ..
            } => {
                if let Some(e) = by_key.get_mut(&key) {
                    e.in_doubt = false;
                    e.status = EntryStatus::Delivered;
                    e.message_id = message_id;
                }
            }
            Line::Failed { key, error, .. } => {
                if let Some(e) = by_key.get_mut(&key) {
                    e.in_doubt = false;
                    e.last_error = Some(error);
                }
            }
            Line::Abandoned { key, reason, .. } => {
                if let Some(e) = by_key.get_mut(&key) {
                    if e.status == EntryStatus::Pending {
                        e.in_doubt = false;
                        e.status = EntryStatus::Abandoned;
                        e.last_error = Some(reason);
                    }
                }
            }
        }
    }
    order
        .into_iter()
        .filter_map(|k| by_key.remove(&k))
        .collect()
}

/// Parse one line; on failure, the line that follows a torn prefix when one
/// is glued to it (an append after a torn one), and why the line is bad.
/// `{"op":"` cannot occur inside a JSON string (its quotes would be escaped),
/// so where it starts after the first byte, a new line starts.
#[allow(clippy::result_large_err)] // one line at a time, short-lived (as `Line` itself)
fn parse_line(raw: &[u8]) -> std::result::Result<Line, (Option<Line>, String)> {
    match serde_json::from_slice::<Line>(raw) {
        Ok(line) => Ok(line),
        Err(e) => {
            const START: &[u8] = b"{\"op\":\"";
            let recovered = memchr::memmem::rfind(raw, START)
                .filter(|&at| at > 0)
                .and_then(|at| serde_json::from_slice::<Line>(&raw[at..]).ok());
            let reason = match std::str::from_utf8(raw) {
                Err(_) => format!("not valid UTF-8 (torn?): {e}"),
                Ok(_) => e.to_string(),
            };
            Err((recovered, reason))
        }
    }
}
