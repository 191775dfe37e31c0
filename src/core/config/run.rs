//! `[run]`: defaults for `clawrun run` flags (`approvals`).

use serde::{Deserialize, Serialize};

use crate::core::model::approval::ApprovalMode;

/// `[run]` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunToml {
    /// Default of `--approvals`: `"off"` or `"chat"`.
    pub approvals: Option<ApprovalMode>,
}

/// `[run]` with defaults filled in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunConfig {
    /// Who answers the agent's permission requests when `--approvals` is not given.
    pub approvals: ApprovalMode,
}

impl From<RunToml> for RunConfig {
    fn from(t: RunToml) -> Self {
        Self {
            approvals: t.approvals.unwrap_or_default(),
        }
    }
}
