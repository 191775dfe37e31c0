//! End-to-end suite against the real programs: `claude` and `codex` (the pinned
//! versions, or npm's `latest` with `scripts/e2e.sh --latest`) and an `openclaw`
//! 2026.9.6 gateway, with loopback fakes for the model APIs and the Telegram Bot
//! API (tests/e2e/).
//!
//! Run it with `scripts/e2e.sh`, which installs the programs (cached) and sets
//! `CLAWRUN_E2E_{CLAUDE,CODEX,NODE24_BIN,OPENCLAW}`. Without them this binary
//! prints a note and passes, so plain `cargo test` stays fast and offline.
//!
//! Own harness (`harness = false`): one gateway for the whole suite, started
//! early (it takes ~30 s to get ready) and stopped by its pid at the end;
//! scenarios run one after another, each timed; a failing scenario does not stop
//! the others. Positional arguments filter scenarios by name substring; the
//! scenarios in [`NAMED_ONLY`] (minutes long) run only when an argument names
//! them in full.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "e2e/acp_scenarios.rs"]
mod acp_scenarios;
#[path = "e2e/approval_scenarios.rs"]
mod approval_scenarios;
#[path = "e2e/cli_scenarios.rs"]
mod cli_scenarios;
#[path = "e2e/exec_restart_scenarios.rs"]
mod exec_restart_scenarios;
#[path = "e2e/exec_scenarios.rs"]
mod exec_scenarios;
#[path = "e2e/fakes.rs"]
mod fakes;
#[path = "e2e/gateway.rs"]
mod gateway;
#[path = "e2e/gateway_scenarios.rs"]
mod gateway_scenarios;
#[path = "e2e/harness.rs"]
mod harness;
#[path = "e2e/node_scenarios.rs"]
mod node_scenarios;
#[path = "e2e/plugin_scenarios.rs"]
mod plugin_scenarios;
#[path = "e2e/safety_scenarios.rs"]
mod safety_scenarios;
#[path = "e2e/worktree_scenarios.rs"]
mod worktree_scenarios;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use harness::{Ctx, E2eEnv};

type ScenarioFn = fn(Arc<Ctx>) -> Pin<Box<dyn Future<Output = ()> + Send>>;

struct Scenario {
    name: &'static str,
    needs_gateway: bool,
    run: ScenarioFn,
}

macro_rules! scenario {
    ($name:literal, $gw:expr, $f:path) => {
        Scenario {
            name: $name,
            needs_gateway: $gw,
            run: |ctx| Box::pin($f(ctx)),
        }
    };
}

/// Scenarios left out unless an argument is their full name: a gateway's
/// graceful stop drains 75 s at the least (exec_restart_scenarios.rs).
const NAMED_ONLY: [&str; 1] = ["exec_gateway_stopped"];

