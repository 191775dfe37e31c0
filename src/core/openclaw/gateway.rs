//! HTTP client for the OpenClaw gateway's `POST /tools/invoke`.
//!
//! The envelope and status codes are those measured on a real gateway
//! (`reference/openclaw/README.md` §3):
//!
//! - success: 200 `{"ok":true,"result":{"content":[…],"details":{…}}}`;
//! - errors: `{"ok":false,"error":{"type","message"}}` or `{"error":{"message","type"}}`;
//!   401 bad token, 400 bad request or tool input, 403 blocked by a hook, 404 tool
//!   unknown *or* not allowed over HTTP (indistinguishable), 429 auth rate limit,
//!   500 the tool threw (sanitized: the reason is only in the gateway log),
//!   503 gateway not ready;
//! - logical failures of some tools (`sessions_send`) are a 200 whose
//!   `result.details.status` is `error` or `forbidden`: we report those as failures.
//!
//! The token is sent as `Authorization: Bearer …` and never appears in errors or
//! `Debug` output.

use std::fmt;
use std::time::Duration;

use serde_json::{Value, json};

use crate::core::config::{DEFAULT_CONNECT_TIMEOUT_SECS, DEFAULT_REQUEST_TIMEOUT_SECS, Secret};

/// Path of the tool endpoint under the gateway URL.
pub const TOOLS_INVOKE_PATH: &str = "/tools/invoke";
/// Wait used for a 429 that carries no `Retry-After`.
pub const DEFAULT_RETRY_AFTER_SECS: u64 = 30;

/// Why a gateway call failed. Messages never contain the token.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GatewayError {
    /// 401: the token was rejected.
    #[error(
        "the OpenClaw gateway at {url} rejected the token (401 Unauthorized); check {token_source}"
    )]
    Unauthorized {
        /// Gateway URL.
        url: String,
        /// Where the token came from (config key and file, or variable).
        token_source: String,
    },
    /// 400 (also 413): bad request or bad tool input.
    #[error("the OpenClaw gateway refused the `{tool}` call (HTTP {status}): {message}")]
    BadRequest {
        /// Tool name.
        tool: String,
        /// HTTP status.
        status: u16,
        /// The gateway's message.
        message: String,
    },
    /// 404: the tool is unknown or denied over HTTP.
    #[error("{message}")]
    ToolNotAvailable {
        /// Tool name.
        tool: String,
        /// Full explanation with the settings to add.
        message: String,
    },
    /// 403: blocked by a hook or an approval rule.
    #[error("the OpenClaw gateway blocked the `{tool}` call (403): {message}")]
    Blocked {
        /// Tool name.
        tool: String,
        /// The gateway's message.
        message: String,
    },
    /// 429.
    #[error("the OpenClaw gateway is rate limiting (429): retry after {}s", .retry_after.as_secs())]
    RateLimited {
        /// How long to wait.
        retry_after: Duration,
    },
    /// 500: the tool threw; the gateway hides the reason.
    #[error(
        "the `{tool}` tool failed inside the OpenClaw gateway (HTTP 500, \"{message}\"); the gateway \
         log (/tmp/openclaw/openclaw-<date>.log or logging.file) has the reason, on a line with \
         `[tools-invoke] tool execution failed`"
    )]
    ToolFailed {
        /// Tool name.
        tool: String,
        /// The sanitized message.
        message: String,
    },
    /// 503, 408 or another 5xx: the gateway is not ready or overloaded.
    #[error("the OpenClaw gateway is unavailable (HTTP {status}): {message}")]
    Unavailable {
        /// HTTP status.
        status: u16,
        /// The gateway's message.
        message: String,
    },
    /// No answer within the request timeout.
    #[error("the OpenClaw gateway at {url} did not answer within {}s", .timeout.as_secs())]
    Timeout {
        /// Gateway URL.
        url: String,
        /// The timeout.
        timeout: Duration,
    },
    /// Could not connect (refused, unreachable, connect timeout): the gateway is down.
    #[error("cannot reach the OpenClaw gateway at {url} ({reason}); is it running?")]
    Unreachable {
        /// Gateway URL.
        url: String,
        /// Short cause.
        reason: String,
    },
    /// A 200 whose `details.status` is `error`/`forbidden`, or `ok: false`.
    #[error("the `{tool}` call failed: {status}: {message}")]
    ToolError {
        /// Tool name.
        tool: String,
        /// `details.status`.
        status: String,
        /// `details.error` or a summary.
        message: String,
    },
    /// Any other status, or a body we cannot read.
    #[error("unexpected answer from the OpenClaw gateway (HTTP {status}): {message}")]
    Unexpected {
        /// HTTP status.
        status: u16,
        /// What was wrong.
        message: String,
    },
}

