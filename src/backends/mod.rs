//! Backends: one coding-agent CLI each, pure mapping only.
//!
//! A backend builds the command line for a run ([`Backend::command`]) and turns
//! the CLI's output lines into [`AgentEvent`]s ([`LineParser::parse_line`]). It
//! never spawns, sleeps, sends or touches files: the runner owns that.
//!
//! A backend owns its differences: what it can do ([`Backend::capabilities`]),
//! which requests it honours ([`Backend::validate`]), and how the runner talks
//! to a live agent ([`Backend::protocol`]: output lines in, events and bytes for
//! the agent's stdin out). The runner never asks which CLI it drives.
//!
//! Backends are defined by `backends.toml` (embedded defaults, see
//! [`config::BackendsToml`]); a user file can override the program path, extra
//! arguments and environment, and define [`generic`] backends for other CLIs
//! that print JSON lines, with their fields mapped to [`AgentEvent`]s in the
//! file itself.

pub mod acp;
pub mod claude;
pub mod codex;
pub mod config;
pub mod generic;
pub mod protocol;
mod wire;

use std::path::PathBuf;

use enum_dispatch::enum_dispatch;
use serde::{Deserialize, Serialize};

pub use crate::backends::acp::{AcpBackend, AcpParser};
pub use crate::backends::claude::{ClaudeBackend, ClaudeParser};
pub use crate::backends::codex::{CodexBackend, CodexParser};
use crate::backends::config::BackendsConfig;
pub use crate::backends::generic::{GenericBackend, GenericParser};
pub use crate::backends::protocol::{AnyProtocol, Awaiting, LiveInput, OneWay, Protocol, Step};
use crate::core::config::Safety;
use crate::core::error::ConfigError;
use crate::core::model::approval::ApprovalMode;
use crate::core::model::events::AgentEvent;

/// Permission handling for an unattended run, in backend-neutral terms: each
/// backend maps it to its own flags (Claude `--permission-mode`, Codex `-s`, an
/// ACP agent's answer to its permission requests) or rejects what it has none
/// for.
///
/// On disk (`request.json`) it is `"default"`, `{"mode": …}` or
/// `{"sandbox": …}`; the names earlier versions wrote
/// (`claude-mode`, `codex-sandbox`) still load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Permission {
    /// The backend's configured default (bypass for both CLIs, as in the seed).
    #[default]
    Default,
    /// A permission mode, `--permission-mode <mode>`: what the agent may do
    /// without asking (Claude's `default`, `plan`, `acceptEdits`,
    /// `bypassPermissions`, …; an ACP agent allows under `bypassPermissions`
    /// and denies under any other). Passed as given, never dropped.
    #[serde(alias = "claude-mode")]
    Mode(String),
    /// A sandbox, `--sandbox <mode>`: where the agent's commands may write
    /// (`read-only`, `workspace-write`, `danger-full-access`; Codex `-s`).
    #[serde(alias = "codex-sandbox")]
    Sandbox(String),
}

impl Permission {
    /// The clawrun flag that asks for this setting, as the user wrote it
    /// (`--permission-mode plan`, `--sandbox read-only`); `None` for the
    /// default.
    pub fn flag(&self) -> Option<String> {
        match self {
            Permission::Default => None,
            Permission::Mode(m) => Some(format!("--permission-mode {m}")),
            Permission::Sandbox(m) => Some(format!("--sandbox {m}")),
        }
    }
}

