//! clawrun's own configuration: `~/.openclaw/clawrun.toml`.
//!
//! Every key is optional: a user with a working OpenClaw needs no file at all, and
//! gateway and Telegram settings default to what `openclaw.json` says (see
//! [`crate::core::openclaw::config`]). The schema is strict: an unknown key or a
//! value of the wrong type is an error naming its TOML path (`gateway.urll`,
//! `route[1].thread_id`).
//!
//! Layers, as in codex `config/types.rs`: [`ConfigToml`] mirrors the file (all
//! `Option`, `deny_unknown_fields`) and converts with `TryFrom` into [`Config`]
//! (concrete values, `DEFAULT_*` constants filled in) after [`ConfigToml::validate`]
//! has collected every problem.
//!
//! ```toml
//! [gateway]
//! url = "http://127.0.0.1:18789"   # default: http://127.0.0.1:<gateway.port from openclaw.json>
//! token_env = "OPENCLAW_TOKEN"     # default: gateway.auth.token from openclaw.json
//! connect_timeout_secs = 5
//! request_timeout_secs = 20
//!
//! [telegram]
//! account = "work"                 # which channels.telegram.accounts entry to use
//! bot_token_env = "MY_BOT_TOKEN"   # default: channels.telegram.botToken
//! api_base = "https://api.telegram.org"
//! openclaw_program = "openclaw"    # CLI used for wakes
//! wake_timeout_secs = 120
//!
//! [notify]
//! channel = "auto"                 # auto | console | telegram-direct | whatsapp-gateway | message-tool
//! heartbeat_secs = 60
//! silent = "all"                   # all | progress | none: which Telegram messages ring
//!
//! [[route]]
//! workdir = "/home/me/project"
//! channel = "telegram"
//! target = "-1001234567890"
//! thread_id = "369520"
//! session_key = "agent:main:telegram:group:-1001234567890"
//!
//! [run]
//! approvals = "off"                # off | chat: default of `clawrun run --approvals`
//!
//! [fallback_route]
//! channel = "whatsapp"
//! target = "120363000000000000@g.us"
//!
//! [retention]
//! run_days = 30
//! registry_days = 90
//!
//! [limits]
//! max_sessions = 5                 # runs at once; `clawrun run` refuses (or queues) beyond it
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::core::error::ConfigError;

mod channel;
mod notify;
mod run;
mod validate;
pub use channel::{ChannelKind, NotifyChannel, UnknownChannelKind};
pub(crate) use notify::NotifyToml;
pub use notify::{NotifyConfig, Silence};
pub(crate) use run::RunToml;
pub use run::{RunConfig, Safety, WorktreeMode};

/// Default heartbeat interval.
pub const DEFAULT_HEARTBEAT_SECS: u64 = 60;
/// Default TCP connect timeout for gateway and Telegram requests.
pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 5;
/// Default whole-request timeout for gateway and Telegram requests.
pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 20;
/// Default program used for Telegram wakes (`openclaw agent …`).
pub const DEFAULT_OPENCLAW_PROGRAM: &str = "openclaw";
/// Default limit for one wake turn (`openclaw agent --timeout`).
pub const DEFAULT_WAKE_TIMEOUT_SECS: u64 = 120;
/// Default Telegram Bot API base URL.
pub const DEFAULT_TELEGRAM_API_BASE: &str = "https://api.telegram.org";
/// Default number of days run directories are kept.
pub const DEFAULT_RUN_DAYS: u32 = 30;
/// Default number of days finished registry entries are kept.
pub const DEFAULT_REGISTRY_DAYS: u32 = 90;
/// Default cap on runs running at once (`[limits] max_sessions`).
pub const DEFAULT_MAX_SESSIONS: u32 = 5;
/// Default cap on `stream.jsonl`, MiB (`[limits] max_stream_mib`).
pub const DEFAULT_MAX_STREAM_MIB: u64 = 256;
/// Shortest accepted heartbeat interval.
pub const MIN_HEARTBEAT_SECS: u64 = 10;

/// A secret (token). Its `Debug` and `Display` print `<redacted>`; use
/// [`Secret::expose`] only where the value is put on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value, for the request that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `[gateway]` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GatewayToml {
    /// Gateway base URL; default `http://127.0.0.1:<gateway.port>` from openclaw.json.
    pub url: Option<String>,
    /// Name of an environment variable holding the gateway token.
    pub token_env: Option<String>,
    /// TCP connect timeout.
    pub connect_timeout_secs: Option<u64>,
    /// Whole-request timeout.
    pub request_timeout_secs: Option<u64>,
}

