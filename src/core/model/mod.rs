//! Leaf types without I/O: the normalized agent events, the run state folded
//! from them, the messages a run sends and the route they take.

pub mod events;
pub mod message;
pub mod route;
pub mod state;
