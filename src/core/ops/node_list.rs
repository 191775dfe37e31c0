//! The runs on paired nodes, for `list`: every node this machine started a
//! run on (`core::store::node_runs`) is asked for its own `clawrun list
//! --json` through the gateway, all at once, each bounded by the gateway
//! client's time limit; a node that does not answer is reported, never waited for.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::core::openclaw::nodes::{NodeError, NodeGateway};
use crate::core::ops::list::RunSummary;
use crate::core::store::node_runs;
use crate::core::store::paths::Paths;

/// What one node said.
#[derive(Debug, Clone, Serialize)]
pub struct NodeListing {
    /// The node's name.
    pub node: String,
    /// The node's id.
    pub node_id: String,
    /// Its runs (each with `node` set), or why there are none.
    pub runs: Result<Vec<RunSummary>, String>,
}

/// Ask every node with remembered runs for `clawrun list --json` plus `args`;
/// `gateway` is `Err` when the gateway's nodes cannot be reached from here.
pub fn list_nodes(
    paths: &Paths,
    gateway: Result<&NodeGateway, &NodeError>,
    args: &[String],
) -> Vec<NodeListing> {
    let nodes = node_runs::nodes(paths);
    let mut argv = vec!["clawrun".to_owned(), "list".to_owned(), "--json".to_owned()];
    argv.extend(args.iter().cloned());
    std::thread::scope(|s| {
        let handles: Vec<_> = nodes
            .into_iter()
            .map(|(id, name)| {
                let argv = &argv;
                s.spawn(move || {
                    let runs = match gateway {
                        Ok(g) => ask(g, &id, &name, argv),
                        Err(e) => Err(e.to_string()),
                    };
                    NodeListing {
                        node: name,
                        node_id: id,
                        runs,
                    }
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    })
}

fn ask(g: &NodeGateway, id: &str, name: &str, argv: &[String]) -> Result<Vec<RunSummary>, String> {
    let done = g
        .system_run(id, argv, &BTreeMap::new(), g.timeout)
        .map_err(|e| e.to_string())?;
    if !done.success() {
        let why = done.stderr.trim().lines().last().unwrap_or("no answer");
        return Err(format!("clawrun list failed there: {why}"));
    }
    let mut runs: Vec<RunSummary> = serde_json::from_str(done.stdout.trim())
        .map_err(|e| format!("its clawrun list gave no list ({e})"))?;
    for r in &mut runs {
        r.node = Some(name.to_owned());
    }
    Ok(runs)
}