fn scenarios() -> Vec<Scenario> {
    vec![
        scenario!("claude_tool", false, cli_scenarios::claude_tool),
        scenario!("claude_resume", false, cli_scenarios::claude_resume),
        scenario!("claude_api_error", false, cli_scenarios::claude_api_error),
        scenario!("claude_timeout", false, cli_scenarios::claude_timeout),
        scenario!("claude_subagent", false, cli_scenarios::claude_subagent),
        scenario!("codex_tool", false, cli_scenarios::codex_tool),
        scenario!("codex_resume", false, cli_scenarios::codex_resume),
        scenario!("codex_failed", false, cli_scenarios::codex_failed),
        scenario!("version_guard", false, cli_scenarios::version_guard),
        scenario!("acp_claude_tool", false, acp_scenarios::acp_claude_tool),
        scenario!("acp_claude_resume", false, acp_scenarios::acp_claude_resume),
        scenario!(
            "acp_claude_permission",
            false,
            acp_scenarios::acp_claude_permission
        ),
        scenario!("acp_claude_kill", false, acp_scenarios::acp_claude_kill),
        scenario!("acp_opencode_tool", false, acp_scenarios::acp_opencode_tool),
        scenario!(
            "claude_worktree",
            false,
            worktree_scenarios::claude_worktree
        ),
        scenario!("codex_worktree", false, worktree_scenarios::codex_worktree),
        // First of the gateway scenarios: on a gateway whose topic session already carries
        // the other scenarios' turns, the prompt went to the approver's DM only.
        scenario!("plugin_approvals", true, plugin_scenarios::plugin_approvals),
        scenario!(
            "claude_safety_read_only",
            false,
            safety_scenarios::claude_safety_read_only
        ),
        scenario!(
            "claude_safety_workspace",
            false,
            safety_scenarios::claude_safety_workspace
        ),
        scenario!(
            "codex_safety_read_only",
            false,
            safety_scenarios::codex_safety_read_only
        ),
        scenario!(
            "codex_safety_workspace",
            false,
            safety_scenarios::codex_safety_workspace
        ),
        scenario!(
            "telegram_topic_direct",
            true,
            gateway_scenarios::telegram_topic_direct
        ),
        scenario!(
            "telegram_topic_message_tool",
            true,
            gateway_scenarios::telegram_topic_message_tool
        ),
        scenario!(
            "whatsapp_unavailable",
            true,
            gateway_scenarios::whatsapp_unavailable
        ),
        scenario!("skills_load", true, gateway_scenarios::skills_load),
        scenario!("node_run", true, node_scenarios::node_run),
        scenario!("node_disconnect", true, node_scenarios::node_disconnect),
        scenario!("approvals_chat", true, approval_scenarios::approvals_chat),
        scenario!("exec_task_ledger", true, exec_scenarios::exec_task_ledger),
        scenario!("exec_task_cancel", true, exec_scenarios::exec_task_cancel),
        scenario!("exec_task_failed", true, exec_scenarios::exec_task_failed),
        scenario!(
            "exec_system_event_topic_wake",
            true,
            exec_scenarios::exec_system_event_topic_wake
        ),
        scenario!(
            "exec_overlapping_runs",
            true,
            exec_scenarios::exec_overlapping_runs
        ),
        // Last: they replace the suite's gateway by restarted ones.
        scenario!(
            "exec_gateway_killed",
            true,
            exec_restart_scenarios::exec_gateway_killed
        ),
        scenario!(
            "exec_gateway_stopped",
            true,
            exec_restart_scenarios::exec_gateway_stopped
        ),
    ]
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        for s in scenarios() {
            println!("{}: test", s.name);
        }
        return ExitCode::SUCCESS;
    }
    let Some(env) = E2eEnv::from_env() else {
        println!(
            "e2e: skipped: not run by scripts/e2e.sh (CLAWRUN_E2E_CLAUDE etc. unset). The \
             end-to-end suite against the real claude, codex and openclaw runs with \
             scripts/e2e.sh."
        );
        return ExitCode::SUCCESS;
    };
    // One line per failed assertion; the scenario name follows in the log.
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("(panic)");
        eprintln!("e2e: assertion failed at {location}:\n{message}");
    }));
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let selected: Vec<Scenario> = scenarios()
        .into_iter()
        .filter(|s| {
            if NAMED_ONLY.contains(&s.name) {
                filters.iter().any(|f| f.as_str() == s.name)
            } else {
                filters.is_empty() || filters.iter().any(|f| s.name.contains(f.as_str()))
            }
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run_suite(env, selected))
}

