//! Leaf types without I/O: the normalized agent events, the run state folded
//! from them, the messages a run sends and the route they take, and how
//! numbers and agent text are shown to a human; tool approvals (asks and answers);
//! the exit status a command or run ends with.

pub mod approval;
pub mod events;
pub mod exit;
pub mod message;
pub mod route;
pub mod state;
pub mod text;
