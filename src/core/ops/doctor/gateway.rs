//! The checks of the OpenClaw gateway: reachability (`/readyz`, then
//! `/healthz`), the token (a cheap authenticated `sessions_list`), clawrun's
//! plugin ([`super::plugin`]), and whether `sessions_send` is allowed, decided
//! from openclaw.json's settings.

use serde_json::{Value, json};

use super::{Check, CheckStatus, SESSIONS_SEND_SETTINGS};
use crate::core::config::{Config, NotifyChannel};
use crate::core::model::approval::ApprovalMode;
use crate::core::openclaw::config::{
    self as openclaw_config, GATEWAY_TOKEN_ENV_NAME, OpenclawConfig,
};
use crate::core::openclaw::gateway::{GatewayClient, GatewayError, HttpTimeouts, error_chain};
use crate::core::store::paths::Env;

/// Gateway reachability, token and `sessions_send` policy.
pub(super) async fn check_gateway(
    config: &Config,
    oc: &OpenclawConfig,
    raw: Option<&Value>,
    env: &dyn Env,
    timeouts: HttpTimeouts,
    secrets: &mut Vec<String>,
) -> Vec<Check> {
    let url = openclaw_config::gateway_url(config, oc);
    let configured = config.gateway.url.is_some()
        || config.gateway.token_env.is_some()
        || raw.is_some_and(|r| r.get("gateway").is_some())
        || env.var(GATEWAY_TOKEN_ENV_NAME).is_some();
    if !configured {
        let why = "no gateway configured (no gateway section in openclaw.json, no [gateway] in clawrun.toml)";
        let fix = "optional: WhatsApp and the message tool need the OpenClaw gateway; Telegram-direct and the console do not";
        return vec![
            Check::new("gateway", CheckStatus::Skip, why).fix(fix),
            Check::new("gateway token", CheckStatus::Skip, "no gateway configured"),
            Check::new(
                "clawrun plugin",
                CheckStatus::Skip,
                "no gateway configured (`--approvals chat` needs the gateway and the clawrun plugin)",
            ),
            Check::new("sessions_send", CheckStatus::Skip, "no gateway configured"),
        ];
    }
    let mut out = Vec::new();
    let mut plugin = None;
    let reachable = match timeouts.client() {
        Err(e) => {
            out.push(Check::new("gateway", CheckStatus::Fail, e));
            false
        }
        Ok(http) => {
            let check = probe_gateway(&http, &url).await;
            let ok = check.status != CheckStatus::Fail;
            out.push(check);
            ok
        }
    };

    out.push(if !reachable {
        Check::new(
            "gateway token",
            CheckStatus::Skip,
            "not checked: the gateway is not reachable",
        )
    } else {
        match openclaw_config::gateway_token(config, oc, env) {
            Err(e) => Check::new("gateway token", CheckStatus::Fail, e.to_string()).fix(
                "put the gateway's token in gateway.auth.token in openclaw.json, or name a variable holding it with `token_env` under [gateway] in clawrun.toml",
            ),
            Ok(token) => {
                secrets.push(token.value.expose().to_owned());
                let check = check_token(&url, token.clone(), timeouts).await;
                plugin = Some(plugin_check(&url, token, timeouts, config).await);
                check
            }
        }
    });
    out.push(plugin.unwrap_or_else(|| {
        Check::new(
            "clawrun plugin",
            CheckStatus::Skip,
            "not checked: no working gateway token",
        )
    }));

    out.push(check_sessions_send(config, raw));
    out
}

/// The plugin check, with its own client (the token's, not printed).
async fn plugin_check(
    url: &str,
    token: openclaw_config::ResolvedSecret,
    timeouts: HttpTimeouts,
    config: &Config,
) -> Check {
    let needed = config.run.approvals == ApprovalMode::Chat;
    match GatewayClient::new(url, token.value, token.source, timeouts) {
        Ok(client) => super::plugin::check_plugin(&client, needed, timeouts.request).await,
        Err(e) => Check::new("clawrun plugin", CheckStatus::Fail, e.to_string()),
    }
}

