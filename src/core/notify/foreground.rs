//! Foreground streaming: while a run is in the foreground (`clawrun fg RUN`,
//! or `clawrun run --fg`), the agent's text goes to the run's chat route as it
//! is produced, merged into a few readable messages.
//!
//! State lives in the run directory (`fg.json`: on/off and the byte offset of
//! `stream.jsonl` up to which text has been sent), so a restarted command, a
//! `bg` then `fg`, or a late `fg` never sends the same text twice: on `fg`,
//! what was missed since that offset is sent first as one catch-up.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::backends::{AnyParser, LineParser};
use crate::core::error::{Error, Result};
use crate::core::model::events::AgentEvent;
use crate::core::store::fsutil;

/// File name of the foreground state in the run directory.
pub const FG_FILE_NAME: &str = "fg.json";
/// Merge text for at least this long before sending.
pub const DEBOUNCE: Duration = Duration::from_millis(1500);
/// Send at most one streamed message per this interval (chat flood limits).
pub const MIN_INTERVAL: Duration = Duration::from_secs(3);
/// Send early when this much text is waiting (characters).
pub const MAX_PENDING_CHARS: usize = 3000;
/// The most text a catch-up sends (characters); older text is cut with a note.
pub const MAX_CATCHUP_CHARS: usize = 12_000;

/// The persisted foreground state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FgFile {
    /// Streaming is on.
    pub enabled: bool,
    /// Bytes of `stream.jsonl` whose text has been sent (or skipped by `bg`).
    pub offset: u64,
}

/// Read the state of `run_dir` (absent = off, offset 0).
pub fn read(run_dir: &Path) -> FgFile {
    std::fs::read(run_dir.join(FG_FILE_NAME))
        .ok()
        .and_then(|d| serde_json::from_slice(&d).ok())
        .unwrap_or_default()
}

/// Write the state of `run_dir` atomically.
///
/// # Errors
/// I/O errors.
pub fn write(run_dir: &Path, state: FgFile) -> Result<()> {
    let path = run_dir.join(FG_FILE_NAME);
    let data = serde_json::to_vec(&state)
        .map_err(|e| Error::io("encoding fg.json", std::io::Error::other(e)))?;
    fsutil::write_atomic(&path, &data)
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

/// Top-level assistant texts in `stream.jsonl` between byte offsets `from`
/// and `to`, parsed with a fresh `parser`. Reads at most `to - from` bytes.
///
/// # Errors
/// I/O errors reading the stream.
pub fn texts_between(
    stream: &Path,
    from: u64,
    to: u64,
    mut parser: AnyParser,
) -> Result<Vec<String>> {
    if to <= from {
        return Ok(Vec::new());
    }
    let mut f = std::fs::File::open(stream)
        .map_err(|e| Error::io(format!("opening {}", stream.display()), e))?;
    f.seek(SeekFrom::Start(from))
        .map_err(|e| Error::io(format!("seeking {}", stream.display()), e))?;
    let mut buf = Vec::new();
    f.take(to - from)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io(format!("reading {}", stream.display()), e))?;
    let mut out = Vec::new();
    for line in buf.split(|b| *b == b'\n') {
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        for ev in parser.parse_line(line) {
            if let AgentEvent::AssistantText {
                text,
                parent_tool_id: None,
            } = ev
            {
                out.push(text);
            }
        }
    }
    Ok(out)
}

/// Render a catch-up message, keeping the newest text when it is too long.
pub fn render_catchup(texts: &[String]) -> Option<String> {
    if texts.is_empty() {
        return None;
    }
    let joined = texts.join("\n\n");
    let n = joined.chars().count();
    let body = if n > MAX_CATCHUP_CHARS {
        let tail: String = joined.chars().skip(n - MAX_CATCHUP_CHARS).collect();
        format!("…(earlier text cut; the full output is in the run's stream)\n{tail}")
    } else {
        joined
    };
    Some(format!(
        "📋 Catch-up ({} missed message{}):\n\n{body}",
        texts.len(),
        if texts.len() == 1 { "" } else { "s" }
    ))
}

/// The runner's live foreground state.
#[derive(Debug)]
pub struct Foreground {
    run_dir: PathBuf,
    /// Streaming is on.
    pub enabled: bool,
    /// Offset of `stream.jsonl` whose text has been sent.
    pub sent_offset: u64,
    pending: String,
    pending_since: Option<Instant>,
    last_sent: Option<Instant>,
}