/// `[telegram]` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TelegramToml {
    /// Which `channels.telegram.accounts` entry of openclaw.json to use.
    pub account: Option<String>,
    /// Name of an environment variable holding the bot token.
    pub bot_token_env: Option<String>,
    /// Bot API base URL; default `channels.telegram.apiRoot`, else api.telegram.org.
    pub api_base: Option<String>,
    /// Path or name of the `openclaw` CLI used for wakes.
    pub openclaw_program: Option<PathBuf>,
    /// Limit for one wake turn, in seconds.
    pub wake_timeout_secs: Option<u64>,
}

/// One `[[route]]` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RouteToml {
    /// Working directory (absolute) this route applies to, including subdirectories.
    pub workdir: Option<PathBuf>,
    /// Chat network as the gateway names it: `telegram`, `whatsapp`, `discord`, ….
    pub channel: Option<String>,
    /// Chat id / group JID.
    pub target: Option<String>,
    /// Telegram forum topic id (digits).
    pub thread_id: Option<String>,
    /// OpenClaw session key to wake.
    pub session_key: Option<String>,
    /// Account id for multi-account setups.
    pub account: Option<String>,
}

/// `[fallback_route]` as written: a route without `workdir`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FallbackRouteToml {
    /// See [`RouteToml::channel`].
    pub channel: Option<String>,
    /// See [`RouteToml::target`].
    pub target: Option<String>,
    /// See [`RouteToml::thread_id`].
    pub thread_id: Option<String>,
    /// See [`RouteToml::session_key`].
    pub session_key: Option<String>,
    /// See [`RouteToml::account`].
    pub account: Option<String>,
}

/// `[retention]` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetentionToml {
    /// Days to keep run directories.
    pub run_days: Option<u32>,
    /// Days to keep finished registry entries.
    pub registry_days: Option<u32>,
}

/// `[limits]` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LimitsToml {
    /// Most runs running at once.
    pub max_sessions: Option<u32>,
    /// Largest `stream.jsonl` kept, MiB (0 keeps none).
    pub max_stream_mib: Option<u64>,
}

/// The whole `clawrun.toml` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigToml {
    /// `[gateway]`.
    pub gateway: Option<GatewayToml>,
    /// `[telegram]`.
    pub telegram: Option<TelegramToml>,
    /// `[notify]`.
    pub notify: Option<NotifyToml>,
    /// `[[route]]`: workdir → destination.
    pub route: Option<Vec<RouteToml>>,
    /// `[fallback_route]`: used when no route matches.
    pub fallback_route: Option<FallbackRouteToml>,
    /// `[retention]`.
    pub retention: Option<RetentionToml>,
    /// `[limits]`.
    pub limits: Option<LimitsToml>,
    /// `[run]`.
    pub run: Option<RunToml>,
}

/// Top-level keys of `clawrun.toml`.
const SECTION_NAMES: &[&str] = &[
    "gateway",
    "telegram",
    "notify",
    "route",
    "fallback_route",
    "retention",
    "limits",
    "run",
];

impl ConfigToml {
    /// Parse `clawrun.toml` text. `path` is only used in messages.
    ///
    /// Each section is decoded on its own so that errors carry their TOML path;
    /// every section's error is reported, not just the first.
    ///
    /// # Errors
    /// [`ConfigError::Parse`] for bad TOML syntax, unknown keys and wrong types.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        let mut out = ConfigToml::default();
        let mut problems = Vec::new();
        for (key, value) in table {
            match key.as_str() {
                "gateway" => out.gateway = section(value, "gateway", &mut problems),
                "telegram" => out.telegram = section(value, "telegram", &mut problems),
                "notify" => out.notify = section(value, "notify", &mut problems),
                "fallback_route" => {
                    out.fallback_route = section(value, "fallback_route", &mut problems);
                }
                "retention" => out.retention = section(value, "retention", &mut problems),
                "limits" => out.limits = section(value, "limits", &mut problems),
                "run" => out.run = section(value, "run", &mut problems),
                "route" => match value {
                    toml::Value::Array(items) => {
                        let routes: Vec<Option<RouteToml>> = items
                            .into_iter()
                            .enumerate()
                            .map(|(i, v)| section(v, &format!("route[{i}]"), &mut problems))
                            .collect();
                        out.route = Some(routes.into_iter().flatten().collect());
                    }
                    other => problems.push(format!(
                        "route: expected an array of tables ([[route]]), found {}",
                        other.type_str()
                    )),
                },
                other => problems.push(format!(
                    "{other}: unknown key (expected one of: {})",
                    SECTION_NAMES.join(", ")
                )),
            }
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(ConfigError::Parse {
                path: path.to_path_buf(),
                message: problems.join("; "),
            })
        }
    }
}