async fn probe_gateway(http: &reqwest::Client, url: &str) -> Check {
    let start_fix = "start the gateway (`openclaw gateway run`, or its service), or fix the URL: `url` under [gateway] in clawrun.toml / gateway.port in openclaw.json";
    for path in ["/readyz", "/healthz"] {
        let response = match http.get(format!("{url}{path}")).send().await {
            Ok(r) => r,
            Err(e) => {
                let why = if e.is_timeout() {
                    "no answer in time".to_owned()
                } else if e.is_connect() {
                    let chain = error_chain(&e).to_lowercase();
                    if chain.contains("refused") {
                        "connection refused".to_owned()
                    } else {
                        "cannot connect".to_owned()
                    }
                } else {
                    error_chain(&e)
                };
                return Check::new(
                    "gateway",
                    CheckStatus::Fail,
                    format!("cannot reach the OpenClaw gateway at {url} ({why})"),
                )
                .fix(start_fix);
            }
        };
        let status = response.status().as_u16();
        let body: Option<Value> = response.json().await.ok();
        match status {
            200..=299 => {
                return Check::new(
                    "gateway",
                    CheckStatus::Ok,
                    format!(
                        "{url} answers {path} ({})",
                        if path == "/readyz" { "ready" } else { "live" }
                    ),
                );
            }
            // An older gateway without /readyz: try /healthz.
            404 if path == "/readyz" => continue,
            503 => {
                let failing = body
                    .as_ref()
                    .and_then(|b| b.get("failing"))
                    .map(|f| format!(" (failing: {f})"))
                    .unwrap_or_default();
                return Check::new(
                    "gateway",
                    CheckStatus::Warn,
                    format!("{url} is up but not ready yet{failing}"),
                )
                .fix("wait for the gateway to finish starting; if it stays unready, see its log");
            }
            other => {
                return Check::new(
                    "gateway",
                    CheckStatus::Fail,
                    format!("{url}{path} answered HTTP {other}: is this the OpenClaw gateway?"),
                )
                .fix(start_fix);
            }
        }
    }
    Check::new(
        "gateway",
        CheckStatus::Fail,
        format!("{url} has neither /readyz nor /healthz: is this the OpenClaw gateway?"),
    )
    .fix(start_fix)
}

async fn check_token(
    url: &str,
    token: openclaw_config::ResolvedSecret,
    timeouts: HttpTimeouts,
) -> Check {
    let name = "gateway token";
    let source = token.source.clone();
    let client = match GatewayClient::new(url, token.value, token.source, timeouts) {
        Ok(c) => c,
        Err(e) => return Check::new(name, CheckStatus::Fail, e.to_string()),
    };
    match client
        .invoke("sessions_list", json!({ "limit": 1 }), None)
        .await
    {
        Ok(_) => Check::new(
            name,
            CheckStatus::Ok,
            format!("accepted (sessions_list); from {source}"),
        ),
        Err(e @ GatewayError::Unauthorized { .. }) => Check::new(name, CheckStatus::Fail, e.to_string())
            .fix(format!(
                "copy the gateway's current token (gateway.auth.token in its openclaw.json) into {source}"
            )),
        Err(
            e @ (GatewayError::ToolFailed { .. }
            | GatewayError::Unavailable { .. }
            | GatewayError::RateLimited { .. }),
        ) => Check::new(
            name,
            CheckStatus::Warn,
            format!("the token could not be confirmed: {e}"),
        )
        .fix("run `clawrun doctor` again once the gateway is ready"),
        Err(e) => Check::new(name, CheckStatus::Fail, e.to_string())
            .fix("see the gateway log for the call to sessions_list"),
    }
}

fn str_list_contains(v: Option<&Value>, item: &str) -> bool {
    v.and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(item)))
}

