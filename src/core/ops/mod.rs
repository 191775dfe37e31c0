//! Library functions over existing runs: the session manager (list, show,
//! output, kill, stats, resume), retention and the environment checks.

pub mod doctor;
pub mod gc;
pub mod manager;
