//! Backend definitions: the embedded `backends.toml` plus an optional user file.
//!
//! Two layers, codex-style (`*Toml` → `*Config`):
//!
//! - [`BackendsToml`] is the file schema. Every field is optional and unknown
//!   keys are errors (`deny_unknown_fields`), so a typo in a user file is caught.
//!   The built-in file ([`BUILTIN_BACKENDS_TOML`], compiled in with
//!   `include_str!`) uses the same schema and must set every field.
//! - [`BackendsConfig`] holds concrete values: the built-in file with the user
//!   file laid over it. A user file can override `program`, `args` (extra
//!   arguments, replaced as a whole), `env` (merged key by key),
//!   `permission_args` and, for Codex, `search`. `tested_version` describes this
//!   build of clawrun and cannot be overridden.
//!
//! A file may also define backends of its own, for any CLI that prints JSON
//! lines: `[generic.<name>]` tables (see [`crate::backends::generic`]). They
//! are validated strictly when the file is loaded, and a later file replaces a
//! same-named definition as a whole.
//!
//! `[acp.<name>]` tables define agents that speak the Agent Client Protocol
//! (see [`crate::backends::acp`]), validated and replaced the same way; a
//! name is either generic or ACP, never both.
//!
//! [`BackendsConfig::backend`] (or [`AnyBackend::from_config`]) turns a backend
//! name into an [`AnyBackend`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Deserialize;

use crate::backends::acp::{AcpBackend, AcpConfig, AcpToml};
use crate::backends::generic::{GenericBackend, GenericConfig, GenericToml};
use crate::backends::{AnyBackend, ClaudeBackend, CodexBackend};
use crate::core::error::ConfigError;

/// The built-in backend definitions (the repository's `backends.toml`).
pub const BUILTIN_BACKENDS_TOML: &str = include_str!("../../backends.toml");

/// Name of the user override file in the state directory.
pub const BACKENDS_FILE_NAME: &str = "backends.toml";

/// Names of the built-in backends. [`BackendsConfig::names`] adds the
/// generic ones a file defines.
pub const BACKEND_NAMES: &[&str] = &["claude", "codex"];

/// Shown as the path of the built-in file in error messages.
const BUILTIN_PATH: &str = "<built-in backends.toml>";

/// The `backends.toml` schema (built-in file and user overrides).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendsToml {
    /// `[claude]`: Claude Code.
    pub claude: Option<ClaudeToml>,
    /// `[codex]`: OpenAI Codex.
    pub codex: Option<CodexToml>,
    /// `[generic.<name>]`: backends for other JSONL-printing CLIs, by name.
    pub generic: Option<BTreeMap<String, GenericToml>>,
    /// `[acp.<name>]`: agents that speak the Agent Client Protocol, by name.
    pub acp: Option<BTreeMap<String, AcpToml>>,
}

/// `[claude]` in `backends.toml`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaudeToml {
    /// Program to run: a name looked up on PATH, or a path.
    pub program: Option<String>,
    /// Extra arguments, appended after clawrun's own.
    pub args: Option<Vec<String>>,
    /// Extra environment variables for the agent process.
    pub env: Option<BTreeMap<String, String>>,
    /// Arguments used when the run asks for the default permission handling.
    pub permission_args: Option<Vec<String>>,
    /// The newest CLI version clawrun was tested with (built-in file only).
    pub tested_version: Option<String>,
}

/// `[codex]` in `backends.toml`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodexToml {
    /// Program to run: a name looked up on PATH, or a path.
    pub program: Option<String>,
    /// Extra arguments, placed after clawrun's `exec` options and before the
    /// `resume`/`fork` subcommand and the `-` prompt argument.
    pub args: Option<Vec<String>>,
    /// Extra environment variables for the agent process.
    pub env: Option<BTreeMap<String, String>>,
    /// Arguments used when the run asks for the default sandbox handling.
    pub permission_args: Option<Vec<String>>,
    /// Live web search when the run does not say (`codex --search`).
    pub search: Option<bool>,
    /// The newest CLI version clawrun was tested with (built-in file only).
    pub tested_version: Option<String>,
}

