//! Bridge from runs to the session registry (temporary no-op until the registry lands).

use crate::backends::{AnyBackend, Backend};
use crate::core::paths::Paths;
use crate::core::run::{RunRecord, RunSpec};

/// Records runs in the backend's session registry.
#[derive(Debug, Clone)]
pub struct SessionLog {
    path: std::path::PathBuf,
}

impl SessionLog {
    /// The log for `backend`'s registry.
    pub fn new(paths: &Paths, backend: &AnyBackend) -> Self {
        Self {
            path: paths.registry(backend.registry_file()),
        }
    }

    /// Record the run's current state.
    ///
    /// # Errors
    /// Registry errors.
    pub fn record(&self, _record: &RunRecord, _spec: &RunSpec) -> crate::Result<()> {
        let _ = &self.path;
        Ok(())
    }
}

/// `clawrun sessions …` (temporary until the registry lands).
///
/// # Errors
/// Registry errors.
pub fn cmd_sessions(_args: &crate::cli::SessionsArgs, _paths: &Paths) -> anyhow::Result<u8> {
    Ok(0)
}