async fn run_suite(env: E2eEnv, selected: Vec<Scenario>) -> ExitCode {
    harness::stop_all_on_signal();
    let suite_start = Instant::now();
    let tmp = tempfile::Builder::new()
        .prefix("clawrun-e2e-")
        .tempdir()
        .unwrap();
    let ctx = Arc::new(Ctx {
        env,
        root: tmp.path().to_path_buf(),
        anthropic: fakes::Anthropic::start().await,
        openai: fakes::OpenAi::start().await,
        telegram: fakes::Telegram::start().await,
        gateway: tokio::sync::Mutex::new(None),
        gateway_ready: tokio::sync::OnceCell::new(),
        notes: Mutex::new(HashMap::new()),
        figures: Mutex::new(Vec::new()),
    });
    println!(
        "e2e: {} scenario(s); files under {}; fakes: anthropic {}, openai {}, telegram {}",
        selected.len(),
        ctx.root.display(),
        ctx.anthropic.server.uri(),
        ctx.openai.server.uri(),
        ctx.telegram.server.uri()
    );
    cli_scenarios::write_backends(&ctx);
    if selected.iter().any(|s| s.needs_gateway) {
        // Started first: it takes ~30 s to get ready, while the CLI scenarios run.
        let home = ctx.gateway_home();
        let port = harness::free_port();
        let token = format!("e2e-{}", uuid::Uuid::new_v4().simple());
        gateway::write_config(
            &home,
            port,
            &token,
            &ctx.openai.base_url(),
            &ctx.telegram.server.uri(),
        );
        if selected.iter().any(|s| s.name.starts_with("approvals")) {
            let started = Instant::now();
            gateway::install_plugin(&ctx.env, &ctx.path_var(), &home);
            ctx.figure(
                "openclaw plugins install (clawrun plugin)",
                format!("{:.1}s", started.elapsed().as_secs_f64()),
            );
        }
        let gw = gateway::Gateway::spawn(&ctx.env, &ctx.path_var(), &home, port, &token);
        println!("e2e: gateway pid {} on {}", gw.pid, gw.url);
        *ctx.gateway.lock().await = Some(gw);
    }

    let mut results = Vec::new();
    for s in &selected {
        println!("e2e: ── {} ──", s.name);
        let before = harness::run_dirs(&ctx.root);
        let started = Instant::now();
        let outcome = tokio::spawn((s.run)(ctx.clone())).await;
        let secs = started.elapsed().as_secs_f64();
        let ok = outcome.is_ok();
        println!(
            "e2e: {} {} ({secs:.1}s)",
            if ok { "ok    " } else { "FAILED" },
            s.name
        );
        // What scripts/drift.sh tabulates: the CLIs this scenario ran, and the
        // event types in their streams that clawrun does not know.
        let after = harness::run_dirs(&ctx.root);
        let (backends, unknown) = harness::stream_drift(after.difference(&before));
        let list = |set: &std::collections::BTreeSet<String>| {
            if set.is_empty() {
                "-".to_owned()
            } else {
                set.iter().cloned().collect::<Vec<_>>().join(",")
            }
        };
        println!(
            "e2e: drift {} {} {} {}",
            s.name,
            if ok { "pass" } else { "FAIL" },
            list(&backends),
            list(&unknown)
        );
        results.push((s.name, ok, secs));
    }

    if let Some(mut gw) = ctx.gateway.lock().await.take() {
        if let Some(d) = gw.stop() {
            ctx.figure(
                "gateway: SIGTERM to exit",
                format!("{:.1}s", d.as_secs_f64()),
            );
        }
    }

    println!("\ne2e: summary");
    for (name, ok, secs) in &results {
        println!(
            "  {:<30} {:>6.1}s  {}",
            name,
            secs,
            if *ok { "ok" } else { "FAILED" }
        );
    }
    for (what, value) in ctx.figures.lock().unwrap().iter() {
        println!("  {what}: {value}");
    }
    println!(
        "  suite wall time: {:.1}s",
        suite_start.elapsed().as_secs_f64()
    );
    let failed: Vec<&str> = results
        .iter()
        .filter(|(_, ok, _)| !ok)
        .map(|(n, _, _)| *n)
        .collect();
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        // Keep the files for a look.
        let kept = tmp.keep();
        println!(
            "e2e: failed on {} (claude {}, codex {})",
            std::env::var("CLAWRUN_E2E_PASS").unwrap_or_default(),
            ctx.env.claude_version,
            ctx.env.codex_version
        );
        println!(
            "e2e: FAILED: {} (files kept in {})",
            failed.join(", "),
            kept.display()
        );
        ExitCode::FAILURE
    }
}
