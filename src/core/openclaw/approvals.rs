//! The clawrun plugin's approvals route on the gateway:
//! `POST /clawrun/v1/approvals/request` (the contract of issue 17, served by
//! `openclaw-plugin/`). One call asks the human in the run's chat and
//! long-polls until they decide or the approval times out.
//!
//! ```text
//! → {"runId","requestId","title","description","severity","allowedDecisions",
//!    "timeoutMs","sessionKey","route":{"channel","to","threadId","accountId"}|null}
//! ← 200 {"ok":true,"approvalId":"…","decision":"allow-once"|"allow-always"|"deny"|null}
//! ← 4xx/5xx {"ok":false,"error":{"code","message"}}
//! ```
//! `decision: null` means nobody answered in time. The HTTP timeout is the
//! approval's own plus [`HTTP_MARGIN`], so a gateway that never answers
//! cannot hang the run.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::gateway::{GatewayClient, GatewayError, snippet};
use crate::core::model::approval::{Decision, Severity};

/// Path of the approvals route under the gateway URL.
pub const APPROVALS_REQUEST_PATH: &str = "/clawrun/v1/approvals/request";
/// Path of the plugin's info route (its presence and version).
pub const INFO_PATH: &str = "/clawrun/v1/info";
/// How long the up-front probe of the plugin may take (`clawrun run`,
/// `--validate-only`, `clawrun doctor`).
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// How to install (or update) the plugin, on the gateway's host.
pub const INSTALL_COMMAND: &str =
    "openclaw plugins install <clawrun checkout>/openclaw-plugin --force --accept-capabilities";
/// How much longer than the approval's timeout the HTTP call may take.
pub const HTTP_MARGIN: Duration = Duration::from_secs(15);

/// Where the approval prompt goes (the run's route).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalRoute {
    /// `telegram`, `whatsapp`, …
    pub channel: String,
    /// Chat id / target.
    pub to: Option<String>,
    /// Topic / thread id.
    pub thread_id: Option<String>,
    /// Gateway account id.
    pub account_id: Option<String>,
}

/// The request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalRequest {
    /// clawrun run id.
    pub run_id: String,
    /// Idempotency key: `<run id>:<tool call id or counter>`.
    pub request_id: String,
    /// At most 80 characters.
    pub title: String,
    /// At most 512 characters.
    pub description: String,
    /// How risky.
    pub severity: Severity,
    /// Always `allow-once`, `allow-always`, `deny`.
    pub allowed_decisions: Vec<Decision>,
    /// How long the human has, in milliseconds.
    pub timeout_ms: u64,
    /// The run's OpenClaw session key, when known.
    pub session_key: Option<String>,
    /// The run's chat, when it has one.
    pub route: Option<ApprovalRoute>,
}

/// Why no decision came back.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApprovalError {
    /// The gateway could not be reached, timed out, or refused the token.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// 404: the gateway has no clawrun plugin (or an older one).
    #[error(
        "the OpenClaw gateway has no clawrun approvals route (404): install the clawrun plugin \
         (see the README, \"Approvals from the chat\")"
    )]
    PluginMissing,
    /// Another 4xx/5xx from the plugin.
    #[error("the clawrun plugin refused the approval (HTTP {status}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The plugin's `error.code: error.message`, or a body excerpt.
        message: String,
    },
    /// A 2xx whose body is not the contract's.
    #[error("unexpected answer from the clawrun plugin: {0}")]
    BadAnswer(String),
}

#[derive(Deserialize)]
struct Reply {
    ok: Option<bool>,
    decision: Option<Decision>,
}

/// Ask, and wait for the human: `Ok(None)` when nobody answered in time.
///
/// # Errors
/// [`ApprovalError`] for every failure; the caller denies the call.
pub async fn request_approval(
    client: &GatewayClient,
    req: &ApprovalRequest,
) -> Result<Option<Decision>, ApprovalError> {
    let body = serde_json::to_value(req).map_err(|e| ApprovalError::BadAnswer(e.to_string()))?;
    let wait = Duration::from_millis(req.timeout_ms) + HTTP_MARGIN;
    let (status, text) = client
        .post_json(APPROVALS_REQUEST_PATH, &body, wait)
        .await?;
    match status {
        200..=299 => {
            let reply: Reply = serde_json::from_str(&text)
                .map_err(|e| ApprovalError::BadAnswer(format!("{e}: {}", snippet(&text))))?;
            if reply.ok == Some(false) {
                return Err(ApprovalError::BadAnswer(error_text(&text)));
            }
            Ok(reply.decision)
        }
        _ => Err(status_error(client, status, &text)),
    }
}

/// What the plugin's info route says of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// The installed plugin's version, when it says.
    pub version: Option<String>,
}

/// Ask the plugin's info route, within `timeout`: the clawrun plugin is
/// installed in the gateway and answers behind its auth.
///
/// # Errors
/// [`ApprovalError::Gateway`] (unreachable, no answer in time, token
/// refused), [`ApprovalError::PluginMissing`] (404), another status
/// ([`ApprovalError::Refused`]), or an answer that is not the plugin's
/// ([`ApprovalError::BadAnswer`]).
pub async fn plugin_info(
    client: &GatewayClient,
    timeout: Duration,
) -> Result<PluginInfo, ApprovalError> {
    let (status, text) = client
        .post_json(INFO_PATH, &serde_json::json!({}), timeout)
        .await?;
    match status {
        200 => {
            let info: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if info["plugin"] != "clawrun" {
                return Err(ApprovalError::BadAnswer(client.redact(&snippet(&text))));
            }
            Ok(PluginInfo {
                version: info["version"].as_str().map(str::to_owned),
            })
        }
        _ => Err(status_error(client, status, &text)),
    }
}

/// The error of a plugin route's non-2xx answer: the token refused (401),
/// no plugin (404), or the plugin's own error.
fn status_error(client: &GatewayClient, status: u16, text: &str) -> ApprovalError {
    match status {
        401 => GatewayError::Unauthorized {
            url: client.url().to_owned(),
            token_source: "the gateway token".to_owned(),
        }
        .into(),
        404 => ApprovalError::PluginMissing,
        _ => ApprovalError::Refused {
            status,
            message: client.redact(&error_text(text)),
        },
    }
}

/// `code: message` from an error envelope, or an excerpt of the body.
fn error_text(text: &str) -> String {
    let v: Option<Value> = serde_json::from_str(text).ok();
    let field = |name: &str| {
        v.as_ref()
            .and_then(|v| v.pointer(&format!("/error/{name}")))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    match (field("code"), field("message")) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (None, Some(m)) => m,
        (Some(c), None) => c,
        (None, None) => snippet(text),
    }
}
