//! This process's resource usage (`getrusage`), for the run record.

/// CPU time (user + system, ms) and peak RSS (KiB) of this process so far;
/// `(0, 0)` when the kernel does not say.
pub fn self_usage() -> (u64, u64) {
    // SAFETY: getrusage fills the zeroed struct we pass; no other effects.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return (0, 0);
    }
    let ms = |tv: libc::timeval| tv.tv_sec as u64 * 1000 + tv.tv_usec as u64 / 1000;
    (ms(ru.ru_utime) + ms(ru.ru_stime), ru.ru_maxrss as u64)
}
