//! Leaf types without I/O: the normalized agent events, the run state folded
//! from them, the messages a run sends and the route they take, and how
//! numbers and agent text are shown to a human; tool approvals (asks and answers).

pub mod approval;
pub mod events;
pub mod message;
pub mod route;
pub mod state;
pub mod text;