fn section<T: serde::de::DeserializeOwned>(
    value: toml::Value,
    at: &str,
    problems: &mut Vec<String>,
) -> Option<T> {
    if !value.is_table() {
        problems.push(format!(
            "{at}: expected a table, found {}",
            value.type_str()
        ));
        return None;
    }
    match value.try_into::<T>() {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(describe_section_error(at, &e.to_string()));
            None
        }
    }
}

/// Turn serde's message about a section into one that starts with the TOML path
/// of the offending key: "unknown field `urll`, expected …" in `gateway` becomes
/// "gateway.urll: unknown key (expected …)".
fn describe_section_error(at: &str, message: &str) -> String {
    let message = message.trim();
    let backticked = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
    };
    if let Some(key) = backticked("unknown field `") {
        let expected = message
            .split_once(", expected ")
            .map(|(_, e)| format!(" (expected {e})"))
            .unwrap_or_default();
        return format!("{at}.{key}: unknown key{expected}");
    }
    // Type errors from toml end with a line "in `key`": move the key into the path.
    let in_key = message.rsplit_once('\n').and_then(|(head, last)| {
        let key = last.trim().strip_prefix("in `")?.strip_suffix('`')?;
        Some((head.trim(), key))
    });
    match in_key {
        Some((head, key)) => format!("{at}.{key}: {head}"),
        None => format!("{at}: {message}"),
    }
}

/// `[gateway]` with defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayConfig {
    /// Explicit URL; `None` = `http://127.0.0.1:<port from openclaw.json>`.
    pub url: Option<String>,
    /// Environment variable holding the token; `None` = from openclaw.json.
    pub token_env: Option<String>,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Whole-request timeout.
    pub request_timeout: Duration,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            url: None,
            token_env: None,
            connect_timeout: Duration::from_secs(DEFAULT_CONNECT_TIMEOUT_SECS),
            request_timeout: Duration::from_secs(DEFAULT_REQUEST_TIMEOUT_SECS),
        }
    }
}

/// `[telegram]` with defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramConfig {
    /// Account chosen among `channels.telegram.accounts`.
    pub account: Option<String>,
    /// Environment variable holding the bot token.
    pub bot_token_env: Option<String>,
    /// Explicit Bot API base; `None` = openclaw.json `apiRoot`, else
    /// `DEFAULT_TELEGRAM_API_BASE`.
    pub api_base: Option<String>,
    /// The `openclaw` CLI used for wakes.
    pub openclaw_program: PathBuf,
    /// Limit for one wake turn.
    pub wake_timeout: Duration,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        Self {
            account: None,
            bot_token_env: None,
            api_base: None,
            openclaw_program: PathBuf::from(DEFAULT_OPENCLAW_PROGRAM),
            wake_timeout: Duration::from_secs(DEFAULT_WAKE_TIMEOUT_SECS),
        }
    }
}

/// Where a route sends messages and wakes (a `[[route]]` minus its workdir).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteTarget {
    /// Chat network (`telegram`, `whatsapp`, …).
    pub channel: Option<String>,
    /// Chat id / group JID.
    pub target: Option<String>,
    /// Telegram forum topic id.
    pub thread_id: Option<String>,
    /// OpenClaw session key to wake.
    pub session_key: Option<String>,
    /// Account id.
    pub account: Option<String>,
}

/// One `[[route]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Absolute working directory; applies to it and its subdirectories.
    pub workdir: PathBuf,
    /// Where to send.
    pub target: RouteTarget,
}

/// `[retention]` with defaults applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionConfig {
    /// Days to keep run directories.
    pub run_days: u32,
    /// Days to keep finished registry entries.
    pub registry_days: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            run_days: DEFAULT_RUN_DAYS,
            registry_days: DEFAULT_REGISTRY_DAYS,
        }
    }
}

/// `[limits]` with defaults applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitsConfig {
    /// Most runs running at once.
    pub max_sessions: u32,
    /// Largest `stream.jsonl` kept, bytes (what comes after is parsed, not kept).
    pub max_stream_bytes: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_sessions: DEFAULT_MAX_SESSIONS,
            max_stream_bytes: DEFAULT_MAX_STREAM_MIB << 20,
        }
    }
}

