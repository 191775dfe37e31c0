//! The checks of Telegram: the bot token, with `getMe` on the Bot API base,
//! and the `openclaw` program its runs are woken through (`openclaw agent`).

use super::{Check, CheckStatus};
use crate::core::config::Config;
use crate::core::openclaw::config::{
    self as openclaw_config, OpenclawConfig, TELEGRAM_BOT_TOKEN_ENV_NAME,
};
use crate::core::openclaw::gateway::{HttpTimeouts, error_chain, redact};
use crate::core::store::paths::Env;
use serde_json::Value;

/// Whether a Telegram bot token is configured anywhere.
fn telegram_configured(config: &Config, oc: &OpenclawConfig, env: &dyn Env) -> bool {
    config.telegram.bot_token_env.is_some()
        || config.telegram.account.is_some()
        || oc.telegram.bot_token.is_some()
        || !oc.telegram.accounts.is_empty()
        || env.var(TELEGRAM_BOT_TOKEN_ENV_NAME).is_some()
}

/// The program Telegram runs are woken through (`telegram.openclaw_program`,
/// `openclaw` on PATH by default): a Telegram run with a session key is
/// refused while it is missing, so a missing one fails when Telegram is set.
pub(super) fn check_wake_program(config: &Config, oc: &OpenclawConfig, env: &dyn Env) -> Check {
    let name = "openclaw CLI (wakes)";
    let program = config.telegram.openclaw_program.display().to_string();
    let path_var = env.var("PATH");
    if let Some(path) = crate::core::sys::programs::find_program(&program, path_var.as_deref()) {
        return Check::new(
            name,
            CheckStatus::Ok,
            format!(
                "{} (wakes Telegram runs with `openclaw agent`)",
                path.display()
            ),
        );
    }
    let status = if telegram_configured(config, oc, env) {
        CheckStatus::Fail
    } else {
        CheckStatus::Skip
    };
    Check::new(
        name,
        status,
        format!(
            "`{program}` not found: Telegram runs with a session key are refused (their wake \
             runs `{program} agent`)"
        ),
    )
    .fix("install OpenClaw's CLI (`npm install -g openclaw`), or set `openclaw_program` under [telegram] in clawrun.toml")
}

/// The Telegram bot token, with `getMe`.
pub(super) async fn check_telegram(
    config: &Config,
    oc: &OpenclawConfig,
    env: &dyn Env,
    timeouts: HttpTimeouts,
    secrets: &mut Vec<String>,
) -> Check {
    let name = "telegram";
    if !telegram_configured(config, oc, env) {
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