/// Connect and request timeouts for HTTP clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpTimeouts {
    /// TCP (and TLS) connect.
    pub connect: Duration,
    /// The whole request, including reading the body.
    pub request: Duration,
}

impl Default for HttpTimeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(DEFAULT_CONNECT_TIMEOUT_SECS),
            request: Duration::from_secs(DEFAULT_REQUEST_TIMEOUT_SECS),
        }
    }
}

impl HttpTimeouts {
    /// An HTTP client with these timeouts and no redirects (a redirect would send
    /// our token elsewhere).
    ///
    /// # Errors
    /// A message if the TLS backend cannot be initialised.
    pub fn client(&self) -> Result<reqwest::Client, String> {
        reqwest::Client::builder()
            .connect_timeout(self.connect)
            .timeout(self.request)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("clawrun/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {}", e.without_url()))
    }
}

/// What the gateway's `/readyz` said ([`GatewayClient::readiness`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// 200: up and serving.
    Ready,
    /// Any other status: starting, or draining for a stop (503
    /// `gateway-draining`).
    NotReady {
        /// HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// No answer (down, refused, timed out).
    Unreachable(String),
}

/// A client for one gateway.
#[derive(Clone)]
pub struct GatewayClient {
    url: String,
    token: Secret,
    token_source: String,
    timeouts: HttpTimeouts,
    http: reqwest::Client,
}

