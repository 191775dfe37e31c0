//! `output`: a run's text so far (the agent's top-level texts and the final
//! result, read from `stream.jsonl` with the run's own parser), the raw
//! stream, and `--follow`, which hands each new piece to a [`FollowSink`]
//! until the run is done. Nothing here formats for a terminal.

use std::collections::VecDeque;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::resolve::{Run, runner_alive};
use crate::backends::config as backends_config;
use crate::backends::{AnyParser, Backend, LineParser};
use crate::core::error::{Error, Result};
use crate::core::model::events::AgentEvent;
use crate::core::store::paths::Paths;
use crate::core::store::run::files;

/// `output` without `--lines`: this many lines of text.
pub const DEFAULT_OUTPUT_LINES: usize = 50;
/// How often `output --follow` looks for new lines.
pub const DEFAULT_FOLLOW_POLL: Duration = Duration::from_millis(200);
/// A stream line longer than the runner's bound is skipped by `output` too (a
/// partial line is buffered until its newline arrives; this bounds that
/// buffer).
use crate::core::runner::MAX_LINE_BYTES;
/// Read size for the stream.
const CHUNK_BYTES: usize = 64 * 1024;

/// Reads a run's `stream.jsonl` incrementally and turns it into the agent's
/// text with the run's own backend parser: top-level assistant texts, and the
/// final result text when it adds something. Memory is bounded by one chunk
/// plus one partial line (at most 16 MiB; a longer line is
/// skipped with a warning).
#[derive(Debug)]
pub struct StreamText {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
    skipping: bool,
    parser: AnyParser,
    last_text: Option<String>,
    max_line: usize,
}

/// The parser `run` was parsed with: its backend, with its backends.toml.
fn parser_for(run: &Run) -> Result<AnyParser> {
    let (backend, file) = match run.dir.read_spec() {
        Ok(spec) => (spec.backend, spec.backends_file),
        Err(_) => (run.record.backend.clone(), None),
    };
    let config = match backends_config::load(file.as_deref()) {
        Ok(c) => c,
        // The user's file may have changed since; the parser does not depend on it.
        Err(_) => backends_config::load(/*user file*/ None)?,
    };
    Ok(config.backend(&backend)?.parser())
}

impl StreamText {
    /// Start reading `run`'s stream from its beginning.
    ///
    /// # Errors
    /// When the run's backend is unknown.
    pub fn open(run: &Run) -> Result<Self> {
        Ok(Self::new(run.dir.file(files::STREAM), parser_for(run)?))
    }

    /// Read the stream at `path` with `parser`, from its beginning.
    pub fn new(path: PathBuf, parser: AnyParser) -> Self {
        Self {
            path,
            offset: 0,
            partial: Vec::new(),
            skipping: false,
            parser,
            last_text: None,
            max_line: MAX_LINE_BYTES,
        }
    }

