//! Leaf types without I/O: the normalized agent events and the run state folded
//! from them.

pub mod events;
pub mod state;
