//! # clawrun
//!
//! Runs coding-agent CLIs (Anthropic's Claude Code, OpenAI's Codex) in the
//! background on behalf of an orchestrating agent (OpenClaw), and keeps the human
//! and the orchestrator informed until the work is done.
//!
//! # Layout
//!
//! - [`backends`]: one coding-agent CLI each; pure mapping of a run request to a
//!   command line, and of the CLI's output lines to [`core::model::events::AgentEvent`]s.
//! - [`channels`]: where messages go (console, Telegram, WhatsApp via the gateway);
//!   delivery only.
//! - [`core`]: the orchestrator: run lifecycle, process supervision, registry,
//!   config, notifications.
//! - [`cli`]: the command-line interface of the `clawrun` binary.
//!
//! # Use as a library
//!
//! A run from Rust is the same three steps as `clawrun run`: validate
//! ([`core::runner::prepare`], which touches nothing), create the run
//! directory ([`core::runner::create`]), and execute it to the end
//! ([`core::runner::execute`], inside a tokio runtime) with any channel:
//!
//! ```no_run
//! use clawrun::channels::Console;
//! use clawrun::core::runner::{self, RunOptions, TaskSource};
//! use clawrun::core::store::paths::{Paths, ProcessEnv};
//!
//! # async fn demo() -> clawrun::Result<()> {
//! let paths = Paths::resolve(&ProcessEnv, /*state_dir*/ None, /*config*/ None);
//! let mut opts = RunOptions::new("claude", TaskSource::Inline("Add a test for parse()".into()));
//! opts.project = Some("/home/me/src/app".into());
//! let prepared = runner::prepare(&opts, &paths, &mut std::io::empty())?;
//! let dir = runner::create(&prepared)?;
//! let console = Console::new(Some(dir.file("notifications.jsonl")));
//! let report = runner::execute(&dir, &paths, console.into()).await?;
//! println!("{} → {}", report.outcome.as_str(), report.output_file.display());
//! # Ok(())
//! # }
//! ```
//!
//! A channel defined outside the crate implements
//! [`channels::custom::DynChannel`] and is passed as `AnyChannel::Custom`; a
//! backend for another JSONL-speaking CLI is a `[generic.<name>]` table in
//! `backends.toml` (see [`backends::generic`]). The `examples/` directory has one
//! of each.

pub mod backends;
pub mod channels;
pub mod core;

pub use crate::core::error::{Error, Result};
