//! The OpenClaw integration: its `openclaw.json`, the gateway's HTTP client,
//! its session keys, and what it knows about its sessions (for routing).

pub mod agent;
pub mod config;
pub mod gateway;
pub mod session_key;
pub mod session_lookup;
