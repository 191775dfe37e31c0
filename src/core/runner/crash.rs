//! A runner that died. Whichever way it went — a panic (the binary's guard
//! calls [`record_crash`]), SIGKILL or the OOM killer (its watcher notices,
//! see below), a reboot (the next command that lists runs reaps it, see
//! [`close_reaped`]) — the run ends the same way: what is left of the agent's
//! process group is stopped, `run.json` says `crashed`, the registry entry
//! of its session is final, the stale control socket is removed, and the
//! crash message and the wake (status `crashed`) are in the run's outbox
//! under fixed keys ([`notify::crash_key`]), so the chat hears of it once
//! however many of these paths run.
//!
//! **The watcher.** Right after it starts, a runner spawns a small copy of
//! the binary (`clawrun __watch DIR`, in its own session; see
//! [`process::spawn_watcher`]) whose stdin is a pipe that only the runner
//! holds (close-on-exec, so the agent never inherits it). The watcher blocks
//! in one `read` ([`wait_for_runner`]): no runtime, no polling. A runner that
//! finishes writes [`WATCH_DONE`] first, and the watcher exits quietly; end of
//! file without it, with the watcher handed to a new parent
//! ([`crate::core::sys::group::parent_exited`]), means the runner died, and the watcher runs
//! [`record_crash`] and delivers the crash message and the wake.

use std::io::Read;
use std::time::Duration;

use crate::backends::Backend;
use crate::backends::config;
use crate::channels::AnyChannel;
use crate::core::context::RunContext;
use crate::core::error::Result;
use crate::core::model::state::Outcome;
use crate::core::notify::outbox::{Outbox, RetryPolicy, StaleCheck};
use crate::core::notify::{self, RunInfo, WakeStatus, WakeTarget};
use crate::core::now_secs;
use crate::core::store::fsutil;
use crate::core::store::paths::Paths;
use crate::core::store::run::{self, RunDir, RunRecord, RunSpec, RunStatus};
use crate::core::store::sessions::SessionLog;

use super::control::CONTROL_SOCKET_NAME;
use super::follower;
use crate::core::sys::group;

/// The byte a finishing runner writes to its watcher: "I am done, go".
pub const WATCH_DONE: u8 = b'd';

/// Longest grace the crash path gives the agent's group between SIGTERM and
/// SIGKILL (the run's own `--grace` when shorter).
const CRASH_GRACE: Duration = Duration::from_secs(3);

/// How a watched runner ended, as its watcher saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunnerEnd {
    /// It said it was done ([`WATCH_DONE`]).
    Finished,
    /// Its end of the pipe closed without a word: it died.
    Died,
}

/// Block until the runner at the other end of `input` (the watcher's stdin)
/// finishes or dies. One blocking read at a time; no timer, no runtime.
pub fn wait_for_runner(input: &mut impl Read) -> RunnerEnd {
    let mut byte = [0u8; 1];
    loop {
        match input.read(&mut byte) {
            Ok(0) => return RunnerEnd::Died,
            Ok(_) if byte[0] == WATCH_DONE => return RunnerEnd::Finished,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return RunnerEnd::Died,
        }
    }
}

/// Record that the runner of `dir` crashed or died, with `message` as the
/// reason, and deliver the crash message and the wake through `channel` (for
/// at most the run's delivery wait; what is left stays in the outbox for
/// `clawrun outbox flush`). Used by the binary's panic guard and by the
/// watcher. A run that already ended otherwise is left alone; one already
/// reaped as `crashed` only gets its messages delivered.
///
/// Stopping the agent's group blocks the thread for up to a few seconds.
///
/// # Errors
/// When the run directory cannot be read or its record written.
pub async fn record_crash(
    dir: &RunDir,
    ctx: &RunContext,
    channel: AnyChannel,
    message: &str,
) -> Result<()> {
    let paths = &ctx.paths;
    let Some((spec, record)) = close_dead_run(dir, ctx, message)? else {
        return Ok(());
    };
    let policy = RetryPolicy {
        budget: Duration::from_secs(spec.notify.delivery_wait_secs),
        ..RetryPolicy::default()
    };
    let stale = StaleCheck {
        chain_root: spec.chain.chain_root.clone(),
        ..StaleCheck::of(&paths.runs_dir(), &record)
    };
    let outbox = Outbox::new(&dir.path);
    let report = outbox
        .deliver(&channel, &policy, &mut |e| stale.veto(e))
        .await?;
    if let Some(r) = report.filter(|r| r.pending > 0) {
        tracing::warn!(
            "⚠ {} notification(s) of the crashed run {} are still pending ({}); \
             `clawrun outbox flush` retries them",
            r.pending,
            spec.run_id,
            r.last_error.as_deref().unwrap_or("not delivered yet")
        );
    }
    Ok(())
}

