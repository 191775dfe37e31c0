//! Which wakes are stale. A run's wake is skipped only when a later run of
//! the same resume/iterate chain (one agent session, [`RunRecord::chain`])
//! already exists: the orchestrating agent has moved on, and waking it about
//! the older run would mislead it. Nothing else makes a wake stale: runs of
//! other chains that share the chat (another project, a worktree sibling, a
//! queued or overlapping run) are each woken.
//!
//! The skip is written into the outbox as the wake's `abandoned` line with a
//! reason made by [`stale_reason`]; [`superseded_by`] reads the later run
//! back from it (for `show` and `outbox list`).

use std::path::{Path, PathBuf};

use super::outbox::{Entry, Item};
use crate::core::store::run::{RunRecord, list_runs};

/// How every skip reason starts.
pub const STALE_PREFIX: &str = "stale: ";

const LATER_RUN: &str = "a later run of the same chain (";

/// The reason a wake is skipped because `later` (a run id) continues its chain.
pub fn stale_reason(later: &str) -> String {
    format!("{STALE_PREFIX}{LATER_RUN}{later}) exists; the agent has moved on")
}

/// The later run named by a skip reason ([`stale_reason`]), if it is one.
pub fn superseded_by(reason: &str) -> Option<&str> {
    let rest = reason.strip_prefix(STALE_PREFIX)?.strip_prefix(LATER_RUN)?;
    rest.split_once(')').map(|(id, _)| id)
}

/// A skip reason without its prefix, for people: `a later run of the same
/// chain (…) exists; the agent has moved on`.
pub fn skip_words(reason: &str) -> &str {
    reason.strip_prefix(STALE_PREFIX).unwrap_or(reason)
}

/// Decides whether one run's wake is stale: whether a later run of its chain
/// exists among the runs under `runs_dir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleCheck {
    /// Directory of all run directories.
    pub runs_dir: PathBuf,
    /// This run.
    pub run_id: String,
    /// The root of this run's chain.
    pub chain_root: String,
    /// This run's creation time.
    pub created_at: i64,
    /// This run's creation time in milliseconds (0 when unknown).
    pub created_ms: i64,
}

impl StaleCheck {
    /// The check for the run of `record`.
    pub fn of(runs_dir: &Path, record: &RunRecord) -> Self {
        Self {
            runs_dir: runs_dir.to_path_buf(),
            run_id: record.run_id.clone(),
            chain_root: record.chain().to_owned(),
            created_at: record.created_at,
            created_ms: record.created_ms,
        }
    }

    /// The id of a later run of the same chain, if any (the latest).
    pub fn newer_run(&self) -> Option<String> {
        let this = (self.created_at, self.created_ms, self.run_id.as_str());
        list_runs(&self.runs_dir)
            .into_iter()
            .map(|(_, r)| r)
            .filter(|r| r.chain() == self.chain_root)
            .find(|r| (r.created_at, r.created_ms, r.run_id.as_str()) > this)
            .map(|r| r.run_id)
    }

    /// Why this run's wake is skipped now, if it is ([`stale_reason`]).
    pub fn skip_reason(&self) -> Option<String> {
        self.newer_run().map(|newer| stale_reason(&newer))
    }

