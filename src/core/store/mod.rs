//! State on disk: where files live, atomic writes, run directories and records,
//! the session registries, iteration chains and the registries' timestamps.

pub mod fsutil;
pub mod iterations;
pub mod paths;
pub mod registry;
pub mod run;
pub mod sessions;
pub mod slots;
pub mod timefmt;
