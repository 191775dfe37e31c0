//! The check of clawrun's OpenClaw plugin (`openclaw-plugin/` in the
//! repository): installed in the gateway — its `POST /clawrun/v1/info`
//! answers behind the gateway's HTTP auth — and at the version this clawrun
//! speaks to. Only `--approvals chat` needs it: a missing plugin fails the
//! check when `[run] approvals = "chat"`, and is skipped otherwise.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Check, CheckStatus};
use crate::core::openclaw::gateway::GatewayClient;

/// The plugin version this clawrun was written against (`openclaw-plugin/package.json`).
pub const PLUGIN_VERSION: &str = "0.1.0";

/// How to install (or update) the plugin, on the gateway's host.
pub const INSTALL_COMMAND: &str =
    "openclaw plugins install <clawrun checkout>/openclaw-plugin --force --accept-capabilities";

const NAME: &str = "clawrun plugin";

/// Ask the plugin's info route; `needed`: approvals from the chat are the
/// configured default, so a missing plugin is a failure.
pub(super) async fn check_plugin(client: &GatewayClient, needed: bool, timeout: Duration) -> Check {
    let answer = client
        .post_json("/clawrun/v1/info", &json!({}), timeout)
        .await;
    let (status, body) = match answer {
        Ok(a) => a,
        Err(e) => {
            return Check::new(NAME, CheckStatus::Warn, format!("not checked: {e}"))
                .fix("run `clawrun doctor` again once the gateway answers");
        }
    };
    if status == 404 {
        let (st, why) = if needed {
            (
                CheckStatus::Fail,
                "not installed, and `[run] approvals = \"chat\"` needs it",
            )
        } else {
            (
                CheckStatus::Skip,
                "not installed (only `--approvals chat` needs it)",
            )
        };
        return Check::new(NAME, st, why).fix(INSTALL_COMMAND);
    }
    let info: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    if status != 200 || info["plugin"] != "clawrun" {
        return Check::new(
            NAME,
            CheckStatus::Warn,
            format!(
                "/clawrun/v1/info answered HTTP {status}: {}",
                client.redact(&crate::core::model::approval::clip(&body, 200))
            ),
        )
        .fix(INSTALL_COMMAND);
    }
    match info["version"].as_str() {
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