/// Everything a backend needs to build a command. Built by the runner from the
/// run's spec (where it is stored flattened, in `request.json`), validated by
/// [`Backend::validate`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunRequest {
    /// The task text. Goes on stdin, never in argv.
    pub prompt: String,
    /// Absolute project (working) directory.
    pub project: PathBuf,
    /// Model name, passed as `--model`.
    pub model: Option<String>,
    /// Resume this session / thread.
    pub resume_id: Option<String>,
    /// With `resume_id`: fork into a new session (Claude `--fork-session`).
    pub fork: bool,
    /// Permission / sandbox mode.
    pub permission: Permission,
    /// Codex web search; `None` = the backend's default (on).
    pub search: Option<bool>,
    /// Claude `--allowedTools` entries.
    pub allowed_tools: Vec<String>,
    /// Claude `--append-system-prompt`.
    pub append_system_prompt: Option<String>,
    /// Claude `--max-budget-usd`.
    pub max_budget_usd: Option<f64>,
    /// Who answers the agent's permission requests (`--approvals`); with
    /// [`ApprovalMode::Chat`] the backend asks instead of bypassing them.
    #[serde(default, skip_serializing_if = "ApprovalMode::is_off")]
    pub approvals: ApprovalMode,
    /// The safety preset of the run (what `launch`, `show` and the result name).
    /// [`RunRequest::permission`] already holds its mapping (or the explicit
    /// flag that won over it); the backends build the command from that.
    #[serde(default, skip_serializing_if = "Safety::is_full")]
    pub safety: Safety,
    /// `permission` came from `--permission-mode` / `--sandbox`, which win over
    /// the preset.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub permission_given: bool,
}

impl RunRequest {
    /// What the launch message and `show` say about the run's safety:
    /// `read-only (--permission-mode plan)`, `full`, or
    /// `full; --sandbox read-only given (wins over the preset)`.
    pub fn safety_summary(&self) -> String {
        match (self.permission.flag(), self.permission_given) {
            (Some(flag), true) => format!("{}; {flag} given (wins over the preset)", self.safety),
            (Some(flag), false) => format!("{} ({flag})", self.safety),
            (None, _) => self.safety.to_string(),
        }
    }

    /// [`Self::safety_summary`] when the run was limited (a preset other than
    /// `full`, or an explicit `--permission-mode` / `--sandbox`), for the result
    /// message and the wake; `None` for an unlimited run.
    pub fn limited_safety(&self) -> Option<String> {
        (!self.safety.is_full() || self.permission_given).then(|| self.safety_summary())
    }
}

/// Which permission option a backend takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermissionStyle {
    /// A permission mode ([`Permission::Mode`], `--permission-mode`).
    Mode,
    /// A sandbox mode ([`Permission::Sandbox`], `--sandbox`).
    Sandbox,
}

/// What a backend can do beyond a plain one-shot run. The runner decides by
/// these, never by the backend's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// Resume a session into a new one ([`RunRequest::fork`]).
    pub fork: bool,
    /// Takes user messages on stdin between turns ([`Backend::live_command`]);
    /// without it, messages for a running run are queued and resumed after.
    pub live_input: bool,
    /// Web search can be turned off ([`RunRequest::search`]).
    pub search_toggle: bool,
    /// The permission option it takes, if any.
    pub permission: Option<PermissionStyle>,
    /// Reports subagents (the heartbeat shows them).
    pub subagents: bool,
    /// Names its CLI version in its stream; otherwise the runner asks the
    /// program's `--version` (once per installed program).
    pub version_in_stream: bool,
    /// Talks both ways in every run, not only multi-turn ones (ACP): the
    /// runner always starts it from [`Backend::live_command`] with stdin kept
    /// open for its protocol's writes, and in a one-shot run closes stdin once
    /// the turn has ended (the agent then exits).
    pub two_way: bool,
    /// Asks before risky tool calls over its live protocol ([`Step::asks`];
    /// needs [`Backend::live_command`]): `--approvals chat` is possible.
    pub approvals: bool,
}

/// A fully built command: what the orchestrator spawns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommandSpec {
    /// Program to run (a name looked up on PATH, or a path).
    pub program: String,
    /// Arguments, without the program.
    pub args: Vec<String>,
    /// Extra environment variables, added to the runner's environment.
    pub env: Vec<(String, String)>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Bytes written to stdin, after which stdin is closed.
    pub stdin: String,
}

