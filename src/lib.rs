//! # clawrun
//!
//! Runs coding-agent CLIs (Anthropic's Claude Code, OpenAI's Codex) in the
//! background on behalf of an orchestrating agent (OpenClaw), and keeps the human
//! and the orchestrator informed until the work is done.
//!
//! # Layout
//!
//! - [`backends`]: one coding-agent CLI each; pure mapping of a run request to a
//!   command line, and of the CLI's output lines to [`core::events::AgentEvent`]s.
//! - [`channels`]: where messages go (console, Telegram, WhatsApp via the gateway);
//!   delivery only.
//! - [`core`]: the orchestrator: run lifecycle, process supervision, registry,
//!   config, notifications.
//! - [`cli`]: the command-line interface of the `clawrun` binary.

pub mod backends;
pub mod channels;
pub mod cli;
pub mod core;

pub use crate::core::error::{Error, Result};
