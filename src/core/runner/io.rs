//! The agent's pipes: stdout split into lines with bounded memory and handed to
//! the backend's protocol, the tail of stderr, and the writer of stdin.

use tokio::io::AsyncWriteExt;
use tokio::process::ChildStdin;
use tokio::sync::mpsc;

use crate::backends::{AnyProtocol, Protocol, Step};
use crate::core::model::events::AgentEvent;

/// Longest stdout line handed to the parser; longer lines are kept in
/// `stream.jsonl` but reported as a warning.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;
/// Bytes of stderr kept (the tail).
pub const STDERR_TAIL_BYTES: usize = 64 * 1024;

/// A bounded ring of the last bytes of stderr.
#[derive(Debug, Default)]
pub(crate) struct Tail {
    buf: Vec<u8>,
    total: u64,
}

impl Tail {
    /// Keep `data`, dropping the oldest bytes past [`STDERR_TAIL_BYTES`].
    pub(crate) fn push(&mut self, data: &[u8]) {
        self.total += data.len() as u64;
        if data.len() >= STDERR_TAIL_BYTES {
            self.buf.clear();
            self.buf
                .extend_from_slice(&data[data.len() - STDERR_TAIL_BYTES..]);
            return;
        }
        let over = (self.buf.len() + data.len()).saturating_sub(STDERR_TAIL_BYTES);
        if over > 0 {
            self.buf.drain(..over);
        }
        self.buf.extend_from_slice(data);
    }

    /// The tail as text (lossy).
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf).into_owned()
    }
}

/// Splits stdout into lines with bounded memory, handing each to `on_line`
/// (`Err(len)` for a line longer than [`MAX_LINE_BYTES`], which is not kept).
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    pending: Vec<u8>,
    /// Length of an over-long line being skipped.
    overflow: Option<usize>,
}

impl LineSplitter {
    /// Split `chunk`, continuing the line left by the previous chunk.
    pub(crate) fn feed(
        &mut self,
        mut chunk: &[u8],
        on_line: &mut impl FnMut(std::result::Result<&[u8], usize>),
    ) {
        while let Some(pos) = memchr::memchr(b'\n', chunk) {
            let (line, rest) = chunk.split_at(pos);
            chunk = &rest[1..];
            if let Some(len) = self.overflow.take() {
                on_line(Err(len + line.len()));
            } else if self.pending.is_empty() {
                on_line(Ok(line));
            } else if self.pending.len() + line.len() > MAX_LINE_BYTES {
                on_line(Err(self.pending.len() + line.len()));
                self.pending = Vec::new();
            } else {
                self.pending.extend_from_slice(line);
                on_line(Ok(&self.pending));
                self.pending.clear();
            }
        }
        if chunk.is_empty() {
            return;
        }
        if let Some(len) = &mut self.overflow {
            *len += chunk.len();
        } else if self.pending.len() + chunk.len() > MAX_LINE_BYTES {
            self.overflow = Some(self.pending.len() + chunk.len());
            // Give the memory back: this line will not be parsed.
            self.pending = Vec::new();
        } else {
            self.pending.extend_from_slice(chunk);
        }
    }

    /// The last line, when the output did not end with a newline.
    pub(crate) fn finish(&mut self, on_line: &mut impl FnMut(std::result::Result<&[u8], usize>)) {
        if let Some(len) = self.overflow.take() {
            on_line(Err(len));
        } else if !self.pending.is_empty() {
            on_line(Ok(&self.pending));
        }
        self.pending = Vec::new();
    }
}

/// The events and replies of one stdout line (`Err`: the length of a line too
/// long to parse), appended to `step`.
pub(crate) fn read_line(
    protocol: &mut AnyProtocol,
    line: std::result::Result<&[u8], usize>,
    step: &mut Step,
) {
    match line {
        // Every byte of the stream is checked: with SIMD, a fraction of what
        // `std`'s check costs (which was 5% of a runner's work on a Claude stream).
        Ok(bytes) => match simdutf8::basic::from_utf8(bytes) {
            Ok(s) => protocol.on_line(s, step),
            Err(_) => protocol.on_line(&String::from_utf8_lossy(bytes), step),
        },
        Err(len) => step.events.push(AgentEvent::Warning {
            message: format!(
                "skipped a {len}-byte line longer than {MAX_LINE_BYTES} bytes (kept in stream.jsonl)"
            ),
        }),
    }
}

/// Feed the agent's stdin from a channel, in a task: `first`, then every
/// message sent. Dropping the sender closes the agent's input.
pub(crate) fn spawn_writer(
    mut stdin: ChildStdin,
    first: Vec<u8>,
) -> mpsc::UnboundedSender<Vec<u8>> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let _ = tx.send(first);
    tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if stdin.write_all(&bytes).await.is_err() || stdin.flush().await.is_err() {
                break;
            }
        }
        let _ = stdin.shutdown().await;
    });
    tx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(chunks: &[&[u8]]) -> Vec<std::result::Result<Vec<u8>, usize>> {
        let mut out = Vec::new();
        let mut s = LineSplitter::default();
        for c in chunks {
            s.feed(c, &mut |l| out.push(l.map(<[u8]>::to_vec)));
        }
        s.finish(&mut |l| out.push(l.map(<[u8]>::to_vec)));
        out
    }

    #[test]
    fn splitter_joins_chunks_and_keeps_last_partial_line() {
        let got = lines(&[b"ab", b"c\nde", b"f\n\ngh"]);
        assert_eq!(
            got,
            vec![
                Ok(b"abc".to_vec()),
                Ok(b"def".to_vec()),
                Ok(vec![]),
                Ok(b"gh".to_vec())
            ]
        );
    }

    #[test]
    fn tail_keeps_last_bytes() {
        let mut t = Tail::default();
        t.push(&vec![b'a'; STDERR_TAIL_BYTES]);
        t.push(b"xyz");
        assert_eq!(t.buf.len(), STDERR_TAIL_BYTES);
        assert!(t.text().ends_with("axyz"));
        assert_eq!(t.total, STDERR_TAIL_BYTES as u64 + 3);
    }
}
