//! `clawrun run --node NAME`: start the run on a paired OpenClaw node as a
//! detached clawrun run there, with the same flags, the task in the
//! environment of that one command (never in argv), and print its launch proof
//! marked with the node's name.

use crate::core::model::exit::ExitStatus;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::time::Duration;

use crate::core::context::RunContext;
use crate::core::now_secs;
use crate::core::openclaw::config::{GATEWAY_URL_ENV_NAME, gateway_url};
use crate::core::openclaw::nodes::{self, NodeGateway, NodeInfo};
use crate::core::runner::{self, NODE_TASK_ENV_NAME};
use crate::core::store::node_runs::{self, NodeRun};

use crate::cli::args::RunArgs;
use crate::cli::commands::nodes::{check_clawrun, gateway_for, refuse};
use crate::cli::exit::CliError;
use crate::cli::{CmdResult, Ctx, render};

/// The largest task a node run takes: it travels in one environment
/// variable, which Linux caps at 128 KiB.
pub const MAX_NODE_TASK_BYTES: usize = 100 * 1024;

/// How long the node's `clawrun run --detach` may take to give its proof.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(60);

/// `clawrun run --node NAME …`.
pub fn run(args: &RunArgs, node: &str, configs: &RunContext, ctx: &Ctx) -> CmdResult {
    let project =
        args.request.project.as_deref().ok_or_else(|| {
            refuse("--node needs -p DIR: the project's absolute path on the node")
        })?;
    if !project.is_absolute() {
        return Err(refuse(&format!(
            "-p {}: give the project's absolute path on the node (this machine's working \
             directory means nothing there)",
            project.display()
        )));
    }
    if args.validate_only || args.exec_mode || args.notify.fg {
        return Err(refuse(
            "--node starts a detached run: --validate-only, --exec-mode and --fg work only here",
        ));
    }
    let task = runner::read_task(&args.to_options(None).task, &mut std::io::stdin().lock())?;
    if task.len() > MAX_NODE_TASK_BYTES {
        return Err(refuse(&format!(
            "the task is larger than {MAX_NODE_TASK_BYTES} bytes, the most a run on a node takes"
        )));
    }
    let gateway = gateway_for(configs, LAUNCH_TIMEOUT + Duration::from_secs(30))?;
    let target = find_node(&gateway, node)?;
    check_clawrun(&gateway, &target)?;
    let mut argv = vec!["clawrun".to_owned(), "run".to_owned()];
    argv.extend(forward_args(
        &std::env::args_os().collect::<Vec<_>>(),
        "run",
    ));
    argv.extend(["--detach", "--json", "--from-gateway"].map(str::to_owned));
    let env = BTreeMap::from([
        (NODE_TASK_ENV_NAME.to_owned(), task),
        (
            GATEWAY_URL_ENV_NAME.to_owned(),
            gateway_url(&configs.config, &configs.openclaw),
        ),
    ]);
    let done = gateway
        .system_run(&target.id, &argv, &env, LAUNCH_TIMEOUT)
        .map_err(|e| CliError::from(anyhow::anyhow!("node `{}`: {e}", target.name)))?;
    if !done.success() {
        eprint!("{}", done.stderr);
        eprintln!(
            "✖ node `{}`: clawrun run exited with {}",
            target.name,
            exit_text(&done)
        );
        return Ok(ExitStatus::from_external(done.exit_code));
    }
    proof(args, &target, &done.stdout, ctx)
}

/// The node `want` names, connected (exit 2 otherwise).
fn find_node(gateway: &NodeGateway, want: &str) -> Result<NodeInfo, CliError> {
    let list = gateway
        .list()
        .map_err(|e| CliError::from(anyhow::anyhow!("listing the paired nodes: {e}")))?;
    nodes::resolve(&list, want)
        .cloned()
        .map_err(|e| refuse(&e.to_string()))
}

fn exit_text(done: &nodes::SystemRun) -> String {
    match (done.timed_out, done.exit_code) {
        (true, _) => "no answer in time".to_owned(),
        (false, Some(c)) => format!("code {c}"),
        (false, None) => "no exit code".to_owned(),
    }
}

/// Print the node's launch proof with the node's name and id in it, and
/// remember the run for `list`, `show`, `output` and `kill`.
fn proof(args: &RunArgs, node: &NodeInfo, stdout: &str, ctx: &Ctx) -> CmdResult {
    let mut v: serde_json::Value = serde_json::from_str(stdout.trim()).map_err(|e| {
        CliError::from(anyhow::anyhow!(
            "node `{}`: the launch proof is not JSON ({e}): {stdout}",
            node.name
        ))
    })?;
    let run_id = v["run_id"].as_str().unwrap_or_default().to_owned();
    v["node"] = node.name.clone().into();
    v["node_id"] = node.id.clone().into();
    let record = NodeRun {
        run_id: run_id.clone(),
        node_id: node.id.clone(),
        node_name: node.name.clone(),
        launched_at: now_secs(),
    };
    if let Err(e) = node_runs::record(&ctx.paths, &record) {
        eprintln!(
            "⚠ could not remember run {run_id} on node `{}`: {e}",
            node.name
        );
    }
    if args.json {
        render::json(&v)?;
    } else {
        render::text(&format!(
            "🖥 node {}: run {run_id} {}\n{}\n",
            node.name,
            v["status"].as_str().unwrap_or("started"),
            serde_json::to_string_pretty(&v)?
        ))?;
    }
    Ok(ExitStatus::Success)
}

/// Flags that mean something only on this machine, or that the node command
/// sets itself, with whether they take a value.
const DROPPED: &[(&str, bool)] = &[
    ("--node", true),
    ("--task", true),
    ("-t", true),
    ("--task-file", true),
    ("--state-dir", true),
    ("--config", true),
    ("--backends", true),
    ("--detach", false),
    ("--json", false),
    ("--from-gateway", false),
];

/// The arguments after the subcommand `sub` in `raw` (this process's argv),
/// without the ones [`DROPPED`] lists (`--flag value`, `--flag=value`, `-tVALUE`).
pub fn forward_args(raw: &[OsString], sub: &str) -> Vec<String> {
    let raw: Vec<String> = raw
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let start = raw
        .iter()
        .position(|a| a == sub)
        .map_or(raw.len(), |i| i + 1);
    let mut out = Vec::new();
    let mut it = raw[start..].iter();
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        if let Some((_, takes)) = DROPPED.iter().find(|(f, _)| a == f) {
            if *takes {
                it.next();
            }
            continue;
        }
        let joined = DROPPED.iter().any(|(f, takes)| {
            *takes && (a.starts_with(&format!("{f}=")) || (f.len() == 2 && a.starts_with(f)))
        });
        if !joined {
            out.push(a.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fwd(line: &str) -> Vec<String> {
        let raw: Vec<OsString> = line.split(' ').map(OsString::from).collect();
        forward_args(&raw, "run")
    }

    #[test]
    fn forwards_the_run_flags_without_the_task_and_the_local_ones() {
        assert_eq!(
            fwd("clawrun --state-dir /s run --node box -t secret -s k -p /w --detach --timeout 5m"),
            ["-s", "k", "-p", "/w", "--timeout", "5m"]
        );
        assert_eq!(
            fwd("clawrun run --task=secret -tsecret --node=box --task-file f --label x --json"),
            ["--label", "x"]
        );
    }
}
