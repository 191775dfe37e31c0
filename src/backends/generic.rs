//! A generic backend: any CLI that prints one JSON object per line, described
//! in `backends.toml` alone.
//!
//! # Config
//!
//! ```toml
//! [generic.acme]
//! program = "acme-agent"                      # a name looked up on PATH, or a path
//! args = ["run", "--jsonl", "--cwd", "{project}"]
//! model_args = ["--model", "{model}"]         # added when the run names a model
//! resume_args = ["--continue", "{resume_id}"] # added when the run resumes a session
//! env = { ACME_COLOR = "never" }
//!
//! [generic.acme.events]
//! type = "/kind"                              # JSON pointer of the event type
//! ignore = ["ping"]                           # known types that carry nothing
//!
//! [generic.acme.events.on.hello]
//! event = "session_started"
//! resume_id = "/session/id"
//!
//! [generic.acme.events.on.say]
//! event = "assistant_text"
//! text = "/text"
//!
//! [generic.acme.events.on.done]
//! event = "turn_completed"
//! final_text = "/answer"
//! output_tokens = "/usage/out"
//! ```
//!
//! The command is `program <args> [<model_args>] [<resume_args>]`, run in the
//! project directory, with the prompt on stdin (never in argv: it is visible in
//! `ps` and limited in size). Placeholders: `{project}` anywhere, `{model}` only
//! in `model_args`, `{resume_id}` only in `resume_args`. There is no prompt-file
//! placeholder: a backend writes no files. A CLI that insists on reading the
//! prompt from a file can be given `/dev/stdin` as its name.
//!
//! Each line's type is read at `events.type`; `events.on.<type>` says which
//! [`AgentEvent`] it becomes (`event = …`) and where its fields are (JSON
//! pointers, RFC 6901: `/item/text`, `/a~1b` for the key `a/b`). The event kinds
//! and their fields are those of [`EventRuleToml`].
//!
//! The config is strict (unknown keys, bad pointers, misplaced placeholders
//! are errors naming their TOML path); the lines are read leniently: a line
//! that is not JSON, has no type, or has a type that is neither mapped nor
//! ignored becomes an [`AgentEvent::Warning`], and a mapped field that is
//! missing is left out (or, when the event cannot do without it, a warning).
//!
//! Sessions go to `<name>_sessions.json` in the OpenClaw home, with the id
//! under `session_id`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};

use serde::Deserialize;
use serde_json::Value;

use crate::backends::wire;
use crate::backends::{
    AnyParser, Backend, CommandSpec, LineParser, Names, Permission, RequestError, RunRequest,
};
use crate::core::error::ConfigError;
use crate::core::model::events::{AgentEvent, FailureKind, Usage, UsageScope};

/// Placeholder for the project directory (any argument list).
pub const PROJECT_PLACEHOLDER: &str = "{project}";
/// Placeholder for the model (`model_args` only).
pub const MODEL_PLACEHOLDER: &str = "{model}";
/// Placeholder for the session to resume (`resume_args` only).
pub const RESUME_ID_PLACEHOLDER: &str = "{resume_id}";
/// Name of the id field in a generic backend's registry entries.
pub const GENERIC_ID_FIELD: &str = "session_id";
/// Longest backend name accepted.
const MAX_NAME_LEN: usize = 32;
/// Longest tool summary, in characters.
const SUMMARY_MAX: usize = 80;
/// Longest stderr excerpt in a failure message, in characters.
const STDERR_MESSAGE_MAX: usize = 500;
/// Longest excerpt of an odd line in a warning, in characters.
const WARNING_EXCERPT_MAX: usize = 120;
/// Names taken by the built-in backends.
const RESERVED_NAMES: &[&str] = &["claude", "codex"];

/// `[generic.<name>]` in `backends.toml`: a backend for a CLI that prints JSONL.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericToml {
    /// Program to run: a name looked up on PATH, or a path. Required.
    pub program: Option<String>,
    /// Arguments, always given (`{project}` allowed).
    pub args: Option<Vec<String>>,
    /// Arguments added when the run names a model; must contain `{model}`.
    pub model_args: Option<Vec<String>>,
    /// Arguments added when the run resumes a session; must contain `{resume_id}`.
    pub resume_args: Option<Vec<String>>,
    /// Extra environment variables for the agent process.
    pub env: Option<BTreeMap<String, String>>,
    /// Long name for messages (default: the backend name).
    pub display_name: Option<String>,
    /// Short tag for heartbeats and progress notes (default: the display name).
    pub tag: Option<String>,
    /// Whether the CLI needs a git work tree (default false; informational).
    pub needs_git_repo: Option<bool>,
    /// When the CLI exits 0 without a terminal event, count the turn as
    /// completed (default false: a run without a terminal event has failed).
    pub complete_on_exit_zero: Option<bool>,
    /// Texts that, found in a failure message or in stderr, mean the session to
    /// resume does not exist (exit code 6 instead of 3).
    pub resume_not_found: Option<Vec<String>>,
    /// The CLI version this definition was written for (informational).
    pub tested_version: Option<String>,
    /// How lines map to events. Required.
    pub events: Option<EventsToml>,
}

/// `[generic.<name>.events]`: how the CLI's lines map to [`AgentEvent`]s.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsToml {
    /// JSON pointer of the field holding each line's type (`/type`).
    #[serde(rename = "type")]
    pub type_pointer: String,
    /// Types that carry nothing of interest: skipped without a warning.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Per type: the event it becomes and where its fields are.
    #[serde(default)]
    pub on: BTreeMap<String, EventRuleToml>,
}

