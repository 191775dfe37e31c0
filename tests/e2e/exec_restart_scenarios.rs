//! A run the gateway's agent started with `exec` outlives its gateway: the
//! gateway dies mid-run and is started again; the exec'd `clawrun run` (the
//! follower) is signalled and leaves, the detached run goes on, completes,
//! tells the chat once, and wakes the agent once by `openclaw system event`
//! (no exit event comes from a gateway that forgot the exec).
//!
//! These scenarios replace the suite's gateway: they run last.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clawrun::runs::{EntryStatus, FollowerState, OutboxItem as Item, follower_state};

use crate::exec_scenarios::{
    DUPLICATE_WATCH, agent_launches, deliveries, result_line, run_dir_of, task_rows, topic_texts,
    wait_row,
};
use crate::fakes::SLOW_ANSWER;
use crate::gateway::Gateway;
use crate::harness::{Ctx, alive, outbox_entries, run_record};

/// Longest wait for the follower to leave, the run to end, or its wake.
const LIMIT: Duration = Duration::from_secs(120);

/// Poll `what` until it holds, at most [`LIMIT`]; `say` explains a failure.
async fn poll(what: &str, mut holds: impl FnMut() -> bool, say: impl Fn() -> String) {
    let until = Instant::now() + LIMIT;
    while !holds() {
        assert!(Instant::now() < until, "{what}: {}", say());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The run directory of `label` once its agent has started.
async fn started_run(ctx: &Ctx, label: &str) -> PathBuf {
    let mut dir = None;
    poll(
        "the agent never started",
        || {
            dir = run_dir_of(ctx, label).filter(|d| run_record(d)["agent_pid"].is_u64());
            dir.is_some()
        },
        String::new,
    )
    .await;
    dir.unwrap()
}

/// How the gateway goes away mid-run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GoneBy {
    /// SIGKILL to its main process, as a crash.
    Kill,
    /// SIGTERM: a graceful stop, which drains first (75 s: see
    /// [`short_drain_env`]).
    Stop,
}

/// What makes the gateway's graceful stop drain 75 s instead of 315 s.
/// OpenClaw 2026.9.6 takes its stop budget from the systemd unit it believes
/// runs it (`OPENCLAW_SYSTEMD_UNIT`, `INVOCATION_ID`, …): the unit's
/// `TimeoutStopUSec` as `systemctl show` reads it, or systemd's default
/// 90 s when that fails (no systemd here), minus 5 s, minus a 10 s reserve.
/// Without such a hint the budget is fixed (330 s: a 315 s drain). No
/// variable or config sets it, and the `systemctl` it asks is not taken from
/// the gateway's `PATH` (a stand-in there was not used), so 75 s is the
/// shortest drain a test gets without a real systemd.
fn short_drain_env() -> Vec<(&'static str, String)> {
    vec![(
        "OPENCLAW_SYSTEMD_UNIT",
        "openclaw-gateway.service".to_owned(),
    )]
}

/// Take the suite's gateway away (`how`), wait for the follower of `dir` to
/// leave (and, for a stop, the gateway to exit), clear what is left of the
/// old gateway, and start a new one on the same port, HOME and token (with
/// `extra` in its environment). The seconds from the signal to the follower
/// gone, to the old gateway gone, and to the new gateway ready.
async fn replace_gateway(ctx: &Ctx, dir: &Path, how: GoneBy, extra: &[(&str, String)]) -> [f64; 3] {
    let mut guard = ctx.gateway.lock().await;
    let old = guard.as_mut().expect("no gateway");
    let (old_pid, port, token) = (old.pid, old.port(), old.token.clone());
    let signalled = Instant::now();
    match how {
        GoneBy::Kill => old.kill_main(),
        GoneBy::Stop => old.terminate(),
    }
    poll(
        "the follower did not leave after the gateway went away",
        || follower_state(dir) == FollowerState::Gone,
        || format!("{:?}", follower_state(dir)),
    )
    .await;
    let left = signalled.elapsed().as_secs_f64();
    poll("the gateway did not exit", || old.exited(), String::new).await;
    let exited = signalled.elapsed().as_secs_f64();
    Gateway::reap_group(old_pid);
    respawn(ctx, &mut guard, port, &token, extra).await;
    [left, exited, signalled.elapsed().as_secs_f64()]
}

/// Start a gateway in `slot`, the old one gone: same HOME, `port` and
/// `token`, `extra` in its environment; wait until it is ready.
async fn respawn(
    ctx: &Ctx,
    slot: &mut Option<Gateway>,
    port: u16,
    token: &str,
    extra: &[(&str, String)],
) {
    let home = ctx.gateway_home();
    let mut new = Gateway::spawn_with(&ctx.env, &ctx.path_var(), &home, port, token, extra);
    println!("e2e: gateway started again: pid {} on {}", new.pid, new.url);
    let ready = new.wait_ready().await;
    *slot = Some(new);
    if let Err(e) = ready {
        panic!("the gateway started again: {e}");
    }
}

/// The gateway SIGKILLed mid-run and started again: the run goes on and
/// completes, the chat gets the result once, the agent is woken once (by the
/// run itself, after the restart), and nothing is sent twice.
pub async fn exec_gateway_killed(ctx: Arc<Ctx>) {
    gateway_goes_away(&ctx, GoneBy::Kill, "e2e exec gateway killed", 60).await;
}

/// The same with a graceful stop (SIGTERM): the gateway drains (`/readyz`
/// 503), then signals the exec; the follower takes it for a shutdown, not a
/// cancel, and leaves. The gateway runs with a 75 s drain
/// ([`short_drain_env`]); the scenario takes about 5 minutes, so it runs
/// only when named in full (`scripts/e2e.sh exec_gateway_stopped`).
pub async fn exec_gateway_stopped(ctx: Arc<Ctx>) {
    let extra = short_drain_env();
    // A gateway with the short drain first (the suite's has 315 s).
    let mut guard = ctx.gateway.lock().await;
    let old = guard.as_mut().expect("no gateway");
    let (old_pid, port, token) = (old.pid, old.port(), old.token.clone());
    old.kill_main();
    Gateway::reap_group(old_pid);
    respawn(&ctx, &mut guard, port, &token, &extra).await;
    let console = guard.as_ref().unwrap().console_file.clone();
    drop(guard);
    let budget = std::fs::read_to_string(console)
        .unwrap_or_default()
        .lines()
        .find(|l| l.contains("shutdown budget at startup"))
        .map(str::to_owned);
    let budget = budget.unwrap_or_else(|| "(not logged)".to_owned());
    ctx.figure("exec stop: the gateway's shutdown budget", budget.clone());
    assert!(
        budget.contains("drain=75000ms"),
        "the drain was not shortened: {budget}"
    );
    gateway_goes_away(&ctx, GoneBy::Stop, "e2e exec gateway stopped", 150).await;
}

/// A run the agent started (an agent turn of `secs`), then the gateway taken
/// away (`how`) and started again; the run's end asserted.
async fn gateway_goes_away(ctx: &Ctx, how: GoneBy, label: &str, secs: u64) {
    let task = format!("[e2e:slow{secs}] A task that outlives its gateway.");
    agent_launches(ctx, label, &task).await;
    wait_row(ctx, label, "running", |r| r["status"] == "running").await;
    let dir = started_run(ctx, label).await;
    assert_eq!(follower_state(&dir), FollowerState::Following);
    let runner_pid = run_record(&dir)["runner_pid"].as_u64().unwrap() as u32;
    let extra = if how == GoneBy::Stop {
        short_drain_env()
    } else {
        Vec::new()
    };
    let [left, exited, restarted] = replace_gateway(ctx, &dir, how, &extra).await;
    let what = format!("exec {how:?}").to_lowercase();
    ctx.figure(
        format!("{what}: signal → follower gone"),
        format!("{left:.1}s"),
    );
    ctx.figure(
        format!("{what}: signal → old gateway exited"),
        format!("{exited:.1}s"),
    );
    ctx.figure(
        format!("{what}: signal → restarted gateway ready"),
        format!("{restarted:.1}s"),
    );
    assert!(
        !dir.join(clawrun::runs::FOLLOWER_CANCELLED).exists(),
        "the follower took the gateway's going away for a cancel"
    );
    let ready = Instant::now();
    let status = run_record(&dir)["status"].clone();
    ctx.figure(
        format!("{what}: the run when the new gateway was ready"),
        status.to_string(),
    );
    assert!(
        status == "running" || status == "completed",
        "the run did not go on: {}",
        run_record(&dir)
    );
    poll(
        "the run never completed",
        || run_record(&dir)["status"] != "running",
        || run_record(&dir).to_string(),
    )
    .await;
    assert_eq!(run_record(&dir)["status"], "completed");
    let ended = Instant::now();
    let woken = result_once(ctx, &dir, label).await;
    ctx.figure(
        format!("{what}: run ended → its own wake at the model"),
        format!("{:.1}s", (woken - ended).as_secs_f64()),
    );
    ctx.figure(
        format!("{what}: restarted gateway ready → the run's wake at the model"),
        format!("{:.1}s", (woken - ready).as_secs_f64()),
    );
    poll(
        "the runner did not exit",
        || !alive(runner_pid),
        String::new,
    )
    .await;
    let rows = task_rows(ctx).await;
    let row = rows
        .iter()
        .find(|r| r["label"].as_str().is_some_and(|l| l.contains(label)));
    ctx.figure(
        format!("{what}: the task row after the restart"),
        row.map_or_else(|| "none".to_owned(), |r| r["status"].to_string()),
    );
}

/// The result of the run in `dir` reached the chat once, and the agent once,
/// by the run's own wake, delivered; then nothing more within
/// [`DUPLICATE_WATCH`]. When the model got the wake.
async fn result_once(ctx: &Ctx, dir: &Path, label: &str) -> Instant {
    let line = result_line("completed", label, dir);
    let until = Instant::now() + LIMIT;
    let woken = loop {
        let bodies = ctx.openai.chat_bodies().await;
        if deliveries(&bodies, &line) > 0 {
            break Instant::now();
        }
        assert!(
            Instant::now() < until,
            "the agent was never woken with {line:?}; outbox: {:#?}",
            outbox_entries(dir)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    tokio::time::sleep(DUPLICATE_WATCH).await;
    let n = deliveries(&ctx.openai.chat_bodies().await, &line);
    assert_eq!(n, 1, "{line:?} reached the agent {n} times");
    let wakes: Vec<_> = outbox_entries(dir)
        .into_iter()
        .filter(|e| matches!(e.item, Item::Wake(_)))
        .collect();
    assert_eq!(wakes.len(), 1, "{wakes:#?}");
    assert_eq!(wakes[0].status, EntryStatus::Delivered, "{wakes:#?}");
    let results: Vec<String> = topic_texts(ctx)
        .await
        .into_iter()
        .filter(|t| t.contains(label) && t.contains(SLOW_ANSWER))
        .collect();
    assert_eq!(results.len(), 1, "the result in the chat: {results:#?}");
    woken
}
