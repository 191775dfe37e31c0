//! `clawrun.toml` schema and defaults from `openclaw.json`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clawrun::Env;
use clawrun::channels::{AnyChannel, ChannelKind, auto_channel_kind, build_channel_with_env};
use clawrun::config::{Config, NotifyChannel, RouteTarget};
use clawrun::error::ConfigError;
use clawrun::openclaw::{
    OpenclawConfig, gateway_token, gateway_url, telegram_api_base, telegram_bot_token,
};
use pretty_assertions::assert_eq;

const GW_TOKEN: &str = "gw-token-from-json-1234";
const BOT_TOKEN: &str = "111:BOT-TOKEN-from-json";

#[derive(Default)]
struct MapEnv(HashMap<String, String>);

impl MapEnv {
    fn with(pairs: &[(&str, &str)]) -> Self {
        Self(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }
}

impl Env for MapEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

fn toml(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml_str(text, Path::new("/home/u/.openclaw/clawrun.toml"))
}

fn oc(text: &str) -> OpenclawConfig {
    OpenclawConfig::parse(text, Path::new("/home/u/.openclaw/openclaw.json")).unwrap()
}

fn err_text(r: Result<Config, ConfigError>) -> String {
    r.unwrap_err().to_string()
}

// ---------------------------------------------------------------- clawrun.toml

#[test]
fn missing_file_gives_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::load(&dir.path().join("clawrun.toml")).unwrap();
    assert_eq!(cfg, Config::default());
    assert_eq!(cfg.notify.channel, NotifyChannel::Auto);
    assert_eq!(cfg.notify.heartbeat, Duration::from_secs(60));
    assert_eq!(cfg.gateway.connect_timeout, Duration::from_secs(5));
    assert_eq!(cfg.gateway.request_timeout, Duration::from_secs(20));
    assert_eq!(cfg.telegram.openclaw_program, PathBuf::from("openclaw"));
    assert_eq!(
        (cfg.retention.run_days, cfg.retention.registry_days),
        (30, 90)
    );
}

#[test]
fn full_file_parses() {
    let cfg = toml(
        r#"
[gateway]
url = "http://127.0.0.1:28789/"
token_env = "MY_GW_TOKEN"
request_timeout_secs = 7

[telegram]
account = "work"
bot_token_env = "MY_BOT"
api_base = "http://127.0.0.1:28801"
openclaw_program = "/opt/openclaw/bin/openclaw"

[notify]
channel = "telegram-direct"
heartbeat_secs = 120

[[route]]
workdir = "/home/u/proj"
channel = "telegram"
target = "-1001234567890"
thread_id = "369520"
session_key = "agent:main:telegram:group:-1001234567890"

[[route]]
workdir = "/home/u/proj/sub"
channel = "whatsapp"
target = "120363@g.us"

[fallback_route]
channel = "telegram"
target = "5551234"
account = "work"

[retention]
run_days = 7
registry_days = 365
"#,
    )
    .unwrap();
    assert_eq!(cfg.gateway.url.as_deref(), Some("http://127.0.0.1:28789"));
    assert_eq!(cfg.gateway.request_timeout, Duration::from_secs(7));
    assert_eq!(cfg.telegram.account.as_deref(), Some("work"));
    assert_eq!(
        cfg.telegram.openclaw_program,
        PathBuf::from("/opt/openclaw/bin/openclaw")
    );
    assert_eq!(cfg.notify.channel, NotifyChannel::TelegramDirect);
    assert_eq!(cfg.notify.heartbeat, Duration::from_secs(120));
    assert_eq!(cfg.routes.len(), 2);
    assert_eq!(
        (cfg.retention.run_days, cfg.retention.registry_days),
        (7, 365)
    );
    // Longest matching workdir wins; unrelated dirs use the fallback.
    let r = cfg.route_for(Path::new("/home/u/proj/sub/deeper")).unwrap();
    assert_eq!(r.target.as_deref(), Some("120363@g.us"));
    let r = cfg.route_for(Path::new("/home/u/proj/other")).unwrap();
    assert_eq!(r.thread_id.as_deref(), Some("369520"));
    let r = cfg.route_for(Path::new("/elsewhere")).unwrap();
    assert_eq!(
        r,
        &RouteTarget {
            channel: Some("telegram".to_owned()),
            target: Some("5551234".to_owned()),
            thread_id: None,
            session_key: None,
            account: Some("work".to_owned()),
        }
    );
}

