//! ACP backends: any agent that speaks the [Agent Client Protocol] (JSON-RPC
//! 2.0 over its stdio, both ways) — Gemini CLI, OpenCode, Cursor's agent, the
//! Claude and Codex adapters — defined in `backends.toml` alone.
//!
//! # Config
//!
//! ```toml
//! [acp.claude-acp]
//! program = "claude-agent-acp"        # a name looked up on PATH, or a path
//! args = []
//! env = { IS_SANDBOX = "1" }
//! model = "sonnet"                    # optional: session/set_model
//! mode = "bypassPermissions"          # optional: session/set_mode
//! install = "npm install -g @agentclientprotocol/claude-agent-acp"  # optional: doctor
//! ```
//!
//! Run with `clawrun run --backend claude-acp`. The table is strict (unknown
//! keys are errors). Sessions go to `<name>_sessions.json`, with the ACP
//! session id under `session_id`: it is what `--resume` takes.
//!
//! # The session
//!
//! [`protocol::AcpProtocol`] writes the whole conversation itself:
//! `initialize` (the command's first stdin line), `session/new` in the
//! project (or `session/load` to resume), then `session/prompt`; each
//! `clawrun respond` of a multi-turn run is another `session/prompt` in the
//! same session. `session/update` notifications become events
//! ([`parser::AcpParser`]); the prompt's `stopReason` the outcome
//! (`end_turn` completed; `max_tokens`, `max_turn_requests`, `refusal`,
//! `cancelled` failed, each saying why); a JSON-RPC error or the agent's exit
//! mid-turn failed with its message. Permission requests are answered by the
//! run's policy ([`backend::policy_for`]). Stopping a run (timeout,
//! `clawrun kill`, a signal) sends `session/cancel` first
//! ([`Protocol::on_stop`](crate::backends::Protocol::on_stop)).
//!
//! Resuming needs the agent's `loadSession` capability, which only
//! `initialize` tells: a `--resume` on an agent without it fails at that
//! point, with a clear message and no prompt sent. The protocol also reports
//! what the agent advertised ([`AgentEvent::AgentInfo`]); the runner keeps it
//! per backend (`core::store::agents`), so the next `--resume` on an agent
//! known not to load sessions is refused before anything starts.
//!
//! [`AgentEvent::AgentInfo`]: crate::core::model::events::AgentEvent::AgentInfo
//!
//! # Why no protocol crate
//!
//! The `agent-client-protocol` crate (5.x) owns the I/O: its
//! `ClientSideConnection` reads and writes the agent's pipes itself, spawns
//! `!Send` futures (a `LocalSet`), and answers the agent through an async
//! `Client` trait. clawrun's runner owns the pipes and the select loop, and a
//! backend is a pure line-in, writes-out state machine, so only the schema
//! types could be used; they are strict enums that fail on a field or
//! variant a newer agent adds, where the runner must read leniently. The few
//! fields clawrun needs are read from `serde_json::Value` here instead.
//!
//! [Agent Client Protocol]: https://agentclientprotocol.com

pub mod backend;
pub mod config;
pub mod parser;
pub mod protocol;
#[cfg(test)]
mod tests;

pub use backend::{AcpBackend, policy_for};
pub use config::{AcpConfig, AcpToml};
pub use parser::AcpParser;
pub use protocol::{AcpProtocol, AcpSetup, GARBAGE_LIMIT, PermissionPolicy, permission_answer};
