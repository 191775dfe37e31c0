//! `clawrun outbox`: list, or deliver, what earlier runs could not deliver.

use crate::core::model::exit::ExitStatus;
use std::time::Duration;

use crate::core::model::text::count;
use crate::core::notify::outbox::{self, RetryPolicy};

use crate::cli::args::OutboxArgs;
use crate::cli::{CmdResult, Ctx, render, runtime};

/// `clawrun outbox list|flush`.
pub fn outbox(args: &OutboxArgs, ctx: &Ctx) -> CmdResult {
    let paths = &ctx.paths;
    let runs_dir = paths.runs_dir();
    if args.action == "list" {
        let runs = outbox::runs_with_pending(&runs_dir);
        if args.json {
            render::json(&runs)?;
        } else {
            render::text(&render::outbox::pending(&runs))?;
        }
        // An outbox that cannot be read is a failure, never "nothing pending".
        let unreadable = runs.iter().filter(|r| r.error.is_some()).count();
        return Ok(if unreadable > 0 {
            ExitStatus::Failure
        } else {
            ExitStatus::Success
        });
    }
    if !args.json {
        announce(&runs_dir, args.wait);
    }
    // Read once; a bad config fails only the channels that need it.
    let configs = ctx.run_context();
    let build = |kind: &str, dir: &std::path::Path| match &configs {
        Ok(c) => crate::channels::named_for_run(kind, dir, c),
        Err(_) if kind == crate::channels::ChannelKind::Console.name() => {
            Ok(crate::channels::Console::new(Some(
                dir.join(crate::channels::console::NOTIFICATIONS_FILE_NAME),
            ))
            .into())
        }
        Err(e) => Err(crate::Error::Config(
            crate::core::error::ConfigError::Invalid(e.to_string()),
        )),
    };
    let results = runtime()?.block_on(outbox::flush_all(
        &runs_dir,
        None,
        &RetryPolicy {
            budget: Duration::from_secs(args.wait),
            ..RetryPolicy::default()
        },
        &build,
    ));
    let still_pending: usize = results
        .iter()
        .map(|r| r.report.as_ref().map_or(0, |p| p.pending))
        .sum();
    let errors = results.iter().filter(|r| r.error.is_some()).count();
    if args.json {
        render::json(&results)?;
    } else {
        render::text(&render::outbox::flushed(&results))?;
    }
    // Items a live runner holds are being delivered, not left: they do not
    // make the flush fail (README, "Exit codes").
    Ok(if still_pending > 0 || errors > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// Before delivering, say what this flush will do: delivery may wait up to
/// `--wait` seconds for a channel that is down, so a silent terminal is not
/// taken for a hang; items a runner holds are its to deliver, not waited for.
fn announce(runs_dir: &std::path::Path, wait: u64) {
    let (mut mine, mut held) = (0, 0);
    for run in outbox::runs_with_pending(runs_dir) {
        if outbox::Outbox::new(&run.run_dir).is_held() {
            held += run.pending.len();
        } else {
            mine += run.pending.len();
        }
    }
    if held > 0 {
        eprintln!(
            "⏳ {} {} being delivered by their runner.",
            count(held as u64, "pending item", "pending items"),
            if held == 1 { "is" } else { "are" }
        );
    }
    if mine > 0 {
        eprintln!(
            "⏳ Delivering {}; retrying for up to {wait}s (--wait)…",
            count(mine as u64, "pending item", "pending items")
        );
    }
}
