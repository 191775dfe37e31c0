//! The background flush of earlier runs' outboxes when a new run starts,
//! through the channel factory ([`crate::channels::named_for_run`]).

use std::path::Path;
use std::time::Duration;

use crate::channels;
use crate::core::context::RunContext;
use crate::core::notify::outbox::{self, RetryPolicy};

/// Deliver what earlier runs left pending, alongside this run.
pub(crate) fn flush_earlier_outboxes(ctx: &RunContext, own: &str) {
    let runs_dir = ctx.paths.runs_dir();
    let own = own.to_owned();
    let ctx = ctx.clone();
    tokio::spawn(async move {
        let policy = RetryPolicy {
            budget: Duration::from_secs(60),
            ..RetryPolicy::default()
        };
        let build = |kind: &str, dir: &Path| channels::named_for_run(kind, dir, &ctx);
        for f in outbox::flush_all(&runs_dir, Some(&own), &policy, &build).await {
            if let Some(e) = f.error {
                tracing::warn!("flushing the outbox of {}: {e}", f.run_id);
            }
        }
    });
}
