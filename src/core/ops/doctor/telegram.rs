//! The check of the Telegram bot token, with `getMe` on the Bot API base.

use super::{Check, CheckStatus};
use crate::core::config::Config;
use crate::core::openclaw::config::{
    self as openclaw_config, OpenclawConfig, TELEGRAM_BOT_TOKEN_ENV_NAME,
};
use crate::core::openclaw::gateway::{HttpTimeouts, error_chain, redact};
use crate::core::store::paths::Env;
use serde_json::Value;

/// The Telegram bot token, with `getMe`.
pub(super) async fn check_telegram(
    config: &Config,
    oc: &OpenclawConfig,
    env: &dyn Env,
    timeouts: HttpTimeouts,
    secrets: &mut Vec<String>,
) -> Check {
    let name = "telegram";
    let configured = config.telegram.bot_token_env.is_some()
        || config.telegram.account.is_some()
        || oc.telegram.bot_token.is_some()
        || !oc.telegram.accounts.is_empty()
        || env.var(TELEGRAM_BOT_TOKEN_ENV_NAME).is_some();
    if !configured {
        return Check::new(name, CheckStatus::Skip, "no Telegram bot token configured").fix(
            "optional: for Telegram notifications set channels.telegram.botToken in openclaw.json",
        );
    }
    let token = match openclaw_config::telegram_bot_token(config, oc, env) {
        Ok(t) => t,
        Err(e) => {
            return Check::new(name, CheckStatus::Fail, e.to_string())
                .fix("fix the Telegram settings as the message says");
        }
    };
    let secret = token.value.expose().to_owned();
    secrets.push(secret.clone());
    let base = match openclaw_config::telegram_api_base(config, oc) {
        Ok(b) => b,
        Err(e) => return Check::new(name, CheckStatus::Fail, e.to_string()),
    };
    let http = match timeouts.client() {
        Ok(h) => h,
        Err(e) => return Check::new(name, CheckStatus::Fail, e),
    };
    let source = token.source;
    let response = match http.get(format!("{base}/bot{secret}/getMe")).send().await {
        Ok(r) => r,
        Err(e) => {
            // Never the reqwest error itself: its Display carries the URL.
            let why = if e.is_timeout() {
                "no answer in time".to_owned()
            } else {
                redact(&error_chain(&e), &secret)
            };
            return Check::new(
                name,
                CheckStatus::Fail,
                format!("cannot reach the Telegram Bot API at {base} ({why})"),
            )
            .fix("check the network, or `api_base` under [telegram] in clawrun.toml / channels.telegram.apiRoot");
        }
    };
    let status = response.status().as_u16();
    let body: Option<Value> = response.json().await.ok();
    let ok = body
        .as_ref()
        .and_then(|b| b.get("ok"))
        .and_then(Value::as_bool)
        == Some(true);
    match status {
        200 if ok => {
            let user = body
                .as_ref()
                .and_then(|b| b.pointer("/result/username"))
                .and_then(Value::as_str)
                .map_or_else(|| "the bot".to_owned(), |u| format!("@{u}"));
            Check::new(
                name,
                CheckStatus::Ok,
                format!("token accepted by getMe: {user}; from {source}"),
            )
        }
        401 | 404 => Check::new(
            name,
            CheckStatus::Fail,
            format!("the Telegram Bot API rejected the bot token from {source} (HTTP {status})"),
        )
        .fix(format!(
            "get the bot's current token from @BotFather and put it in {source}"
        )),
        other => {
            let description = body
                .as_ref()
                .and_then(|b| b.get("description"))
                .and_then(Value::as_str)
                .map(|d| redact(d, &secret))
                .unwrap_or_else(|| "no description".to_owned());
            Check::new(
                name,
                CheckStatus::Fail,
                format!("getMe answered HTTP {other}: {description}"),
            )
            .fix("check `api_base` under [telegram] in clawrun.toml / channels.telegram.apiRoot")
        }
    }
}