    /// `before_send` for [`super::outbox::Outbox::deliver`]: abandons stale
    /// wakes.
    pub fn veto(&self, entry: &Entry) -> Option<String> {
        match &entry.item {
            Item::Wake(_) => self.skip_reason(),
            Item::Message(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::core::store::run::{RunDir, RunRecord, RunStatus};

    /// Write a record: `chain` `None` leaves `chain_root` out, as records of
    /// earlier versions do.
    fn mk(dir: &Path, id: &str, ms: i64, key: &str, chain: Option<&str>) -> RunRecord {
        let run = RunDir::create(dir, id).unwrap();
        let mut json = serde_json::json!({
            "run_id": id, "backend": "claude", "status": RunStatus::Running, "label": null,
            "project": "/p", "task_summary": "t", "session_key": key, "resumed_from": null,
            "resume_id": null, "model": null, "cli_version": null, "runner_pid": 1,
            "agent_pid": null, "created_at": ms / 1000, "created_ms": ms, "started_at": null,
            "ended_at": null, "updated_at": 100, "exit_code": null,
            "usage": {"input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0},
            "cost_usd": null, "tool_calls": 0, "timeout_secs": 1, "output_file": "/o",
            "error": null, "runner_cpu_ms": null, "runner_peak_rss_kb": null
        });
        if let Some(c) = chain {
            json["chain_root"] = c.into();
        }
        let rec: RunRecord = serde_json::from_value(json).unwrap();
        run.write_record(&rec).unwrap();
        rec
    }

    const A: &str = "20261206-100000-aaaaaa";
    const B: &str = "20261206-100005-bbbbbb";

    #[test]
    fn a_later_run_of_the_same_chain_makes_the_wake_stale() {
        let tmp = tempfile::tempdir().unwrap();
        let first = mk(tmp.path(), A, 100_000, "k", Some(A));
        mk(tmp.path(), B, 105_000, "k", Some(A));
        let check = StaleCheck::of(tmp.path(), &first);
        assert_eq!(check.newer_run().as_deref(), Some(B));
        let reason = check.skip_reason().unwrap();
        assert_eq!(superseded_by(&reason), Some(B));
        assert!(reason.starts_with(STALE_PREFIX));
    }

    #[test]
    fn later_runs_with_the_same_key_in_other_chains_are_not_stale() {
        let tmp = tempfile::tempdir().unwrap();
        let first = mk(tmp.path(), A, 100_000, "k", Some(A));
        // Another project, a queued run, a worktree sibling: each its own chain.
        for (id, ms) in [
            ("20261206-100001-c", 101_000),
            ("20261206-100002-d", 102_000),
        ] {
            mk(tmp.path(), id, ms, "k", Some(id));
        }
        assert_eq!(StaleCheck::of(tmp.path(), &first).newer_run(), None);
        // The last run of a chain is never stale, however old its key's runs.
        let last = mk(tmp.path(), B, 105_000, "other", Some(A));
        assert_eq!(StaleCheck::of(tmp.path(), &last).newer_run(), None);
        assert_eq!(
            StaleCheck::of(tmp.path(), &first).newer_run().as_deref(),
            Some(B)
        );
    }

    #[test]
    fn records_without_a_chain_are_their_own_chain() {
        let tmp = tempfile::tempdir().unwrap();
        let old = mk(tmp.path(), A, 100_000, "k", None);
        mk(tmp.path(), "20261206-100001-c", 101_000, "k", None);
        assert_eq!(old.chain(), A);
        assert_eq!(StaleCheck::of(tmp.path(), &old).newer_run(), None);
        // A later run that resumed it names it as its root.
        mk(tmp.path(), B, 105_000, "k", Some(A));
        assert_eq!(
            StaleCheck::of(tmp.path(), &old).newer_run().as_deref(),
            Some(B)
        );
    }

    #[test]
    fn runs_of_the_same_second_are_ordered_by_milliseconds() {
        let tmp = tempfile::tempdir().unwrap();
        // The later run has the smaller random suffix.
        let a = mk(
            tmp.path(),
            "19700101-000140-ffffff",
            100_100,
            "k",
            Some("root"),
        );
        let b = mk(
            tmp.path(),
            "19700101-000140-000000",
            100_900,
            "k",
            Some("root"),
        );
        assert_eq!(
            StaleCheck::of(tmp.path(), &a).newer_run().as_deref(),
            Some("19700101-000140-000000")
        );
        assert_eq!(StaleCheck::of(tmp.path(), &b).newer_run(), None);
    }

    #[test]
    fn other_reasons_name_no_later_run() {
        assert_eq!(superseded_by("HTTP 400: bad request"), None);
        assert_eq!(superseded_by("stale: something else"), None);
    }
}
