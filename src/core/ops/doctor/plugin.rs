//! The check of clawrun's OpenClaw plugin (`openclaw-plugin/` in the
//! repository): installed in the gateway — its `POST /clawrun/v1/info`
//! answers behind the gateway's HTTP auth — and at the version this clawrun
//! speaks to. Only `--approvals chat` needs it: a missing plugin fails the
//! check when `[run] approvals = "chat"`, and is a warning otherwise (a run
//! with `--approvals chat` is refused until it is installed).

use std::time::Duration;

use super::{Check, CheckStatus};
use crate::core::openclaw::approvals::{ApprovalError, plugin_info};
use crate::core::openclaw::gateway::GatewayClient;

/// The plugin version this clawrun was written against (`openclaw-plugin/package.json`).
pub const PLUGIN_VERSION: &str = "0.1.0";

/// How to install (or update) the plugin, on the gateway's host.
pub use crate::core::openclaw::approvals::INSTALL_COMMAND;

const NAME: &str = "clawrun plugin";

/// Ask the plugin's info route (the same probe `clawrun run --approvals
/// chat` makes before it launches); `needed`: approvals from the chat are
/// the configured default, so a missing plugin is a failure, else a warning
/// (`--approvals chat` is refused until it is installed).
pub(super) async fn check_plugin(client: &GatewayClient, needed: bool, timeout: Duration) -> Check {
    let info = match plugin_info(client, timeout).await {
        Ok(info) => info,
        Err(ApprovalError::Gateway(e)) => {
            return Check::new(NAME, CheckStatus::Warn, format!("not checked: {e}"))
                .fix("run `clawrun doctor` again once the gateway answers");
        }
        Err(ApprovalError::PluginMissing) => {
            let (st, why) = if needed {
                (
                    CheckStatus::Fail,
                    "not installed, and `[run] approvals = \"chat\"` needs it: every run is \
                     refused until it is installed",
                )
            } else {
                (
                    CheckStatus::Warn,
                    "not installed: `--approvals chat` needs it (such runs are refused until \
                     it is installed); nothing else does",
                )
            };
            return Check::new(NAME, st, why).fix(INSTALL_COMMAND);
        }
        Err(e) => {
            return Check::new(NAME, CheckStatus::Warn, e.to_string()).fix(INSTALL_COMMAND);
        }
    };
    match info.version.as_deref() {
        Some(PLUGIN_VERSION) => Check::new(
            NAME,
            CheckStatus::Ok,
            format!("installed, version {PLUGIN_VERSION} (serves --approvals chat)"),
        ),
        other => Check::new(
            NAME,
            CheckStatus::Warn,
            format!(
                "installed at version {}, this clawrun expects {PLUGIN_VERSION}",
                other.unwrap_or("?")
            ),
        )
        .fix(format!("update it: {INSTALL_COMMAND}")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    /// The version constant follows the plugin's own files.
    #[test]
    fn the_expected_version_is_the_plugin_s() {
        let package: serde_json::Value =
            serde_json::from_str(include_str!("../../../../openclaw-plugin/package.json")).unwrap();
        assert_eq!(package["version"], super::PLUGIN_VERSION);
        let index = include_str!("../../../../openclaw-plugin/index.js");
        assert!(index.contains(&format!(
            "export const VERSION = \"{}\";",
            super::PLUGIN_VERSION
        )));
    }
}
