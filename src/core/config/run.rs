//! `[run]`: defaults for `clawrun run` itself: whether a run gets its own git
//! worktree ([`WorktreeMode`]) and who answers the agent's permission
//! requests (`approvals`).

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

/// `[run]` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunToml {
    /// Whether runs get their own worktree (`never`, `auto`, `always`).
    pub worktree: Option<WorktreeMode>,
    /// Default of `--approvals`: `"off"` or `"chat"`.
    pub approvals: Option<ApprovalMode>,
}

/// `[run]` with defaults applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunConfig {
    /// Whether runs get their own worktree (default `never`).
    pub worktree: WorktreeMode,
    /// Who answers the agent's permission requests when `--approvals` is not given.
    pub approvals: ApprovalMode,
}

impl From<RunToml> for RunConfig {
    fn from(t: RunToml) -> Self {
        Self {
            worktree: t.worktree.unwrap_or_default(),
            approvals: t.approvals.unwrap_or_default(),
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
