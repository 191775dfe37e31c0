//! `[acp.<name>]` in `backends.toml`: the TOML as written ([`AcpToml`],
//! strict) and its validated settings ([`AcpConfig`]).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::backends::Names;
use crate::backends::generic::{check_name, configured_names, intern};
use crate::core::error::ConfigError;

/// `[acp.<name>]`: an agent that speaks the Agent Client Protocol on stdio.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcpToml {
    /// Program to run: a name looked up on PATH, or a path.
    pub program: Option<String>,
    /// Its arguments (e.g. `["acp"]` for `opencode acp`).
    pub args: Option<Vec<String>>,
    /// Extra environment variables for the agent process.
    pub env: Option<BTreeMap<String, String>>,
    /// Model set with `session/set_model` when the run names none.
    pub model: Option<String>,
    /// Session mode set with `session/set_mode` after the session opens
    /// (one of the ids the agent lists, e.g. `bypassPermissions`).
    pub mode: Option<String>,
    /// Long name in messages (default: the table's name).
    pub display_name: Option<String>,
    /// Short tag in heartbeats (default: the display name).
    pub tag: Option<String>,
    /// The agent version this definition was tested with (default "unknown").
    pub tested_version: Option<String>,
    /// How to install the agent (`npm install -g …`): `clawrun doctor` shows
    /// it when the program is missing.
    pub install: Option<String>,
}

/// Validated settings of one ACP backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcpConfig {
    /// The backend's name (`--backend NAME`).
    pub name: &'static str,
    /// Program to run.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Extra environment variables, in key order.
    pub env: BTreeMap<String, String>,
    /// Default model (`session/set_model`), when set.
    pub model: Option<String>,
    /// Session mode (`session/set_mode`), when set.
    pub mode: Option<String>,
    /// Names for messages.
    pub names: Names,
    /// Registry file name: `<name>_sessions.json`.
    pub registry_file: &'static str,
    /// The agent version this definition was tested with.
    pub tested_version: &'static str,
}

impl AcpConfig {
    /// Validate `[acp.<name>]` from the file `source` (named in errors).
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming every problem with its TOML path: a bad
    /// name, a missing or empty `program`, an empty `model`, `mode` or
    /// `install`.
    pub fn from_toml(name: &str, toml: AcpToml, source: &str) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        if let Err(e) = check_name(name) {
            problems.push(format!("`acp.{name}`: {e}"));
        }
        let program = toml.program.unwrap_or_default();
        if program.trim().is_empty() {
            problems.push(format!(
                "`acp.{name}.program`: is missing or empty (the agent to run)"
            ));
        }
        for (key, value) in [
            ("model", &toml.model),
            ("mode", &toml.mode),
            ("install", &toml.install),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                problems.push(format!("`acp.{name}.{key}`: must not be empty"));
            }
        }
        if !problems.is_empty() {
            return Err(ConfigError::Invalid(format!(
                "{source}: {}",
                problems.join("; ")
            )));
        }
        Ok(Self {
            name: intern(name),
            program,
            args: toml.args.unwrap_or_default(),
            env: toml.env.unwrap_or_default(),
            model: toml.model,
            mode: toml.mode,
            names: configured_names(
                name,
                toml.display_name,
                toml.tag,
                toml.install.as_deref().unwrap_or(""),
            ),
            registry_file: intern(&format!("{name}_sessions.json")),
            tested_version: intern(toml.tested_version.as_deref().unwrap_or("unknown")),
        })
    }
}