/// `[generic.<name>.events.on.<type>]`: the event one type of line becomes.
/// Every field except `event` is a JSON pointer into the line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case", deny_unknown_fields)]
pub enum EventRuleToml {
    /// [`AgentEvent::SessionStarted`]: the id to resume with.
    SessionStarted {
        /// The session id (required in the line; a line without it is a warning).
        resume_id: String,
        /// The model name.
        model: Option<String>,
        /// The CLI's version.
        cli_version: Option<String>,
    },
    /// [`AgentEvent::AssistantText`]: a complete piece of assistant text.
    AssistantText {
        /// The text.
        text: String,
    },
    /// [`AgentEvent::TextDelta`]: a streamed fragment (liveness only).
    TextDelta {
        /// The fragment.
        text: String,
    },
    /// [`AgentEvent::Thinking`]: the model is reasoning.
    Thinking {},
    /// [`AgentEvent::ToolStarted`].
    ToolStarted {
        /// The tool's name (required in the line).
        name: String,
        /// The call id (default: one made up, closed by the next `tool_finished`
        /// without an id).
        call_id: Option<String>,
        /// A short label: the command, the file (shortened to 80 characters).
        summary: Option<String>,
    },
    /// [`AgentEvent::ToolFinished`].
    ToolFinished {
        /// The call id (default: the oldest open call).
        call_id: Option<String>,
        /// A boolean: whether the call succeeded (default true).
        ok: Option<String>,
    },
    /// [`AgentEvent::Usage`]: token counts.
    Usage {
        /// Prompt tokens.
        input_tokens: Option<String>,
        /// Of those, served from a cache.
        cached_input_tokens: Option<String>,
        /// Generated tokens.
        output_tokens: Option<String>,
        /// A per-message id: reports with the same id replace each other.
        /// Without it, each report is the run's total so far.
        message_id: Option<String>,
    },
    /// [`AgentEvent::TurnCompleted`] (or [`AgentEvent::TurnFailed`] when
    /// `failed_if` is true in the line). Terminal.
    TurnCompleted {
        /// The final answer.
        final_text: Option<String>,
        /// Prompt tokens of the whole run.
        input_tokens: Option<String>,
        /// Of those, served from a cache.
        cached_input_tokens: Option<String>,
        /// Generated tokens of the whole run.
        output_tokens: Option<String>,
        /// Cost in US dollars.
        cost_usd: Option<String>,
        /// A boolean: when true, the turn failed after all.
        failed_if: Option<String>,
        /// The failure message, when `failed_if` is true.
        message: Option<String>,
    },
    /// [`AgentEvent::TurnFailed`]. Terminal.
    TurnFailed {
        /// The failure message.
        message: Option<String>,
        /// Cost in US dollars.
        cost_usd: Option<String>,
    },
}

/// A validated JSON pointer (RFC 6901).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer(String);

impl Pointer {
    /// Check `text` as a JSON pointer: empty (the whole line) or `/`-separated
    /// tokens where `~` is only followed by `0` or `1`.
    ///
    /// # Errors
    /// A message saying what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        if !text.is_empty() && !text.starts_with('/') {
            return Err(format!(
                "{text:?} is not a JSON pointer: it must start with '/' (e.g. \"/{text}\")"
            ));
        }
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
                return Err(format!(
                    "{text:?} is not a JSON pointer: '~' must be followed by 0 or 1"
                ));
            }
        }
        Ok(Self(text.to_owned()))
    }

    /// The pointer text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn get<'v>(&self, v: &'v Value) -> Option<&'v Value> {
        v.pointer(&self.0).filter(|v| !v.is_null())
    }
}

/// A validated event rule: [`EventRuleToml`] with checked pointers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventRule {
    /// See [`EventRuleToml::SessionStarted`].
    SessionStarted {
        /// Session id.
        resume_id: Pointer,
        /// Model.
        model: Option<Pointer>,
        /// CLI version.
        cli_version: Option<Pointer>,
    },
    /// See [`EventRuleToml::AssistantText`].
    AssistantText {
        /// Text.
        text: Pointer,
    },
    /// See [`EventRuleToml::TextDelta`].
    TextDelta {
        /// Fragment.
        text: Pointer,
    },
    /// See [`EventRuleToml::Thinking`].
    Thinking,
    /// See [`EventRuleToml::ToolStarted`].
    ToolStarted {
        /// Tool name.
        name: Pointer,
        /// Call id.
        call_id: Option<Pointer>,
        /// Summary.
        summary: Option<Pointer>,
    },
    /// See [`EventRuleToml::ToolFinished`].
    ToolFinished {
        /// Call id.
        call_id: Option<Pointer>,
        /// Success flag.
        ok: Option<Pointer>,
    },
    /// See [`EventRuleToml::Usage`].
    Usage {
        /// Token counts.
        tokens: TokenPointers,
        /// Per-message id.
        message_id: Option<Pointer>,
    },
    /// See [`EventRuleToml::TurnCompleted`].
    TurnCompleted {
        /// Final answer.
        final_text: Option<Pointer>,
        /// Token counts.
        tokens: TokenPointers,
        /// Cost.
        cost_usd: Option<Pointer>,
        /// Failure flag.
        failed_if: Option<Pointer>,
        /// Failure message.
        message: Option<Pointer>,
    },
    /// See [`EventRuleToml::TurnFailed`].
    TurnFailed {
        /// Failure message.
        message: Option<Pointer>,
        /// Cost.
        cost_usd: Option<Pointer>,
    },
}

/// Where the token counts of a usage report are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenPointers {
    /// Prompt tokens.
    pub input: Option<Pointer>,
    /// Cached prompt tokens.
    pub cached_input: Option<Pointer>,
    /// Generated tokens.
    pub output: Option<Pointer>,
}

impl TokenPointers {
    fn is_empty(&self) -> bool {
        self.input.is_none() && self.cached_input.is_none() && self.output.is_none()
    }
}

