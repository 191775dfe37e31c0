//! The checks of files: `clawrun.toml`, `backends.toml`, `openclaw.json`, the
//! state dir and the registries (parse, owner, mode).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use serde_json::Value;

use super::{Check, CheckStatus};
use crate::backends::config::{self as backends_config, BACKEND_NAMES, BackendsConfig};
use crate::core::config::Config;
use crate::core::openclaw::config::{self as openclaw_config, OpenclawConfig};
use crate::core::store::paths::Paths;
use crate::core::store::registry::Registry;

pub(super) fn check_config(paths: &Paths) -> (Config, Check) {
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
pub(super) fn check_backends(file: Option<&Path>) -> (Option<BackendsConfig>, Check) {
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

pub(super) fn check_openclaw(paths: &Paths) -> (OpenclawConfig, Option<Value>, Check) {
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

pub(super) fn check_state_dir(state_dir: &Path) -> Check {
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

pub(super) fn check_registries(paths: &Paths) -> Check {
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