/// The sync half of [`record_crash`]: stop the group, mark the record
/// `crashed`, then [`close_crashed`]. Returns the spec and record when the run
/// is (now) `crashed`; `None` when it ended some other way.
fn close_dead_run(
    dir: &RunDir,
    ctx: &RunContext,
    message: &str,
) -> Result<Option<(RunSpec, RunRecord)>> {
    let spec = dir.read_spec()?;
    let mut record = dir.read_record()?;
    match record.status {
        RunStatus::Done(Outcome::Crashed) => return Ok(Some((spec, record))),
        RunStatus::Done(_) => {
            remove_socket(dir);
            return Ok(None);
        }
        RunStatus::Queued | RunStatus::Starting | RunStatus::Running => {}
    }
    if let Some(pgid) = record.agent_pid {
        let grace = Duration::from_secs(spec.limits.grace_secs).min(CRASH_GRACE);
        group::stop_group_blocking(pgid, grace, Duration::from_millis(50));
    }
    // Before the record says crashed: an exec follower that sees it exits.
    let follower = follower::follower_state(&dir.path);
    run::mark_crashed(&mut record, now_secs());
    record.error = Some(message.to_owned());
    dir.write_record(&record)?;
    close_crashed(dir, &spec, &record, (&ctx.paths, Some(ctx)), follower)?;
    dir.release_reserve();
    Ok(Some((spec, record)))
}

/// A run reaped by a command (its runner was found dead, its record marked
/// `crashed` and its agent's group stopped): make the rest final too — the
/// registry entry, the output file, the control socket — and queue the crash
/// message and the wake in its outbox (the next delivery sends them:
/// `clawrun outbox flush`, or the start of the next run). Problems are
/// logged; reaping goes on.
pub fn close_reaped(dir: &RunDir, record: &RunRecord, paths: &Paths) {
    let closed = dir.read_spec().and_then(|spec| {
        let follower = follower::follower_state(&dir.path);
        close_crashed(dir, &spec, record, (paths, None), follower)
    });
    if let Err(e) = closed {
        tracing::warn!("closing the crashed run {}: {e}", record.run_id);
    }
}

/// What follows a record marked `crashed`: the output file (when missing),
/// the session's registry entry (final, and ids the run replaced as
/// `replaced`), the crash message and wake in the outbox (no wake while an
/// exec follower delivers the end by its exit), no control socket. The
/// backend comes from the process's context when there is one (else its
/// backends file is read).
fn close_crashed(
    dir: &RunDir,
    spec: &RunSpec,
    record: &RunRecord,
    (paths, ctx): (&Paths, Option<&RunContext>),
    follower: follower::FollowerState,
) -> Result<()> {
    let error = record.error.as_deref().unwrap_or("the runner crashed");
    remove_socket(dir);
    if !spec.output_file.exists() {
        if let Err(e) = fsutil::write_atomic(&spec.output_file, error.as_bytes()) {
            tracing::warn!("writing {}: {e}", spec.output_file.display());
        }
    }
    let backend = match ctx {
        Some(ctx) => ctx.backend(&spec.backend, spec.backends_file.as_deref())?,
        None => config::load(spec.backends_file.as_deref())?.backend(&spec.backend)?,
    };
    if let Err(e) = SessionLog::new(paths, &backend).record(record, spec) {
        tracing::warn!("session registry: {e}");
    }
    let wake = WakeTarget::of_run(
        spec,
        backend.names().result_marker,
        (WakeStatus::Ended(Outcome::Crashed), record.exit_code),
        record.resume_id.clone(),
        notify::preview(error, notify::WAKE_PREVIEW_CHARS),
    )
    .filter(|_| follower.run_wakes())
    .map(|mut w| {
        w.payload = w.payload.with_record(record);
        w
    });
    let info = RunInfo::new(spec, backend.names());
    let items = notify::crash_items(
        &info,
        &spec.route.destination(),
        spec.route.reply_to.clone(),
        (error, record),
        wake,
    );
    let outbox = Outbox::new(&dir.path);
    for item in items {
        outbox.enqueue(spec.channel.name(), item)?;
    }
    Ok(())
}

fn remove_socket(dir: &RunDir) {
    let _ = std::fs::remove_file(dir.path.join(CONTROL_SOCKET_NAME));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watcher_hears_done_or_end_of_file() {
        assert_eq!(wait_for_runner(&mut &[WATCH_DONE][..]), RunnerEnd::Finished);
        assert_eq!(wait_for_runner(&mut &b""[..]), RunnerEnd::Died);
        assert_eq!(wait_for_runner(&mut &b"xy"[..]), RunnerEnd::Died);
        assert_eq!(wait_for_runner(&mut &b"xd"[..]), RunnerEnd::Finished);
    }
}