#[test]
fn unknown_keys_are_errors_with_their_path() {
    let text = err_text(toml("[gateway]\nurll = \"http://x\"\n"));
    assert!(text.contains("gateway.urll: unknown key"), "{text}");
    assert!(text.contains("clawrun.toml"), "{text}");

    let text = err_text(toml(
        "[[route]]\nworkdir = \"/a\"\ntarget = \"1\"\n[[route]]\nworkdir = \"/b\"\nthred_id = \"5\"\n",
    ));
    assert!(text.contains("route[1].thred_id: unknown key"), "{text}");

    let text = err_text(toml("colour = \"blue\"\n[notify]\nchanel = \"auto\"\n"));
    assert!(text.contains("colour: unknown key"), "{text}");
    assert!(
        text.contains("notify.chanel: unknown key"),
        "both errors reported: {text}"
    );
}

#[test]
fn wrong_types_and_values_are_errors() {
    let text = err_text(toml("[notify]\nheartbeat_secs = \"sixty\"\n"));
    assert!(
        text.contains("notify.heartbeat_secs: invalid type"),
        "{text}"
    );
    let text = err_text(toml("[notify]\nchannel = \"pigeon\"\n"));
    assert!(
        text.contains("notify.channel: unknown variant `pigeon`"),
        "{text}"
    );
    assert!(
        text.contains("telegram-direct"),
        "lists the choices: {text}"
    );
    let text = err_text(toml("[[route]]\nworkdir = 5\n"));
    assert!(text.contains("route[0].workdir: invalid type"), "{text}");
    let text = err_text(toml("route = 3\n"));
    assert!(
        text.contains("route: expected an array of tables"),
        "{text}"
    );
    let text = err_text(toml("[gateway\n"));
    assert!(
        matches!(toml("[gateway\n"), Err(ConfigError::Parse { .. })),
        "{text}"
    );
}

#[test]
fn validate_collects_every_problem_with_its_path() {
    let text = err_text(toml(
        r#"
[gateway]
url = "ftp://host"
token_env = "abc-def ghi"
[telegram]
bot_token_env = "123:SECRET"
[notify]
heartbeat_secs = 1
[[route]]
workdir = "relative/dir"
thread_id = "topic"
[[route]]
workdir = "/same"
target = "1"
[[route]]
workdir = "/same"
target = "2"
[fallback_route]
channel = "telegram"
[retention]
run_days = 0
"#,
    ));
    for needle in [
        "gateway.url",
        "gateway.token_env",
        "telegram.bot_token_env",
        "notify.heartbeat_secs",
        "route[0].workdir",
        "route[0].thread_id",
        "route[0]: needs a target or a session_key",
        "route[2].workdir: /same is already routed by route[1]",
        "fallback_route: needs a target or a session_key",
        "retention.run_days",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in {text}");
    }
    assert!(
        !text.contains("123:SECRET"),
        "a token pasted as a variable name is echoed: {text}"
    );
}

// ---------------------------------------------------------------- openclaw.json

#[test]
fn openclaw_json_gives_gateway_url_and_token() {
    let cfg = Config::default();
    let o = oc(&format!(
        r#"{{"gateway": {{"mode": "local", "port": 28789, "auth": {{"mode": "token", "token": "{GW_TOKEN}"}}}}}}"#
    ));
    assert_eq!(gateway_url(&cfg, &o), "http://127.0.0.1:28789");
    let token = gateway_token(&cfg, &o, &MapEnv::default()).unwrap();
    assert_eq!(token.value.expose(), GW_TOKEN);
    assert_eq!(
        token.source,
        "gateway.auth.token in /home/u/.openclaw/openclaw.json"
    );
    // No port: the default.
    assert_eq!(gateway_url(&cfg, &oc("{}")), "http://127.0.0.1:18789");
    // clawrun.toml overrides.
    let cfg = toml("[gateway]\nurl = \"http://10.0.0.2:9999\"\n").unwrap();
    assert_eq!(gateway_url(&cfg, &o), "http://10.0.0.2:9999");
}

#[test]
fn openclaw_json5_comments_and_trailing_commas_are_accepted() {
    let o = oc(&format!(
        r#"// OpenClaw config
{{
  gateway: {{ port: 28790, auth: {{ token: '{GW_TOKEN}', }}, }}, /* trailing */
  "channels": {{ "telegram": {{ "botToken": "{BOT_TOKEN}", "apiRoot": "http://127.0.0.1:28801/", }}, }},
}}"#
    ));
    assert_eq!(o.gateway_port, Some(28790));
    let cfg = Config::default();
    let env = MapEnv::default();
    assert_eq!(
        gateway_token(&cfg, &o, &env).unwrap().value.expose(),
        GW_TOKEN
    );
    assert_eq!(
        telegram_bot_token(&cfg, &o, &env).unwrap().value.expose(),
        BOT_TOKEN
    );
    assert_eq!(
        telegram_api_base(&cfg, &o).unwrap(),
        "http://127.0.0.1:28801"
    );
}