/// The validated event mapping of a generic backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMap {
    /// Where each line's type is.
    pub type_pointer: Pointer,
    /// Types skipped silently.
    pub ignore: BTreeSet<String>,
    /// Per type, the event it becomes.
    pub on: BTreeMap<String, EventRule>,
}

/// Concrete settings of one generic backend, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenericConfig {
    /// The backend's name (`--backend NAME`).
    pub name: &'static str,
    /// Program to run.
    pub program: String,
    /// Arguments, always given.
    pub args: Vec<String>,
    /// Arguments added with a model.
    pub model_args: Vec<String>,
    /// Arguments added on resume.
    pub resume_args: Vec<String>,
    /// Extra environment variables, in key order.
    pub env: BTreeMap<String, String>,
    /// Names for messages.
    pub names: Names,
    /// Registry file name: `<name>_sessions.json`.
    pub registry_file: &'static str,
    /// Whether the CLI needs a git work tree.
    pub needs_git_repo: bool,
    /// Exit 0 without a terminal event counts as completed.
    pub complete_on_exit_zero: bool,
    /// Texts meaning "session to resume not found".
    pub resume_not_found: Vec<String>,
    /// The CLI version this definition was written for ("unknown" when not given).
    pub tested_version: &'static str,
    /// How lines map to events (shared by every parser of this backend).
    pub events: Arc<EventMap>,
}

/// Strings that must live as long as the program (the [`Backend`] trait hands
/// out `&'static str`). Each distinct string is leaked once, so loading the
/// same file again costs nothing more; a process only ever sees a few names.
fn intern(s: &str) -> &'static str {
    static STRINGS: OnceLock<Mutex<BTreeSet<&'static str>>> = OnceLock::new();
    let mut set = STRINGS
        .get_or_init(|| Mutex::new(BTreeSet::new()))
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(found) = set.get(s) {
        return found;
    }
    let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
    set.insert(leaked);
    leaked
}

/// Check a backend name: lowercase ASCII letters, digits, `-` and `_`, starting
/// with a letter, at most 32 characters, not a built-in name.
///
/// # Errors
/// A message saying what is wrong.
pub fn check_name(name: &str) -> Result<(), String> {
    let first_ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !first_ok || !rest_ok || name.len() > MAX_NAME_LEN {
        return Err(format!(
            "backend name {name:?} must be 1 to {MAX_NAME_LEN} lowercase letters, digits, '-' or '_', starting with a letter"
        ));
    }
    if RESERVED_NAMES.contains(&name) {
        return Err(format!(
            "backend name {name:?} is taken by the built-in backend; configure it under [{name}]"
        ));
    }
    Ok(())
}

/// The `{word}` placeholders in `arg`.
fn placeholders(arg: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = arg;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close)
                if close > 0
                    && after[..close]
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_') =>
            {
                found.push(&rest[open..open + close + 2]);
                rest = &after[close + 1..];
            }
            _ => rest = after,
        }
    }
    found
}

/// Problems found while validating one `[generic.<name>]` table.
struct Problems {
    prefix: String,
    list: Vec<String>,
}

impl Problems {
    fn add(&mut self, key: &str, message: impl std::fmt::Display) {
        self.list
            .push(format!("`{}.{key}`: {message}", self.prefix));
    }

    fn pointer(&mut self, key: &str, text: &str) -> Option<Pointer> {
        match Pointer::parse(text) {
            Ok(p) => Some(p),
            Err(e) => {
                self.add(key, e);
                None
            }
        }
    }

    /// A pointer the config cannot do without; a bad one is reported, and an
    /// empty stand-in is returned so that validation goes on to find the rest.
    fn required_pointer(&mut self, key: &str, text: &str) -> Pointer {
        self.pointer(key, text)
            .unwrap_or_else(|| Pointer(String::new()))
    }

    fn opt_pointer(&mut self, key: &str, text: &Option<String>) -> Option<Pointer> {
        text.as_deref().and_then(|t| self.pointer(key, t))
    }

    fn args(&mut self, key: &str, args: &[String], allowed: &[&str], required: Option<&str>) {
        for arg in args {
            for p in placeholders(arg) {
                if !allowed.contains(&p) {
                    let hint = if [
                        MODEL_PLACEHOLDER,
                        RESUME_ID_PLACEHOLDER,
                        PROJECT_PLACEHOLDER,
                    ]
                    .contains(&p)
                    {
                        format!("{p} is not allowed here")
                    } else {
                        format!(
                            "unknown placeholder {p}; known: {PROJECT_PLACEHOLDER}, {MODEL_PLACEHOLDER} (model_args), {RESUME_ID_PLACEHOLDER} (resume_args)"
                        )
                    };
                    self.add(key, hint);
                }
            }
        }
        if let Some(req) = required {
            if !args.is_empty() && !args.iter().any(|a| a.contains(req)) {
                self.add(key, format!("must contain {req}"));
            }
        }
    }
}

