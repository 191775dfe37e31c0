//! What a runner gives back while its agent is quiet. A run may wait on its
//! agent for hours; the memory the runner's setup and its last burst of output
//! freed stays in the allocator's heap, dirty, unless it is handed back to the
//! kernel. Once the agent has been silent for a couple of refresh ticks, the
//! runner trims its heap, once per quiet spell.

/// Refresh ticks (one a second) without output before the heap is trimmed.
const QUIET_TICKS: u32 = 2;

/// Tracks the agent's output between refresh ticks.
#[derive(Debug, Default)]
pub(crate) struct Quiet {
    /// Stream position at the last tick.
    pos: u64,
    /// Ticks in a row without output.
    ticks: u32,
}

impl Quiet {
    /// One refresh tick, with the stream position now: after [`QUIET_TICKS`]
    /// ticks without output, give the heap's free pages back (once; output
    /// starts the count again).
    pub(crate) fn tick(&mut self, pos: u64) {
        if pos != self.pos {
            self.pos = pos;
            self.ticks = 0;
            return;
        }
        self.ticks = self.ticks.saturating_add(1);
        if self.ticks == QUIET_TICKS {
            trim_heap();
        }
    }
}

/// Return the free memory of the heap to the kernel (glibc's `malloc_trim`,
/// which also releases whole free pages inside the heap).
fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only inspects and shrinks the allocator's own free
    // lists; it is safe to call at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_counts_ticks_without_output_and_restarts_on_output() {
        let mut q = Quiet::default();
        q.tick(10);
        assert_eq!(q.ticks, 0);
        q.tick(10);
        q.tick(10);
        assert_eq!(q.ticks, QUIET_TICKS);
        q.tick(10);
        assert_eq!(q.ticks, QUIET_TICKS + 1);
        q.tick(20);
        assert_eq!(q.ticks, 0);
    }
}
