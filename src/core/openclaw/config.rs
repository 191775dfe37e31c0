//! Reading the user's OpenClaw config (`~/.openclaw/openclaw.json`) for defaults,
//! and resolving gateway and Telegram settings from it and `clawrun.toml`.
//!
//! Only what clawrun needs is read, leniently (this is OpenClaw's file, not ours):
//! `gateway.port`, `gateway.auth.token`, and `channels.telegram.{botToken, token,
//! apiRoot, accounts.<id>.{botToken, token, apiRoot}}`. Anything else is ignored.
//!
//! OpenClaw accepts JSON5, and so do we, through the `json5` crate: comments,
//! trailing commas, unquoted keys, single-quoted strings, hexadecimal numbers,
//! `Infinity`/`NaN` (read as `null`), line continuations. A parse error names its
//! line and column. A string value of exactly `${NAME}` is taken from the
//! environment variable `NAME`, as OpenClaw does.
//!
//! Precedence (first that is set wins):
//! - gateway URL: `gateway.url` in clawrun.toml; else `$CLAWRUN_GATEWAY_URL` (applied by
//!   `Configs::load`); else `http://127.0.0.1:<gateway.port>`
//!   (port default [`DEFAULT_GATEWAY_PORT`]).
//! - gateway token: the variable named by `gateway.token_env`; else
//!   `gateway.auth.token`; else `$OPENCLAW_GATEWAY_TOKEN`.
//! - Telegram bot token: the variable named by `telegram.bot_token_env`; else the
//!   account named by `telegram.account`; else `channels.telegram.botToken` /
//!   `.token`; else the only entry of `channels.telegram.accounts` (several
//!   accounts and none chosen is an error naming them); else `$TELEGRAM_BOT_TOKEN`.
//! - Telegram API base: `telegram.api_base`; else the chosen account's `apiRoot`;
//!   else `channels.telegram.apiRoot`; else [`DEFAULT_TELEGRAM_API_BASE`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::core::config::{Config, DEFAULT_TELEGRAM_API_BASE, Secret};
use crate::core::error::ConfigError;
use crate::core::openclaw::gateway::{GatewayClient, HttpTimeouts};
use crate::core::store::paths::Env;

/// The gateway's default port when `gateway.port` is not set.
pub const DEFAULT_GATEWAY_PORT: u16 = 18789;
/// Environment variable giving the gateway URL when clawrun.toml has none
/// (what `run --node` hands the run it starts on a node).
pub const GATEWAY_URL_ENV_NAME: &str = "CLAWRUN_GATEWAY_URL";
/// Environment variable OpenClaw reads for the gateway token.
pub const GATEWAY_TOKEN_ENV_NAME: &str = "OPENCLAW_GATEWAY_TOKEN";
/// Environment variable OpenClaw reads for the Telegram bot token.
pub const TELEGRAM_BOT_TOKEN_ENV_NAME: &str = "TELEGRAM_BOT_TOKEN";

/// A value from openclaw.json: literal, or `${NAME}` (resolved later from the env).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSecret {
    /// The value itself.
    Literal(Secret),
    /// `${NAME}`: read from this environment variable.
    EnvRef(String),
}

impl ConfigSecret {
    fn from_json(v: Option<&Value>) -> Option<Self> {
        let s = v?.as_str()?.trim();
        if s.is_empty() {
            return None;
        }
        let var = s
            .strip_prefix("${")
            .and_then(|r| r.strip_suffix('}'))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        Some(match var {
            Some(name) => ConfigSecret::EnvRef(name.to_owned()),
            None => ConfigSecret::Literal(Secret::new(s)),
        })
    }
}

/// One `channels.telegram.accounts.<id>` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TelegramAccount {
    /// `botToken` (or `token`).
    pub bot_token: Option<ConfigSecret>,
    /// `apiRoot`.
    pub api_root: Option<String>,
}

/// `channels.telegram`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenclawTelegram {
    /// `botToken` (or `token`).
    pub bot_token: Option<ConfigSecret>,
    /// `apiRoot`.
    pub api_root: Option<String>,
    /// `accounts`, by id.
    pub accounts: BTreeMap<String, TelegramAccount>,
}

/// What clawrun reads from openclaw.json.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenclawConfig {
    /// The file this came from, when it existed (used in messages).
    pub path: Option<PathBuf>,
    /// `gateway.port`.
    pub gateway_port: Option<u16>,
    /// `gateway.auth.token`.
    pub gateway_token: Option<ConfigSecret>,
    /// `channels.telegram`.
    pub telegram: OpenclawTelegram,
}

