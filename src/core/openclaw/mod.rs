//! The OpenClaw integration: its `openclaw.json`, the gateway's HTTP client and
//! its session keys.

pub mod config;
pub mod gateway;
pub mod session_key;
