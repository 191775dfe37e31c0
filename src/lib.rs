//! # clawrun
//!
//! Runs coding-agent CLIs (Anthropic's Claude Code, OpenAI's Codex) in the
//! background on behalf of an orchestrating agent (OpenClaw), and keeps the human
//! and the orchestrator informed until the work is done. The `clawrun` binary
//! is one user of this library; a skill written in Rust can be another.
//!
//! This page is the whole API. To run a task: [`RunOptions`], [`prepare`],
//! [`create`], [`execute`] and the [`RunReport`], with the [`Paths`] of the
//! state and [`Error`] / [`Result`]; every type they take or return is
//! exported here or in one of the modules below (the `unnameable_types` lint
//! keeps it so). The rest is grouped by what a skill does with it:
//!
//! | module | for |
//! | --- | --- |
//! | [`runs`] | runs that exist: find, list, show, read the output and the outbox, kill, the cap, gc |
//! | [`events`] | what a run is made of: [`AgentEvent`]s, usage, failures, approvals, the [`Outcome`] |
//! | [`backends`] | one coding-agent CLI each: a run request to a command line, output lines to events |
//! | [`channels`] | where messages go (console, Telegram, WhatsApp, the message tool, your own) |
//! | [`config`] | `clawrun.toml` |
//! | [`routing`] | where a run reports, from a session key or flags |
//! | [`openclaw`] | the gateway client, session keys, `openclaw.json` |
//! | [`sessions`] | the session registries shared with OpenClaw's skills |
//! | [`error`] | every error type, by boundary |
//!
//! # Run a task
//!
//! A run from Rust is the same three steps as `clawrun run`: validate
//! ([`prepare`], which touches nothing), create the run directory
//! ([`create`]), and execute it to the end ([`execute`], inside a tokio
//! runtime) with any channel. [`RunOptions::new`] has the defaults of
//! `clawrun run`; set the fields of the flags you would pass (what is left
//! unset takes `clawrun.toml`'s defaults, as with the CLI). [`launch`] is
//! all of `clawrun run` in one call — routing, the `max_sessions` slot, the
//! daily clean-up, then the run detached or executed to its end — in a
//! [`RunContext`] (the config files, read once).
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
//! # async fn demo(dir: clawrun::RunDir, paths: clawrun::Paths) -> clawrun::Result<()> {
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
//! # Look at runs
//!
//! What `clawrun list`, `show`, `output` and `kill` print comes from
//! [`runs`], as data:
//!
//! ```no_run
//! use clawrun::{Paths, ProcessEnv, runs};
//!
//! # fn demo() -> clawrun::Result<()> {
//! let paths = Paths::resolve(&ProcessEnv, None, None);
//! let now = clawrun::sessions::now_micros() / 1_000_000;
//! for run in runs::list(&paths, /*all*/ false, /*status*/ None, now) {
//!     println!("{} {} {}", run.run_id, run.status, run.task_summary);
//! }
//! let run = runs::resolve_run(&paths, "my-label")?;
//! let output = runs::output_text(&run, 20)?;
//! if !run.record.status.is_done() {
//!     runs::kill_run(&paths, &run, runs::DEFAULT_KILL_WAIT)?;
//! }
//! # let _ = output;
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//!
//! The modules above are the facade; the work is done in private layers
//! under `src/core/` (model, error and config, git, store, openclaw,
//! routing, notify, runner, ops: each uses only the ones before it), which
//! they re-export from. The `clawrun` program (`src/cli/`, the default `cli`
//! feature) is one more user of those layers; without the feature, clap,
//! anyhow and the terminal crates are not built. ARCHITECTURE.md has the
//! table of layers (`scripts/layers.py` checks every import against it) and
//! walks one run through them.

// The facade is the whole public API: every type a public item takes or
// returns is nameable from here (this lint fails the build otherwise, with
// clippy's `-D warnings`).
#![warn(unnameable_types)]
// The program (`cli`, the default feature) is the other user of `core`: what
// only it calls is unused in a library-only build, not dead.
#![cfg_attr(not(feature = "cli"), allow(dead_code, unused_imports))]

pub mod backends;
pub mod channels;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;
mod core;

pub use crate::backends::{AnyBackend, Backend};
pub use crate::channels::{AnyChannel, Channel, ChannelError, DynChannel};
pub use crate::core::context::RunContext;
pub use crate::core::error::{Error, Result, UsageError};
pub use crate::core::model::events::AgentEvent;
pub use crate::core::model::exit::ExitStatus;
pub use crate::core::model::state::Outcome;
pub use crate::core::ops::launch::{
    Detached, Finished, LaunchHost, LaunchMode, LaunchOptions, Launched, RunWatch, Validated,
    launch,
};
pub use crate::core::runner::{
    ChainOptions, LaunchProof, LaunchStatus, NotifyOptions, Prepared, RequestOptions,
    RoutingOptions, RunOptions, RunReport, TaskSource, WorktreeOptions, create, execute, prepare,
};
pub use crate::core::store::paths::{Env, Paths, ProcessEnv};
pub use crate::core::store::run::RunDir;

pub mod events {
    //! What an agent's run is made of: the [`AgentEvent`]s a backend parses from
    //! the CLI's output, the usage and failures they carry, and the permission
    //! requests (`--approvals chat`) with their answers.

    pub use crate::core::model::approval::{Answer, ApprovalMode, Ask, Severity};
    pub use crate::core::model::events::{AgentEvent, FailureKind, Usage, UsageScope};
    pub use crate::core::model::state::Outcome;
}

