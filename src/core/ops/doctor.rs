//! `clawrun doctor`: check everything a run depends on, and say how to fix
//! what is wrong.
//!
//! Each [`Check`] is `ok`, `warn`, `fail` or `skip`, with a one-line detail
//! and, unless it is `ok`, a fix. Things that are optional and absent (no
//! gateway configured, no Telegram bot) are `skip`, not `fail`; a `fail` is
//! something that is set up and broken, or that every run needs.
//!
//! Checked, in order:
//! - `clawrun.toml` (strict parse and validation), `backends.toml`, and
//!   `openclaw.json` (parses; not readable by other users, since it holds tokens);
//! - the `claude` and `codex` CLIs: `<program> --version` (from the backend
//!   definitions) within the timeout, compared with the version this build was
//!   tested with;
//! - the gateway: `GET /readyz` (then `/healthz`) on the gateway URL, the token
//!   with a cheap authenticated `sessions_list` (`limit: 1`), and whether
//!   `sessions_send` is allowed, decided from openclaw.json's settings
//!   (`gateway.tools.allow` / `gateway.tools.deny`, `tools.sessions.visibility`)
//!   rather than by sending anything;
//! - the Telegram bot token with `getMe` on the Bot API base;
//! - the state dir (0700, ours) and the registries (0600, ours, parse).
//!
//! Secrets never reach the report: messages are built from our own text and
//! the names of where a token came from; anything quoted from outside goes
//! through a redactor, and the finished report is scrubbed of every token
//! read during the checks as a last line of defence.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::backends::config::{self as backends_config, BACKEND_NAMES, BackendsConfig};
use crate::core::config::{Config, NotifyChannel};
use crate::core::openclaw::config::{
    self as openclaw_config, GATEWAY_TOKEN_ENV_NAME, OpenclawConfig, TELEGRAM_BOT_TOKEN_ENV_NAME,
};
use crate::core::openclaw::gateway::{
    GatewayClient, GatewayError, HttpTimeouts, error_chain, redact,
};
use crate::core::store::paths::{Env, Paths};
use crate::core::store::registry::Registry;

/// Default limit for each external check (a CLI's `--version`, an HTTP call).
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// The two openclaw.json settings `sessions_send` over HTTP needs.
pub const SESSIONS_SEND_SETTINGS: &str =
    "`gateway.tools.allow: [\"sessions_send\"]` and `tools.sessions.visibility: \"all\"`";

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// Works.
    Ok,
    /// Works, or is optional, but deserves attention.
    Warn,
    /// Broken: runs will fail or lose messages.
    Fail,
    /// Not configured and optional, or could not be checked.
    Skip,
}

impl CheckStatus {
    /// The status word.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Ok => "ok",
            CheckStatus::Warn => "warn",
            CheckStatus::Fail => "fail",
            CheckStatus::Skip => "skip",
        }
    }

    fn mark(self) -> &'static str {
        match self {
            CheckStatus::Ok => "✓ ok  ",
            CheckStatus::Warn => "⚠ warn",
            CheckStatus::Fail => "✗ FAIL",
            CheckStatus::Skip => "- skip",
        }
    }
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked (`claude`, `gateway`, …).
    pub name: String,
    /// Outcome.
    pub status: CheckStatus,
    /// One line: what was found.
    pub detail: String,
    /// How to fix it (absent when there is nothing to do).
    pub fix: Option<String>,
}

impl Check {
    fn new(name: &str, status: CheckStatus, detail: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            status,
            detail: detail.into(),
            fix: None,
        }
    }

    fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// Every check, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DoctorReport {
    /// No check failed.
    pub ok: bool,
    /// The checks.
    pub checks: Vec<Check>,
}