    /// Read at most one chunk of new bytes and return the text pieces it
    /// completes; `None` at the current end of the file (or when there is no
    /// stream yet).
    ///
    /// # Errors
    /// I/O errors other than a missing file.
    pub fn read_chunk(&mut self) -> Result<Option<Vec<String>>> {
        let mut file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("opening {}", self.path.display()), e)),
        };
        file.seek(SeekFrom::Start(self.offset))
            .map_err(|e| Error::io(format!("reading {}", self.path.display()), e))?;
        let mut buf = vec![0u8; CHUNK_BYTES];
        let n = loop {
            match file.read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(format!("reading {}", self.path.display()), e)),
            }
        };
        if n == 0 {
            return Ok(None);
        }
        self.offset += n as u64;
        let mut pieces = Vec::new();
        let mut rest = &buf[..n];
        while let Some(i) = memchr::memchr(b'\n', rest) {
            let (head, tail) = rest.split_at(i);
            rest = &tail[1..];
            if self.skipping {
                self.skipping = false;
                self.partial.clear();
                continue;
            }
            if self.partial.is_empty() {
                self.line(head, &mut pieces);
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(head);
                self.line(&line, &mut pieces);
            }
        }
        if !self.skipping {
            if self.partial.len() + rest.len() > self.max_line {
                tracing::warn!(
                    "a line of {} is longer than {} bytes; skipped",
                    self.path.display(),
                    self.max_line
                );
                self.partial = Vec::new();
                self.skipping = true;
            } else {
                self.partial.extend_from_slice(rest);
            }
        }
        Ok(Some(pieces))
    }

    /// The stream is complete: parse a last line that had no newline.
    pub fn finish(&mut self) -> Vec<String> {
        let mut pieces = Vec::new();
        if !self.skipping && !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line, &mut pieces);
        }
        pieces
    }

    fn line(&mut self, bytes: &[u8], pieces: &mut Vec<String>) {
        let text = String::from_utf8_lossy(bytes);
        let line = text.trim_end_matches('\r');
        if line.trim().is_empty() {
            return;
        }
        for event in self.parser.parse_line(line) {
            let (text, is_final) = match event {
                AgentEvent::AssistantText {
                    text,
                    parent_tool_id: None,
                } => (text, false),
                AgentEvent::TurnCompleted {
                    final_text: Some(text),
                    ..
                } => (text, true),
                // Not text for the reader: a subagent's texts are its own
                // business, deltas are repeated by the complete text.
                AgentEvent::AssistantText {
                    parent_tool_id: Some(_),
                    ..
                }
                | AgentEvent::TurnCompleted {
                    final_text: None, ..
                }
                | AgentEvent::SessionStarted { .. }
                | AgentEvent::TextDelta { .. }
                | AgentEvent::Thinking
                | AgentEvent::ToolStarted { .. }
                | AgentEvent::ToolFinished { .. }
                | AgentEvent::ToolUpdated { .. }
                | AgentEvent::Plan { .. }
                | AgentEvent::AgentInfo { .. }
                | AgentEvent::SubagentStarted { .. }
                | AgentEvent::SubagentFinished { .. }
                | AgentEvent::SubagentProgress { .. }
                | AgentEvent::UnknownEvent { .. }
                | AgentEvent::Usage { .. }
                | AgentEvent::ApiRetry { .. }
                | AgentEvent::RateLimited { .. }
                | AgentEvent::TurnFailed { .. }
                | AgentEvent::ToolDenied { .. }
                | AgentEvent::Warning { .. } => continue,
            };
            if text.trim().is_empty() {
                continue;
            }
            // Claude's result repeats the last text: print it once.
            let repeat = is_final
                && self
                    .last_text
                    .as_deref()
                    .is_some_and(|l| l.trim() == text.trim());
            if !repeat {
                self.last_text = Some(text.clone());
                pieces.push(text);
            }
        }
    }
}

/// The agent's text of a run (`output` without `--follow`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputText {
    /// Run id.
    pub run_id: String,
    /// Status word when read.
    pub status: String,
    /// The last lines of text.
    pub lines: Vec<String>,
    /// Whether earlier lines were left out.
    pub truncated: bool,
}

/// Keeps the last `max` lines (0 = all).
#[derive(Debug)]
struct TailLines {
    max: usize,
    lines: VecDeque<String>,
    truncated: bool,
}

impl TailLines {
    fn new(max: usize) -> Self {
        Self {
            max,
            lines: VecDeque::new(),
            truncated: false,
        }
    }

    fn push(&mut self, piece: &str) {
        for l in piece.lines() {
            self.lines.push_back(l.to_owned());
            if self.max > 0 && self.lines.len() > self.max {
                self.lines.pop_front();
                self.truncated = true;
            }
        }
    }
}

/// The last `max_lines` lines (0 = all) of the agent's text so far.
///
/// # Errors
/// I/O errors reading the stream; an unknown backend.
pub fn output_text(run: &Run, max_lines: usize) -> Result<OutputText> {
    let record = run.dir.read_record().unwrap_or_else(|_| run.record.clone());
    let mut reader = StreamText::open(run)?;
    let mut tail = TailLines::new(max_lines);
    while let Some(pieces) = reader.read_chunk()? {
        pieces.iter().for_each(|p| tail.push(p));
    }
    if record.status.is_done() {
        reader.finish().iter().for_each(|p| tail.push(p));
    }
    Ok(OutputText {
        run_id: record.run_id,
        status: record.status.as_str().to_owned(),
        lines: tail.lines.into(),
        truncated: tail.truncated,
    })
}

