//! The cap on agents running at once (`[limits] max_sessions`): a new run
//! takes a slot now, is refused, or is told to wait in the queue (`run
//! --queue`). The slots are a cross-process semaphore
//! (`crate::core::store::slots`): the check and the taking are one step, so
//! launches racing each other cannot pass the cap together.

use crate::core::error::{Error, Result};
use crate::core::store::paths::Paths;
use crate::core::store::slots::{Full, Slot, Slots};

/// The slots of `paths`' state directory, `max` of them.
pub fn slots(paths: &Paths, max: u32) -> Slots {
    Slots::new(&paths.state_dir, max)
}

/// What a launch got.
#[derive(Debug)]
pub enum Admit {
    /// A free slot, held from now on.
    Slot(Slot),
    /// None free (or runs queued before it): with `--queue`, it waits.
    Queue(Full),
}

/// Take a free slot for a new run. Without `queue`, a launch that finds none
/// (or finds runs waiting in the queue) is refused.
///
/// # Errors
/// [`Error::Usage`] saying how many run, the limit, and what to do; an I/O
/// error on the slots directory.
pub fn admit(slots: &Slots, queue: bool) -> Result<Admit> {
    let full = match slots.try_acquire() {
        Ok(Ok(slot)) => return Ok(Admit::Slot(slot)),
        Ok(Err(full)) => full,
        Err(e) => return Err(Error::io("taking a run slot", e)),
    };
    if queue {
        return Ok(Admit::Queue(full));
    }
    Err(Error::usage(format!(
        "{} (the limit is {}): wait, stop one with `clawrun kill`, or pass --queue",
        describe(full),
        slots.max()
    )))
}

/// "3 runs are running, 2 queued".
pub fn describe(full: Full) -> String {
    let mut s = if full.held == 1 {
        "1 run is running".to_owned()
    } else {
        format!("{} runs are running", full.held)
    };
    if full.queued > 0 {
        s.push_str(&format!(", {} queued", full.queued));
    }
    s
}