impl DoctorReport {
    /// The process exit code: 0 when no check failed, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.ok)
    }

    /// The report for people: one line per check, its fix below it.
    pub fn render(&self) -> String {
        let width = self
            .checks
            .iter()
            .map(|c| c.name.chars().count())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for c in &self.checks {
            out.push_str(&format!(
                "{} {:<width$}  {}\n",
                c.status.mark(),
                c.name,
                c.detail
            ));
            if let Some(fix) = &c.fix {
                out.push_str(&format!("       {:<width$}  fix: {fix}\n", ""));
            }
        }
        let count = |s: CheckStatus| self.checks.iter().filter(|c| c.status == s).count();
        out.push_str(&format!(
            "{} ok, {} warn, {} fail, {} skip\n",
            count(CheckStatus::Ok),
            count(CheckStatus::Warn),
            count(CheckStatus::Fail),
            count(CheckStatus::Skip)
        ));
        out
    }
}

/// What `doctor` looks at besides [`Paths`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoctorOptions {
    /// The backend definitions file to check (`--backends`, or the default one
    /// when it exists); `None` = the built-in definitions only.
    pub backends_file: Option<PathBuf>,
    /// Limit for each external check.
    pub timeout: Duration,
}

impl Default for DoctorOptions {
    fn default() -> Self {
        Self {
            backends_file: None,
            timeout: DEFAULT_CHECK_TIMEOUT,
        }
    }
}

/// Run every check. Never fails: what cannot be checked is reported.
pub async fn run(paths: &Paths, opts: &DoctorOptions, env: &dyn Env) -> DoctorReport {
    let mut checks = Vec::new();
    let mut secrets: Vec<String> = Vec::new();

    let (config, check) = check_config(paths);
    checks.push(check);
    let (backends, check) = check_backends(opts.backends_file.as_deref());
    checks.push(check);
    let (oc, raw_oc, check) = check_openclaw(paths);
    checks.push(check);

    if let Some(backends) = &backends {
        let backends_path = opts
            .backends_file
            .clone()
            .unwrap_or_else(|| paths.backends_file());
        let mut cli_checks = Vec::new();
        for (name, program, tested) in [
            (
                "claude",
                &backends.claude.program,
                backends.claude.tested_version,
            ),
            (
                "codex",
                &backends.codex.program,
                backends.codex.tested_version,
            ),
        ] {
            cli_checks.push(check_cli(name, program, tested, &backends_path, opts).await);
        }
        // One CLI missing is fine (use the other); none at all means no run can start.
        let none_found = cli_checks.iter().all(|(found, _)| !found);
        for (_, mut check) in cli_checks {
            if none_found {
                check.status = CheckStatus::Fail;
            }
            checks.push(check);
        }
    }

    let timeouts = HttpTimeouts {
        connect: config.gateway.connect_timeout.min(opts.timeout),
        request: opts.timeout,
    };
    let gateway_checks =
        check_gateway(&config, &oc, raw_oc.as_ref(), env, timeouts, &mut secrets).await;
    checks.extend(gateway_checks);
    checks.push(check_telegram(&config, &oc, env, timeouts, &mut secrets).await);
    checks.push(check_state_dir(&paths.state_dir));
    checks.push(check_registries(paths));

    // Last line of defence: no token read above may appear anywhere.
    for c in &mut checks {
        for s in &secrets {
            c.detail = redact(&c.detail, s);
            if let Some(f) = &mut c.fix {
                *f = redact(f, s);
            }
        }
    }
    DoctorReport {
        ok: checks.iter().all(|c| c.status != CheckStatus::Fail),
        checks,
    }
}

fn check_config(paths: &Paths) -> (Config, Check) {
    let path = &paths.config_file;
    let name = "clawrun.toml";
    if !path.exists() {
        return (
            Config::default(),
            Check::new(
                name,
                CheckStatus::Ok,
                format!("{} not present: defaults apply", path.display()),
            ),
        );
    }
    match Config::load(path) {
        Ok(c) => (
            c,
            Check::new(name, CheckStatus::Ok, format!("{} is valid", path.display())),
        ),
        Err(e) => (
            Config::default(),
            Check::new(name, CheckStatus::Fail, e.to_string()).fix(format!(
                "edit {} (every key is optional; the README lists them), or move it away to use the defaults",
                path.display()
            )),
        ),
    }
}