impl GenericConfig {
    /// Validate `[generic.<name>]` from the file `source` (named in errors).
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] listing every problem with its TOML path: a bad
    /// name, a missing `program` or `events`, a bad JSON pointer, a misplaced or
    /// unknown placeholder, a type both mapped and ignored.
    pub fn from_toml(name: &str, toml: GenericToml, source: &str) -> Result<Self, ConfigError> {
        let mut p = Problems {
            prefix: format!("generic.{name}"),
            list: Vec::new(),
        };
        if let Err(e) = check_name(name) {
            p.list.push(format!("`generic.{name}`: {e}"));
        }
        let program = match toml.program {
            Some(prog) if !prog.trim().is_empty() => prog,
            Some(_) => {
                p.add("program", "must not be empty");
                String::new()
            }
            None => {
                p.add("program", "is missing (the CLI to run)");
                String::new()
            }
        };
        let args = toml.args.unwrap_or_default();
        let model_args = toml.model_args.unwrap_or_default();
        let resume_args = toml.resume_args.unwrap_or_default();
        p.args("args", &args, &[PROJECT_PLACEHOLDER], None);
        p.args(
            "model_args",
            &model_args,
            &[PROJECT_PLACEHOLDER, MODEL_PLACEHOLDER],
            Some(MODEL_PLACEHOLDER),
        );
        p.args(
            "resume_args",
            &resume_args,
            &[PROJECT_PLACEHOLDER, RESUME_ID_PLACEHOLDER],
            Some(RESUME_ID_PLACEHOLDER),
        );
        let events = match toml.events {
            Some(ev) => Some(validate_events(&mut p, ev)),
            None => {
                p.add(
                    "events",
                    "is missing (say which field holds the type, and what each type means)",
                );
                None
            }
        };
        if !p.list.is_empty() {
            return Err(ConfigError::Invalid(format!(
                "{source}: {}",
                p.list.join("; ")
            )));
        }
        let Some(events) = events else {
            return Err(ConfigError::Invalid(format!(
                "{source}: `generic.{name}.events` is invalid"
            )));
        };
        let display = toml.display_name.unwrap_or_else(|| name.to_owned());
        let tag = toml.tag.unwrap_or_else(|| display.clone());
        let marker = format!("[{}_RESULT]", name.to_ascii_uppercase().replace('-', "_"));
        Ok(Self {
            name: intern(name),
            program,
            args,
            model_args,
            resume_args,
            env: toml.env.unwrap_or_default(),
            names: Names {
                display: intern(&display),
                tag: intern(&tag),
                result_marker: intern(&marker),
            },
            registry_file: intern(&format!("{name}_sessions.json")),
            needs_git_repo: toml.needs_git_repo.unwrap_or(false),
            complete_on_exit_zero: toml.complete_on_exit_zero.unwrap_or(false),
            resume_not_found: toml
                .resume_not_found
                .unwrap_or_default()
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect(),
            tested_version: intern(toml.tested_version.as_deref().unwrap_or("unknown")),
            events: Arc::new(events),
        })
    }
}

fn validate_events(p: &mut Problems, ev: EventsToml) -> EventMap {
    let type_pointer = p.required_pointer("events.type", &ev.type_pointer);
    if ev.on.is_empty() {
        p.add(
            "events.on",
            "maps no type: add at least one [..events.on.<type>] table",
        );
    }
    let ignore: BTreeSet<String> = ev.ignore.into_iter().collect();
    let mut on = BTreeMap::new();
    for (ty, rule) in ev.on {
        if ignore.contains(&ty) {
            p.add(
                "events.ignore",
                format!("type {ty:?} is both ignored and mapped"),
            );
        }
        let key = |field: &str| format!("events.on.{ty}.{field}");
        let rule = match rule {
            EventRuleToml::SessionStarted {
                resume_id,
                model,
                cli_version,
            } => EventRule::SessionStarted {
                resume_id: p.required_pointer(&key("resume_id"), &resume_id),
                model: p.opt_pointer(&key("model"), &model),
                cli_version: p.opt_pointer(&key("cli_version"), &cli_version),
            },
            EventRuleToml::AssistantText { text } => EventRule::AssistantText {
                text: p.required_pointer(&key("text"), &text),
            },
            EventRuleToml::TextDelta { text } => EventRule::TextDelta {
                text: p.required_pointer(&key("text"), &text),
            },
            EventRuleToml::Thinking {} => EventRule::Thinking,
            EventRuleToml::ToolStarted {
                name,
                call_id,
                summary,
            } => EventRule::ToolStarted {
                name: p.required_pointer(&key("name"), &name),
                call_id: p.opt_pointer(&key("call_id"), &call_id),
                summary: p.opt_pointer(&key("summary"), &summary),
            },
            EventRuleToml::ToolFinished { call_id, ok } => EventRule::ToolFinished {
                call_id: p.opt_pointer(&key("call_id"), &call_id),
                ok: p.opt_pointer(&key("ok"), &ok),
            },
            EventRuleToml::Usage {
                input_tokens,
                cached_input_tokens,
                output_tokens,
                message_id,
            } => {
                let tokens = TokenPointers {
                    input: p.opt_pointer(&key("input_tokens"), &input_tokens),
                    cached_input: p.opt_pointer(&key("cached_input_tokens"), &cached_input_tokens),
                    output: p.opt_pointer(&key("output_tokens"), &output_tokens),
                };
                if input_tokens.is_none() && output_tokens.is_none() {
                    p.add(
                        &format!("events.on.{ty}"),
                        "a usage event needs input_tokens or output_tokens",
                    );
                }
                EventRule::Usage {
                    tokens,
                    message_id: p.opt_pointer(&key("message_id"), &message_id),
                }
            }
            EventRuleToml::TurnCompleted {
                final_text,
                input_tokens,
                cached_input_tokens,
                output_tokens,
                cost_usd,
                failed_if,
                message,
            } => EventRule::TurnCompleted {
                final_text: p.opt_pointer(&key("final_text"), &final_text),
                tokens: TokenPointers {
                    input: p.opt_pointer(&key("input_tokens"), &input_tokens),
                    cached_input: p.opt_pointer(&key("cached_input_tokens"), &cached_input_tokens),
                    output: p.opt_pointer(&key("output_tokens"), &output_tokens),
                },
                cost_usd: p.opt_pointer(&key("cost_usd"), &cost_usd),
                failed_if: p.opt_pointer(&key("failed_if"), &failed_if),
                message: p.opt_pointer(&key("message"), &message),
            },
            EventRuleToml::TurnFailed { message, cost_usd } => EventRule::TurnFailed {
                message: p.opt_pointer(&key("message"), &message),
                cost_usd: p.opt_pointer(&key("cost_usd"), &cost_usd),
            },
        };
        on.insert(ty, rule);
    }
    EventMap {
        type_pointer,
        ignore,
        on,
    }
}

