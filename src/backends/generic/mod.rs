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
//! [`AgentEvent`](crate::core::model::events::AgentEvent) it becomes (`event = …`) and where its fields are (JSON
//! pointers, RFC 6901: `/item/text`, `/a~1b` for the key `a/b`). The event kinds
//! and their fields are those of [`EventRuleToml`].
//!
//! The config is strict (unknown keys, bad pointers, misplaced placeholders
//! are errors naming their TOML path); the lines are read leniently: a line
//! that is not JSON, has no type, or has a type that is neither mapped nor
//! ignored becomes an [`AgentEvent::Warning`](crate::core::model::events::AgentEvent::Warning), and a mapped field that is
//! missing is left out (or, when the event cannot do without it, a warning).
//!
//! Sessions go to `<name>_sessions.json` in the OpenClaw home, with the id
//! under `session_id`.
//!
//! # Files
//!
//! - `schema`: the TOML as written ([`GenericToml`]);
//! - `config`: its validation into a [`GenericConfig`] (pointers, names,
//!   placeholders, every problem with its TOML path);
//! - `backend`: the [`GenericBackend`]: request checks and the command line;
//! - `parser`: the [`GenericParser`]: line → type → rule, and the run's end;
//! - `mapping`: what each rule makes of a line.

mod backend;
mod config;
mod mapping;
mod parser;
mod schema;
#[cfg(test)]
mod tests;

pub use backend::GenericBackend;
pub use config::{EventMap, EventRule, GenericConfig, Pointer, TokenPointers, check_name};
pub(crate) use config::{configured_names, intern};
pub use parser::GenericParser;
pub use schema::{EventRuleToml, EventsToml, GenericToml};

/// Placeholder for the project directory (any argument list).
pub const PROJECT_PLACEHOLDER: &str = "{project}";
/// Placeholder for the model (`model_args` only).
pub const MODEL_PLACEHOLDER: &str = "{model}";
/// Placeholder for the session to resume (`resume_args` only).
pub const RESUME_ID_PLACEHOLDER: &str = "{resume_id}";
/// Name of the id field in a generic backend's registry entries.
pub const GENERIC_ID_FIELD: &str = "session_id";