/// Copy the raw stream (`output --full`) to `out`; returns the bytes copied.
///
/// # Errors
/// I/O errors (a missing stream copies nothing).
pub fn copy_stream(run: &Run, out: &mut dyn Write) -> Result<u64> {
    let path = run.dir.file(files::STREAM);
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::io(format!("opening {}", path.display()), e)),
    };
    io::copy(&mut file, out).map_err(|e| Error::io(format!("copying {}", path.display()), e))
}

/// Options of `output --follow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowOptions {
    /// Lines of the text so far to hand over first (0 = all). Ignored with `raw`.
    pub lines: usize,
    /// Follow the raw stream instead of the text.
    pub raw: bool,
    /// How often to look for new lines.
    pub poll: Duration,
}

/// Where `output --follow` hands what it reads. The binary writes to stdout;
/// an error of kind `BrokenPipe` ends the follow quietly (the reader left).
pub trait FollowSink {
    /// One piece of the agent's text (without `raw`).
    ///
    /// # Errors
    /// Writing failed.
    fn text(&mut self, piece: &str) -> io::Result<()>;
    /// Bytes of the raw stream (with `raw`), as the runner wrote them.
    ///
    /// # Errors
    /// Writing failed.
    fn raw(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Everything read so far has been handed over: a good moment to flush.
    ///
    /// # Errors
    /// Writing failed.
    fn flush(&mut self) -> io::Result<()>;
}

/// How `output --follow` ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FollowEnd {
    /// Run id.
    pub run_id: String,
    /// The run's status word at the end.
    pub status: String,
    /// The runner died without finishing the run (its record says so now).
    pub runner_gone: bool,
    /// The reader of our output went away (broken pipe): we stopped early.
    #[serde(skip)]
    pub reader_gone: bool,
}

/// Hand over the agent's text (or the raw stream) and keep handing over what
/// is appended until the run is done, like `tail -f` that knows when to stop.
/// The stream file is polled (it is a plain file the runner appends to);
/// partial lines wait for their newline. Stops when `run.json` says done
/// (after reading everything written before that), or when the runner is gone
/// without finishing (the record is then reaped to `crashed`).
///
/// # Errors
/// I/O errors reading the stream or from `sink` (except a broken pipe,
/// which ends the follow quietly with [`FollowEnd::reader_gone`]).
pub fn follow(
    paths: &Paths,
    run: &Run,
    opts: &FollowOptions,
    sink: &mut dyn FollowSink,
) -> Result<FollowEnd> {
    let mut end = FollowEnd {
        run_id: run.record.run_id.clone(),
        status: run.record.status.as_str().to_owned(),
        runner_gone: false,
        reader_gone: false,
    };
    match follow_inner(paths, run, opts, sink, &mut end) {
        Ok(()) => Ok(end),
        Err(FollowError::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
            end.reader_gone = true;
            Ok(end)
        }
        Err(FollowError::Write(e)) => Err(Error::io("writing the output", e)),
        Err(FollowError::Other(e)) => Err(e),
    }
}

enum FollowError {
    Write(io::Error),
    Other(Error),
}

impl From<Error> for FollowError {
    fn from(e: Error) -> Self {
        FollowError::Other(e)
    }
}

impl From<io::Error> for FollowError {
    fn from(e: io::Error) -> Self {
        FollowError::Write(e)
    }
}

/// The text so far: only its last `lines` lines.
fn catch_up(
    reader: &mut StreamText,
    lines: usize,
    sink: &mut dyn FollowSink,
) -> std::result::Result<(), FollowError> {
    let mut tail = TailLines::new(lines);
    while let Some(pieces) = reader.read_chunk()? {
        pieces.iter().for_each(|p| tail.push(p));
    }
    for l in &tail.lines {
        sink.text(l)?;
    }
    sink.flush()?;
    Ok(())
}