impl fmt::Debug for GatewayClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayClient")
            .field("url", &self.url)
            .field("token", &self.token)
            .field("token_source", &self.token_source)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl GatewayClient {
    /// A client for the gateway at `url` (e.g. `http://127.0.0.1:18789`).
    /// `token_source` says where the token came from; it is named when the
    /// gateway rejects the token.
    ///
    /// # Errors
    /// [`GatewayError::Unexpected`] if the HTTP client cannot be built.
    pub fn new(
        url: impl Into<String>,
        token: Secret,
        token_source: impl Into<String>,
        timeouts: HttpTimeouts,
    ) -> Result<Self, GatewayError> {
        let http = timeouts
            .client()
            .map_err(|message| GatewayError::Unexpected { status: 0, message })?;
        Ok(Self {
            url: url.into().trim_end_matches('/').to_owned(),
            token,
            token_source: token_source.into(),
            timeouts,
            http,
        })
    }

    /// The gateway base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Call `tool` with `args` and return the envelope's `result` object (the
    /// tool's data is in `result.details`).
    ///
    /// `idempotency_key` is sent as the envelope's `idempotencyKey` (the stable
    /// tool-call id).
    ///
    /// # Errors
    /// A [`GatewayError`] for every non-success described in the module docs.
    pub async fn invoke(
        &self,
        tool: &str,
        args: Value,
        idempotency_key: Option<&str>,
    ) -> Result<Value, GatewayError> {
        let mut body = json!({ "tool": tool, "args": args });
        if let (Some(key), Some(obj)) = (idempotency_key, body.as_object_mut()) {
            obj.insert("idempotencyKey".to_owned(), Value::String(key.to_owned()));
        }
        let endpoint = format!("{}{TOOLS_INVOKE_PATH}", self.url);
        let response = self
            .http
            .post(&endpoint)
            .bearer_auth(self.token.expose())
            .json(&body)
            .send()
            .await
            .map_err(|e| self.transport_error(&e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let text = response
            .text()
            .await
            .map_err(|e| self.transport_error(&e))?;
        let parsed: Option<Value> = serde_json::from_str(&text).ok();
        let message = parsed
            .as_ref()
            .and_then(|v| v.pointer("/error/message"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| snippet(&text));
        let tool_owned = tool.to_owned();
        match status {
            200..=299 => {
                let Some(v) = parsed else {
                    return Err(GatewayError::Unexpected {
                        status,
                        message: format!("the body is not JSON: {}", snippet(&text)),
                    });
                };
                check_success(tool, v)
            }
            401 => Err(GatewayError::Unauthorized {
                url: self.url.clone(),
                token_source: self.token_source.clone(),
            }),
            400 | 413 => Err(GatewayError::BadRequest {
                tool: tool_owned,
                status,
                message,
            }),
            403 => Err(GatewayError::Blocked {
                tool: tool_owned,
                message,
            }),
            404 => Err(GatewayError::ToolNotAvailable {
                message: not_available_message(tool, &message),
                tool: tool_owned,
            }),
            429 => Err(GatewayError::RateLimited {
                retry_after: Duration::from_secs(retry_after.unwrap_or(DEFAULT_RETRY_AFTER_SECS)),
            }),
            500 => Err(GatewayError::ToolFailed {
                tool: tool_owned,
                message,
            }),
            408 | 502..=504 => Err(GatewayError::Unavailable { status, message }),
            _ => Err(GatewayError::Unexpected { status, message }),
        }
    }

    /// POST `body` to `path` (under the gateway URL) with the gateway's HTTP
    /// auth, waiting at most `timeout` for the whole answer: its status and
    /// body text. Used by plugin routes (`super::approvals`).
    ///
    /// # Errors
    /// [`GatewayError::Unreachable`] or [`GatewayError::Timeout`] (with
    /// `timeout`) when no answer came.
    pub async fn post_json(
        &self,
        path: &str,
        body: &Value,
        timeout: Duration,
    ) -> Result<(u16, String), GatewayError> {
        let timed_out = |e: &reqwest::Error| match self.transport_error(e) {
            GatewayError::Timeout { url, .. } => GatewayError::Timeout { url, timeout },
            other => other,
        };
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(self.token.expose())
            .timeout(timeout)
            .json(body)
            .send()
            .await
            .map_err(|e| timed_out(&e))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| timed_out(&e))?;
        Ok((status, text))
    }

    /// `GET /readyz`: whether the gateway is up and serving, draining for a
    /// stop or restart (503 `gateway-draining`), or gone. Waits at most
    /// `timeout`. Exec mode asks this on SIGTERM to tell a task cancel (the
    /// gateway stays ready) from a gateway shutdown.
    pub async fn readiness(&self, timeout: Duration) -> Readiness {
        let response = self
            .http
            .get(format!("{}/readyz", self.url))
            .timeout(timeout)
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => Readiness::Ready,
            Ok(r) => {
                let status = r.status().as_u16();
                let body = r.text().await.unwrap_or_default();
                Readiness::NotReady {
                    status,
                    body: snippet(&body),
                }
            }
            Err(e) => Readiness::Unreachable(self.transport_error(&e).to_string()),
        }
    }

    /// `text` without the gateway token in it.
    pub fn redact(&self, text: &str) -> String {
        redact(text, self.token.expose())
    }

    fn transport_error(&self, e: &reqwest::Error) -> GatewayError {
        if e.is_connect() {
            GatewayError::Unreachable {
                url: self.url.clone(),
                reason: connect_reason(e),
            }
        } else if e.is_timeout() {
            GatewayError::Timeout {
                url: self.url.clone(),
                timeout: self.timeouts.request,
            }
        } else {
            GatewayError::Unreachable {
                url: self.url.clone(),
                reason: redact(&error_chain(e), self.token.expose()),
            }
        }
    }
}

/// A 2xx envelope: `ok: true` and no failing `details.status`.
fn check_success(tool: &str, v: Value) -> Result<Value, GatewayError> {
    if v.get("ok").and_then(Value::as_bool) == Some(false) {
        return Err(GatewayError::ToolError {
            tool: tool.to_owned(),
            status: "ok=false".to_owned(),
            message: v
                .pointer("/error/message")
                .and_then(Value::as_str)
                .unwrap_or("no message")
                .to_owned(),
        });
    }
    let Some(result) = v.get("result").cloned() else {
        return Err(GatewayError::Unexpected {
            status: 200,
            message: "the answer has no `result`".to_owned(),
        });
    };
    let details = result.get("details");
    let status = details
        .and_then(|d| d.get("status"))
        .and_then(Value::as_str);
    if let Some(s @ ("error" | "forbidden")) = status {
        let message = details
            .and_then(|d| d.get("error").or_else(|| d.get("message")))
            .and_then(Value::as_str)
            .unwrap_or("no reason given")
            .to_owned();
        return Err(GatewayError::ToolError {
            tool: tool.to_owned(),
            status: s.to_owned(),
            message,
        });
    }
    if details.and_then(|d| d.get("ok")).and_then(Value::as_bool) == Some(false) {
        let message = details
            .and_then(|d| d.get("error"))
            .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_owned))
            .unwrap_or_else(|| "no reason given".to_owned());
        return Err(GatewayError::ToolError {
            tool: tool.to_owned(),
            status: "ok=false".to_owned(),
            message,
        });
    }
    Ok(result)
}

