//! State on disk: where files live, atomic writes, run directories and records,
//! the session registries, iteration chains, and time (the clock and the
//! registries' timestamps, in [`timefmt`]).
//!
//! The store reads and writes files and never starts or signals a process:
//! what needs to know whether a process is alive takes the runner's probes
//! as arguments (see [`run::active_runs_with`]).

pub mod agents;
pub mod fsutil;
pub mod iterations;
pub mod json_file;
pub mod node_runs;
pub mod paths;
pub mod registry;
pub mod run;
pub mod sessions;
pub mod slots;
pub mod timefmt;