/// Concrete settings of the Claude backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaudeConfig {
    /// Program to run.
    pub program: String,
    /// Extra arguments, appended after clawrun's own.
    pub args: Vec<String>,
    /// Extra environment variables, in key order.
    pub env: BTreeMap<String, String>,
    /// Arguments for the default permission handling.
    pub permission_args: Vec<String>,
    /// The newest CLI version clawrun was tested with.
    pub tested_version: &'static str,
}

/// Concrete settings of the Codex backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodexConfig {
    /// Program to run.
    pub program: String,
    /// Extra arguments (before `resume`/`fork` and the `-` prompt argument).
    pub args: Vec<String>,
    /// Extra environment variables, in key order.
    pub env: BTreeMap<String, String>,
    /// Arguments for the default sandbox handling.
    pub permission_args: Vec<String>,
    /// Live web search when the run does not say.
    pub search: bool,
    /// The newest CLI version clawrun was tested with.
    pub tested_version: &'static str,
}

/// Every backend's concrete settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendsConfig {
    /// Claude Code.
    pub claude: ClaudeConfig,
    /// OpenAI Codex.
    pub codex: CodexConfig,
    /// Generic backends, by name.
    pub generic: BTreeMap<String, GenericConfig>,
    /// ACP backends, by name.
    pub acp: BTreeMap<String, AcpConfig>,
}

/// Parse the built-in file once; its strings live for the whole program, which
/// lets `tested_version` be a `&'static str`.
fn builtin_toml() -> Result<&'static BackendsToml, ConfigError> {
    static BUILTIN: OnceLock<Result<BackendsToml, String>> = OnceLock::new();
    BUILTIN
        .get_or_init(|| toml::from_str(BUILTIN_BACKENDS_TOML).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|message| ConfigError::Parse {
            path: PathBuf::from(BUILTIN_PATH),
            message: message.clone(),
        })
}

/// A field the built-in file must set.
fn required<'a, T>(value: &'a Option<T>, key: &str) -> Result<&'a T, ConfigError> {
    value.as_ref().ok_or_else(|| {
        ConfigError::Invalid(format!(
            "{BUILTIN_PATH}: `{key}` is missing (a bug in this build)"
        ))
    })
}

impl BackendsConfig {
    /// The built-in definitions alone.
    ///
    /// # Errors
    /// Only if the embedded file is broken, which the crate's tests rule out.
    pub fn builtin() -> Result<Self, ConfigError> {
        let toml = builtin_toml()?;
        let claude = required(&toml.claude, "claude")?;
        let codex = required(&toml.codex, "codex")?;
        Ok(Self {
            claude: ClaudeConfig {
                program: required(&claude.program, "claude.program")?.clone(),
                args: required(&claude.args, "claude.args")?.clone(),
                env: required(&claude.env, "claude.env")?.clone(),
                permission_args: required(&claude.permission_args, "claude.permission_args")?
                    .clone(),
                tested_version: required(&claude.tested_version, "claude.tested_version")?.as_str(),
            },
            codex: CodexConfig {
                program: required(&codex.program, "codex.program")?.clone(),
                args: required(&codex.args, "codex.args")?.clone(),
                env: required(&codex.env, "codex.env")?.clone(),
                permission_args: required(&codex.permission_args, "codex.permission_args")?.clone(),
                search: *required(&codex.search, "codex.search")?,
                tested_version: required(&codex.tested_version, "codex.tested_version")?.as_str(),
            },
            generic: generic_configs(toml.generic.clone(), BUILTIN_PATH)?,
            acp: acp_configs(toml.acp.clone(), BUILTIN_PATH)?,
        })
    }