/// The backend definitions to check the CLIs with (`None` only if even the
/// built-in ones do not load, which a working build never sees).
fn check_backends(file: Option<&Path>) -> (Option<BackendsConfig>, Check) {
    let name = "backends.toml";
    match file {
        None => match BackendsConfig::builtin() {
            Ok(b) => (
                Some(b),
                Check::new(name, CheckStatus::Ok, "built-in definitions (no override file)"),
            ),
            Err(e) => (
                None,
                Check::new(name, CheckStatus::Fail, e.to_string())
                    .fix("reinstall clawrun: its built-in backend definitions are broken"),
            ),
        },
        Some(path) => match backends_config::load(Some(path)) {
            Ok(b) => (
                Some(b),
                Check::new(name, CheckStatus::Ok, format!("{} is valid", path.display())),
            ),
            Err(e) => (
                BackendsConfig::builtin().ok(),
                Check::new(name, CheckStatus::Fail, e.to_string()).fix(format!(
                    "edit {} (keys: program, args, env, permission_args; codex also search), or remove it to use the built-in definitions",
                    path.display()
                )),
            ),
        },
    }
}

fn check_openclaw(paths: &Paths) -> (OpenclawConfig, Option<Value>, Check) {
    let path = &paths.openclaw_config;
    let name = "openclaw.json";
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return (
                OpenclawConfig::default(),
                None,
                Check::new(
                    name,
                    CheckStatus::Warn,
                    format!(
                        "{} not found: no gateway or Telegram settings from OpenClaw",
                        path.display()
                    ),
                )
                .fix(
                    "set up OpenClaw first, or point OPENCLAW_CONFIG_PATH / OPENCLAW_STATE_DIR at \
                     where it keeps openclaw.json; without it only the console channel works",
                ),
            );
        }
        Err(e) => {
            return (
                OpenclawConfig::default(),
                None,
                Check::new(
                    name,
                    CheckStatus::Fail,
                    format!("cannot read {}: {e}", path.display()),
                )
                .fix(format!("make {} readable by this user", path.display())),
            );
        }
    };
    let oc = match OpenclawConfig::parse(&text, path) {
        Ok(oc) => oc,
        Err(e) => {
            return (
                OpenclawConfig::default(),
                None,
                Check::new(name, CheckStatus::Fail, e.to_string())
                    .fix(format!("fix the syntax of {}", path.display())),
            );
        }
    };
    let raw = openclaw_config::json5_to_json(&text)
        .ok()
        .and_then(|j| serde_json::from_str::<Value>(&j).ok());
    let mode = std::fs::metadata(path).map(|m| m.permissions().mode() & 0o777);
    let check = match mode {
        Ok(m) if m & 0o077 != 0 => Check::new(
            name,
            CheckStatus::Warn,
            format!(
                "{} is readable by other users (mode {m:03o}) and holds tokens",
                path.display()
            ),
        )
        .fix(format!("chmod 600 {}", path.display())),
        _ => Check::new(name, CheckStatus::Ok, format!("{} parses", path.display())),
    };
    (oc, raw, check)
}

