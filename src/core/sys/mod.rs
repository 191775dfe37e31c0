//! System calls, in one leaf: everything clawrun asks of the kernel about
//! processes and files that is not a run's state. The runner, `ops` (kill, gc,
//! resume), `doctor` and the OpenClaw wake use these, and none of them reaches
//! into another's process code.
//!
//! - [`group`]: pids and process groups — spawning a child into its own
//!   group that dies with this process, stopping a group (SIGTERM, grace,
//!   SIGKILL), liveness probes, an exit status as a code.
//! - [`session`]: what a child takes across `exec` — a new session
//!   (`setsid`), a descriptor handed down, this process replaced (`exec`).
//! - [`programs`]: finding a program on `PATH`, a bounded run of it
//!   (`--version` probes, `openclaw agent`), the version number it prints.
//! - [`signals`]: the signals this process stops on, caught as one set.
//! - [`child_output`]: a child's output read with a bound on memory.
//! - [`fs`]: an atomic copy; [`usage`]: this process's CPU time and memory.
//!
//! A leaf: it uses nothing of the crate but [`crate::core::error`].

pub mod child_output;
pub mod fs;
pub mod group;
pub mod programs;
pub mod session;
pub mod signals;
pub mod usage;
