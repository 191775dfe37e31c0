//! What the run keeps of the agent's output on disk: its stdout as it came
//! (`stream.jsonl`, up to `[limits] max_stream_mib`; past the cap the bytes
//! are still parsed, not kept), and its top-level assistant text
//! (`assistant.txt`, the whole text of the run on disk rather than in
//! memory, which the output file is copied from).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use crate::core::store::fsutil;
use crate::core::store::run::{RunDir, files};

use super::record::StreamCut;

/// The agent's output as the run keeps it.
#[derive(Debug)]
pub(crate) struct Transcript {
    /// `stream.jsonl`, once opened.
    stream: Option<File>,
    /// Its path.
    pub(crate) stream_path: PathBuf,
    /// Why it could not be written (then it is no longer written).
    pub(crate) stream_error: Option<String>,
    /// Bytes written to it so far.
    written: u64,
    /// Its cap, in bytes.
    max_bytes: u64,
    /// The cap was reached (said once).
    capped: bool,
    /// `assistant.txt`, buffered, opened at the first text.
    text: Option<BufWriter<File>>,
    /// Its path.
    pub(crate) text_path: PathBuf,
    /// Bytes read from the agent's stdout so far, every process of the run.
    pub(crate) pos: u64,
    /// Why the output file could not be written, once that is known.
    pub(crate) output_lost: Option<String>,
}

impl Transcript {
    /// The transcript of the run in `dir`, `stream.jsonl` capped at `max_bytes`.
    pub(crate) fn new(dir: &RunDir, max_bytes: u64) -> Self {
        Self {
            stream: None,
            stream_path: dir.file(files::STREAM),
            stream_error: None,
            written: 0,
            max_bytes,
            capped: false,
            text: None,
            text_path: dir.file(files::ASSISTANT_TEXT),
            pos: 0,
            output_lost: None,
        }
    }

    /// Open `stream.jsonl` for appending.
    ///
    /// # Errors
    /// Why it cannot be opened, for the crash message.
    pub(crate) fn open(&mut self) -> std::result::Result<(), String> {
        let file = fsutil::open_append(&self.stream_path)
            .map_err(|e| format!("opening {}: {e}", self.stream_path.display()))?;
        self.stream = Some(file);
        Ok(())
    }

    /// A chunk of the agent's stdout: counted, and appended to
    /// `stream.jsonl` up to its cap. Returns where the file was cut and how
    /// much of the chunk was not kept, when something was not.
    pub(crate) fn keep(&mut self, chunk: &[u8]) -> Option<StreamCut> {
        self.pos += chunk.len() as u64;
        let stream = self
            .stream
            .as_mut()
            .filter(|_| self.stream_error.is_none())?;
        let room = self.max_bytes.saturating_sub(self.written);
        let n = chunk.len();
        let keep = n.min(usize::try_from(room).unwrap_or(usize::MAX));
        if keep > 0 {
            if let Err(e) = stream.write_all(&chunk[..keep]) {
                self.stream_error = Some(format!("writing {}: {e}", self.stream_path.display()));
                return None;
            }
            self.written += keep as u64;
        }
        (keep < n).then(|| {
            if !self.capped {
                self.capped = true;
                tracing::warn!(
                    "{} reached {} bytes ([limits] max_stream_mib): the rest is parsed, not kept",
                    self.stream_path.display(),
                    self.max_bytes
                );
            }
            StreamCut {
                at: self.written,
                dropped: (n - keep) as u64,
            }
        })
    }

    /// Append top-level assistant text to `assistant.txt` (`after_other`:
    /// on a new line, after output of another kind).
    pub(crate) fn save_text(&mut self, text: &str, after_other: bool) {
        if self.text.is_none() {
            self.text = fsutil::open_append(&self.text_path)
                .ok()
                .map(|f| BufWriter::with_capacity(64 * 1024, f));
        }
        if let Some(f) = &mut self.text {
            let sep: &[u8] = if after_other { b"\n" } else { b"" };
            if f.write_all(sep)
                .and_then(|()| f.write_all(text.as_bytes()))
                .is_err()
            {
                self.text = None;
            }
        }
    }

    /// Flush what is buffered (`assistant.txt` stays at most this far behind).
    pub(crate) fn flush(&mut self) {
        if let Some(f) = &mut self.text {
            let _ = f.flush();
        }
        if let Some(s) = &mut self.stream {
            let _ = s.flush();
        }
    }

    /// The output file's path (`output_file`), or why it was not written
    /// (in its place in the messages).
    pub(crate) fn shown_output(&self, output_file: &std::path::Path) -> PathBuf {
        match &self.output_lost {
            None => output_file.to_path_buf(),
            Some(why) => format!("(not saved: {why})").into(),
        }
    }

    /// The run's output ended: flush and close both files.
    pub(crate) fn close(&mut self) {
        self.flush();
        self.text = None;
        self.stream = None;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_stream_is_kept_up_to_its_cap_and_the_cut_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = RunDir::open(tmp.path());
        let mut t = Transcript::new(&dir, 10);
        assert_eq!(t.keep(b"before open"), None, "nothing kept before open");
        t.open().unwrap();
        assert_eq!(t.keep(b"123456"), None);
        assert_eq!(t.keep(b"7890ab"), Some(StreamCut { at: 10, dropped: 2 }));
        assert_eq!(t.keep(b"cd"), Some(StreamCut { at: 10, dropped: 2 }));
        assert_eq!(t.pos, 11 + 6 + 6 + 2, "every byte read is counted");
        t.save_text("one", false);
        t.save_text("two", true);
        t.close();
        assert_eq!(std::fs::read(&t.stream_path).unwrap(), b"1234567890");
        assert_eq!(std::fs::read_to_string(&t.text_path).unwrap(), "one\ntwo");
        let out = std::path::Path::new("/o.md");
        assert_eq!(t.shown_output(out), out);
        t.output_lost = Some("disk full".into());
        assert_eq!(t.shown_output(out), PathBuf::from("(not saved: disk full)"));
    }
}