/// `(found, check)`: `found` is false when the program does not exist.
async fn check_cli(
    name: &str,
    program: &str,
    tested: &str,
    backends_path: &Path,
    opts: &DoctorOptions,
) -> (bool, Check) {
    let install = match name {
        "claude" => "install Claude Code (`npm install -g @anthropic-ai/claude-code`)",
        _ => "install Codex (`npm install -g @openai/codex`)",
    };
    let where_set = format!("`program` under [{name}] in {}", backends_path.display());
    let output = match run_version(program, opts.timeout).await {
        Ok(o) => o,
        Err(VersionError::NotFound) => {
            return (
                false,
                Check::new(
                    name,
                    CheckStatus::Warn,
                    format!("`{program}` not found (runs with --backend {name} cannot start)"),
                )
                .fix(format!("{install}, or set {where_set} to its path")),
            );
        }
        Err(VersionError::Timeout) => {
            return (
                true,
                Check::new(
                    name,
                    CheckStatus::Fail,
                    format!(
                        "`{program} --version` did not answer within {}s",
                        opts.timeout.as_secs_f64()
                    ),
                )
                .fix(format!(
                    "run `{program} --version` by hand to see what it waits for (a login or update prompt?)"
                )),
            );
        }
        Err(VersionError::Spawn(e)) => {
            return (
                true,
                Check::new(
                    name,
                    CheckStatus::Fail,
                    format!("cannot start `{program}`: {e}"),
                )
                .fix(format!(
                    "{install}, or set {where_set} to a working program"
                )),
            );
        }
    };
    let (code, stdout, stderr) = output;
    if code != Some(0) {
        let tail = last_line(&stderr).or_else(|| last_line(&stdout));
        return (
            true,
            Check::new(
                name,
                CheckStatus::Fail,
                format!(
                    "`{program} --version` exited with {}{}",
                    code.map_or_else(|| "a signal".to_owned(), |c| c.to_string()),
                    tail.map(|t| format!(": {t}")).unwrap_or_default()
                ),
            )
            .fix(format!("reinstall: {install}")),
        );
    }
    let Some(version) = find_version(&stdout) else {
        return (
            true,
            Check::new(
                name,
                CheckStatus::Warn,
                format!(
                    "`{program} --version` printed no version number ({})",
                    last_line(&stdout).unwrap_or_else(|| "nothing".to_owned())
                ),
            )
            .fix(format!(
                "check that {where_set} points at the real {name} CLI"
            )),
        );
    };
    let check = match (parse_version(&version), parse_version(tested)) {
        (Some(have), Some(want)) if have == want => Check::new(
            name,
            CheckStatus::Ok,
            format!("{version} (the version this clawrun was tested with)"),
        ),
        (Some(have), Some(want)) if have < want => Check::new(
            name,
            CheckStatus::Warn,
            format!("{version} is older than the tested {tested}"),
        )
        .fix(format!("update: {install}")),
        (Some(have), Some(want)) if have.first() != want.first() => Check::new(
            name,
            CheckStatus::Warn,
            format!(
                "{version} is a newer major version than the tested {tested}; its event format may have changed"
            ),
        )
        .fix("if runs report unknown events, pin the tested version or update clawrun"),
        (Some(_), Some(_)) => Check::new(
            name,
            CheckStatus::Ok,
            format!("{version} (newer than the tested {tested})"),
        ),
        _ => Check::new(name, CheckStatus::Ok, format!("{version} (tested: {tested})")),
    };
    (true, check)
}

enum VersionError {
    NotFound,
    Timeout,
    Spawn(std::io::Error),
}

/// Run `program --version` in its own process group; on timeout the group is killed.
async fn run_version(
    program: &str,
    timeout: Duration,
) -> Result<(Option<i32>, String, String), VersionError> {
    let mut cmd = tokio::process::Command::new(program);
    cmd.arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => VersionError::NotFound,
        _ => VersionError::Spawn(e),
    })?;
    let pid = child.id();
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => Ok((
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )),
        Ok(Err(e)) => Err(VersionError::Spawn(e)),
        Err(_) => {
            if let Some(pid) = pid {
                crate::core::runner::process::kill_group(pid);
            }
            Err(VersionError::Timeout)
        }
    }
}

fn last_line(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .map(|l| l.chars().take(200).collect())
}

/// The first `N.N[.N…]` token of `text` (`2.1.197 (Claude Code)`, `codex-cli 0.169.0`).
pub fn find_version(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',')
        .map(|t| t.trim_start_matches('v'))
        .find(|t| {
            let parts: Vec<&str> = t.split('.').collect();
            parts.len() >= 2
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(str::to_owned)
}

fn parse_version(v: &str) -> Option<Vec<u64>> {
    v.split('.').map(|p| p.parse().ok()).collect()
}

/// Gateway reachability, token and `sessions_send` policy.
async fn check_gateway(
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
            Check::new("sessions_send", CheckStatus::Skip, "no gateway configured"),
        ];
    }
    let mut out = Vec::new();
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
                check_token(&url, token, timeouts).await
            }
        }
    });

    out.push(check_sessions_send(config, raw));
    out
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