/// A backend for any JSONL-printing CLI, defined in `backends.toml`.
#[derive(Debug, Clone)]
pub struct GenericBackend {
    config: GenericConfig,
}

impl GenericBackend {
    /// A backend with these settings.
    pub fn new(config: GenericConfig) -> Self {
        Self { config }
    }

    /// Its settings.
    pub fn config(&self) -> &GenericConfig {
        &self.config
    }

    fn reject(&self, message: impl Into<String>) -> Result<(), RequestError> {
        Err(RequestError {
            backend: self.config.name,
            message: message.into(),
        })
    }
}

/// Replace the placeholders of `args`.
fn fill(args: &[String], vars: &[(&str, &str)]) -> Vec<String> {
    args.iter()
        .map(|a| {
            vars.iter()
                .fold(a.clone(), |acc, (name, value)| acc.replace(name, value))
        })
        .collect()
}

impl Backend for GenericBackend {
    fn name(&self) -> &'static str {
        self.config.name
    }

    fn names(&self) -> Names {
        self.config.names
    }

    fn validate(&self, req: &RunRequest) -> Result<(), RequestError> {
        req.check_common(self.config.name, "the session id")?;
        match &req.permission {
            Permission::Default => {}
            Permission::ClaudeMode(_) | Permission::CodexSandbox(_) => {
                return self.reject(
                    "permission and sandbox modes are claude/codex options; put the CLI's own flags in `args`",
                );
            }
        }
        if req.model.is_some() && self.config.model_args.is_empty() {
            return self.reject(format!(
                "cannot take a model: [generic.{}] has no `model_args`",
                self.config.name
            ));
        }
        if req.resume_id.is_some() && self.config.resume_args.is_empty() {
            return self.reject(format!(
                "cannot resume: [generic.{}] has no `resume_args`",
                self.config.name
            ));
        }
        if req.fork {
            return self.reject("fork is a claude option");
        }
        if req.search.is_some() {
            return self.reject("web search is a codex option");
        }
        if !req.allowed_tools.is_empty() {
            return self.reject("allowed tools are a claude option");
        }
        if req.append_system_prompt.is_some() {
            return self.reject("an appended system prompt is a claude option");
        }
        if req.max_budget_usd.is_some() {
            return self.reject("a dollar budget is a claude option");
        }
        Ok(())
    }

    fn command(&self, req: &RunRequest) -> CommandSpec {
        let project = req.project.to_string_lossy();
        let mut args = fill(&self.config.args, &[(PROJECT_PLACEHOLDER, &project)]);
        if let Some(model) = &req.model {
            args.extend(fill(
                &self.config.model_args,
                &[(PROJECT_PLACEHOLDER, &project), (MODEL_PLACEHOLDER, model)],
            ));
        }
        if let Some(id) = &req.resume_id {
            args.extend(fill(
                &self.config.resume_args,
                &[(PROJECT_PLACEHOLDER, &project), (RESUME_ID_PLACEHOLDER, id)],
            ));
        }
        CommandSpec {
            program: self.config.program.clone(),
            args,
            env: self
                .config
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            cwd: req.project.clone(),
            stdin: req.prompt.clone(),
        }
    }

    fn parser(&self) -> AnyParser {
        GenericParser::new(&self.config).into()
    }

    fn registry_file(&self) -> &'static str {
        self.config.registry_file
    }

    fn id_field(&self) -> &'static str {
        GENERIC_ID_FIELD
    }

    fn needs_git_repo(&self) -> bool {
        self.config.needs_git_repo
    }

    fn tested_version(&self) -> &'static str {
        self.config.tested_version
    }
}

/// The line parser of a [`GenericBackend`].
#[derive(Debug, Clone)]
pub struct GenericParser {
    events: Arc<EventMap>,
    resume_not_found: Arc<[String]>,
    complete_on_exit_zero: bool,
    /// A terminal event was seen.
    terminal: bool,
    /// Tool calls started and not finished, oldest first.
    open_calls: VecDeque<String>,
    /// Calls started without an id, for made-up ids.
    anonymous_calls: u64,
    /// The last failure message, for `finish`.
    last_error: Option<String>,
}

impl GenericParser {
    /// A fresh parser for one run of the backend configured by `config`.
    pub fn new(config: &GenericConfig) -> Self {
        Self {
            events: Arc::clone(&config.events),
            resume_not_found: config.resume_not_found.clone().into(),
            complete_on_exit_zero: config.complete_on_exit_zero,
            terminal: false,
            open_calls: VecDeque::new(),
            anonymous_calls: 0,
            last_error: None,
        }
    }

    fn failure_kind(&self, message: &str) -> FailureKind {
        if self
            .resume_not_found
            .iter()
            .any(|s| message.contains(s.as_str()))
        {
            FailureKind::ResumeNotFound
        } else {
            FailureKind::Other
        }
    }

