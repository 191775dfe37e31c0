//! `clawrun.toml`'s cross-field checks ([`ConfigToml::validate`]): each
//! section's values, every problem collected with its TOML path, before
//! anything is converted into a [`Config`](super::Config).

use std::path::PathBuf;

use super::{
    ConfigToml, FallbackRouteToml, GatewayToml, LimitsToml, MIN_HEARTBEAT_SECS, NotifyToml,
    RetentionToml, RouteToml, TelegramToml,
};

impl ConfigToml {
    /// Every cross-field problem, each with its TOML path. Empty means valid.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(g) = &self.gateway {
            check_gateway(g, &mut problems);
        }
        if let Some(t) = &self.telegram {
            check_telegram(t, &mut problems);
        }
        if let Some(n) = &self.notify {
            check_notify(n, &mut problems);
        }
        check_routes(self.route.iter().flatten(), &mut problems);
        if let Some(f) = &self.fallback_route {
            check_fallback_route(f, &mut problems);
        }
        if let Some(r) = &self.retention {
            check_retention(r, &mut problems);
        }
        if let Some(l) = &self.limits {
            check_limits(l, &mut problems);
        }
        problems
    }
}

fn check_gateway(g: &GatewayToml, problems: &mut Vec<String>) {
    if let Some(url) = &g.url {
        check_http_url(url, "gateway.url", problems);
    }
    if let Some(name) = &g.token_env {
        check_env_name(name, "gateway.token_env", problems);
    }
    check_positive(
        g.connect_timeout_secs,
        "gateway.connect_timeout_secs",
        problems,
    );
    check_positive(
        g.request_timeout_secs,
        "gateway.request_timeout_secs",
        problems,
    );
}

fn check_telegram(t: &TelegramToml, problems: &mut Vec<String>) {
    if let Some(url) = &t.api_base {
        check_http_url(url, "telegram.api_base", problems);
    }
    if let Some(name) = &t.bot_token_env {
        check_env_name(name, "telegram.bot_token_env", problems);
    }
    if let Some(account) = &t.account {
        check_non_empty(account, "telegram.account", problems);
    }
    if t.openclaw_program
        .as_ref()
        .is_some_and(|p| p.as_os_str().is_empty())
    {
        problems.push("telegram.openclaw_program: must not be empty".to_owned());
    }
    check_positive(t.wake_timeout_secs, "telegram.wake_timeout_secs", problems);
}

fn check_notify(n: &NotifyToml, problems: &mut Vec<String>) {
    if let Some(secs) = n.heartbeat_secs.filter(|s| *s < MIN_HEARTBEAT_SECS) {
        problems.push(format!(
            "notify.heartbeat_secs: {secs} is too short (minimum {MIN_HEARTBEAT_SECS})"
        ));
    }
}

/// `[[route]]`: each an absolute workdir routed once, and a valid target.
fn check_routes<'a>(routes: impl Iterator<Item = &'a RouteToml>, problems: &mut Vec<String>) {
    let mut seen: Vec<(usize, &PathBuf)> = Vec::new();
    for (i, r) in routes.enumerate() {
        let at = format!("route[{i}]");
        match &r.workdir {
            None => problems.push(format!("{at}.workdir: missing")),
            Some(w) if !w.is_absolute() => problems.push(format!(
                "{at}.workdir: {} is not an absolute path",
                w.display()
            )),
            Some(w) => {
                if let Some((j, _)) = seen.iter().find(|(_, s)| *s == w) {
                    problems.push(format!(
                        "{at}.workdir: {} is already routed by route[{j}]",
                        w.display()
                    ));
                }
                seen.push((i, w));
            }
        }
        let fields = RouteFields {
            channel: &r.channel,
            target: &r.target,
            thread_id: &r.thread_id,
            session_key: &r.session_key,
            account: &r.account,
        };
        fields.check(&at, problems);
    }
}

fn check_fallback_route(f: &FallbackRouteToml, problems: &mut Vec<String>) {
    let fields = RouteFields {
        channel: &f.channel,
        target: &f.target,
        thread_id: &f.thread_id,
        session_key: &f.session_key,
        account: &f.account,
    };
    fields.check("fallback_route", problems);
}

fn check_retention(r: &RetentionToml, problems: &mut Vec<String>) {
    if r.run_days == Some(0) {
        problems.push("retention.run_days: must be at least 1".to_owned());
    }
    if r.registry_days == Some(0) {
        problems.push("retention.registry_days: must be at least 1".to_owned());
    }
}

fn check_limits(l: &LimitsToml, problems: &mut Vec<String>) {
    if l.max_sessions == Some(0) {
        problems.push("limits.max_sessions: must be at least 1".to_owned());
    }
}

struct RouteFields<'a> {
    channel: &'a Option<String>,
    target: &'a Option<String>,
    thread_id: &'a Option<String>,
    session_key: &'a Option<String>,
    account: &'a Option<String>,
}

impl RouteFields<'_> {
    fn check(&self, at: &str, problems: &mut Vec<String>) {
        for (name, value) in [
            ("channel", self.channel),
            ("target", self.target),
            ("session_key", self.session_key),
            ("account", self.account),
        ] {
            if let Some(v) = value {
                check_non_empty(v, &format!("{at}.{name}"), problems);
            }
        }
        let bad_thread = |t: &&String| t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit());
        if let Some(t) = self.thread_id.as_ref().filter(bad_thread) {
            problems.push(format!(
                "{at}.thread_id: {t:?} is not a number (a Telegram topic id)"
            ));
        }
        if self.target.is_none() && self.session_key.is_none() {
            problems.push(format!("{at}: needs a target or a session_key"));
        }
        if self.thread_id.is_some() && self.target.is_none() {
            problems.push(format!(
                "{at}.thread_id: needs a target (the chat the topic is in)"
            ));
        }
    }
}

fn check_non_empty(value: &str, at: &str, problems: &mut Vec<String>) {
    if value.trim().is_empty() {
        problems.push(format!("{at}: must not be empty"));
    }
}

fn check_positive(value: Option<u64>, at: &str, problems: &mut Vec<String>) {
    if value == Some(0) {
        problems.push(format!("{at}: must be at least 1"));
    }
}

fn check_env_name(name: &str, at: &str, problems: &mut Vec<String>) {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        // The value is not echoed: people sometimes paste the token itself here.
        problems.push(format!(
            "{at}: not an environment variable name (letters, digits and _; give the \
             variable's name, not the token itself)"
        ));
    }
}

fn check_http_url(url: &str, at: &str, problems: &mut Vec<String>) {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
        Ok(u) => problems.push(format!(
            "{at}: {url:?} must be an http(s) URL, not {}",
            u.scheme()
        )),
        Err(e) => problems.push(format!("{at}: {url:?} is not a URL ({e})")),
    }
}