/// clawrun's configuration with every default filled in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// Gateway connection.
    pub gateway: GatewayConfig,
    /// Telegram Bot API and wakes.
    pub telegram: TelegramConfig,
    /// Notification policy.
    pub notify: NotifyConfig,
    /// Workdir routes, in file order.
    pub routes: Vec<Route>,
    /// Destination when no route matches.
    pub fallback_route: Option<RouteTarget>,
    /// Cleanup.
    pub retention: RetentionConfig,
    /// Concurrency.
    pub limits: LimitsConfig,
    /// Defaults of `clawrun run` (`[run]`).
    pub run: RunConfig,
}

impl Config {
    /// Read and validate `clawrun.toml` at `path`. A missing file is not an error:
    /// it gives the defaults.
    ///
    /// # Errors
    /// [`ConfigError::Read`] if the file exists but cannot be read,
    /// [`ConfigError::Parse`] for syntax, unknown keys or wrong types,
    /// [`ConfigError::Invalid`] listing every validation problem.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        Self::from_toml_str(&text, path)
    }

    /// Parse and validate `clawrun.toml` text; `path` is only used in messages.
    ///
    /// # Errors
    /// As [`Config::load`], except reading.
    pub fn from_toml_str(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let toml = ConfigToml::parse(text, path)?;
        Self::try_from(toml).map_err(|e| match e {
            ConfigError::Invalid(m) => ConfigError::Invalid(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// The route for `workdir`: the `[[route]]` with the longest workdir that is
    /// `workdir` or one of its ancestors, else `[fallback_route]`.
    pub fn route_for(&self, workdir: &Path) -> Option<&RouteTarget> {
        self.routes
            .iter()
            .filter(|r| workdir.starts_with(&r.workdir))
            .max_by_key(|r| r.workdir.components().count())
            .map(|r| &r.target)
            .or(self.fallback_route.as_ref())
    }
}

impl TryFrom<ConfigToml> for Config {
    type Error = ConfigError;

    fn try_from(t: ConfigToml) -> Result<Self, ConfigError> {
        let problems = t.validate();
        if !problems.is_empty() {
            return Err(ConfigError::Invalid(problems.join("; ")));
        }
        let g = t.gateway.unwrap_or_default();
        let tg = t.telegram.unwrap_or_default();
        let n = t.notify.unwrap_or_default();
        let r = t.retention.unwrap_or_default();
        let l = t.limits.unwrap_or_default();
        let run = RunConfig::from(t.run.unwrap_or_default());
        let routes = t
            .route
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| {
                let workdir = r.workdir?;
                Some(Route {
                    workdir,
                    target: RouteTarget {
                        channel: r.channel,
                        target: r.target,
                        thread_id: r.thread_id,
                        session_key: r.session_key,
                        account: r.account,
                    },
                })
            })
            .collect();
        Ok(Config {
            gateway: GatewayConfig {
                url: g.url.map(|u| u.trim_end_matches('/').to_owned()),
                token_env: g.token_env,
                connect_timeout: Duration::from_secs(
                    g.connect_timeout_secs
                        .unwrap_or(DEFAULT_CONNECT_TIMEOUT_SECS),
                ),
                request_timeout: Duration::from_secs(
                    g.request_timeout_secs
                        .unwrap_or(DEFAULT_REQUEST_TIMEOUT_SECS),
                ),
            },
            telegram: TelegramConfig {
                account: tg.account,
                bot_token_env: tg.bot_token_env,
                api_base: tg.api_base.map(|u| u.trim_end_matches('/').to_owned()),
                openclaw_program: tg
                    .openclaw_program
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_OPENCLAW_PROGRAM)),
                wake_timeout: Duration::from_secs(
                    tg.wake_timeout_secs.unwrap_or(DEFAULT_WAKE_TIMEOUT_SECS),
                ),
            },
            notify: NotifyConfig {
                channel: n.channel.unwrap_or_default(),
                heartbeat: Duration::from_secs(n.heartbeat_secs.unwrap_or(DEFAULT_HEARTBEAT_SECS)),
                silent: n.silent.unwrap_or_default(),
            },
            routes,
            fallback_route: t.fallback_route.map(|f| RouteTarget {
                channel: f.channel,
                target: f.target,
                thread_id: f.thread_id,
                session_key: f.session_key,
                account: f.account,
            }),
            retention: RetentionConfig {
                run_days: r.run_days.unwrap_or(DEFAULT_RUN_DAYS),
                registry_days: r.registry_days.unwrap_or(DEFAULT_REGISTRY_DAYS),
            },
            limits: LimitsConfig {
                max_sessions: l.max_sessions.unwrap_or(DEFAULT_MAX_SESSIONS),
                max_stream_bytes: l
                    .max_stream_mib
                    .unwrap_or(DEFAULT_MAX_STREAM_MIB)
                    .saturating_mul(1 << 20),
            },
            run,
        })
    }
}
