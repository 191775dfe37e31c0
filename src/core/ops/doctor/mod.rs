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
//! - each `[acp.<name>]` agent: its program found (on PATH, or a path that is
//!   an executable file; missing is a warning with the table's `install`
//!   command), and its version when `--version` answers within the timeout;
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

mod acp;
mod clis;
mod files;
mod gateway;
mod plugin;
mod telegram;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::core::model::exit::ExitStatus;
use crate::core::openclaw::gateway::{HttpTimeouts, redact};
use crate::core::store::paths::{Env, Paths};

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
    /// The process exit status: success when no check failed, a failure
    /// otherwise.
    pub fn exit_code(&self) -> ExitStatus {
        if self.ok {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        }
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

    let (config, check) = files::check_config(paths);
    checks.push(check);
    let (backends, check) = files::check_backends(opts.backends_file.as_deref());
    checks.push(check);
    let (oc, raw_oc, check) = files::check_openclaw(paths);
    checks.push(check);
    if let Some(backends) = &backends {
        checks.extend(clis::check_clis(paths, backends, opts).await);
        let backends_path = opts
            .backends_file
            .clone()
            .unwrap_or_else(|| paths.backends_file());
        checks.extend(acp::check_acp_agents(backends, &backends_path, opts).await);
    }

    let timeouts = HttpTimeouts {
        connect: config.gateway.connect_timeout.min(opts.timeout),
        request: opts.timeout,
    };
    let gateway_checks =
        gateway::check_gateway(&config, &oc, raw_oc.as_ref(), env, timeouts, &mut secrets).await;
    checks.extend(gateway_checks);
    checks.push(telegram::check_telegram(&config, &oc, env, timeouts, &mut secrets).await);
    checks.push(telegram::check_wake_program(&config, &oc, env));
    checks.push(files::check_state_dir(&paths.state_dir));
    checks.push(files::check_registries(paths));

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