#[test]
fn openclaw_json_parse_error_has_location() {
    let err = OpenclawConfig::parse(
        "{\n  \"gateway\": {\n    port 1\n}",
        Path::new("/x/openclaw.json"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("/x/openclaw.json") && err.contains("line 3"),
        "{err}"
    );
}

#[test]
fn telegram_token_sources() {
    let env = MapEnv::default();
    let cfg = Config::default();
    // `.token` is accepted as well as `.botToken`.
    let o = oc(&format!(
        r#"{{"channels": {{"telegram": {{"token": "{BOT_TOKEN}"}}}}}}"#
    ));
    assert_eq!(
        telegram_bot_token(&cfg, &o, &env).unwrap().value.expose(),
        BOT_TOKEN
    );
    assert_eq!(
        telegram_api_base(&cfg, &o).unwrap(),
        "https://api.telegram.org"
    );

    // A single account is used.
    let o = oc(
        r#"{"channels": {"telegram": {"accounts": {"ops": {"botToken": "9:OPS", "apiRoot": "http://127.0.0.1:1"}}}}}"#,
    );
    let t = telegram_bot_token(&cfg, &o, &env).unwrap();
    assert_eq!(t.value.expose(), "9:OPS");
    assert_eq!(
        t.source,
        "channels.telegram.accounts.ops.botToken in /home/u/.openclaw/openclaw.json"
    );
    assert_eq!(telegram_api_base(&cfg, &o).unwrap(), "http://127.0.0.1:1");
}

#[test]
fn several_telegram_accounts_need_a_choice() {
    let env = MapEnv::default();
    let o = oc(r#"{"channels": {"telegram": {"accounts": {
        "work": {"botToken": "1:WORK"}, "home": {"botToken": "2:HOME"}}}}}"#);
    let err = telegram_bot_token(&Config::default(), &o, &env)
        .unwrap_err()
        .to_string();
    assert!(err.contains("home, work"), "{err}");
    assert!(err.contains("account = \"home\""), "{err}");
    assert!(err.contains("[telegram]"), "{err}");
    assert!(!err.contains("1:WORK") && !err.contains("2:HOME"), "{err}");

    let cfg = toml("[telegram]\naccount = \"work\"\n").unwrap();
    assert_eq!(
        telegram_bot_token(&cfg, &o, &env).unwrap().value.expose(),
        "1:WORK"
    );
    let cfg = toml("[telegram]\naccount = \"play\"\n").unwrap();
    let err = telegram_bot_token(&cfg, &o, &env).unwrap_err().to_string();
    assert!(err.contains("play") && err.contains("home, work"), "{err}");
}

#[test]
fn env_var_names_from_config() {
    let o = oc(&format!(
        r#"{{"gateway": {{"auth": {{"token": "{GW_TOKEN}"}}}}, "channels": {{"telegram": {{"botToken": "{BOT_TOKEN}"}}}}}}"#
    ));
    let cfg =
        toml("[gateway]\ntoken_env = \"CR_GW\"\n[telegram]\nbot_token_env = \"CR_BOT\"\n").unwrap();
    let env = MapEnv::with(&[("CR_GW", "gw-from-env"), ("CR_BOT", "5:FROM-ENV")]);
    let g = gateway_token(&cfg, &o, &env).unwrap();
    assert_eq!(g.value.expose(), "gw-from-env");
    assert!(g.source.contains("CR_GW"), "{}", g.source);
    assert_eq!(
        telegram_bot_token(&cfg, &o, &env).unwrap().value.expose(),
        "5:FROM-ENV"
    );
    // Named but unset: an error naming the variable, no silent fallback.
    let err = gateway_token(&cfg, &o, &MapEnv::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("gateway.token_env") && err.contains("CR_GW"),
        "{err}"
    );
    let err = telegram_bot_token(&cfg, &o, &MapEnv::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("telegram.bot_token_env") && err.contains("CR_BOT"),
        "{err}"
    );
}