/// The Telegram bot token, with `getMe`.
async fn check_telegram(
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

/// Problems with the owner and mode of `path`: `None` when it is ours and
/// has no permission bits outside `allowed`.
fn ownership_problem(path: &Path, allowed: u32, chmod: &str) -> Option<(String, String)> {
    let meta = std::fs::metadata(path).ok()?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    if meta.uid() != uid {
        return Some((
            format!(
                "{} belongs to uid {}, not to us (uid {uid})",
                path.display(),
                meta.uid()
            ),
            format!("chown {uid} {}", path.display()),
        ));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & !allowed != 0 {
        return Some((
            format!(
                "{} has mode {mode:03o}; other users may read it",
                path.display()
            ),
            format!("chmod {chmod} {}", path.display()),
        ));
    }
    None
}

fn check_state_dir(state_dir: &Path) -> Check {
    let name = "state dir";
    match std::fs::metadata(state_dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Check::new(
                name,
                CheckStatus::Ok,
                format!(
                    "{} does not exist yet; the first run creates it (0700)",
                    state_dir.display()
                ),
            );
        }
        Err(e) => {
            return Check::new(
                name,
                CheckStatus::Fail,
                format!("cannot inspect {}: {e}", state_dir.display()),
            );
        }
        Ok(m) if !m.is_dir() => {
            return Check::new(
                name,
                CheckStatus::Fail,
                format!("{} is not a directory", state_dir.display()),
            )
            .fix(format!(
                "move {} away, or choose another with --state-dir",
                state_dir.display()
            ));
        }
        Ok(_) => {}
    }
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    let runs = state_dir.join(crate::core::store::paths::RUNS_DIR_NAME);
    for dir in [state_dir, runs.as_path()] {
        if let Some((p, f)) = ownership_problem(dir, 0o700, "700") {
            problems.push(p);
            fixes.push(f);
        }
    }
    if problems.is_empty() {
        Check::new(
            name,
            CheckStatus::Ok,
            format!("{} is private (0700, ours)", state_dir.display()),
        )
    } else {
        Check::new(name, CheckStatus::Fail, problems.join("; ")).fix(fixes.join(" && "))
    }
}

fn check_registries(paths: &Paths) -> Check {
    let name = "registries";
    let Ok(backends) = BackendsConfig::builtin() else {
        return Check::new(name, CheckStatus::Skip, "backend definitions unavailable");
    };
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    let mut seen = Vec::new();
    for b in BACKEND_NAMES {
        let Ok(backend) = backends.backend(b) else {
            continue;
        };
        let reg = Registry::for_backend(paths, &backend);
        if std::fs::symlink_metadata(reg.path()).is_err() {
            continue;
        }
        if let Some((p, f)) = ownership_problem(reg.path(), 0o600, "600") {
            problems.push(p);
            fixes.push(f);
        }
        match reg.list(None) {
            Ok(entries) => seen.push(format!(
                "{} ({} entries)",
                reg.path().display(),
                entries.len()
            )),
            Err(e) => {
                problems.push(e.to_string());
                fixes.push(format!(
                    "repair {} by hand or move it away (clawrun never overwrites it)",
                    reg.path().display()
                ));
            }
        }
    }
    if !problems.is_empty() {
        return Check::new(name, CheckStatus::Fail, problems.join("; ")).fix(fixes.join("; "));
    }
    if seen.is_empty() {
        Check::new(
            name,
            CheckStatus::Ok,
            "none yet; the first run creates them (0600)",
        )
    } else {
        Check::new(
            name,
            CheckStatus::Ok,
            format!("{}: private (0600) and valid", seen.join(", ")),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_found_in_cli_output() {
        assert_eq!(
            find_version("2.1.197 (Claude Code)\n").as_deref(),
            Some("2.1.197")
        );
        assert_eq!(
            find_version("codex-cli 0.169.0\n").as_deref(),
            Some("0.169.0")
        );
        assert_eq!(find_version("v1.2").as_deref(), Some("1.2"));
        assert_eq!(find_version("no version here 1."), None);
        assert!(parse_version("0.169.0") < parse_version("0.170.0"));
        assert!(parse_version("2.1.197") > parse_version("2.1.9"));
    }

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