impl CommandSpec {
    /// The command of a run of `req`: `program args…` in the project, with the
    /// backend's configured `env`, the prompt on stdin (never in argv).
    pub fn for_request(
        program: &str,
        args: Vec<String>,
        env: &std::collections::BTreeMap<String, String>,
        req: &RunRequest,
    ) -> Self {
        CommandSpec {
            program: program.to_owned(),
            args,
            env: env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            cwd: req.project.clone(),
            stdin: req.prompt.clone(),
        }
    }
}

/// A run request a backend cannot honour, found by [`Backend::validate`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{backend}: {message}")]
pub struct RequestError {
    /// The backend's name ("claude", "codex", or a generic backend's name).
    pub backend: &'static str,
    /// What is wrong, naming the option.
    pub message: String,
}

impl RequestError {
    /// `backend` refuses the request, saying why.
    pub(crate) fn reject(backend: &'static str, message: String) -> Result<(), RequestError> {
        Err(RequestError { backend, message })
    }

    /// An argument value (`what`: "the model", "the session id"…) that must not
    /// be empty nor be taken for an option by the CLI.
    pub(crate) fn check_value(
        backend: &'static str,
        what: &str,
        value: &str,
    ) -> Result<(), RequestError> {
        if value.trim().is_empty() {
            return Self::reject(backend, format!("{what} must not be empty"));
        }
        if value.starts_with('-') {
            return Self::reject(
                backend,
                format!("{what} must not start with '-': {value:?}"),
            );
        }
        Ok(())
    }
}

impl RunRequest {
    /// The checks every backend makes: a prompt, and a model and resume id
    /// (`id_name`: "the session id", "the thread id") the CLI cannot take for
    /// options. Which options a backend takes at all is its own business.
    pub(crate) fn check_common(
        &self,
        backend: &'static str,
        id_name: &str,
    ) -> Result<(), RequestError> {
        if self.prompt.trim().is_empty() {
            return RequestError::reject(backend, "the prompt is empty".to_string());
        }
        if let Some(model) = &self.model {
            RequestError::check_value(backend, "the model", model)?;
        }
        if let Some(id) = &self.resume_id {
            RequestError::check_value(backend, id_name, id)?;
        }
        Ok(())
    }

    /// The first option set that only the built-in CLIs take (fork, web
    /// search, allowed tools, an appended system prompt, a budget), as the
    /// refusal an ACP or generic backend gives; `None` when none is set.
    pub(crate) fn built_in_option(&self) -> Option<&'static str> {
        [
            (self.fork, "fork is a claude option"),
            (self.search.is_some(), "web search is a codex option"),
            (
                !self.allowed_tools.is_empty(),
                "allowed tools are a claude option",
            ),
            (
                self.append_system_prompt.is_some(),
                "an appended system prompt is a claude option",
            ),
            (
                self.max_budget_usd.is_some(),
                "a dollar budget is a claude option",
            ),
        ]
        .into_iter()
        .find_map(|(set, refusal)| set.then_some(refusal))
    }
}

/// Where a CLI keeps its own log of a session ([`Backend::session_log`]): a
/// file somewhere under `dir` (in dated subdirectories at most `max_depth`
/// deep) whose name ends with `name_suffix`. The runner finds and reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionLogFile {
    /// The directory the CLI writes its session logs under (a relative one is
    /// the agent's, in its working directory).
    pub dir: PathBuf,
    /// How the log's file name ends (it names the session id).
    pub name_suffix: String,
    /// How many directory levels below `dir` the file may be.
    pub max_depth: usize,
}

/// Display names of a backend, used in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Names {
    /// Long name: "Claude Code", "OpenAI Codex".
    pub display: &'static str,
    /// Short tag for heartbeats: "CC", "Codex".
    pub tag: &'static str,
    /// Wake marker: `[CLAUDE_CODE_RESULT]`, `[CODEX_RESULT]`.
    pub result_marker: &'static str,
    /// How to install the CLI (`doctor`'s fix), empty when unknown.
    pub install: &'static str,
}

