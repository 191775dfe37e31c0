//! `clawrun list`: running and recent runs, here and on the paired nodes
//! runs were started on (`run --node`).

use crate::core::model::exit::ExitStatus;
use crate::core::now_secs;
use crate::core::ops::list::{self, RunSummary, StatusFilter};
use crate::core::ops::node_list;
use crate::core::store::node_runs;
use crate::core::store::run::unreadable_runs;

use crate::cli::args::ListArgs;
use crate::cli::commands::nodes::ask_gateway;
use crate::cli::{CmdResult, Ctx, render};

/// The runs on the paired nodes this machine started runs on, and a line for
/// each node that did not answer.
fn on_nodes(args: &ListArgs, ctx: &Ctx) -> (Vec<RunSummary>, Vec<String>) {
    if node_runs::nodes(&ctx.paths).is_empty() {
        return (Vec::new(), Vec::new());
    }
    let mut extra = Vec::new();
    if args.all {
        extra.push("--all".to_owned());
    }
    if let Some(s) = &args.status {
        extra.extend(["--status".to_owned(), s.clone()]);
    }
    let gateway = ask_gateway(ctx);
    let mut runs = Vec::new();
    let mut problems = Vec::new();
    for l in node_list::list_nodes(&ctx.paths, gateway.as_ref(), &extra) {
        match l.runs {
            Ok(r) => runs.extend(r),
            Err(e) => problems.push(format!("node {} ({}): unreachable: {e}", l.node, l.node_id)),
        }
    }
    (runs, problems)
}

/// `clawrun list`.
pub fn list(args: &ListArgs, ctx: &Ctx) -> CmdResult {
    let filter = args
        .status
        .as_deref()
        .map(StatusFilter::parse)
        .transpose()?;
    let mut runs = list::list(&ctx.paths, args.all, filter, now_secs());
    let unreadable = unreadable_runs(&ctx.paths.runs_dir());
    let (node_runs, unreachable) = on_nodes(args, ctx);
    runs.extend(node_runs);
    // Not in the JSON (one object per run) nor in the table: on stderr.
    for u in &unreachable {
        eprintln!("⚠ {u}");
    }
    if args.json {
        render::json(&runs)?;
        // Not in the JSON (its shape is one object per readable run): on stderr.
        eprint!("{}", render::runs::unreadable(&unreadable));
    } else if !unreadable.is_empty() {
        if !runs.is_empty() {
            render::text(&render::runs::list(&runs))?;
        }
        render::text(&render::runs::unreadable(&unreadable))?;
    } else if runs.is_empty() {
        let text = match (&args.status, args.all) {
            (Some(s), true) => format!("No {s} runs.\n"),
            (Some(s), false) => {
                format!("No {s} runs in the last 24 hours (--all lists older ones).\n")
            }
            (None, true) => "No runs.\n".to_owned(),
            (None, false) => {
                "No runs running or in the last 24 hours (--all lists older ones).\n".to_owned()
            }
        };
        render::text(&text)?;
    } else {
        render::text(&render::runs::list(&runs))?;
    }
    Ok(ExitStatus::Success)
}
