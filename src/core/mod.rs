//! The orchestrator: everything that is not pure mapping (backends) or pure
//! delivery (channels). It owns time, processes, files and retries.
//!
//! - [`events`]: the normalized [`events::AgentEvent`] vocabulary.
//! - [`error`]: error types per boundary.
//! - [`fsutil`]: private directories, atomic writes, appends.
//! - [`config`]: `clawrun.toml` (strict schema, defaults).
//! - [`openclaw_config`]: defaults and tokens from OpenClaw's `openclaw.json`.
//! - [`gateway`]: HTTP client for the OpenClaw gateway's `/tools/invoke`.
//! - [`paths`]: where state lives (state dir, OpenClaw home).
//! - [`registry`]: the seed-compatible session registries.
//! - [`timefmt`]: the registries' naive local ISO timestamps.
//! - [`process`]: spawning and stopping the agent's process group.
//! - [`state`]: the run state folded from events.
//! - [`run`]: the run record (`run.json`) and run directories.
//! - [`orchestrator`]: the run lifecycle.
//! - [`gc`]: retention: removing old runs and registry entries.
//! - [`doctor`]: environment checks with fixes (`clawrun doctor`).
//! - [`version_guard`]: warnings when the CLI may have changed under clawrun.

pub mod config;
pub mod control;
pub mod delivery;
pub mod doctor;
pub mod error;
pub mod events;
pub mod foreground;
pub mod fsutil;
pub mod gateway;
pub mod gc;
pub mod iterations;
pub mod manager;
pub mod notify;
pub mod openclaw_config;
pub mod orchestrator;
pub mod outbox;
pub mod paths;
pub mod process;
pub mod registry;
pub mod route;
pub mod run;
pub mod session_key;
pub mod sessions;
pub mod state;
pub mod timefmt;
pub mod version_guard;

/// Current time as Unix seconds.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
