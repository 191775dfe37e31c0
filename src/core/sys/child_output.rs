//! What a child program prints, read with a bound on memory: the first bytes
//! of each stream are kept, the rest is read and dropped, so a program that
//! floods its output (a `--version` wrapper printing hundreds of megabytes)
//! costs a few kilobytes and is not blocked on a full pipe. The caller bounds
//! the time (`tokio::time::timeout`, then kills the process group).

use std::io;
use std::process::ExitStatus;

use tokio::io::{AsyncRead, AsyncReadExt};

/// Bytes kept of each stream of a `--version` probe.
pub const VERSION_OUTPUT_CAP: usize = 8 * 1024;

/// What a child printed (each stream cut to the cap) and how it ended.
#[derive(Debug)]
pub struct CappedOutput {
    /// How it ended.
    pub status: ExitStatus,
    /// The first bytes of its standard output.
    pub stdout: Vec<u8>,
    /// The first bytes of its standard error.
    pub stderr: Vec<u8>,
}

/// Read `reader` to its end, keeping its first `cap` bytes.
///
/// # Errors
/// A read error.
pub async fn read_capped(mut reader: impl AsyncRead + Unpin, cap: usize) -> io::Result<Vec<u8>> {
    let mut kept = Vec::with_capacity(cap.min(64 * 1024));
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(kept);
        }
        let room = cap.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
    }
}

/// Wait for `child` (its stdout and stderr piped), keeping at most `cap`
/// bytes of each stream: the bounded `wait_with_output`.
///
/// # Errors
/// A read or wait error.
pub async fn wait_capped(mut child: tokio::process::Child, cap: usize) -> io::Result<CappedOutput> {
    async fn read(stream: Option<impl AsyncRead + Unpin>, cap: usize) -> io::Result<Vec<u8>> {
        match stream {
            Some(s) => read_capped(s, cap).await,
            None => Ok(Vec::new()),
        }
    }
    let (out, err) = (child.stdout.take(), child.stderr.take());
    let (stdout, stderr, status) = tokio::try_join!(read(out, cap), read(err, cap), child.wait())?;
    Ok(CappedOutput {
        status,
        stdout,
        stderr,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn only_the_first_bytes_are_kept_and_the_rest_is_read() {
        let data = vec![b'x'; 100_000];
        let kept = read_capped(&data[..], 10).await.unwrap();
        assert_eq!(kept, b"xxxxxxxxxx");
        assert_eq!(read_capped(&b"short"[..], 10).await.unwrap(), b"short");
    }
}