    /// Lay a parsed user file over these settings. `source` names the file in errors.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for an empty `program`, a `tested_version` key,
    /// or an invalid `[generic.<name>]` table (every problem is named).
    pub fn apply(&mut self, user: BackendsToml, source: &Path) -> Result<(), ConfigError> {
        let src = source.display();
        let generic = generic_configs(user.generic, &src.to_string())?;
        let acp = acp_configs(user.acp, &src.to_string())?;
        if let Some(claude) = user.claude {
            if claude.tested_version.is_some() {
                return Err(fixed_version(&src, "claude"));
            }
            if let Some(program) = claude.program {
                self.claude.program = non_empty_program(program, &src, "claude")?;
            }
            if let Some(args) = claude.args {
                self.claude.args = args;
            }
            if let Some(env) = claude.env {
                self.claude.env.extend(env);
            }
            if let Some(permission_args) = claude.permission_args {
                self.claude.permission_args = permission_args;
            }
        }
        if let Some(codex) = user.codex {
            if codex.tested_version.is_some() {
                return Err(fixed_version(&src, "codex"));
            }
            if let Some(program) = codex.program {
                self.codex.program = non_empty_program(program, &src, "codex")?;
            }
            if let Some(args) = codex.args {
                self.codex.args = args;
            }
            if let Some(env) = codex.env {
                self.codex.env.extend(env);
            }
            if let Some(permission_args) = codex.permission_args {
                self.codex.permission_args = permission_args;
            }
            if let Some(search) = codex.search {
                self.codex.search = search;
            }
        }
        self.generic.extend(generic);
        self.acp.extend(acp);
        if let Some(name) = self.generic.keys().find(|n| self.acp.contains_key(*n)) {
            return Err(ConfigError::Invalid(format!(
                "{src}: `{name}` is defined both as [generic.{name}] and as [acp.{name}]"
            )));
        }
        Ok(())
    }

    /// Every backend name: the built-in ones, then the generic ones in name order.
    pub fn names(&self) -> Vec<&str> {
        BACKEND_NAMES
            .iter()
            .copied()
            .chain(self.generic.keys().map(String::as_str))
            .chain(self.acp.keys().map(String::as_str))
            .collect()
    }

    /// The backend called `name` (`"claude"`, `"codex"` or a `[generic.<name>]`
    /// one), built from these settings.
    ///
    /// # Errors
    /// [`ConfigError::UnknownBackend`] naming the known backends when `name` is unknown.
    pub fn backend(&self, name: &str) -> Result<AnyBackend, ConfigError> {
        match name {
            "claude" => Ok(ClaudeBackend::new(self.claude.clone()).into()),
            "codex" => Ok(CodexBackend::new(self.codex.clone()).into()),
            other => match (self.generic.get(other), self.acp.get(other)) {
                (Some(config), _) => Ok(GenericBackend::new(config.clone()).into()),
                (None, Some(config)) => Ok(AcpBackend::new(config.clone()).into()),
                (None, None) => Err(ConfigError::UnknownBackend {
                    name: other.to_owned(),
                    known: self.names().into_iter().map(str::to_owned).collect(),
                }),
            },
        }
    }
}

