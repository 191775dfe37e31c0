//! One module per subcommand: read the flags, call the library, print with
//! [`super::render`], return the exit code.

pub mod doctor;
pub mod fg;
pub mod follow;
pub mod gc;
pub mod kill;
pub mod list;
pub mod node_run;
pub mod nodes;
pub mod notify;
pub mod outbox;
pub mod output;
pub mod respond;
pub mod resume;
pub mod route;
pub mod run;
pub mod sessions;
pub mod show;
pub mod stats;
pub mod status;
pub mod watch;
pub mod worktree;
