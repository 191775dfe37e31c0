//! `clawrun outbox`: list, or deliver, what earlier runs could not deliver.

use std::time::Duration;

use clawrun::core::model::text::count;
use clawrun::core::notify::outbox::{self, RetryPolicy};
use clawrun::core::runner;

use crate::cli::args::OutboxArgs;
use crate::cli::exit::EXIT_INTERNAL;
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
        return Ok(if unreadable > 0 { EXIT_INTERNAL } else { 0 });
    }
    if !args.json {
        // Delivery may wait up to --wait seconds for a channel that is down:
        // say so first, so a silent terminal is not taken for a hang.
        let items: usize = outbox::runs_with_pending(&runs_dir)
            .iter()
            .map(|r| r.pending.len())
            .sum();
        if items > 0 {
            eprintln!(
                "⏳ Delivering {}; retrying for up to {}s (--wait)…",
                count(items as u64, "pending item", "pending items"),
                args.wait
            );
        }
    }
    let build = |kind: &str, dir: &std::path::Path| runner::channel_named(kind, dir, paths);
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
    Ok(if still_pending > 0 || errors > 0 {
        EXIT_INTERNAL
    } else {
        0
    })
}
