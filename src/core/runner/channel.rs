//! The channels of runs: built by type for a run (or for what an earlier run
//! left in its outbox), and the background flush of earlier runs' outboxes
//! when a new run starts.

use std::path::Path;
use std::time::Duration;

use crate::channels::{AnyChannel, Console, console};
use crate::core::config::ChannelKind;
use crate::core::error::{Error, Result};
use crate::core::notify::delivery::{self, Configs};
use crate::core::notify::outbox::{self, RetryPolicy};
use crate::core::store::paths::Paths;

/// Build the channel of type `kind` for the run in `run_dir` (used to deliver
/// what an earlier run left in its outbox).
///
/// # Errors
/// An unknown channel type, or a channel that cannot be configured.
pub fn channel_for(kind: ChannelKind, run_dir: &Path, paths: &Paths) -> Result<AnyChannel> {
    if kind == ChannelKind::Console {
        return Ok(Console::new(Some(run_dir.join(console::NOTIFICATIONS_FILE_NAME))).into());
    }
    delivery::build_kind(kind, run_dir, &Configs::load(paths)?)
}

/// [`channel_for`] by the channel type's name as an outbox records it.
///
/// # Errors
/// An unknown channel type, or one that cannot be built.
pub fn channel_named(kind: &str, run_dir: &Path, paths: &Paths) -> Result<AnyChannel> {
    let kind: ChannelKind =
        kind.parse()
            .map_err(|e: crate::core::config::UnknownChannelKind| {
                Error::Config(crate::core::error::ConfigError::Invalid(e.to_string()))
            })?;
    channel_for(kind, run_dir, paths)
}

/// Deliver what earlier runs left pending, alongside this run.
pub(crate) fn flush_earlier_outboxes(paths: &Paths, own: &str) {
    let runs_dir = paths.runs_dir();
    let own = own.to_owned();
    let paths = paths.clone();
    tokio::spawn(async move {
        let policy = RetryPolicy {
            budget: Duration::from_secs(60),
            ..RetryPolicy::default()
        };
        let build = |kind: &str, dir: &Path| channel_named(kind, dir, &paths);
        for f in outbox::flush_all(&runs_dir, Some(&own), &policy, &build).await {
            if let Some(e) = f.error {
                tracing::warn!("flushing the outbox of {}: {e}", f.run_id);
            }
        }
    });
}
