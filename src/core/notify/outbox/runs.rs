//! Every run's outbox at once: which runs left something undelivered
//! ([`runs_with_pending`], for `outbox list`), and a delivery pass over each
//! of them ([`flush_all`], for `outbox flush` and the start of every run).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::channels::{AnyChannel, MessageKind};
use crate::core::error::Result;

use super::{Entry, EntryStatus, Item, Outbox, PassReport, RetryPolicy, SkippedLine, StaleCheck};

/// One run's outbox as `outbox list` and `flush` see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunOutbox {
    /// The run directory.
    pub run_dir: PathBuf,
    /// Items not delivered yet, in order.
    pub pending: Vec<Entry>,
    /// Lines of the log that could not be read (skipped).
    pub skipped_lines: Vec<SkippedLine>,
    /// Items given up (a wake skipped as stale, a permanent failure), in
    /// order; superseded heartbeats are left out.
    pub abandoned: Vec<Entry>,
    /// Why the outbox could not be read at all.
    pub error: Option<String>,
}

/// Every run directory under `runs_dir` whose outbox has pending items,
/// items given up (see [`RunOutbox::abandoned`]), unreadable lines, or
/// cannot be read at all (never silently left out).
pub fn runs_with_pending(runs_dir: &Path) -> Vec<RunOutbox> {
    let Ok(read) = std::fs::read_dir(runs_dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = read
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .filter_map(|run_dir| {
            let (entries, skipped_lines, error) = match Outbox::new(&run_dir).replay() {
                Ok(r) => (r.entries, r.skipped, None),
                Err(e) => (Vec::new(), Vec::new(), Some(e.to_string())),
            };
            let (pending, abandoned): (Vec<Entry>, Vec<Entry>) = entries
                .into_iter()
                .filter(|e| e.status != EntryStatus::Delivered && !is_superseded_heartbeat(e))
                .partition(|e| e.status == EntryStatus::Pending);
            let empty = pending.is_empty()
                && abandoned.is_empty()
                && skipped_lines.is_empty()
                && error.is_none();
            (!empty).then_some(RunOutbox {
                run_dir,
                pending,
                skipped_lines,
                abandoned,
                error,
            })
        })
        .collect()
}

/// A heartbeat given up because a newer one replaced it (nothing lost).
fn is_superseded_heartbeat(e: &Entry) -> bool {
    e.status == EntryStatus::Abandoned
        && matches!(&e.item, Item::Message(m) if m.kind == MessageKind::Heartbeat)
}

/// What `flush` did for one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunFlush {
    /// Run id (the run directory's name).
    pub run_id: String,
    /// The pass, or `None` when another process was delivering it.
    pub report: Option<PassReport>,
    /// Items another process (the run's runner, or another flush) holds and
    /// is delivering: not left behind, and not this flush's to send.
    pub held: usize,
    /// Why the run could not be flushed.
    pub error: Option<String>,
}

/// Deliver what every run under `runs_dir` left pending (except `skip`),
/// building each run's channel with `build(channel_type, run_dir)`. Stale
/// wakes are abandoned.
pub async fn flush_all(
    runs_dir: &Path,
    skip: Option<&str>,
    policy: &RetryPolicy,
    build: &(dyn Fn(&str, &Path) -> Result<AnyChannel> + Sync),
) -> Vec<RunFlush> {
    let mut out = Vec::new();
    for run in runs_with_pending(runs_dir) {
        let dir = run.run_dir;
        let run_id = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if skip == Some(run_id.as_str()) {
            continue;
        }
        if let Some(error) = run.error {
            out.push(RunFlush {
                run_id,
                report: None,
                held: 0,
                error: Some(error),
            });
            continue;
        }
        let Some(channel_type) = run.pending.first().map(|e| e.channel.clone()) else {
            continue;
        };
        let items = run.pending.len();
        let channel = match build(&channel_type, &dir) {
            Ok(c) => c,
            Err(e) => {
                out.push(RunFlush {
                    run_id,
                    report: None,
                    held: 0,
                    error: Some(e.to_string()),
                });
                continue;
            }
        };
        let stale = crate::core::store::run::RunDir::open(dir.clone())
            .read_record()
            .ok()
            .map(|r| StaleCheck::of(runs_dir, &r));
        let result = Outbox::new(&dir)
            .deliver(&channel, policy, &mut |e| {
                stale.as_ref().and_then(|s| s.veto(e))
            })
            .await;
        out.push(match result {
            Ok(report) => RunFlush {
                run_id,
                held: if report.is_none() { items } else { 0 },
                report,
                error: None,
            },
            Err(e) => RunFlush {
                run_id,
                report: None,
                held: 0,
                error: Some(e.to_string()),
            },
        });
    }
    out
}