#[test]
fn env_substitution_and_openclaw_env_fallbacks() {
    let cfg = Config::default();
    let o = oc(r#"{"gateway": {"auth": {"token": "${OC_TOKEN}"}}}"#);
    let env = MapEnv::with(&[("OC_TOKEN", "subst-token")]);
    assert_eq!(
        gateway_token(&cfg, &o, &env).unwrap().value.expose(),
        "subst-token"
    );
    let err = gateway_token(&cfg, &o, &MapEnv::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("OC_TOKEN"), "{err}");
    // Nothing in openclaw.json: OpenClaw's own variables.
    let env = MapEnv::with(&[
        ("OPENCLAW_GATEWAY_TOKEN", "g"),
        ("TELEGRAM_BOT_TOKEN", "7:T"),
    ]);
    assert_eq!(
        gateway_token(&cfg, &oc("{}"), &env).unwrap().value.expose(),
        "g"
    );
    assert_eq!(
        telegram_bot_token(&cfg, &oc("{}"), &env)
            .unwrap()
            .value
            .expose(),
        "7:T"
    );
}

#[test]
fn api_base_precedence() {
    let o = oc(&format!(
        r#"{{"channels": {{"telegram": {{"botToken": "{BOT_TOKEN}", "apiRoot": "http://json-root"}}}}}}"#
    ));
    assert_eq!(
        telegram_api_base(&Config::default(), &o).unwrap(),
        "http://json-root"
    );
    let cfg = toml("[telegram]\napi_base = \"http://toml-base/\"\n").unwrap();
    assert_eq!(telegram_api_base(&cfg, &o).unwrap(), "http://toml-base");
}

// ---------------------------------------------------------------- building channels

#[test]
fn build_channel_reports_missing_tokens_and_where_to_put_them() {
    let env = MapEnv::default();
    let cfg = Config::default();
    let empty = OpenclawConfig::default();
    let err = build_channel_with_env(ChannelKind::TelegramDirect, &cfg, &empty, &env)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("channels.telegram.botToken") && err.contains("bot_token_env"),
        "{err}"
    );
    for kind in [ChannelKind::WhatsappGateway, ChannelKind::MessageTool] {
        let err = build_channel_with_env(kind, &cfg, &empty, &env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("gateway.auth.token") && err.contains("token_env"),
            "{err}"
        );
    }
    assert!(matches!(
        build_channel_with_env(ChannelKind::Console, &cfg, &empty, &env).unwrap(),
        AnyChannel::Console(_)
    ));
}

#[test]
fn built_channels_and_configs_never_show_tokens() {
    let env = MapEnv::default();
    let cfg = Config::default();
    let o = oc(&format!(
        r#"{{"gateway": {{"auth": {{"token": "{GW_TOKEN}"}}}}, "channels": {{"telegram": {{"botToken": "{BOT_TOKEN}"}}}}}}"#
    ));
    let mut debug = format!("{o:?} {:?}", gateway_token(&cfg, &o, &env).unwrap());
    for kind in [
        ChannelKind::TelegramDirect,
        ChannelKind::WhatsappGateway,
        ChannelKind::MessageTool,
    ] {
        let channel = build_channel_with_env(kind, &cfg, &o, &env).unwrap();
        debug.push_str(&format!("{channel:?}"));
    }
    assert!(debug.contains("<redacted>"));
    assert!(!debug.contains(GW_TOKEN), "{debug}");
    assert!(!debug.contains(BOT_TOKEN), "{debug}");
}

#[test]
fn auto_channel_follows_route_network_and_tokens() {
    let cfg = Config::default();
    let env = MapEnv::default();
    let both = oc(&format!(
        r#"{{"gateway": {{"auth": {{"token": "{GW_TOKEN}"}}}}, "channels": {{"telegram": {{"botToken": "{BOT_TOKEN}"}}}}}}"#
    ));
    let gw_only = oc(&format!(
        r#"{{"gateway": {{"auth": {{"token": "{GW_TOKEN}"}}}}}}"#
    ));
    let auto = |net: Option<&str>, o: &OpenclawConfig| {
        auto_channel_kind(NotifyChannel::Auto, net, &cfg, o, &env)
    };
    assert_eq!(auto(Some("telegram"), &both), ChannelKind::TelegramDirect);
    assert_eq!(auto(Some("telegram"), &gw_only), ChannelKind::MessageTool);
    assert_eq!(auto(Some("whatsapp"), &both), ChannelKind::WhatsappGateway);
    assert_eq!(auto(Some("discord"), &both), ChannelKind::MessageTool);
    assert_eq!(auto(None, &both), ChannelKind::Console);
    assert_eq!(
        auto(Some("whatsapp"), &OpenclawConfig::default()),
        ChannelKind::Console
    );
    assert_eq!(
        auto_channel_kind(NotifyChannel::Console, Some("telegram"), &cfg, &both, &env),
        ChannelKind::Console
    );
}

/// The README's annotated `clawrun.toml` (the first TOML block under
/// "Configuration") is a valid configuration as written: a user copies it.
#[test]
fn the_readme_s_clawrun_toml_example_parses() {
    let readme = include_str!("../../README.md");
    let section = &readme[readme.find("## Configuration").unwrap()..];
    let start = section.find("```toml\n").unwrap() + "```toml\n".len();
    let block = &section[start..start + section[start..].find("```").unwrap()];
    assert!(block.contains("[run]"), "{block}");
    let config = clawrun::config::Config::from_toml_str(
        block,
        std::path::Path::new("README.md clawrun.toml"),
    );
    assert!(config.is_ok(), "{:?}\n{block}", config.err());
}