    fn map(&mut self, ty: &str, rule: &EventRule, v: &Value) -> Vec<AgentEvent> {
        let mut warnings = Vec::new();
        let mut warn_missing = |what: &str, p: &Pointer| {
            warnings.push(AgentEvent::Warning {
                message: format!("{ty:?} line without {what} at {}", p.as_str()),
            });
        };
        let mut out = match rule {
            EventRule::SessionStarted {
                resume_id,
                model,
                cli_version,
            } => match text_at(v, resume_id).filter(|s| !s.is_empty()) {
                Some(id) => vec![AgentEvent::SessionStarted {
                    resume_id: id,
                    model: opt_text(v, model),
                    cli_version: opt_text(v, cli_version),
                }],
                None => {
                    warn_missing("a session id", resume_id);
                    Vec::new()
                }
            },
            EventRule::AssistantText { text } => match text_at(v, text) {
                Some(t) if t.trim().is_empty() => Vec::new(),
                Some(t) => vec![AgentEvent::AssistantText {
                    text: t,
                    parent_tool_id: None,
                }],
                None => {
                    warn_missing("text", text);
                    Vec::new()
                }
            },
            EventRule::TextDelta { text } => match text_at(v, text) {
                Some(t) if !t.is_empty() => vec![AgentEvent::TextDelta { text: t }],
                _ => Vec::new(),
            },
            EventRule::Thinking => vec![AgentEvent::Thinking],
            EventRule::ToolStarted {
                name,
                call_id,
                summary,
            } => match text_at(v, name).filter(|s| !s.is_empty()) {
                Some(tool) => {
                    let id = match opt_text(v, call_id) {
                        Some(id) => id,
                        None => {
                            self.anonymous_calls += 1;
                            format!("call-{}", self.anonymous_calls)
                        }
                    };
                    self.open_calls.push_back(id.clone());
                    vec![AgentEvent::ToolStarted {
                        call_id: id,
                        name: tool,
                        summary: opt_text(v, summary)
                            .map(|s| wire::short(&s, SUMMARY_MAX))
                            .unwrap_or_default(),
                        parent_tool_id: None,
                    }]
                }
                None => {
                    warn_missing("a tool name", name);
                    Vec::new()
                }
            },
            EventRule::ToolFinished { call_id, ok } => {
                let id = match opt_text(v, call_id) {
                    Some(id) => {
                        self.open_calls.retain(|c| *c != id);
                        Some(id)
                    }
                    None => self.open_calls.pop_front(),
                };
                match id {
                    Some(call_id) => vec![AgentEvent::ToolFinished {
                        call_id,
                        ok: ok.as_ref().and_then(|p| p.get(v)).is_none_or(truthy),
                    }],
                    None => vec![AgentEvent::Warning {
                        message: format!("{ty:?} line finishes a tool call that never started"),
                    }],
                }
            }
            EventRule::Usage { tokens, message_id } => match usage_at(v, tokens) {
                Some(usage) => vec![AgentEvent::Usage {
                    scope: match opt_text(v, message_id) {
                        Some(id) => UsageScope::Message { id },
                        None => UsageScope::Cumulative,
                    },
                    usage,
                }],
                None => vec![AgentEvent::Warning {
                    message: format!("{ty:?} line without token counts"),
                }],
            },
            EventRule::TurnCompleted {
                final_text,
                tokens,
                cost_usd,
                failed_if,
                message,
            } => {
                self.terminal = true;
                let cost = cost_usd.as_ref().and_then(|p| p.get(v)).and_then(number);
                let failed = failed_if
                    .as_ref()
                    .and_then(|p| p.get(v))
                    .is_some_and(truthy);
                if failed {
                    let msg = opt_text(v, message)
                        .filter(|m| !m.trim().is_empty())
                        .unwrap_or_else(|| format!("the CLI reported a failed turn ({ty:?})"));
                    vec![AgentEvent::TurnFailed {
                        kind: self.failure_kind(&msg),
                        message: msg,
                        cost_usd: cost,
                    }]
                } else {
                    vec![AgentEvent::TurnCompleted {
                        final_text: opt_text(v, final_text),
                        usage: if tokens.is_empty() {
                            None
                        } else {
                            usage_at(v, tokens)
                        },
                        cost_usd: cost,
                    }]
                }
            }
            EventRule::TurnFailed { message, cost_usd } => {
                self.terminal = true;
                let msg = opt_text(v, message)
                    .filter(|m| !m.trim().is_empty())
                    .unwrap_or_else(|| format!("the CLI reported a failure ({ty:?})"));
                self.last_error = Some(msg.clone());
                vec![AgentEvent::TurnFailed {
                    kind: self.failure_kind(&msg),
                    message: msg,
                    cost_usd: cost_usd.as_ref().and_then(|p| p.get(v)).and_then(number),
                }]
            }
        };
        out.extend(warnings);
        out
    }
}

