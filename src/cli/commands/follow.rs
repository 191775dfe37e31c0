//! `clawrun run` in exec mode (under OpenClaw's agent `exec`, where
//! `OPENCLAW_SHELL=exec`, or with `--exec-mode`): the run starts detached as
//! with `--detach`, and this process stays as its follower until it ends, so
//! OpenClaw's task row lasts as long as the run and its exit event is the
//! wake. See `crate::core::runner::follower`.
//!
//! The follower prints the compact result last and exits with the run's
//! code. On SIGTERM it decides at once: a cancel (the gateway still serves)
//! stops the run as killed; a gateway shutdown (draining or gone) leaves the
//! run alone, which then wakes the agent itself when it ends.

use std::io::Write;

use crate::core::context::RunContext;
use crate::core::model::state::Outcome;
use crate::core::notify::compact;
use crate::core::openclaw::gateway::GatewayClient;
use crate::core::runner::follower::{self, FollowerLock, TermCause};
use crate::core::store::run::{RunDir, RunRecord, RunSpec, RunStatus};
use crate::core::sys::group;
use crate::core::sys::signals::StopSignals;

use crate::cli::{CmdResult, runtime};
use crate::core::model::exit::ExitStatus;

/// The most of the output file read for the result's first line.
const OUTPUT_HEAD_BYTES: u64 = 64 * 1024;

/// How the follow ended.
enum Followed {
    /// The run ended (by itself, or after a cancel).
    Ended(Box<RunRecord>),
    /// A cancel: the run was told to stop but has not recorded it yet.
    Stopping,
    /// A gateway shutdown: the run goes on without its follower.
    Left(String),
}

/// Take the follower's lock of `dir` (before the runner starts: `launch`
/// starts it), then follow the run to its end.
pub fn follow(dir: &RunDir, ctx: &RunContext, launch: impl FnOnce() -> CmdResult) -> CmdResult {
    let lock = FollowerLock::take(dir)?;
    // The handlers go in before the run starts: a cancel may come at once.
    let rt = runtime()?;
    let signals = {
        let _in_runtime = rt.enter();
        StopSignals::install(&FOLLOWER_STOP_SIGNALS)?
    };
    let launched = launch()?;
    if !launched.is_success() {
        return Ok(launched);
    }
    let spec = dir.read_spec()?;
    let gateway = ctx.gateway();
    let followed = rt.block_on(follow_to_end(dir, gateway.as_ref(), signals));
    let (text, code) = match followed {
        Followed::Ended(record) => {
            let code = match record.status {
                RunStatus::Done(o) => o.exit_code(),
                _ => Outcome::Crashed.exit_code(),
            };
            (
                compact::render_compact(&spec, &record, &output_head(&record)),
                code,
            )
        }
        Followed::Stopping => (
            format!(
                "[clawrun] killed · run {}\nThe task was cancelled: the run is stopping \
                 (`clawrun show {}` says when it is done).",
                spec.run_id, spec.run_id
            ),
            Outcome::Killed.exit_code(),
        ),
        Followed::Left(why) => {
            eprintln!(
                "ℹ️ SIGTERM while the gateway goes away ({why}): run {} goes on by itself and \
                 wakes the agent when it ends",
                spec.run_id
            );
            (left_text(&spec), ExitStatus::FollowerLeft)
        }
    };
    // The gateway may be gone (EPIPE): the run's own messages still go out.
    let mut out = std::io::stdout().lock();
    let text = compact::pad_for_exit_event(&text);
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
    drop(lock);
    Ok(code)
}

/// What the follower stops on: SIGTERM (OpenClaw's cancel and shutdown) and
/// SIGINT (a person at a terminal), caught from before the run starts.
const FOLLOWER_STOP_SIGNALS: [i32; 2] = [libc::SIGTERM, libc::SIGINT];

/// Wait for the run's end or a stop signal, and act on the signal.
async fn follow_to_end(
    dir: &RunDir,
    gateway: Option<&GatewayClient>,
    mut signals: StopSignals,
) -> Followed {
    tokio::select! {
        rec = follower::wait_for_end(dir) => return Followed::Ended(Box::new(rec)),
        _ = signals.recv() => {}
    }
    match follower::term_cause(gateway).await {
        TermCause::Shutdown(why) => Followed::Left(why),
        TermCause::Cancel => cancel(dir).await,
    }
}

/// Stop the run as killed: the mark first (no wake of clawrun's own: OpenClaw
/// sends none after a cancel either), then SIGTERM to its runner, whose stop
/// path sends ⛔ and writes the record; wait a little for it.
async fn cancel(dir: &RunDir) -> Followed {
    if let Err(e) = follower::mark_cancelled(dir) {
        eprintln!("⚠ {e}");
    }
    match dir.read_record() {
        Ok(rec) if rec.status.is_done() => return Followed::Ended(Box::new(rec)),
        Ok(rec) => {
            if let Err(e) = group::terminate(rec.runner_pid) {
                eprintln!("⚠ stopping the runner (pid {}): {e}", rec.runner_pid);
            }
        }
        Err(e) => eprintln!("⚠ reading the run record: {e}"),
    }
    match follower::wait_for_end_within(dir, follower::CANCEL_WAIT).await {
        Some(rec) => Followed::Ended(Box::new(rec)),
        None => Followed::Stopping,
    }
}

/// What a follower that leaves prints last (seen only if the exec's output
/// still reaches anyone).
fn left_text(spec: &RunSpec) -> String {
    format!(
        "[clawrun] running · run {} · the gateway is going away: the run goes on and wakes \
         this session itself when it ends (`clawrun show {}`).",
        spec.run_id, spec.run_id
    )
}

/// The start of the run's output file (empty when unreadable).
fn output_head(record: &RunRecord) -> String {
    use std::io::Read;
    let mut buf = Vec::new();
    if let Ok(f) = std::fs::File::open(&record.output_file) {
        let _ = f.take(OUTPUT_HEAD_BYTES).read_to_end(&mut buf);
    }
    String::from_utf8_lossy(&buf).into_owned()
}