fn follow_inner(
    paths: &Paths,
    run: &Run,
    opts: &FollowOptions,
    sink: &mut dyn FollowSink,
    end: &mut FollowEnd,
) -> std::result::Result<(), FollowError> {
    let mut raw_offset = 0u64;
    let mut reader = if opts.raw {
        None
    } else {
        Some(StreamText::open(run)?)
    };
    if let Some(reader) = reader.as_mut() {
        catch_up(reader, opts.lines, sink)?;
    }
    loop {
        // Read the record first: when it says done, the runner has flushed
        // and closed the stream, so what we read next is all there is.
        let record = run.dir.read_record().ok();
        let done = record.as_ref().is_some_and(|r| r.status.is_done());
        match reader.as_mut() {
            Some(reader) => {
                while let Some(pieces) = reader.read_chunk()? {
                    for p in &pieces {
                        sink.text(p)?;
                    }
                }
                if done {
                    for p in reader.finish() {
                        sink.text(&p)?;
                    }
                }
            }
            None => raw_offset += copy_from(run, raw_offset, sink)?,
        }
        sink.flush()?;
        if let Some(r) = &record {
            end.status = r.status.as_str().to_owned();
        }
        if done {
            return Ok(());
        }
        if let Some(r) = &record {
            if !runner_alive(r) {
                // Maybe it finished between our two reads.
                if run.dir.read_record().is_ok_and(|r| r.status.is_done()) {
                    continue;
                }
                let _ = crate::core::ops::resolve::active_runs(paths);
                end.runner_gone = true;
                if let Ok(r) = run.dir.read_record() {
                    end.status = r.status.as_str().to_owned();
                }
                return Ok(());
            }
        }
        std::thread::sleep(opts.poll);
    }
}

/// Copy the raw stream from `offset` to its current end; returns the bytes copied.
fn copy_from(
    run: &Run,
    offset: u64,
    sink: &mut dyn FollowSink,
) -> std::result::Result<u64, FollowError> {
    let path = run.dir.file(files::STREAM);
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => {
            return Err(FollowError::Other(Error::io(
                format!("opening {}", path.display()),
                e,
            )));
        }
    };
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| FollowError::Other(Error::io(format!("reading {}", path.display()), e)))?;
    let mut buf = vec![0u8; CHUNK_BYTES];
    let mut copied = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => return Ok(copied),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(FollowError::Other(Error::io(
                    format!("reading {}", path.display()),
                    e,
                )));
            }
        };
        sink.raw(&buf[..n]).map_err(FollowError::Write)?;
        copied += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_lines_keeps_the_last_n() {
        let mut t = TailLines::new(3);
        t.push("a\nb");
        t.push("c\nd\ne");
        assert_eq!(Vec::from(t.lines.clone()), vec!["c", "d", "e"]);
        assert!(t.truncated);
        let mut all = TailLines::new(0);
        all.push("a\nb\nc\nd");
        assert_eq!(all.lines.len(), 4);
        assert!(!all.truncated);
    }

    fn claude_text_line(text: &str) -> String {
        serde_json::json!({
            "type": "assistant",
            "message": {"id": "m", "role": "assistant", "content": [{"type": "text", "text": text}]},
            "parent_tool_use_id": null,
            "session_id": "s"
        })
        .to_string()
    }

    fn drain(r: &mut StreamText) -> Vec<String> {
        let mut all = Vec::new();
        while let Some(p) = r.read_chunk().unwrap_or_default() {
            all.extend(p);
        }
        all
    }

    #[test]
    fn stream_text_waits_for_partial_lines_and_skips_overlong_ones() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("stream.jsonl");
        let mut f = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut r = StreamText::new(path.clone(), crate::backends::ClaudeParser::new().into());
        r.max_line = 300;
        assert!(drain(&mut r).is_empty());
        let one = claude_text_line("one");
        let (head, tail) = one.split_at(20);
        write!(f, "{head}").unwrap_or_default();
        assert!(drain(&mut r).is_empty(), "half a line is not parsed");
        writeln!(f, "{tail}").unwrap_or_default();
        assert_eq!(drain(&mut r), vec!["one"]);
        // Longer than the limit, arriving in pieces: skipped, the next line is read.
        let long = claude_text_line(&"x".repeat(400));
        write!(f, "{}", &long[..200]).unwrap_or_default();
        assert!(drain(&mut r).is_empty());
        write!(f, "{}", &long[200..]).unwrap_or_default();
        assert!(drain(&mut r).is_empty());
        writeln!(f).unwrap_or_default();
        writeln!(f, "{}", claude_text_line("two")).unwrap_or_default();
        // Last line without its newline: only `finish` parses it.
        write!(f, "{}", claude_text_line("three")).unwrap_or_default();
        assert_eq!(drain(&mut r), vec!["two"]);
        assert_eq!(r.finish(), vec!["three"]);
        assert!(r.partial.capacity() <= 400, "{}", r.partial.capacity());
    }
}