impl Foreground {
    /// The state of `run_dir` as persisted (a restarted runner resumes it).
    pub fn load(run_dir: &Path) -> Self {
        let f = read(run_dir);
        Self {
            run_dir: run_dir.to_path_buf(),
            enabled: f.enabled,
            sent_offset: f.offset,
            pending: String::new(),
            pending_since: None,
            last_sent: None,
        }
    }

    /// Persist the state.
    pub fn save(&self) {
        let _ = write(
            &self.run_dir,
            FgFile {
                enabled: self.enabled,
                offset: self.sent_offset,
            },
        );
    }

    /// New top-level text arrived; `stream_pos` is the stream offset after it.
    pub fn push(&mut self, text: &str, now: Instant) {
        if !self.enabled {
            return;
        }
        if !self.pending.is_empty() {
            self.pending.push_str("\n\n");
        }
        self.pending.push_str(text);
        self.pending_since.get_or_insert(now);
    }

    /// Text to send now, if the debounce and pacing allow; marks everything up
    /// to `stream_pos` as sent. `force` sends whatever is pending (run ending).
    pub fn take_due(&mut self, now: Instant, stream_pos: u64, force: bool) -> Option<String> {
        if self.pending.is_empty() {
            if self.enabled && self.sent_offset < stream_pos && self.pending_since.is_none() {
                // Nothing to say about these bytes (tool calls, usage): skip them.
                self.sent_offset = stream_pos;
            }
            return None;
        }
        let since = self.pending_since.unwrap_or(now);
        let debounced = now.saturating_duration_since(since) >= DEBOUNCE
            || self.pending.chars().count() >= MAX_PENDING_CHARS;
        let paced = self
            .last_sent
            .is_none_or(|t| now.saturating_duration_since(t) >= MIN_INTERVAL);
        if !(force || (debounced && paced)) {
            return None;
        }
        self.pending_since = None;
        self.last_sent = Some(now);
        self.sent_offset = stream_pos;
        self.save();
        Some(format!("💬 {}", std::mem::take(&mut self.pending)))
    }

    /// Turn streaming on: returns the catch-up text since the last sent offset
    /// (up to `stream_pos`), parsed with `parser`.
    ///
    /// # Errors
    /// I/O errors reading the stream.
    pub fn enable(
        &mut self,
        stream: &Path,
        stream_pos: u64,
        parser: AnyParser,
    ) -> Result<Option<String>> {
        let was = self.enabled;
        self.enabled = true;
        if was {
            self.save();
            return Ok(None);
        }
        let texts = texts_between(stream, self.sent_offset, stream_pos, parser)?;
        self.sent_offset = stream_pos;
        self.pending.clear();
        self.pending_since = None;
        self.save();
        Ok(render_catchup(&texts))
    }

    /// Turn streaming off: returns pending text to send first.
    pub fn disable(&mut self, now: Instant, stream_pos: u64) -> Option<String> {
        let out = self.take_due(now, stream_pos, true);
        self.enabled = false;
        self.save();
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn debounces_paces_and_never_sends_twice() {
        let tmp = tempfile::tempdir().unwrap();
        let mut fg = Foreground::load(tmp.path());
        fg.enabled = true;
        let t0 = Instant::now();
        fg.push("a", t0);
        assert_eq!(fg.take_due(t0, 10, false), None, "debounce");
        tokio::time::advance(DEBOUNCE).await;
        fg.push("b", Instant::now());
        assert_eq!(
            fg.take_due(Instant::now(), 20, false).as_deref(),
            Some("💬 a\n\nb")
        );
        assert_eq!(
            read(tmp.path()),
            FgFile {
                enabled: true,
                offset: 20
            }
        );
        fg.push("c", Instant::now());
        tokio::time::advance(DEBOUNCE).await;
        assert_eq!(fg.take_due(Instant::now(), 30, false), None, "paced");
        tokio::time::advance(MIN_INTERVAL).await;
        assert_eq!(
            fg.take_due(Instant::now(), 30, false).as_deref(),
            Some("💬 c")
        );
        assert_eq!(fg.take_due(Instant::now(), 40, true), None);
        assert_eq!(fg.sent_offset, 40);
    }

    #[test]
    fn catchup_keeps_the_newest_text() {
        assert_eq!(render_catchup(&[]), None);
        let one = render_catchup(&["hello".to_owned()]).unwrap();
        assert_eq!(one, "📋 Catch-up (1 missed message):\n\nhello");
        let long = vec!["x".repeat(MAX_CATCHUP_CHARS), "END".to_owned()];
        let c = render_catchup(&long).unwrap();
        assert!(c.ends_with("END") && c.contains("earlier text cut"));
    }
}
