//! Which runs were started on a paired node (`clawrun run --node`): one small
//! record per run under `<state dir>/node-runs/`, so `list`, `show`, `output`
//! and `kill` know which nodes to ask, and nothing asks a node otherwise.

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
    write_atomic(&d.join(format!("{}.json", run.run_id)), &body)
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