impl OpenclawConfig {
    /// Read openclaw.json at `path`. A missing file gives empty settings (every
    /// default applies, and missing tokens are reported when a channel needs them).
    ///
    /// # Errors
    /// [`ConfigError::Read`] if the file exists but cannot be read,
    /// [`ConfigError::Parse`] if it is not JSON/JSON5 (with line and column).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Parse openclaw.json text; `path` is recorded for messages.
    ///
    /// # Errors
    /// [`ConfigError::Parse`] with line and column.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let parse_err = |message: String| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        };
        let root = parse_json5(text).map_err(parse_err)?;
        if !root.is_object() {
            return Err(parse_err(
                "expected a JSON object at the top level".to_owned(),
            ));
        }
        let telegram = root.pointer("/channels/telegram");
        let tg_get = |key: &str| telegram.and_then(|t| t.get(key));
        let accounts = tg_get("accounts")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(id, a)| {
                        let account = TelegramAccount {
                            bot_token: ConfigSecret::from_json(a.get("botToken"))
                                .or_else(|| ConfigSecret::from_json(a.get("token"))),
                            api_root: non_empty_str(a.get("apiRoot")),
                        };
                        (id.clone(), account)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let port = root.pointer("/gateway/port").and_then(|p| match p {
            Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        });
        Ok(Self {
            path: Some(path.to_path_buf()),
            gateway_port: port,
            gateway_token: ConfigSecret::from_json(root.pointer("/gateway/auth/token")),
            telegram: OpenclawTelegram {
                bot_token: ConfigSecret::from_json(tg_get("botToken"))
                    .or_else(|| ConfigSecret::from_json(tg_get("token"))),
                api_root: non_empty_str(tg_get("apiRoot")),
                accounts,
            },
        })
    }

    fn describe_path(&self) -> String {
        match &self.path {
            Some(p) => p.display().to_string(),
            None => "~/.openclaw/openclaw.json (not found)".to_owned(),
        }
    }
}

fn non_empty_str(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('/').to_owned())
}

/// A secret together with where it came from, for messages such as "the gateway
/// rejected the token from gateway.auth.token in /home/me/.openclaw/openclaw.json".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedSecret {
    /// The value.
    pub value: Secret,
    /// Where it came from (a config key and file, or an environment variable).
    pub source: String,
}

fn from_env(env: &dyn Env, name: &str, source: String) -> Option<ResolvedSecret> {
    env.var(name).map(|v| ResolvedSecret {
        value: Secret::new(v.trim()),
        source,
    })
}

/// Resolve a value from openclaw.json, following `${NAME}`.
fn resolve_config_secret(
    secret: &ConfigSecret,
    key: &str,
    file: &str,
    env: &dyn Env,
) -> Result<ResolvedSecret, ConfigError> {
    match secret {
        ConfigSecret::Literal(v) => Ok(ResolvedSecret {
            value: v.clone(),
            source: format!("{key} in {file}"),
        }),
        ConfigSecret::EnvRef(name) => from_env(
            env,
            name,
            format!("environment variable {name} (via {key} in {file})"),
        )
        .ok_or_else(|| {
            ConfigError::Invalid(format!(
                "{key} in {file} is ${{{name}}}, but the environment variable {name} is not set"
            ))
        }),
    }
}

/// The gateway base URL (no trailing slash).
pub fn gateway_url(cfg: &Config, oc: &OpenclawConfig) -> String {
    match &cfg.gateway.url {
        Some(url) => url.clone(),
        None => format!(
            "http://127.0.0.1:{}",
            oc.gateway_port.unwrap_or(DEFAULT_GATEWAY_PORT)
        ),
    }
}