/// Per-run, stateful line parser. Pure: it only maps text to events.
#[enum_dispatch]
pub trait LineParser {
    /// Map one stdout line (without its newline) to events, appended to `out`.
    /// Never fails: odd input becomes [`AgentEvent::Warning`].
    ///
    /// The hot path: a caller that keeps `out` between lines allocates no
    /// vector per line.
    fn parse_line_into(&mut self, line: &str, out: &mut Vec<AgentEvent>);

    /// [`LineParser::parse_line_into`] into a new vector.
    fn parse_line(&mut self, line: &str) -> Vec<AgentEvent> {
        let mut out = Vec::new();
        self.parse_line_into(line, &mut out);
        out
    }

    /// Called once after the process exited, with its exit code (`None` when
    /// killed by a signal) and the tail of its stderr. Returns closing events,
    /// e.g. a [`AgentEvent::TurnFailed`] built from stderr when the CLI printed
    /// no terminal event.
    fn finish(&mut self, exit_code: Option<i32>, stderr_tail: &str) -> Vec<AgentEvent>;
}

/// The closed set of line parsers.
#[enum_dispatch(LineParser)]
#[derive(Debug, Clone)]
pub enum AnyParser {
    /// Claude Code stream-json.
    Claude(ClaudeParser),
    /// Codex `exec --json`.
    Codex(CodexParser),
    /// A generic JSONL CLI, mapped by its `backends.toml` table.
    Generic(GenericParser),
    /// An Agent Client Protocol agent's output (replays, `fg`).
    Acp(AcpParser),
}

/// A coding-agent CLI driven headlessly. Pure: builds argv, parses lines, never spawns.
#[enum_dispatch]
pub trait Backend {
    /// Backend name as used in flags and files: "claude", "codex", or the name
    /// of a `[generic.<name>]` table.
    fn name(&self) -> &'static str;
    /// Display names for messages.
    fn names(&self) -> Names;
    /// Check that this backend can honour `req`, before anything is spawned or
    /// written. [`Backend::command`] assumes this passed: it maps every option it
    /// supports and does not report the others.
    ///
    /// # Errors
    /// [`RequestError`] naming the option this backend cannot honour (a usage
    /// error: exit code 2).
    fn validate(&self, req: &RunRequest) -> Result<(), RequestError>;
    /// Build the command for a run.
    fn command(&self, req: &RunRequest) -> CommandSpec;
    /// A fresh parser for one run.
    fn parser(&self) -> AnyParser;
    /// Registry file name under the OpenClaw home: "claude_sessions.json".
    fn registry_file(&self) -> &'static str;
    /// Name of the id field in registry entries: "session_id" | "thread_id".
    fn id_field(&self) -> &'static str;
    /// The newest CLI version this project was tested with.
    fn tested_version(&self) -> &'static str;
    /// The permission a safety preset maps to for this CLI: its own permission
    /// mode or sandbox, checked against the real CLI (see the README's table).
    /// [`Safety::Full`] is always [`Permission::Default`] (the configured
    /// `permission_args`).
    ///
    /// # Errors
    /// [`RequestError`] when this backend cannot honour the preset (default:
    /// every preset but `full`), so that a run never goes on unrestricted
    /// when it asked for less.
    fn safety_permission(&self, safety: Safety) -> Result<Permission, RequestError> {
        match safety {
            Safety::Full => Ok(Permission::Default),
            Safety::Workspace | Safety::ReadOnly => Err(RequestError {
                backend: self.name(),
                message: format!(
                    "the {safety} safety preset is not supported: this backend has no \
                     permission or sandbox option clawrun knows (use --safety full)"
                ),
            }),
        }
    }
    /// Where the CLI logs the session `session_id` itself, for what its stream
    /// leaves out (see [`Backend::denials_from_log`]). `env` reads the agent's
    /// environment (the runner's, with the backend's and the runner's changes).
    /// Default: `None`, the stream tells everything.
    fn session_log(
        &self,
        session_id: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Option<SessionLogFile> {
        let _ = (session_id, env);
        None
    }
    /// The tool calls the run's sandbox refused that the stream did not
    /// report, as [`AgentEvent::ToolDenied`], from the text of the
    /// [`Backend::session_log`] file (or its tail), written at or after
    /// `since` (Unix seconds). Default: none.
    fn denials_from_log(&self, log: &str, since: i64) -> Vec<AgentEvent> {
        let _ = (log, since);
        Vec::new()
    }
    /// What it can do beyond a one-shot run (default: nothing).
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }
    /// The command of a run that keeps stdin open for input between turns
    /// (its `stdin` is the first input, already encoded), or `None` when the
    /// backend takes no live input.
    fn live_command(&self, req: &RunRequest) -> Option<CommandSpec> {
        let _ = req;
        None
    }
    /// The runner's side of one agent process: parses its output and encodes
    /// what goes to its stdin. `live`: the process was started from
    /// [`Backend::live_command`]. Default: a one-way parser.
    fn protocol(&self, live: bool) -> AnyProtocol {
        let _ = live;
        OneWay::new(self.parser()).into()
    }
    /// [`Backend::protocol`] for one agent process started for `req`: a
    /// protocol that drives the conversation itself (ACP: the handshake, the
    /// prompt, the permission policy) needs the request. Default: `protocol`.
    fn protocol_for(&self, req: &RunRequest, live: bool) -> AnyProtocol {
        let _ = req;
        self.protocol(live)
    }
}