/// The 404 explanation; for `sessions_send`, exactly which settings to add.
fn not_available_message(tool: &str, gateway_message: &str) -> String {
    if tool == "sessions_send" {
        format!(
            "the OpenClaw gateway does not allow `sessions_send` over HTTP (404 \"{gateway_message}\"). \
             Add both settings to openclaw.json: `gateway.tools.allow: [\"sessions_send\"]` and \
             `tools.sessions.visibility: \"all\"` (the gateway reloads them without a restart)"
        )
    } else {
        format!(
            "the OpenClaw gateway has no `{tool}` tool available over HTTP (404 \"{gateway_message}\"): \
             it is unknown, or denied by policy; if it is on the HTTP deny list, add it to \
             `gateway.tools.allow` in openclaw.json"
        )
    }
}

/// The innermost cause of a connect failure, in a few words, without the URL.
fn connect_reason(e: &reqwest::Error) -> String {
    let chain = error_chain(e);
    let lower = chain.to_lowercase();
    if lower.contains("refused") {
        "connection refused".to_owned()
    } else if e.is_timeout() || lower.contains("timed out") {
        "connect timed out".to_owned()
    } else if lower.contains("dns") || lower.contains("resolve") {
        "cannot resolve the host name".to_owned()
    } else {
        chain
    }
}

/// The error's sources joined by ": ", built without the request URL.
pub(crate) fn error_chain(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut parts = Vec::new();
    let mut source = e.source();
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    if parts.is_empty() {
        "request failed".to_owned()
    } else {
        parts.join(": ")
    }
}

/// Remove `secret` from `text`, and any `bot<…>/` path segment (Bot API URLs).
pub(crate) fn redact(text: &str, secret: &str) -> String {
    let mut out = if secret.is_empty() {
        text.to_owned()
    } else {
        text.replace(secret, "<redacted>")
    };
    let mut search_from = 0;
    while let Some(pos) = out[search_from..].find("/bot") {
        let start = search_from + pos + 4;
        let end = out[start..]
            .find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == ')')
            .map_or(out.len(), |e| start + e);
        if end > start && out[start..end] != *"<redacted>" {
            out.replace_range(start..end, "<redacted>");
        }
        search_from = start;
        if search_from >= out.len() {
            break;
        }
    }
    out
}

/// At most 300 characters of a body, for messages.
pub(crate) fn snippet(text: &str) -> String {
    let t = text.trim();
    if t.is_empty() {
        return "(empty body)".to_owned();
    }
    let mut s: String = t.chars().take(300).collect();
    if s.len() < t.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_removes_bot_path_and_secret() {
        let s = "error sending request for url (http://x/bot123:ABC/sendMessage): 123:ABC";
        let r = redact(s, "123:ABC");
        assert!(!r.contains("123:ABC"), "{r}");
        assert!(r.contains("/bot<redacted>/sendMessage"), "{r}");
    }

    #[test]
    fn success_with_error_status_is_a_failure() {
        let v =
            json!({"ok": true, "result": {"details": {"status": "forbidden", "error": "nope"}}});
        let e = check_success("sessions_send", v);
        assert!(
            matches!(e, Err(GatewayError::ToolError { ref status, .. }) if status == "forbidden")
        );
        let ok = json!({"ok": true, "result": {"details": {"status": "accepted"}}});
        assert!(check_success("sessions_send", ok).is_ok());
    }
}
