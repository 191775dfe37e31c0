//! `clawrun nodes`: the paired OpenClaw nodes, whether each is connected and
//! has this clawrun and the agent CLIs; and the checks `run --node` shares.

use crate::core::model::exit::ExitStatus;
use std::collections::BTreeMap;
use std::time::Duration;

use crate::core::context::RunContext;
use crate::core::openclaw::nodes::{NodeError, NodeGateway, NodeInfo};
use serde::Serialize;

use crate::cli::args::NodesArgs;
use crate::cli::exit::CliError;
use crate::cli::{CmdResult, Ctx, render};

/// How long one question to a node may take in `nodes` and `list`.
pub const ASK_TIMEOUT: Duration = Duration::from_secs(15);

/// The agent CLIs `clawrun nodes` looks for.
const CLIS: &[&str] = &["claude", "codex"];

/// A usage error (exit 2) with `msg`.
pub fn refuse(msg: &str) -> CliError {
    crate::Error::usage(msg.to_owned()).into()
}

/// The gateway's node methods, through the `openclaw` program clawrun.toml
/// names (`[telegram] openclaw_program`, default `openclaw` on PATH).
pub fn gateway_for(configs: &RunContext, timeout: Duration) -> Result<NodeGateway, CliError> {
    let program = configs.config.telegram.openclaw_program.clone();
    let path = std::env::var("PATH").unwrap_or_default();
    NodeGateway::locate(&program, &path, timeout).map_err(|e| {
        refuse(&format!(
            "{e}: paired nodes are reached through the gateway's own client, which needs \
             OpenClaw installed here (`openclaw` and `node` on PATH)"
        ))
    })
}

/// The gateway's node methods for asking the nodes about their runs
/// (`list`, `status`), each question bounded by [`ASK_TIMEOUT`]; `Err` says
/// why they cannot be reached from here, for each node's line.
pub fn ask_gateway(ctx: &Ctx) -> Result<NodeGateway, NodeError> {
    let configs = ctx
        .run_context()
        .map_err(|e| NodeError::Helper(e.to_string()))?;
    gateway_for(&configs, ASK_TIMEOUT).map_err(|e| NodeError::Helper(e.to_string()))
}

/// This clawrun's `--version` line.
pub fn own_version() -> String {
    format!("clawrun {}", env!("CARGO_PKG_VERSION"))
}

/// The node's `clawrun --version`, or why there is none.
pub fn node_version(gateway: &NodeGateway, node: &NodeInfo) -> Result<String, String> {
    let argv = ["clawrun", "--version"].map(str::to_owned);
    match gateway.system_run(&node.id, &argv, &BTreeMap::new(), ASK_TIMEOUT) {
        Ok(r) if r.success() => Ok(r.stdout.trim().to_owned()),
        Ok(r) => Err(format!(
            "no clawrun on the node host's PATH ({})",
            first_line(if r.stderr.trim().is_empty() {
                &r.stdout
            } else {
                &r.stderr
            })
        )),
        Err(e) => Err(e.to_string()),
    }
}

fn first_line(s: &str) -> &str {
    s.trim().lines().next().unwrap_or("no output")
}

/// Exit 2 unless the node has this very clawrun, saying how to fix it.
pub fn check_clawrun(gateway: &NodeGateway, node: &NodeInfo) -> Result<(), CliError> {
    let want = own_version();
    let fix = format!(
        "install the same version there (`cargo install clawrun --version {}`) where the node \
         host finds it (it puts /usr/bin:/bin first in its PATH; restart it after installing)",
        env!("CARGO_PKG_VERSION")
    );
    match node_version(gateway, node) {
        Ok(v) if v == want => Ok(()),
        Ok(v) => Err(refuse(&format!(
            "node `{}` has {v}, this is {want}: {fix}",
            node.name
        ))),
        Err(e) => Err(refuse(&format!("node `{}`: {e}: {fix}", node.name))),
    }
}

/// When `id` names no run here but a run this machine started on a node:
/// the current command (`sub` and its flags) run there through the gateway,
/// its output printed here, its exit code returned; bounded by `timeout`.
pub fn forward_if_node_run(ctx: &Ctx, id: &str, sub: &str, timeout: Duration) -> Option<CmdResult> {
    if crate::core::ops::resolve::resolve_run(&ctx.paths, id).is_ok() {
        return None;
    }
    let run = crate::core::store::node_runs::find(&ctx.paths, id)?;
    Some(forward(ctx, &run, sub, timeout))
}