/// The gateway token and its source.
///
/// # Errors
/// [`ConfigError::Invalid`] saying where to put the token when there is none, or
/// naming the variable that `gateway.token_env` points at when it is unset.
pub fn gateway_token(
    cfg: &Config,
    oc: &OpenclawConfig,
    env: &dyn Env,
) -> Result<ResolvedSecret, ConfigError> {
    let file = oc.describe_path();
    if let Some(name) = &cfg.gateway.token_env {
        return from_env(env, name, format!("environment variable {name} (gateway.token_env in clawrun.toml)"))
            .ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "gateway.token_env in clawrun.toml names the environment variable {name}, which is not set"
                ))
            });
    }
    if let Some(secret) = &oc.gateway_token {
        return resolve_config_secret(secret, "gateway.auth.token", &file, env);
    }
    from_env(
        env,
        GATEWAY_TOKEN_ENV_NAME,
        format!("environment variable {GATEWAY_TOKEN_ENV_NAME}"),
    )
    .ok_or_else(|| {
        ConfigError::Invalid(format!(
            "no OpenClaw gateway token: set gateway.auth.token in {file}, or name an environment \
                 variable holding it with `token_env = \"VAR\"` under [gateway] in clawrun.toml"
        ))
    })
}

/// The HTTP timeouts of `[gateway]` in clawrun.toml (Telegram requests use them too).
pub fn http_timeouts(cfg: &Config) -> HttpTimeouts {
    HttpTimeouts {
        connect: cfg.gateway.connect_timeout,
        request: cfg.gateway.request_timeout,
    }
}

/// A client for the gateway both config files point at, its token read through `env`.
///
/// # Errors
/// As [`gateway_token`]; [`ConfigError::Invalid`] when the HTTP client cannot be built.
pub fn gateway_client(
    cfg: &Config,
    oc: &OpenclawConfig,
    env: &dyn Env,
) -> Result<GatewayClient, ConfigError> {
    let token = gateway_token(cfg, oc, env)?;
    GatewayClient::new(
        gateway_url(cfg, oc),
        token.value,
        token.source,
        http_timeouts(cfg),
    )
    .map_err(|e| ConfigError::Invalid(e.to_string()))
}

/// The account whose settings apply: `telegram.account` if set, else the only
/// account when there is no top-level token. `Ok(None)` = use the top-level settings.
fn telegram_account<'a>(
    cfg: &Config,
    oc: &'a OpenclawConfig,
) -> Result<Option<(&'a str, &'a TelegramAccount)>, ConfigError> {
    let tg = &oc.telegram;
    let names = || tg.accounts.keys().cloned().collect::<Vec<_>>().join(", ");
    match &cfg.telegram.account {
        Some(chosen) => match tg.accounts.get_key_value(chosen.as_str()) {
            Some((id, a)) => Ok(Some((id.as_str(), a))),
            None if chosen == "default" && tg.bot_token.is_some() => Ok(None),
            None => Err(ConfigError::Invalid(format!(
                "telegram.account = {chosen:?} in clawrun.toml, but {} has no channels.telegram.accounts.{chosen} \
                 (accounts there: {})",
                oc.describe_path(),
                if tg.accounts.is_empty() {
                    "none".to_owned()
                } else {
                    names()
                }
            ))),
        },
        None if tg.bot_token.is_some() => Ok(None),
        None => {
            let with_token: Vec<_> = tg
                .accounts
                .iter()
                .filter(|(_, a)| a.bot_token.is_some())
                .collect();
            match with_token.as_slice() {
                [] => Ok(None),
                [(id, a)] => Ok(Some((id.as_str(), a))),
                several => Err(ConfigError::Invalid(format!(
                    "{} has {} Telegram accounts ({}); choose one with `account = \"{}\"` under \
                     [telegram] in clawrun.toml",
                    oc.describe_path(),
                    several.len(),
                    several
                        .iter()
                        .map(|(id, _)| id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    several.first().map_or("", |(id, _)| id.as_str()),
                ))),
            }
        }
    }
}

/// The Telegram bot token and its source.
///
/// # Errors
/// [`ConfigError::Invalid`] saying where to put the token, which account to
/// choose, or which variable is unset.
pub fn telegram_bot_token(
    cfg: &Config,
    oc: &OpenclawConfig,
    env: &dyn Env,
) -> Result<ResolvedSecret, ConfigError> {
    let file = oc.describe_path();
    if let Some(name) = &cfg.telegram.bot_token_env {
        return from_env(
            env,
            name,
            format!("environment variable {name} (telegram.bot_token_env in clawrun.toml)"),
        )
        .ok_or_else(|| {
            ConfigError::Invalid(format!(
                "telegram.bot_token_env in clawrun.toml names the environment variable {name}, which is not set"
            ))
        });
    }
    match telegram_account(cfg, oc)? {
        Some((id, account)) => match &account.bot_token {
            Some(secret) => resolve_config_secret(
                secret,
                &format!("channels.telegram.accounts.{id}.botToken"),
                &file,
                env,
            ),
            None => Err(ConfigError::Invalid(format!(
                "channels.telegram.accounts.{id} in {file} has no botToken"
            ))),
        },
        None => match &oc.telegram.bot_token {
            Some(secret) => resolve_config_secret(secret, "channels.telegram.botToken", &file, env),
            None => from_env(
                env,
                TELEGRAM_BOT_TOKEN_ENV_NAME,
                format!("environment variable {TELEGRAM_BOT_TOKEN_ENV_NAME}"),
            )
            .ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "no Telegram bot token: set channels.telegram.botToken in {file}, or name an \
                     environment variable holding it with `bot_token_env = \"VAR\"` under [telegram] \
                     in clawrun.toml"
                ))
            }),
        },
    }
}

