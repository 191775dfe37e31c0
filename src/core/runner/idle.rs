//! What a runner gives back while its agent is quiet. A run may wait on its
//! agent for hours; the memory the runner's setup and its last burst of output
//! freed stays in the allocator's heap, dirty, unless it is handed back to the
//! kernel. Once the agent has been silent for a couple of refresh ticks, the
//! runner trims its heap and drops the pages of its read buffers (their
//! contents mean nothing between two reads), once per quiet spell.

/// Refresh ticks (one a second) without output before the heap is trimmed.
const QUIET_TICKS: u32 = 2;
/// Memory page size (Linux, x86-64 and arm64 with 4 KiB pages; a larger page
/// size only makes fewer whole pages qualify).
const PAGE: usize = 4096;

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
    /// ticks without output, give the heap's free pages and the pages of the
    /// scratch buffers `scratch` back (once; output starts the count again).
    pub(crate) fn tick(&mut self, pos: u64, scratch: [&mut [u8]; 2]) {
        if pos != self.pos {
            self.pos = pos;
            self.ticks = 0;
            return;
        }
        self.ticks = self.ticks.saturating_add(1);
        if self.ticks == QUIET_TICKS {
            for buf in scratch {
                drop_pages(buf);
            }
            trim_heap();
        }
    }
}

/// Hand the whole pages inside `buf` back to the kernel: they read as zeros
/// afterwards, and cost nothing until written again. For a buffer whose
/// contents are not needed (a read buffer between two reads).
fn drop_pages(buf: &mut [u8]) {
    let start = buf.as_mut_ptr() as usize;
    let first = start.next_multiple_of(PAGE);
    let end = (start + buf.len()) / PAGE * PAGE;
    if end > first {
        // SAFETY: [first, end) lies inside `buf`, which this function borrows
        // mutably: no one else reads it, and zeros are valid `u8`s.
        unsafe {
            libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_DONTNEED);
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
        let (mut a, mut b) = (vec![7u8; 64 * 1024], vec![7u8; 100]);
        let mut q = Quiet::default();
        q.tick(10, [&mut a, &mut b]);
        assert_eq!(q.ticks, 0);
        q.tick(10, [&mut a, &mut b]);
        assert!(a.iter().all(|&x| x == 7), "not quiet yet");
        q.tick(10, [&mut a, &mut b]);
        assert_eq!(q.ticks, QUIET_TICKS);
        assert!(a.contains(&0), "quiet: the buffer's pages were dropped");
        // Once per quiet spell: a further quiet tick leaves the buffers alone.
        a.fill(7);
        q.tick(10, [&mut a, &mut b]);
        assert_eq!(q.ticks, QUIET_TICKS + 1);
        assert!(a.iter().all(|&x| x == 7), "dropped only once");
        q.tick(20, [&mut a, &mut b]);
        assert_eq!(q.ticks, 0);
    }

    #[test]
    fn dropped_pages_read_as_zeros_and_the_rest_is_kept() {
        let mut buf = vec![7u8; 64 * 1024];
        drop_pages(&mut buf);
        // The whole pages inside are zero now; the partial ones at the edges kept.
        assert!(buf.iter().filter(|&&x| x == 0).count() >= 60 * 1024);
        assert!(buf.iter().all(|&x| x == 0 || x == 7));
        if buf.as_ptr() as usize % PAGE != 0 {
            assert_eq!(buf[0], 7, "the partial first page is kept");
        }
        // A buffer holding no whole page is left as it was.
        let mut small = vec![9u8; 100];
        drop_pages(&mut small);
        assert!(small.iter().all(|&x| x == 9));
    }
}