/// Validate the `[acp.<name>]` tables of one file.
fn acp_configs(
    tables: Option<BTreeMap<String, AcpToml>>,
    source: &str,
) -> Result<BTreeMap<String, AcpConfig>, ConfigError> {
    let mut out = BTreeMap::new();
    let mut problems = Vec::new();
    for (name, table) in tables.unwrap_or_default() {
        match AcpConfig::from_toml(&name, table, source) {
            Ok(config) => {
                out.insert(name, config);
            }
            Err(e) => problems.push(e.to_string()),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(ConfigError::Invalid(problems.join("\n")))
    }
}

/// Validate the `[generic.<name>]` tables of one file.
fn generic_configs(
    tables: Option<BTreeMap<String, GenericToml>>,
    source: &str,
) -> Result<BTreeMap<String, GenericConfig>, ConfigError> {
    let mut out = BTreeMap::new();
    let mut problems = Vec::new();
    for (name, table) in tables.unwrap_or_default() {
        match GenericConfig::from_toml(&name, table, source) {
            Ok(config) => {
                out.insert(name, config);
            }
            Err(e) => problems.push(e.to_string()),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(ConfigError::Invalid(problems.join("\n")))
    }
}

fn fixed_version(src: &impl std::fmt::Display, backend: &str) -> ConfigError {
    ConfigError::Invalid(format!(
        "{src}: `{backend}.tested_version` is fixed by this build of clawrun and cannot be overridden"
    ))
}

fn non_empty_program(
    program: String,
    src: &impl std::fmt::Display,
    backend: &str,
) -> Result<String, ConfigError> {
    if program.trim().is_empty() {
        return Err(ConfigError::Invalid(format!(
            "{src}: `{backend}.program` must not be empty"
        )));
    }
    Ok(program)
}

/// Parse a user file's text. `path` names it in errors.
///
/// # Errors
/// [`ConfigError::Parse`] for invalid TOML or an unknown key (the message names it).
pub fn parse_user(text: &str, path: &Path) -> Result<BackendsToml, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// The built-in definitions with `user_file` laid over them.
///
/// `Some(path)` is a file the user named: it must exist. For the default
/// location, where a missing file is normal, use [`load_or_builtin`].
///
/// # Errors
/// [`ConfigError::Read`] when the file cannot be read, [`ConfigError::Parse`]
/// for bad TOML or an unknown key, [`ConfigError::Invalid`] for a bad value.
pub fn load(user_file: Option<&Path>) -> Result<BackendsConfig, ConfigError> {
    let mut config = BackendsConfig::builtin()?;
    if let Some(path) = user_file {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        config.apply(parse_user(&text, path)?, path)?;
    }
    Ok(config)
}

/// Like [`load`], for the default location (`<state dir>/backends.toml`): a
/// missing file means the built-in definitions alone.
///
/// # Errors
/// As [`load`], except that a missing file is not an error.
pub fn load_or_builtin(default_path: &Path) -> Result<BackendsConfig, ConfigError> {
    match std::fs::read_to_string(default_path) {
        Ok(text) => {
            let mut config = BackendsConfig::builtin()?;
            config.apply(parse_user(&text, default_path)?, default_path)?;
            Ok(config)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BackendsConfig::builtin(),
        Err(source) => Err(ConfigError::Read {
            path: default_path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::backends::Backend;

    #[test]
    fn builtin_file_sets_every_field() {
        let config = BackendsConfig::builtin().unwrap();
        assert_eq!(config.claude.program, "claude");
        assert_eq!(
            config.claude.permission_args,
            vec!["--dangerously-skip-permissions"]
        );
        assert_eq!(config.claude.tested_version, "2.1.337");
        assert_eq!(config.codex.program, "codex");
        assert_eq!(
            config.codex.permission_args,
            vec!["--dangerously-bypass-approvals-and-sandbox"]
        );
        assert!(config.codex.search);
        assert_eq!(config.codex.tested_version, "0.171.0");
        assert!(config.claude.args.is_empty() && config.codex.env.is_empty());
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let path = Path::new("/x/backends.toml");
        let err = parse_user("[claude]\nprogramm = \"c\"\n", path).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("programm"), "{text}");
        assert!(text.contains("/x/backends.toml"), "{text}");
        let err = parse_user("[gemini]\nprogram = \"g\"\n", path).unwrap_err();
        assert!(err.to_string().contains("gemini"), "{err}");
    }

    #[test]
    fn user_file_overrides_program_args_env_permission_and_search() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("backends.toml");
        std::fs::write(
            &path,
            "[claude]\nprogram = \"/opt/claude\"\nenv = { IS_SANDBOX = \"1\" }\n\
             [codex]\nargs = [\"--skip-git-repo-check\"]\npermission_args = [\"--full-auto\"]\nsearch = false\n",
        )
        .unwrap();
        let config = load(Some(&path)).unwrap();
        assert_eq!(config.claude.program, "/opt/claude");
        assert_eq!(
            config.claude.env,
            BTreeMap::from([("IS_SANDBOX".to_string(), "1".to_string())])
        );
        // Untouched fields keep the built-in values.
        assert_eq!(
            config.claude.permission_args,
            vec!["--dangerously-skip-permissions"]
        );
        assert_eq!(config.codex.program, "codex");
        assert_eq!(config.codex.args, vec!["--skip-git-repo-check"]);
        assert_eq!(config.codex.permission_args, vec!["--full-auto"]);
        assert!(!config.codex.search);
        // And the override reaches the built command.
        let backend = config.backend("claude").unwrap();
        let spec = backend.command(&crate::backends::RunRequest::default());
        assert_eq!(spec.program, "/opt/claude");
        assert_eq!(spec.env, vec![("IS_SANDBOX".to_string(), "1".to_string())]);
    }

    #[test]
    fn named_file_must_exist_but_default_location_may_be_missing() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("backends.toml");
        let err = load(Some(&missing)).unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }), "{err}");
        assert_eq!(
            load_or_builtin(&missing).unwrap(),
            BackendsConfig::builtin().unwrap()
        );
        assert_eq!(load(None).unwrap(), BackendsConfig::builtin().unwrap());
        std::fs::write(&missing, "[codex]\nsearch = \"yes\"\n").unwrap();
        assert!(matches!(
            load_or_builtin(&missing).unwrap_err(),
            ConfigError::Parse { .. }
        ));
    }

    #[test]
    fn tested_version_and_empty_program_are_rejected() {
        let path = Path::new("user.toml");
        let mut config = BackendsConfig::builtin().unwrap();
        let user = parse_user("[codex]\ntested_version = \"9\"\n", path).unwrap();
        let err = config.apply(user, path).unwrap_err();
        assert!(err.to_string().contains("codex.tested_version"), "{err}");
        let user = parse_user("[claude]\nprogram = \" \"\n", path).unwrap();
        let err = config.apply(user, path).unwrap_err();
        assert!(err.to_string().contains("claude.program"), "{err}");
    }

    #[test]
    fn backend_by_name() {
        let config = BackendsConfig::builtin().unwrap();
        assert_eq!(config.backend("claude").unwrap().name(), "claude");
        assert_eq!(config.backend("codex").unwrap().name(), "codex");
        let err = config.backend("gemini").unwrap_err().to_string();
        assert!(
            err == "unknown backend 'gemini' (known: claude, codex)",
            "{err}"
        );
    }

    #[test]
    fn generic_backend_from_a_user_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("backends.toml");
        std::fs::write(
            &path,
            "[claude]\nprogram = \"/opt/claude\"\n\
             [generic.acme]\nprogram = \"acme\"\n\
             [generic.acme.events]\ntype = \"/t\"\n\
             [generic.acme.events.on.say]\nevent = \"assistant_text\"\ntext = \"/x\"\n",
        )
        .unwrap();
        let config = load(Some(&path)).unwrap();
        assert_eq!(config.names(), vec!["claude", "codex", "acme"]);
        let acme = config.backend("acme").unwrap();
        assert_eq!(acme.name(), "acme");
        assert_eq!(acme.registry_file(), "acme_sessions.json");
        assert_eq!(config.claude.program, "/opt/claude");
        let err = config.backend("zeta").unwrap_err().to_string();
        assert!(err.contains("claude, codex, acme"), "{err}");

        // A bad pointer is an error naming the file and the key.
        std::fs::write(
            &path,
            "[generic.acme]\nprogram = \"acme\"\n\
             [generic.acme.events]\ntype = \"t\"\n\
             [generic.acme.events.on.say]\nevent = \"assistant_text\"\ntext = \"/x\"\n",
        )
        .unwrap();
        let err = load(Some(&path)).unwrap_err().to_string();
        assert!(
            err.contains(&path.display().to_string()) && err.contains("generic.acme.events.type"),
            "{err}"
        );
        // An unknown key too.
        std::fs::write(&path, "[generic.acme]\nprogram = \"acme\"\nflavour = 1\n").unwrap();
        let err = load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("flavour"), "{err}");
    }
}
