//! `clawrun status`: the runs that are running now (stale records reaped),
//! here and on the paired nodes runs were started on (`run --node`).

use crate::core::model::exit::ExitStatus;
use crate::core::now_secs;
use crate::core::ops::node_list;
use crate::core::store::node_runs;
use crate::core::store::run::RunRecord;

use crate::cli::args::StatusArgs;
use crate::cli::commands::nodes::ask_gateway;
use crate::cli::{CmdResult, Ctx, render};

/// A run running on a node: the node's name, and its record there.
struct NodeRunning {
    node: String,
    node_id: String,
    record: RunRecord,
}

/// The runs running on the nodes this machine started runs on (asked through
/// each node, at once, bounded), and a line for each node that did not answer.
fn on_nodes(ctx: &Ctx) -> (Vec<NodeRunning>, Vec<String>) {
    if node_runs::nodes(&ctx.paths).is_empty() {
        return (Vec::new(), Vec::new());
    }
    let gateway = ask_gateway(ctx);
    let mut running = Vec::new();
    let mut problems = Vec::new();
    for a in node_list::status_nodes(&ctx.paths, gateway.as_ref()) {
        match a.runs {
            Ok(records) => running.extend(records.into_iter().map(|record| NodeRunning {
                node: a.node.clone(),
                node_id: a.node_id.clone(),
                record,
            })),
            Err(e) => problems.push(format!("node {} ({}): unreachable: {e}", a.node, a.node_id)),
        }
    }
    (running, problems)
}

/// `clawrun status`.
pub fn status(args: &StatusArgs, ctx: &Ctx) -> CmdResult {
    let active = crate::core::ops::resolve::active_runs(&ctx.paths);
    // A run whose record cannot be read may be running: name it, with its path.
    let unreadable = render::runs::unreadable(&crate::core::store::run::unreadable_runs(
        &ctx.paths.runs_dir(),
    ));
    let (remote, unreachable) = on_nodes(ctx);
    // Not in the JSON (one object per run) nor in the lines: on stderr.
    for u in &unreachable {
        eprintln!("⚠ {u}");
    }
    if args.json {
        let mut records: Vec<serde_json::Value> = active
            .iter()
            .map(|(_, r)| serde_json::to_value(r))
            .collect::<Result<_, _>>()?;
        for n in &remote {
            let mut v = serde_json::to_value(&n.record)?;
            v["node"] = n.node.clone().into();
            v["node_id"] = n.node_id.clone().into();
            records.push(v);
        }
        render::json(&records)?;
        eprint!("{unreadable}");
        return Ok(ExitStatus::Success);
    }
    if active.is_empty() && remote.is_empty() {
        let nothing = if unreachable.is_empty() {
            "No runs are running."
        } else {
            "No runs are running here or on the nodes that answered."
        };
        render::text(&format!("{nothing}\n{unreadable}"))?;
        return Ok(ExitStatus::Success);
    }
    let now = now_secs();
    let mut lines: String = active
        .iter()
        .map(|(_, r)| render::runs::status_line(r, now))
        .collect();
    for n in &remote {
        let line = render::runs::status_line(&n.record, now);
        lines.push_str(&format!("🖥 {}: {line}", n.node));
    }
    render::text(&format!("{lines}{unreadable}"))?;
    Ok(ExitStatus::Success)
}
