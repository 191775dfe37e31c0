//! Library functions over existing runs: what a person (or the orchestrating
//! agent) does with runs once they exist. Each function returns data; the
//! binary's `src/cli/render` turns it into text.
//!
//! Everything here reads the run directories (`<state dir>/runs/<id>/`) and,
//! for sessions whose run directory is gone, the session registries.
//!
//! - [`resolve`]: what a name on the command line refers to; liveness.
//! - [`list`], [`show`], [`output`], [`kill`], [`stats`], [`resume`]: one
//!   command each.
//! - [`node_list`]: the runs on paired nodes (`run --node`), for `list`.
//! - [`launch`]: one launch, as `clawrun run` does it (config defaults,
//!   prepare, route, admit, clean up, create, detach or execute).
//! - [`sessions`]: the session registries.
//! - [`worktree`]: the runs' own git worktrees (list, merge, discard).
//! - [`gc`]: retention; [`doctor`]: the environment checks.

pub mod doctor;
pub mod gc;
pub mod kill;
pub mod launch;
pub mod list;
pub mod node_list;
pub mod output;
pub mod resolve;
pub mod resume;
pub mod sessions;
pub mod show;
pub mod stats;
pub mod worktree;
