//! # clawrun
//!
//! Runs coding-agent CLIs (Anthropic's Claude Code, OpenAI's Codex) in the
//! background on behalf of an orchestrating agent (OpenClaw), and keeps the human
//! and the orchestrator informed until the work is done. The `clawrun` binary
//! is one user of this library; a skill written in Rust can be another.
//!
//! Everything a skill author needs is re-exported at the top of the crate:
//! [`RunOptions`], [`prepare`], [`create`], [`execute`] and the [`RunReport`]
//! to run a task; [`Backend`] / [`AnyBackend`] for the coding agents;
//! [`Channel`] / [`AnyChannel`] and the [`DynChannel`] trait for where the
//! messages go; the [`AgentEvent`]s a run is made of, its [`Outcome`],
//! [`Paths`], and [`Error`] / [`Result`].
//!
//! # Run a task
//!
//! A run from Rust is the same three steps as `clawrun run`: validate
//! ([`prepare`], which touches nothing), create the run directory
//! ([`create`]), and execute it to the end ([`execute`], inside a tokio
//! runtime) with any channel. [`RunOptions::new`] has the defaults of
//! `clawrun run`; set the fields of the flags you would pass.
//!
//! ```no_run
//! use clawrun::channels::Console;
//! use clawrun::{Paths, ProcessEnv, RunOptions, TaskSource};
//!
//! # async fn demo() -> clawrun::Result<()> {
//! let paths = Paths::resolve(&ProcessEnv, /*state_dir*/ None, /*config*/ None);
//! let mut opts = RunOptions::new("claude", TaskSource::Inline("Add a test for parse()".into()));
//! opts.request.project = Some("/home/me/src/app".into());
//! let mut prepared = clawrun::prepare(&opts, &paths, &mut std::io::empty())?;
//! let dir = clawrun::create(&mut prepared)?;
//! let console = Console::new(Some(dir.file("notifications.jsonl")));
//! let report = clawrun::execute(&dir, &paths, console.into()).await?;
//! println!("{} → {}", report.outcome.as_str(), report.output_file.display());
//! # Ok(())
//! # }
//! ```
//!
//! [`prepare`] fails with [`Error::Usage`] or [`Error::Config`] for bad input
//! (nothing was spawned or written); the report's
//! [`exit_code`](RunReport::exit_code) is the [`ExitStatus`] `clawrun run` exits with.
//!
//! # Plug in a channel
//!
//! The built-in channels (console, Telegram, WhatsApp and the message tool
//! through the OpenClaw gateway) are chosen by `clawrun.toml`. A channel of
//! your own implements [`DynChannel`] and goes in as
//! [`CustomChannel`](channels::CustomChannel). It only delivers: the run's
//! durable outbox retries what fails with [`ChannelError::Transient`] or
//! [`ChannelError::RetryAfter`], with the same idempotency key.
//!
//! ```no_run
//! use clawrun::channels::custom::async_trait;
//! use clawrun::channels::{ChannelError, CustomChannel, Delivery, Outgoing};
//! use clawrun::DynChannel;
//!
//! /// Prints every message; a real one would POST it somewhere.
//! struct Stdout;
//!
//! #[async_trait]
//! impl DynChannel for Stdout {
//!     fn id(&self) -> &str {
//!         "stdout"
//!     }
//!
//!     async fn send(&self, msg: &Outgoing) -> Result<Delivery, ChannelError> {
//!         println!("[{}] {}", msg.idempotency_key, msg.body.plain);
//!         Ok(Delivery::default())
//!     }
//! }
//!
//! # async fn demo(dir: clawrun::core::store::run::RunDir, paths: clawrun::Paths) -> clawrun::Result<()> {
//! let report = clawrun::execute(&dir, &paths, CustomChannel::new(Stdout).into()).await?;
//! # Ok(())
//! # }
//! ```
//!
//! A backend for another CLI that prints JSON lines needs no Rust: it is a
//! `[generic.<name>]` table in `backends.toml` (see [`backends::generic`]);
//! nor does an agent that speaks the Agent Client Protocol: an `[acp.<name>]`
//! table (see [`backends::acp`]).
//! The `examples/` directory has one of each: `run_from_rust.rs`,
//! `webhook_channel.rs`, `custom_backend/`.
//!
//! # Layout
//!
//! - [`backends`]: one coding-agent CLI each; pure mapping of a run request
//!   to a command line, and of the CLI's output lines to [`AgentEvent`]s.
//! - [`channels`]: where messages go; delivery only.
//! - `core`: everything else, in layers (model, store, openclaw, routing,
//!   notify, runner, ops); hidden from these docs, public for the tests and
//!   the binary. README "Layout" walks one run through them.

pub mod backends;
pub mod channels;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;
#[doc(hidden)]
pub mod core;

pub use crate::backends::{AnyBackend, Backend};
pub use crate::channels::{AnyChannel, Channel, ChannelError, DynChannel};
pub use crate::core::error::{Error, Result, UsageError};
pub use crate::core::model::events::AgentEvent;
pub use crate::core::model::exit::ExitStatus;
pub use crate::core::model::state::Outcome;
pub use crate::core::runner::{RunOptions, RunReport, TaskSource, create, execute, prepare};
pub use crate::core::store::paths::{Paths, ProcessEnv};