/// The closed set of backends.
#[enum_dispatch(Backend)]
#[derive(Debug, Clone)]
pub enum AnyBackend {
    /// Anthropic Claude Code.
    Claude(ClaudeBackend),
    /// OpenAI Codex.
    Codex(CodexBackend),
    /// A CLI defined in `backends.toml` alone (`[generic.<name>]`).
    Generic(GenericBackend),
    /// An Agent Client Protocol agent (`[acp.<name>]`).
    Acp(AcpBackend),
}

impl AnyBackend {
    /// The backend called `name` (`"claude"`, `"codex"`, or a generic one),
    /// with the settings of the loaded `backends.toml` layers.
    ///
    /// # Errors
    /// [`ConfigError::UnknownBackend`] naming the known backends when `name` is unknown.
    pub fn from_config(name: &str, config: &BackendsConfig) -> Result<Self, ConfigError> {
        config.backend(name)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::Permission;

    #[test]
    fn permission_is_written_in_neutral_terms_and_the_old_names_still_load() {
        let json = |p: &Permission| serde_json::to_string(p).unwrap();
        assert_eq!(json(&Permission::Default), r#""default""#);
        assert_eq!(json(&Permission::Mode("plan".into())), r#"{"mode":"plan"}"#);
        assert_eq!(
            json(&Permission::Sandbox("read-only".into())),
            r#"{"sandbox":"read-only"}"#
        );
        let load = |s: &str| serde_json::from_str::<Permission>(s).unwrap();
        assert_eq!(
            load(r#"{"claude-mode":"plan"}"#),
            Permission::Mode("plan".into())
        );
        assert_eq!(
            load(r#"{"codex-sandbox":"read-only"}"#),
            Permission::Sandbox("read-only".into())
        );
        assert_eq!(load(r#"{"mode":"plan"}"#), Permission::Mode("plan".into()));
    }

    #[test]
    fn permission_flag_names_the_clawrun_flag() {
        assert_eq!(Permission::Default.flag(), None);
        assert_eq!(
            Permission::Mode("acceptEdits".into()).flag().as_deref(),
            Some("--permission-mode acceptEdits")
        );
        assert_eq!(
            Permission::Sandbox("read-only".into()).flag().as_deref(),
            Some("--sandbox read-only")
        );
    }
}
