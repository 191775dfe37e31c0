//! The OpenClaw integration: its `openclaw.json`, the gateway's HTTP client,
//! its session keys, what it knows about its sessions (for routing), and the
//! clawrun plugin's approvals route, and the paired nodes runs may start on.

pub mod agent;
pub mod approvals;
pub mod config;
pub mod gateway;
pub mod nodes;
pub mod session_key;
pub mod session_lookup;
pub mod system_event;
