//! The runs on paired nodes, for `list` and `status`: every node this machine
//! started a run on (`core::store::node_runs`) is asked for its own `clawrun
//! list --json` (or `status --json`) through the gateway, all at once, each
//! bounded by the gateway client's time limit; a node that does not answer is
//! reported, never waited for.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::core::openclaw::nodes::{NodeError, NodeGateway};
use crate::core::ops::list::RunSummary;
use crate::core::store::node_runs;
use crate::core::store::paths::Paths;
use crate::core::store::run::RunRecord;

/// What one node said: its runs of type `T`, or why there are none.
#[derive(Debug, Clone, Serialize)]
pub struct NodeAnswer<T> {
    /// The node's name.
    pub node: String,
    /// The node's id.
    pub node_id: String,
    /// Its runs, or why there are none (the node is unreachable).
    pub runs: Result<Vec<T>, String>,
}

/// What one node said to `list` (each run with `node` set).
pub type NodeListing = NodeAnswer<RunSummary>;

/// Ask every node with remembered runs for `clawrun list --json` plus `args`;
/// `gateway` is `Err` when the gateway's nodes cannot be reached from here.
pub fn list_nodes(
    paths: &Paths,
    gateway: Result<&NodeGateway, &NodeError>,
    args: &[String],
) -> Vec<NodeListing> {
    let mut argv = vec!["list".to_owned(), "--json".to_owned()];
    argv.extend(args.iter().cloned());
    let mut answers: Vec<NodeListing> = ask_all(paths, gateway, &argv);
    for a in &mut answers {
        if let Ok(runs) = &mut a.runs {
            for r in runs {
                r.node = Some(a.node.clone());
            }
        }
    }
    answers
}

/// Ask every node with remembered runs for `clawrun status --json`: the
/// records of the runs running there.
pub fn status_nodes(
    paths: &Paths,
    gateway: Result<&NodeGateway, &NodeError>,
) -> Vec<NodeAnswer<RunRecord>> {
    ask_all(paths, gateway, &["status".to_owned(), "--json".to_owned()])
}

/// `clawrun ARGS` on every node with remembered runs, at once; its standard
/// output read as a JSON array of `T`.
fn ask_all<T: DeserializeOwned + Send>(
    paths: &Paths,
    gateway: Result<&NodeGateway, &NodeError>,
    args: &[String],
) -> Vec<NodeAnswer<T>> {
    let nodes = node_runs::nodes(paths);
    if nodes.is_empty() {
        return Vec::new();
    }
    let mut argv = vec!["clawrun".to_owned()];
    argv.extend(args.iter().cloned());
    std::thread::scope(|s| {
        let handles: Vec<_> = nodes
            .into_iter()
            .map(|(id, name)| {
                let argv = &argv;
                let asked = id.clone();
                let handle = s.spawn(move || match gateway {
                    Ok(g) => ask(g, &asked, argv),
                    Err(e) => Err(e.to_string()),
                });
                (id, name, handle)
            })
            .collect();
        // A question that panicked is that node's line, never a node gone
        // from the answer.
        handles
            .into_iter()
            .map(|(node_id, node, h)| NodeAnswer {
                node,
                node_id,
                runs: h
                    .join()
                    .unwrap_or_else(|_| Err("asking it failed (a clawrun bug)".to_owned())),
            })
            .collect()
    })
}

fn ask<T: DeserializeOwned>(g: &NodeGateway, id: &str, argv: &[String]) -> Result<Vec<T>, String> {
    let done = g
        .system_run(id, argv, &BTreeMap::new(), g.timeout)
        .map_err(|e| e.to_string())?;
    let sub = argv.get(1).map_or("", String::as_str);
    if done.timed_out {
        return Err(format!("clawrun {sub} gave no answer in time"));
    }
    if !done.success() {
        let why = done.stderr.trim().lines().last().unwrap_or("no answer");
        return Err(format!("clawrun {sub} failed there: {why}"));
    }
    serde_json::from_str(done.stdout.trim())
        .map_err(|e| format!("its clawrun {sub} gave no list ({e})"))
}
