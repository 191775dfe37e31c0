//! Which runs were started on a paired node (`clawrun run --node`): one small
//! record per run under `<state dir>/node-runs/`, so `list`, `show`, `output`
//! and `kill` know which nodes to ask, and nothing asks a node otherwise.
//! `gc` forgets a record once its run is older than the run retention
//! ([`prune`]), so a node used long ago is no longer asked on every `list`.

use std::io;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::core::store::fsutil::{create_private_dir, write_atomic};
use crate::core::store::paths::Paths;

/// A run started on a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRun {
    /// The run's id on the node.
    pub run_id: String,
    /// The node's id.
    pub node_id: String,
    /// The node's display name when the run started.
    pub node_name: String,
    /// When it was started here (Unix seconds).
    pub launched_at: i64,
}

fn dir(paths: &Paths) -> PathBuf {
    paths.state_dir.join("node-runs")
}

/// Remember `run` (0600 file in a 0700 directory, written atomically).
///
/// # Errors
/// Any I/O error.
pub fn record(paths: &Paths, run: &NodeRun) -> io::Result<()> {
    if run.run_id.is_empty() || run.run_id.contains(['/', '\0']) || run.run_id.starts_with('.') {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "bad run id"));
    }
    let d = dir(paths);
    create_private_dir(&d)?;
    let body = serde_json::to_vec_pretty(run).map_err(io::Error::other)?;
    write_atomic(&file(paths, &run.run_id), &body)
}

/// Every remembered node run, oldest first (unreadable records are skipped).
pub fn all(paths: &Paths) -> Vec<NodeRun> {
    let Ok(entries) = std::fs::read_dir(dir(paths)) else {
        return Vec::new();
    };
    let mut runs: Vec<NodeRun> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| std::fs::read(e.path()).ok())
        .filter_map(|b| serde_json::from_slice(&b).ok())
        .collect();
    runs.sort_by(|a, b| (a.launched_at, &a.run_id).cmp(&(b.launched_at, &b.run_id)));
    runs
}

/// Forget the node runs launched before `cutoff` (Unix seconds), and return
/// their ids, oldest first; with `dry_run`, only say which. A record that
/// cannot be removed stays (it is tried again on the next pass).
pub fn prune(paths: &Paths, cutoff: i64, dry_run: bool) -> Vec<String> {
    let old = all(paths).into_iter().filter(|r| r.launched_at < cutoff);
    old.filter(|r| dry_run || std::fs::remove_file(file(paths, &r.run_id)).is_ok())
        .map(|r| r.run_id)
        .collect()
}

fn file(paths: &Paths, run_id: &str) -> PathBuf {
    dir(paths).join(format!("{run_id}.json"))
}

/// The node run `id` names (its full id, or a unique prefix of it).
pub fn find(paths: &Paths, id: &str) -> Option<NodeRun> {
    let runs = all(paths);
    if let Some(r) = runs.iter().find(|r| r.run_id == id) {
        return Some(r.clone());
    }
    let mut matching = runs.into_iter().filter(|r| r.run_id.starts_with(id));
    let first = matching.next()?;
    matching.next().is_none().then_some(first)
}

/// The distinct nodes (id, name) that have remembered runs.
pub fn nodes(paths: &Paths) -> Vec<(String, String)> {
    let mut seen: Vec<(String, String)> = Vec::new();
    for r in all(paths) {
        if !seen.iter().any(|(id, _)| *id == r.node_id) {
            seen.push((r.node_id, r.node_name));
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn run(id: &str, launched_at: i64) -> NodeRun {
        NodeRun {
            run_id: id.into(),
            node_id: format!("node-{id}"),
            node_name: "box".into(),
            launched_at,
        }
    }

    #[test]
    fn prune_forgets_only_the_runs_launched_before_the_cutoff() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = Paths::under(tmp.path());
        for (id, at) in [("old", 100), ("edge", 200), ("new", 300)] {
            record(&paths, &run(id, at)).unwrap();
        }
        // A dry run says which, and removes nothing.
        assert_eq!(prune(&paths, 200, true), ["old"]);
        assert_eq!(all(&paths).len(), 3);
        assert_eq!(prune(&paths, 200, false), ["old"]);
        let left: Vec<String> = all(&paths).into_iter().map(|r| r.run_id).collect();
        assert_eq!(left, ["edge", "new"]);
        assert!(find(&paths, "old").is_none());
        assert_eq!(nodes(&paths).len(), 2);
    }
}