/// Whether the gateway lets us wake the agent with `sessions_send` over HTTP,
/// from openclaw.json alone (the reference measured: without
/// `gateway.tools.allow` containing it, `/tools/invoke` answers 404).
fn check_sessions_send(config: &Config, raw: Option<&Value>) -> Check {
    let name = "sessions_send";
    let Some(raw) = raw else {
        return Check::new(
            name,
            CheckStatus::Skip,
            "openclaw.json not readable: cannot tell whether sessions_send is allowed",
        )
        .fix(format!(
            "make sure openclaw.json has {SESSIONS_SEND_SETTINGS}"
        ));
    };
    let allowed = str_list_contains(raw.pointer("/gateway/tools/allow"), "sessions_send");
    let denied = str_list_contains(raw.pointer("/gateway/tools/deny"), "sessions_send");
    let visibility = raw
        .pointer("/tools/sessions/visibility")
        .and_then(Value::as_str);
    // Gateway-channel runs wake the agent only through sessions_send.
    let needed = matches!(
        config.notify.channel,
        NotifyChannel::WhatsappGateway | NotifyChannel::MessageTool
    );
    let missing_status = if needed {
        CheckStatus::Fail
    } else {
        CheckStatus::Warn
    };
    if denied {
        return Check::new(
            name,
            missing_status,
            "sessions_send is listed in gateway.tools.deny in openclaw.json: wakes over the gateway are refused",
        )
        .fix(format!(
            "remove \"sessions_send\" from gateway.tools.deny; openclaw.json needs {SESSIONS_SEND_SETTINGS}"
        ));
    }
    let mut missing = Vec::new();
    if !allowed {
        missing.push("`gateway.tools.allow: [\"sessions_send\"]`");
    }
    let visibility_ok = matches!(visibility, None | Some("all"));
    if !visibility_ok {
        missing.push("`tools.sessions.visibility: \"all\"`");
    }
    if missing.is_empty() {
        let detail = match visibility {
            Some(_) => {
                "allowed: gateway.tools.allow has it and tools.sessions.visibility is \"all\""
            }
            None => {
                "allowed: gateway.tools.allow has it (tools.sessions.visibility unset: \"all\" by default)"
            }
        };
        return Check::new(name, CheckStatus::Ok, detail);
    }
    let status = if allowed {
        // Only the visibility differs; current gateways ignore it for the
        // bearer-token caller, so this is a warning.
        CheckStatus::Warn
    } else {
        missing_status
    };
    let detail = if allowed {
        format!(
            "tools.sessions.visibility is {:?}: waking another session may be refused",
            visibility.unwrap_or_default()
        )
    } else if needed {
        "not allowed over HTTP: the gateway channel cannot wake the agent when a run ends"
            .to_owned()
    } else {
        "not allowed over HTTP: WhatsApp / message-tool runs could not wake the agent".to_owned()
    };
    Check::new(name, status, detail).fix(format!(
        "add {} to openclaw.json (both settings: {SESSIONS_SEND_SETTINGS}; the gateway reloads them without a restart)",
        missing.join(" and ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_send_is_decided_from_settings() {
        let cfg = Config::default();
        let both = json!({"gateway": {"tools": {"allow": ["sessions_send"]}},
                          "tools": {"sessions": {"visibility": "all"}}});
        assert_eq!(
            check_sessions_send(&cfg, Some(&both)).status,
            CheckStatus::Ok
        );
        let none = json!({"gateway": {"port": 1}});
        let c = check_sessions_send(&cfg, Some(&none));
        assert_eq!(c.status, CheckStatus::Warn);
        let fix = c.fix.unwrap_or_default();
        assert!(
            fix.contains("gateway.tools.allow: [\"sessions_send\"]"),
            "{fix}"
        );
        assert!(fix.contains("tools.sessions.visibility: \"all\""), "{fix}");
        let mut wa = Config::default();
        wa.notify.channel = NotifyChannel::WhatsappGateway;
        assert_eq!(
            check_sessions_send(&wa, Some(&none)).status,
            CheckStatus::Fail
        );
        let tree = json!({"gateway": {"tools": {"allow": ["sessions_send"]}},
                          "tools": {"sessions": {"visibility": "tree"}}});
        assert_eq!(
            check_sessions_send(&wa, Some(&tree)).status,
            CheckStatus::Warn
        );
        let denied =
            json!({"gateway": {"tools": {"allow": ["sessions_send"], "deny": ["sessions_send"]}}});
        assert_eq!(
            check_sessions_send(&wa, Some(&denied)).status,
            CheckStatus::Fail
        );
    }
}
