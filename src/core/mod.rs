//! Everything that is not pure mapping (backends) or pure delivery (channels):
//! time, processes, files and retries.
//!
//! The folders are layers; each one uses only the ones above it in this list:
//!
//! - [`model`]: leaf types without I/O: events, run state, routes, messages.
//! - [`error`], [`config`]: error types per boundary; `clawrun.toml`;
//!   [`sys`]: the system calls (processes and their groups, programs and
//!   their versions, an atomic copy, resource usage).
//! - [`git`]: a leaf beside them: repository facts, worktrees, what changed.
//! - [`store`]: state on disk: paths, atomic files, run dirs, registries, time.
//! - [`openclaw`]: `openclaw.json`, the gateway client, session keys.
//! - [`context`]: the paths, both config files and the backends, loaded once
//!   per process.
//! - [`routing`]: where a run's messages and wake go.
//! - [`notify`]: rendering, the notifier, the durable outbox.
//! - [`runner`]: one run from start to end.
//! - [`ops`]: functions over existing runs (list, show, kill, gc, doctor, …).

pub mod config;
pub mod context;
pub mod error;
pub mod git;
pub mod model;
pub mod notify;
pub mod openclaw;
pub mod ops;
pub mod routing;
pub mod runner;
pub mod store;
pub mod sys;

pub use store::timefmt::now_secs;