/// The value at `p` as text: strings as they are, numbers and booleans
/// written out, objects and arrays as compact JSON; `None` when absent or null.
fn text_at(v: &Value, p: &Pointer) -> Option<String> {
    p.get(v).map(|x| match x {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

fn opt_text(v: &Value, p: &Option<Pointer>) -> Option<String> {
    p.as_ref().and_then(|p| text_at(v, p))
}

/// A boolean: `true`, a non-zero number, or the string "true".
fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// A number, or a string holding one.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|f: &f64| f.is_finite())
}

fn count(v: &Value, p: &Option<Pointer>) -> Option<u64> {
    let x = p.as_ref()?.get(v)?;
    if let Some(n) = x.as_u64() {
        return Some(n);
    }
    number(x).filter(|f| *f >= 0.0).map(|f| f as u64)
}

/// The usage at `tokens`, when at least one count is there.
fn usage_at(v: &Value, tokens: &TokenPointers) -> Option<Usage> {
    let input = count(v, &tokens.input);
    let cached = count(v, &tokens.cached_input);
    let output = count(v, &tokens.output);
    if input.is_none() && output.is_none() {
        return None;
    }
    Some(Usage {
        input_tokens: input.unwrap_or(0),
        cached_input_tokens: cached.unwrap_or(0),
        output_tokens: output.unwrap_or(0),
    })
}

impl LineParser for GenericParser {
    fn parse_line_into(&mut self, line: &str, out: &mut Vec<AgentEvent>) {
        let mut events = self.events_of(line);
        out.append(&mut events);
    }

    fn finish(&mut self, exit_code: Option<i32>, stderr_tail: &str) -> Vec<AgentEvent> {
        self.finish_events(exit_code, stderr_tail)
    }
}

impl GenericParser {
    /// The events of one line.
    fn events_of(&mut self, line: &str) -> Vec<AgentEvent> {
        if line.trim().is_empty() {
            return Vec::new();
        }
        let value: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                return vec![AgentEvent::Warning {
                    message: format!(
                        "not a JSON line ({e}): {}",
                        wire::short(line, WARNING_EXCERPT_MAX)
                    ),
                }];
            }
        };
        let events = Arc::clone(&self.events);
        let ty = match events.type_pointer.get(&value) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return vec![AgentEvent::Warning {
                    message: format!(
                        "line without a type at {}: {}",
                        events.type_pointer.as_str(),
                        wire::short(line, WARNING_EXCERPT_MAX)
                    ),
                }];
            }
        };
        match events.on.get(&ty) {
            Some(rule) => self.map(&ty, rule, &value),
            None if events.ignore.contains(&ty) => Vec::new(),
            None => vec![AgentEvent::Warning {
                message: format!("unknown event type {ty:?}"),
            }],
        }
    }

    /// The closing events (see [`LineParser::finish`]).
    fn finish_events(&mut self, exit_code: Option<i32>, stderr_tail: &str) -> Vec<AgentEvent> {
        if self.terminal {
            return Vec::new();
        }
        let tail = wire::tail_lines(stderr_tail.lines(), STDERR_MESSAGE_MAX);
        if self
            .resume_not_found
            .iter()
            .any(|s| stderr_tail.contains(s.as_str()))
        {
            return vec![AgentEvent::TurnFailed {
                message: tail,
                kind: FailureKind::ResumeNotFound,
                cost_usd: None,
            }];
        }
        if exit_code == Some(0) && self.complete_on_exit_zero {
            return vec![AgentEvent::TurnCompleted {
                final_text: None,
                usage: None,
                cost_usd: None,
            }];
        }
        let message = match self.last_error.take() {
            Some(e) => e,
            None if !tail.is_empty() => tail,
            None => wire::no_result_message(exit_code),
        };
        vec![AgentEvent::TurnFailed {
            message,
            kind: FailureKind::NoResult,
            cost_usd: None,
        }]
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::path::PathBuf;

    use pretty_assertions::assert_eq;

    use super::*;

    const ACME: &str = r#"
program = "acme-agent"
args = ["run", "--cwd", "{project}"]
model_args = ["--model={model}"]
resume_args = ["--continue", "{resume_id}"]
env = { ACME_COLOR = "never" }

[events]
type = "/kind"
ignore = ["ping"]

[events.on.hello]
event = "session_started"
resume_id = "/session/id"
model = "/model"

[events.on.say]
event = "assistant_text"
text = "/text"

[events.on.tool]
event = "tool_started"
name = "/tool/name"
summary = "/tool/input"

[events.on.tool_done]
event = "tool_finished"
ok = "/ok"

[events.on.done]
event = "turn_completed"
final_text = "/answer"
input_tokens = "/usage/in"
output_tokens = "/usage/out"
cost_usd = "/cost"
failed_if = "/error"
message = "/reason"
"#;

    fn config(text: &str) -> Result<GenericConfig, ConfigError> {
        let toml: GenericToml = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::from("t.toml"),
            message: e.to_string(),
        })?;
        GenericConfig::from_toml("acme", toml, "t.toml")
    }

    #[test]
    fn pointers_are_checked() {
        assert!(Pointer::parse("").is_ok());
        assert!(Pointer::parse("/a/b~0c~1d").is_ok());
        assert!(
            Pointer::parse("a/b")
                .unwrap_err()
                .contains("must start with '/'")
        );
        assert!(Pointer::parse("/a~2").unwrap_err().contains("'~'"));
        assert!(Pointer::parse("/a~").is_err());
    }

    #[test]
    fn placeholders_are_found_and_json_braces_are_not() {
        assert_eq!(
            placeholders("--x={model}/{project}"),
            vec!["{model}", "{project}"]
        );
        assert!(placeholders(r#"{"a":1}"#).is_empty());
        assert!(placeholders("{}").is_empty());
    }

    #[test]
    fn command_fills_placeholders_and_keeps_the_prompt_on_stdin() {
        let b = GenericBackend::new(config(ACME).unwrap());
        let req = RunRequest {
            prompt: "secret task".into(),
            project: PathBuf::from("/p"),
            model: Some("m1".into()),
            resume_id: Some("s-9".into()),
            ..RunRequest::default()
        };
        b.validate(&req).unwrap();
        // Values the CLI would take for options are refused, as for claude and codex.
        for (model, resume_id, what) in [
            (Some("-x"), None, "the model must not start with '-'"),
            (None, Some(" "), "the session id must not be empty"),
        ] {
            let odd = RunRequest {
                model: model.map(String::from),
                resume_id: resume_id.map(String::from),
                ..req.clone()
            };
            let err = b.validate(&odd).unwrap_err();
            assert!(err.message.contains(what), "{err}");
        }
        let spec = b.command(&req);
        assert_eq!(spec.program, "acme-agent");
        assert_eq!(
            spec.args,
            vec!["run", "--cwd", "/p", "--model=m1", "--continue", "s-9"]
        );
        assert_eq!(spec.stdin, "secret task");
        assert_eq!(spec.env, vec![("ACME_COLOR".into(), "never".into())]);
        assert_eq!(spec.cwd, PathBuf::from("/p"));
        assert_eq!(b.name(), "acme");
        assert_eq!(b.registry_file(), "acme_sessions.json");
        assert_eq!(b.id_field(), "session_id");
        assert_eq!(b.names().result_marker, "[ACME_RESULT]");
    }

    #[test]
    fn validate_rejects_what_the_config_cannot_express() {
        let mut toml: GenericToml = toml::from_str(ACME).unwrap();
        toml.model_args = None;
        toml.resume_args = None;
        let b = GenericBackend::new(GenericConfig::from_toml("acme", toml, "t").unwrap());
        let base = RunRequest {
            prompt: "x".into(),
            ..RunRequest::default()
        };
        let bad = [
            RunRequest {
                model: Some("m".into()),
                ..base.clone()
            },
            RunRequest {
                resume_id: Some("s".into()),
                ..base.clone()
            },
            RunRequest {
                permission: Permission::ClaudeMode("plan".into()),
                ..base.clone()
            },
            RunRequest {
                allowed_tools: vec!["Bash".into()],
                ..base.clone()
            },
        ];
        for req in bad {
            let err = b.validate(&req).unwrap_err();
            assert_eq!(err.backend, "acme");
        }
        b.validate(&base).unwrap();
    }

    #[test]
    fn lines_map_to_events_leniently() {
        let c = config(ACME).unwrap();
        let mut p = GenericParser::new(&c);
        let mut all = Vec::new();
        for line in [
            r#"{"kind":"hello","session":{"id":"s-1"},"model":"m1"}"#,
            r#"{"kind":"ping"}"#,
            r#"{"kind":"tool","tool":{"name":"shell","input":"ls   -la\n/tmp"}}"#,
            r#"{"kind":"tool_done","ok":false}"#,
            r#"{"kind":"say","text":"hi"}"#,
            r#"{"kind":"mystery"}"#,
            "not json",
            r#"{"kind":"done","answer":"42","usage":{"in":10,"out":"5"},"cost":0.5}"#,
        ] {
            all.extend(p.parse_line(line));
        }
        assert_eq!(
            all,
            vec![
                AgentEvent::SessionStarted {
                    resume_id: "s-1".into(),
                    model: Some("m1".into()),
                    cli_version: None
                },
                AgentEvent::ToolStarted {
                    call_id: "call-1".into(),
                    name: "shell".into(),
                    summary: "ls -la /tmp".into(),
                    parent_tool_id: None
                },
                AgentEvent::ToolFinished {
                    call_id: "call-1".into(),
                    ok: false
                },
                AgentEvent::AssistantText {
                    text: "hi".into(),
                    parent_tool_id: None
                },
                AgentEvent::Warning {
                    message: "unknown event type \"mystery\"".into()
                },
                AgentEvent::Warning {
                    message: "not a JSON line (expected ident at line 1 column 2): not json".into()
                },
                AgentEvent::TurnCompleted {
                    final_text: Some("42".into()),
                    usage: Some(Usage {
                        input_tokens: 10,
                        cached_input_tokens: 0,
                        output_tokens: 5
                    }),
                    cost_usd: Some(0.5)
                },
            ]
        );
        assert!(p.finish(Some(0), "").is_empty());
    }

    #[test]
    fn failed_if_and_finish_without_terminal() {
        let mut toml: GenericToml = toml::from_str(ACME).unwrap();
        toml.resume_not_found = Some(vec!["no such session".into()]);
        let c = GenericConfig::from_toml("acme", toml, "t").unwrap();
        let mut p = GenericParser::new(&c);
        assert_eq!(
            p.parse_line(r#"{"kind":"done","error":true,"reason":"no such session s-1"}"#),
            vec![AgentEvent::TurnFailed {
                message: "no such session s-1".into(),
                kind: FailureKind::ResumeNotFound,
                cost_usd: None
            }]
        );
        let mut p = GenericParser::new(&c);
        assert_eq!(
            p.finish(Some(2), "boom\n"),
            vec![AgentEvent::TurnFailed {
                message: "boom".into(),
                kind: FailureKind::NoResult,
                cost_usd: None
            }]
        );
        let mut p = GenericParser::new(&c);
        assert!(matches!(
            p.finish(Some(1), "error: no such session\n")[0],
            AgentEvent::TurnFailed {
                kind: FailureKind::ResumeNotFound,
                ..
            }
        ));
    }

    #[test]
    fn config_problems_are_all_named_with_their_path() {
        let err = config(
            r#"
args = ["{model}"]
resume_args = ["--continue"]
[events]
type = "kind"
ignore = ["say"]
[events.on.say]
event = "assistant_text"
text = "text"
"#,
        )
        .unwrap_err()
        .to_string();
        for want in [
            "`generic.acme.program`: is missing",
            "`generic.acme.args`: {model} is not allowed here",
            "`generic.acme.resume_args`: must contain {resume_id}",
            "`generic.acme.events.type`: \"kind\" is not a JSON pointer",
            "`generic.acme.events.on.say.text`",
            "`generic.acme.events.ignore`: type \"say\" is both ignored and mapped",
        ] {
            assert!(err.contains(want), "{want} not in {err}");
        }
    }

    #[test]
    fn unknown_keys_and_event_kinds_are_errors() {
        let err = config(&ACME.replace("[events.on.say]", "[events.on.say]\ncolour = \"x\""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("colour"), "{err}");
        let err = config(&ACME.replace("\"assistant_text\"", "\"assistant_txt\""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("assistant_txt"), "{err}");
        let err = config(&format!("{ACME}\nprogramm = \"x\"\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("programm"), "{err}");
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("acme-2_x").is_ok());
        assert!(check_name("Acme").is_err());
        assert!(check_name("2acme").is_err());
        assert!(check_name("").is_err());
        assert!(check_name("claude").unwrap_err().contains("built-in"));
        assert!(check_name(&"a".repeat(33)).is_err());
    }
}