pub mod runs {
    //! Runs that exist, as `clawrun list`, `show`, `output`, `kill` and `gc` see
    //! them: find a run by id, label or session ([`resolve_run`]), list them,
    //! read a run's record ([`RunRecord`]), output and [`outbox`], stop it
    //! ([`kill_run`]), take a slot under the cap ([`admit`]), see whether exec mode's
    //! follower still follows a run ([`follower_state`]), and remove old ones
    //! ([`gc`]). Every function returns data; nothing is printed.

    pub use crate::core::git::{ChangeSummary, CommitLine, RunWorktree, Uncommitted};
    use crate::core::notify::outbox::Outbox;
    pub use crate::core::notify::outbox::{Entry as OutboxEntry, EntryStatus, Item as OutboxItem};
    pub use crate::core::ops::gc::{
        GC_LOCK_NAME, GC_STAMP_NAME, GcOptions, GcReport, KeptEntries, KeptRuns, KeptWorktree,
        RemovedEntry, auto_gc, gc,
    };
    pub use crate::core::ops::kill::{DEFAULT_KILL_WAIT, KillPath, KillReport, kill_run};
    pub use crate::core::ops::list::{RunSummary, StatusFilter, list};
    pub use crate::core::ops::output::{OutputText, output_text};
    pub use crate::core::ops::resolve::{Run, Target, resolve, resolve_run};
    pub use crate::core::ops::show::{RunDetails, WakeState, show};
    pub use crate::core::runner::{Admission, admit, describe};
    // Exec mode: whether the `clawrun run` OpenClaw's exec waits on still
    // follows its run (then its exit is the agent's wake).
    pub use crate::core::runner::follower::{FOLLOWER_CANCELLED, FollowerState, follower_state};
    pub use crate::core::store::run::{
        ChainPosition, CompletionMode, NotifySettings, RunDir, RunLimits, RunRecord, RunSpec,
        RunStatus, list_runs,
    };
    pub use crate::core::store::slots::{Full, Slot, Slots, Ticket, Waiting};

    /// What a run had to deliver (its messages and its wake) and how far each
    /// got, from the run's durable outbox (`outbox.jsonl`), in queue order.
    ///
    /// # Errors
    /// An outbox that cannot be read (a missing one is empty).
    pub fn outbox(dir: &RunDir) -> crate::Result<Vec<OutboxEntry>> {
        Outbox::new(&dir.path).entries()
    }

    /// The entries of [`outbox`] not delivered or given up yet.
    ///
    /// # Errors
    /// As [`outbox`].
    pub fn pending(dir: &RunDir) -> crate::Result<Vec<OutboxEntry>> {
        Outbox::new(&dir.path).pending()
    }
}

pub mod sessions {
    //! The session registries (`~/.openclaw/claude_sessions.json`,
    //! `codex_sessions.json`): one entry per agent session, shared with the
    //! OpenClaw skills and scripts that read them, updated under a lock so
    //! concurrent writers lose nothing. Times in them are local ISO 8601 with
    //! the offset ([`now_local_iso`]).

    pub use crate::core::store::registry::{Entry, EntryUpdate, Registry, Status};
    pub use crate::core::store::timefmt::{
        format_local_iso, now_local_iso, now_micros, parse_iso_micros,
    };
}

pub mod config {
    //! `clawrun.toml`, read into a [`Config`]: the gateway,
    //! Telegram, routes, where messages go, run defaults, limits and retention.

    pub use crate::channels::ChannelKind;
    pub use crate::core::config::{
        Config, DEFAULT_MAX_SESSIONS, GatewayConfig, LimitsConfig, NotifyChannel, NotifyConfig,
        RetentionConfig, Route, RouteTarget, RunConfig, Safety, Secret, Silence, TelegramConfig,
        UnknownChannelKind, WorktreeMode,
    };
}

pub mod routing {
    //! Where a run's messages and wake go: the [`Route`] a run
    //! records, and [`resolve_route`], which finds it from
    //! a session key or flags (what `clawrun route` and `run --validate-only`
    //! answer) by asking the gateway's session list and the local session files.

    pub use crate::core::model::route::{Network, Route, RouteSource, TelegramRoutingMode};
    pub use crate::core::routing::{
        ConfiguredRoute, GatewaySessions, LocalSessionFiles, LocalSessions, MetaOrigin, NoGateway,
        RouteInput, SessionMeta, SessionSource, SourceError, ToolInvoker, WorkdirRoute,
        resolve_route,
    };
}

pub mod openclaw {
    //! The OpenClaw side: its gateway's HTTP client (the channels deliver
    //! through it), session keys, and `openclaw.json`.

    pub use crate::core::openclaw::agent::AgentWakeError;
    pub use crate::core::openclaw::config::{
        ConfigSecret, OpenclawConfig, OpenclawTelegram, ResolvedSecret, TelegramAccount,
        gateway_token, gateway_url, telegram_api_base, telegram_bot_token,
    };
    pub use crate::core::openclaw::gateway::{
        GatewayClient, GatewayError, HttpTimeouts, Readiness,
    };
    pub use crate::core::openclaw::session_key::{
        GroupKind, Scope, SessionKey, SessionKeyError, Thread, ThreadKind,
    };
}

pub mod error {
    //! Every error type, by boundary; [`Error`] holds them all.

    pub use crate::core::error::{
        ConfigError, Error, ProcessError, RegistryError, Result, UsageError,
    };
    pub use crate::core::routing::RoutingError;
}