fn forward(
    ctx: &Ctx,
    run: &crate::core::store::node_runs::NodeRun,
    sub: &str,
    timeout: Duration,
) -> CmdResult {
    let gateway = gateway_for(&ctx.run_context()?, timeout)?;
    let mut argv = vec!["clawrun".to_owned(), sub.to_owned()];
    let raw: Vec<_> = std::env::args_os().collect();
    argv.extend(crate::cli::commands::node_run::forward_args(&raw, sub));
    let unreachable = |e: String| {
        CliError::from(anyhow::anyhow!(
            "node {} ({}) is unreachable: {e} (run {} goes on there)",
            run.node_name,
            run.node_id,
            run.run_id
        ))
    };
    let done = gateway
        .system_run(&run.node_id, &argv, &BTreeMap::new(), timeout)
        .map_err(|e| unreachable(e.to_string()))?;
    if done.timed_out {
        return Err(unreachable("no answer in time".into()));
    }
    eprintln!("🖥 node {}:", run.node_name);
    eprint!("{}", done.stderr);
    render::text(&done.stdout)?;
    Ok(ExitStatus::from_external(done.exit_code))
}

/// One node as `clawrun nodes` shows it.
#[derive(Debug, Serialize)]
struct NodeReport {
    #[serde(flatten)]
    node: NodeInfo,
    clawrun: Option<String>,
    clawrun_problem: Option<String>,
    clis: Vec<String>,
}

fn report(gateway: &NodeGateway, node: NodeInfo) -> NodeReport {
    if !node.connected {
        return NodeReport {
            node,
            clawrun: None,
            clawrun_problem: Some("not connected".into()),
            clis: vec![],
        };
    }
    let (clawrun, clawrun_problem) = match node_version(gateway, &node) {
        Ok(v) if v == own_version() => (Some(v), None),
        Ok(v) => (Some(v), Some(format!("this is {}", own_version()))),
        Err(e) => (None, Some(e)),
    };
    let mut argv = vec!["which".to_owned()];
    argv.extend(CLIS.iter().map(|c| (*c).to_owned()));
    let clis = gateway
        .system_run(&node.id, &argv, &BTreeMap::new(), ASK_TIMEOUT)
        .map(|r| r.stdout.lines().map(str::to_owned).collect())
        .unwrap_or_default();
    NodeReport {
        node,
        clawrun,
        clawrun_problem,
        clis,
    }
}

/// `clawrun nodes`.
pub fn nodes(args: &NodesArgs, ctx: &Ctx) -> CmdResult {
    let gateway = gateway_for(&ctx.run_context()?, ASK_TIMEOUT)?;
    let list = gateway
        .list()
        .map_err(|e: NodeError| CliError::from(anyhow::anyhow!("listing the paired nodes: {e}")))?;
    let reports: Vec<NodeReport> = list.into_iter().map(|n| report(&gateway, n)).collect();
    if args.json {
        render::json(&reports)?;
        return Ok(ExitStatus::Success);
    }
    if reports.is_empty() {
        render::text(
            "No paired nodes (pair one: `openclaw node run` on it, then `openclaw nodes approve`).\n",
        )?;
        return Ok(ExitStatus::Success);
    }
    let mut text = String::new();
    for r in &reports {
        let state = if r.node.connected {
            "connected"
        } else {
            "not connected"
        };
        let clawrun = match (&r.clawrun, &r.clawrun_problem) {
            (Some(v), None) => v.clone(),
            (Some(v), Some(p)) => format!("{v} ({p})"),
            (None, Some(p)) => format!("no clawrun: {p}"),
            (None, None) => "-".into(),
        };
        let clis = if r.clis.is_empty() {
            "no agent CLIs".to_owned()
        } else {
            r.clis.join(", ")
        };
        text.push_str(&format!(
            "{}  {}  {state}  {clawrun}  {clis}\n",
            r.node.name, r.node.id
        ));
    }
    render::text(&text)?;
    Ok(ExitStatus::Success)
}