/// The Telegram Bot API base URL (no trailing slash).
///
/// # Errors
/// As [`telegram_bot_token`] when the account choice is ambiguous or wrong.
pub fn telegram_api_base(cfg: &Config, oc: &OpenclawConfig) -> Result<String, ConfigError> {
    if let Some(base) = &cfg.telegram.api_base {
        return Ok(base.clone());
    }
    let account_root = telegram_account(cfg, oc)?.and_then(|(_, a)| a.api_root.clone());
    Ok(account_root
        .or_else(|| oc.telegram.api_root.clone())
        .unwrap_or_else(|| DEFAULT_TELEGRAM_API_BASE.to_owned()))
}

/// Parse `openclaw.json` text: JSON5, as OpenClaw writes and accepts it.
///
/// # Errors
/// The parser's message, with line and column (`… at line 3 column 5`).
pub fn parse_json5(src: &str) -> Result<Value, String> {
    json5::from_str(src).map_err(|e| e.to_string())
}

/// JSON5 text as strict JSON text (for callers that want text; see
/// [`parse_json5`]).
///
/// # Errors
/// As [`parse_json5`].
pub fn json5_to_json(src: &str) -> Result<String, String> {
    parse_json5(src).map(|v| v.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn json5_subset_converts() {
        let src = r#"{
  // comment with "quotes" and a, trailing comma
  gateway: { port: 28789, auth: { token: 'it\'s' }, },
  /* block
     comment */ "list": [1, 2, 3,],
  'single': 'say "hi"',
  url: "http://x//y", // not a comment inside a string
}"#;
        let json = json5_to_json(src).unwrap_or_default();
        let v: Value = serde_json::from_str(&json).unwrap_or(Value::Null);
        assert_eq!(v["gateway"]["port"], 28789);
        assert_eq!(v["gateway"]["auth"]["token"], "it's");
        assert_eq!(v["list"], serde_json::json!([1, 2, 3]));
        assert_eq!(v["single"], "say \"hi\"");
        assert_eq!(v["url"], "http://x//y");
    }

    #[test]
    fn unterminated_comment_is_an_error() {
        assert!(json5_to_json("{ /* x ").is_err());
        assert!(json5_to_json("{ \"a ").is_err());
    }

    #[test]
    fn the_rest_of_json5_parses() {
        let src = "{\r\n  hex: 0x1F, lead: .5, trail: 5., plus: +1,\r\n  inf: Infinity, nan: NaN,\r\n  \
                   cont: 'a\\\nb', esc: '\\u00e9', $id_1: null,\r\n  nested: {a: [{b: 1,},],},\r\n}";
        let v = parse_json5(src).unwrap();
        assert_eq!(v["hex"], 31);
        assert_eq!(v["lead"], 0.5);
        assert_eq!(v["trail"], 5.0);
        assert_eq!(v["plus"], 1);
        assert_eq!(v["inf"], Value::Null);
        assert_eq!(v["nan"], Value::Null);
        assert_eq!(v["cont"], "ab");
        assert_eq!(v["esc"], "é");
        assert_eq!(v["$id_1"], Value::Null);
        assert_eq!(v["nested"]["a"][0]["b"], 1);
    }

    #[test]
    fn errors_name_line_and_column() {
        let err = parse_json5("{\n  // ok\n  port 1\n}").unwrap_err();
        assert!(err.contains("line 3"), "{err}");
        let err = parse_json5("{ a: 1 } trailing").unwrap_err();
        assert!(err.contains("line 1"), "{err}");
        assert!(parse_json5("{ a: 1, a: 2 }").is_ok_and(|v| v["a"] == 2));
    }
}
