//! The validated settings of a generic backend: JSON pointers checked, names
//! and placeholders checked, every problem named with its TOML path.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

use super::schema::{EventRuleToml, EventsToml, GenericToml};
use super::{MODEL_PLACEHOLDER, PROJECT_PLACEHOLDER, RESUME_ID_PLACEHOLDER};
#[allow(unused_imports)] // doc links
use crate::backends::Backend;
use crate::backends::Names;
use crate::core::error::ConfigError;

/// Longest backend name accepted.
const MAX_NAME_LEN: usize = 32;
/// Names taken by the built-in backends.
const RESERVED_NAMES: &[&str] = &["claude", "codex"];

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

    pub(super) fn get<'v>(&self, v: &'v Value) -> Option<&'v Value> {
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
    pub(super) fn is_empty(&self) -> bool {
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
    /// Exit 0 without a terminal event counts as completed.
    pub complete_on_exit_zero: bool,
    /// Texts meaning "session to resume not found".
    pub resume_not_found: Vec<String>,
    /// The CLI version this definition was written for ("unknown" when not given).
    pub tested_version: &'static str,
    /// How lines map to events (shared by every parser of this backend).
    pub events: Arc<EventMap>,
}

/// The names of a backend defined in `backends.toml` (generic or ACP): its
/// display name (default: its name), tag (default: the display name), the wake
/// marker `[<NAME>_RESULT]` and how to install it.
pub(crate) fn configured_names(
    name: &str,
    display_name: Option<String>,
    tag: Option<String>,
    install: &str,
) -> Names {
    let display = display_name.unwrap_or_else(|| name.to_owned());
    let tag = tag.unwrap_or_else(|| display.clone());
    let marker = format!("[{}_RESULT]", name.to_ascii_uppercase().replace('-', "_"));
    Names {
        display: intern(&display),
        tag: intern(&tag),
        result_marker: intern(&marker),
        install: intern(install),
    }
}

/// Strings that must live as long as the program (the [`Backend`] trait hands
/// out `&'static str`). Each distinct string is leaked once, so loading the
/// same file again costs nothing more; a process only ever sees a few names.
pub(crate) fn intern(s: &str) -> &'static str {
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
pub(super) fn placeholders(arg: &str) -> Vec<&str> {
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

    /// The token-count pointers of `[..events.on.<ty>]`.
    fn tokens(
        &mut self,
        ty: &str,
        input: &Option<String>,
        cached_input: &Option<String>,
        output: &Option<String>,
    ) -> TokenPointers {
        TokenPointers {
            input: self.opt_pointer(&format!("events.on.{ty}.input_tokens"), input),
            cached_input: self
                .opt_pointer(&format!("events.on.{ty}.cached_input_tokens"), cached_input),
            output: self.opt_pointer(&format!("events.on.{ty}.output_tokens"), output),
        }
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
        Ok(Self {
            name: intern(name),
            program,
            args,
            model_args,
            resume_args,
            env: toml.env.unwrap_or_default(),
            names: configured_names(name, toml.display_name, toml.tag, ""),
            registry_file: intern(&format!("{name}_sessions.json")),
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
        let rule = validate_rule(p, &ty, rule);
        on.insert(ty, rule);
    }
    EventMap {
        type_pointer,
        ignore,
        on,
    }
}

/// `[..events.on.<ty>]` with its pointers checked.
fn validate_rule(p: &mut Problems, ty: &str, rule: EventRuleToml) -> EventRule {
    let key = |field: &str| format!("events.on.{ty}.{field}");
    match rule {
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
            let tokens = p.tokens(ty, &input_tokens, &cached_input_tokens, &output_tokens);
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
            tokens: p.tokens(ty, &input_tokens, &cached_input_tokens, &output_tokens),
            cost_usd: p.opt_pointer(&key("cost_usd"), &cost_usd),
            failed_if: p.opt_pointer(&key("failed_if"), &failed_if),
            message: p.opt_pointer(&key("message"), &message),
        },
        EventRuleToml::TurnFailed { message, cost_usd } => EventRule::TurnFailed {
            message: p.opt_pointer(&key("message"), &message),
            cost_usd: p.opt_pointer(&key("cost_usd"), &cost_usd),
        },
    }
}
