//! Backend definitions from `backends.toml` (temporary minimal version).

use std::path::Path;

use crate::backends::{AnyBackend, ClaudeBackend, CodexBackend};
use crate::core::error::ConfigError;

/// The loaded backend definitions.
#[derive(Debug, Clone, Default)]
pub struct BackendsConfig;

impl BackendsConfig {
    /// Load the embedded defaults and the user's overrides.
    ///
    /// # Errors
    /// Unreadable or invalid files.
    pub fn load(_user_file: Option<&Path>) -> Result<Self, ConfigError> {
        Ok(Self)
    }

    /// The backend named `name`.
    ///
    /// # Errors
    /// Unknown names.
    pub fn backend(&self, name: &str) -> Result<AnyBackend, ConfigError> {
        match name {
            "claude" => Ok(ClaudeBackend.into()),
            "codex" => Ok(CodexBackend.into()),
            other => Err(ConfigError::Invalid(format!("unknown backend {other:?}"))),
        }
    }
}
