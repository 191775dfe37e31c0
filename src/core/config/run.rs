//! `[run]`: defaults for every `clawrun run`, and the [`Safety`] presets.

use serde::{Deserialize, Serialize};

/// How much an unattended agent may do, named the same for every backend.
/// Each backend maps a preset to its CLI's own permission or sandbox option
/// (`crate::backends::Backend::safety_permission`); the explicit
/// `--permission-mode` / `--sandbox` flags win over it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Safety {
    /// No limits: the backend's configured default (`--dangerously-skip-permissions`,
    /// `--dangerously-bypass-approvals-and-sandbox`), as the seeds ran.
    #[default]
    Full,
    /// Edits inside the project; writes outside it are denied.
    Workspace,
    /// Reads only: every edit is denied.
    ReadOnly,
}

impl Safety {
    /// Every preset, in the order of the docs.
    pub const ALL: [Safety; 3] = [Safety::Full, Safety::Workspace, Safety::ReadOnly];

    /// The name used in flags, files and messages: `full`, `workspace`, `read-only`.
    pub fn as_str(self) -> &'static str {
        match self {
            Safety::Full => "full",
            Safety::Workspace => "workspace",
            Safety::ReadOnly => "read-only",
        }
    }

    /// The preset called `name`, or `None`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether this is the default, unrestricted preset.
    pub fn is_full(&self) -> bool {
        *self == Safety::Full
    }
}

impl std::fmt::Display for Safety {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[run]` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunToml {
    /// Default safety preset of a run given no `--safety` (default `full`).
    pub safety: Option<Safety>,
}

/// `[run]`, with defaults filled in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunConfig {
    /// Default safety preset (`--safety` wins).
    pub safety: Safety,
}

impl From<RunToml> for RunConfig {
    fn from(t: RunToml) -> Self {
        RunConfig {
            safety: t.safety.unwrap_or_default(),
        }
    }
}
