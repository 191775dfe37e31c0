//! The context of one process: where things are ([`Paths`]), `clawrun.toml`,
//! `openclaw.json` and the backends (`backends.toml`), each read once
//! ([`RunContext::load`]) and passed down to whatever needs them.
//!
//! This is the one place that reads `clawrun.toml` for a run: the launch, a
//! detached runner, its crash watcher and every command build one context and
//! hand it on, so a process never parses the file twice (`clawrun doctor`,
//! which checks the files, reads them itself).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::backends::AnyBackend;
use crate::backends::config::{self as backends_config, BackendsConfig};
use crate::core::config::Config;
use crate::core::error::Result;
use crate::core::openclaw::config::{self as openclaw_config, OpenclawConfig};
use crate::core::openclaw::gateway::GatewayClient;
use crate::core::store::paths::{Env as _, Paths, ProcessEnv};

/// Paths, both config files and the backends, loaded once per process.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// Where state, config and `openclaw.json` are.
    pub paths: Paths,
    /// `clawrun.toml` (defaults when there is none).
    pub config: Config,
    /// `openclaw.json`.
    pub openclaw: OpenclawConfig,
    /// The user's `backends.toml` (`--backends`, or the state directory's
    /// when it exists; a run keeps the one it was launched with).
    pub backends_file: Option<PathBuf>,
    /// The backends, read at their first use (a command that starts no
    /// agent never reads `backends.toml`).
    backends: OnceLock<BackendsConfig>,
}

impl RunContext {
    /// Read `clawrun.toml` and `openclaw.json` under `paths`; `backends_file`
    /// is read when a backend is first asked for ([`RunContext::backends`]).
    ///
    /// `[gateway] url` not set: `$CLAWRUN_GATEWAY_URL` (set by `run --node`
    /// for the run it starts on a node) gives it.
    ///
    /// # Errors
    /// Unreadable or invalid files (unknown keys in `clawrun.toml` included).
    pub fn load(paths: &Paths, backends_file: Option<PathBuf>) -> Result<Self> {
        Ok(Self {
            paths: paths.clone(),
            config: Self::load_config(paths)?,
            openclaw: OpenclawConfig::load(&paths.openclaw_config)?,
            backends_file,
            backends: OnceLock::new(),
        })
    }

    /// The built-in settings, reading nothing (for the crash watcher, which
    /// must record a crash even when a config file went bad meanwhile).
    pub fn defaults(paths: &Paths, backends_file: Option<PathBuf>) -> Self {
        Self {
            paths: paths.clone(),
            config: Config::default(),
            openclaw: OpenclawConfig::default(),
            backends_file,
            backends: OnceLock::new(),
        }
    }

    /// `clawrun.toml` alone, for a command that needs nothing else (`gc`):
    /// the one place it is read. `[gateway] url` not set:
    /// `$CLAWRUN_GATEWAY_URL` gives it.
    ///
    /// # Errors
    /// An unreadable or invalid file.
    pub fn load_config(paths: &Paths) -> Result<Config> {
        let mut config = Config::load(&paths.config_file)?;
        if config.gateway.url.is_none() {
            config.gateway.url = ProcessEnv.var(openclaw_config::GATEWAY_URL_ENV_NAME);
        }
        Ok(config)
    }

    /// The built-in backends with the user's `backends.toml` laid over them,
    /// read on the first call.
    ///
    /// # Errors
    /// An unreadable or invalid `backends.toml`.
    pub fn backends(&self) -> Result<&BackendsConfig> {
        if let Some(b) = self.backends.get() {
            return Ok(b);
        }
        let loaded = backends_config::load(self.backends_file.as_deref())?;
        Ok(self.backends.get_or_init(|| loaded))
    }

    /// The backend `name` of a run launched with `backends_file`: from the
    /// context's backends when that is the context's file, else read from it.
    ///
    /// # Errors
    /// An unreadable or invalid backends file, or an unknown backend.
    pub fn backend(&self, name: &str, backends_file: Option<&Path>) -> Result<AnyBackend> {
        if backends_file == self.backends_file.as_deref() {
            return Ok(self.backends()?.backend(name)?);
        }
        Ok(backends_config::load(backends_file)?.backend(name)?)
    }

    /// The gateway client of these settings, when a token is configured.
    pub fn gateway(&self) -> Option<GatewayClient> {
        openclaw_config::gateway_client(&self.config, &self.openclaw, &ProcessEnv).ok()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    /// Every `.rs` file under `dir`.
    fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// The structural half of "clawrun.toml is read once per process": the
    /// file is read only here ([`super::RunContext::load_config`]) and by
    /// `clawrun doctor`'s check of the file itself; every other reader takes
    /// the context it was handed.
    #[test]
    fn clawrun_toml_is_read_only_by_the_context_and_doctors_file_check() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        let readers: Vec<String> = files
            .iter()
            .filter(|f| {
                std::fs::read_to_string(f)
                    .unwrap()
                    .lines()
                    .any(|l| l.contains("Config::load(") && !l.trim_start().starts_with("//"))
            })
            .map(|f| f.strip_prefix(&src).unwrap().display().to_string())
            .collect();
        let mut readers = readers;
        readers.sort();
        assert_eq!(readers, ["core/context/mod.rs", "core/ops/doctor/files.rs"]);
    }
}
