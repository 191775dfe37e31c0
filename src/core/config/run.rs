//! `[run]`: defaults for `clawrun run` itself: whether a run gets its own git
//! worktree ([`WorktreeMode`]), who answers the agent's permission requests
//! (`approvals`), and the [`Safety`] preset.

use serde::{Deserialize, Serialize};

use crate::core::model::approval::ApprovalMode;

/// Whether a run gets its own git worktree (`[run] worktree`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorktreeMode {
    /// Never (unless `--worktree` asks): the agent works in the project
    /// directory itself.
    #[default]
    Never,
    /// A worktree when another run is already active in the same repository;
    /// the project directory itself otherwise (and outside a repository).
    Auto,
    /// Always (unless `--no-worktree`): the project must be in a git repository.
    Always,
}

impl WorktreeMode {
    /// The mode word, as written in `clawrun.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            WorktreeMode::Never => "never",
            WorktreeMode::Auto => "auto",
            WorktreeMode::Always => "always",
        }
    }
}

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
pub(crate) struct RunToml {
    /// Whether runs get their own worktree (`never`, `auto`, `always`).
    pub worktree: Option<WorktreeMode>,
    /// Default of `--approvals`: `"off"` or `"chat"`.
    pub approvals: Option<ApprovalMode>,
    /// Default safety preset of a run given no `--safety` (default `full`).
    pub safety: Option<Safety>,
    /// Default of `--node`: the paired OpenClaw node runs start on.
    pub node: Option<String>,
}

/// `[run]` with defaults applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunConfig {
    /// Whether runs get their own worktree (default `never`).
    pub worktree: WorktreeMode,
    /// Who answers the agent's permission requests when `--approvals` is not given.
    pub approvals: ApprovalMode,
    /// Default safety preset (`--safety` wins).
    pub safety: Safety,
    /// The paired node runs start on when `--node` is not given (none: here).
    pub node: Option<String>,
}

impl From<RunToml> for RunConfig {
    fn from(t: RunToml) -> Self {
        Self {
            worktree: t.worktree.unwrap_or_default(),
            approvals: t.approvals.unwrap_or_default(),
            safety: t.safety.unwrap_or_default(),
            node: t.node.filter(|n| !n.trim().is_empty()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::path::Path;

    use super::WorktreeMode;
    use crate::core::config::Config;

    #[test]
    fn run_worktree_is_read_and_checked() {
        let p = Path::new("clawrun.toml");
        let c = Config::from_toml_str("[run]\nworktree = \"auto\"\n", p).unwrap();
        assert_eq!(c.run.worktree, WorktreeMode::Auto);
        assert_eq!(Config::default().run.worktree, WorktreeMode::Never);
        let bad = Config::from_toml_str("[run]\nworktree = \"sometimes\"\n", p).unwrap_err();
        assert!(bad.to_string().contains("run"), "{bad}");
        let unknown = Config::from_toml_str("[run]\nworktrees = \"auto\"\n", p).unwrap_err();
        assert!(unknown.to_string().contains("worktrees"), "{unknown}");
    }
}
