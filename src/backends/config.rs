//! Backend definitions from `backends.toml` (stub, to be implemented).

/// The parsed `backends.toml`.
#[derive(Debug, Clone, Default)]
pub struct BackendsToml;
