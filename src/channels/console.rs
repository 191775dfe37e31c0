//! The console channel: the default when nothing else is configured.
//!
//! Each message is printed to stderr (plain text) and appended as one JSON line to
//! `notifications.jsonl` in the run directory, so a new user sees what would have
//! been sent, and tests can read it back.
//!
//! Writing to stderr is this channel's delivery medium, so it is the one place
//! in the library that writes to a standard stream on purpose; set
//! [`Console::echo`] to `false` for the log file alone.

use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

use crate::channels::{Channel, ChannelError, Delivery, Outgoing, Wake, WakeAck};

/// File name of the console channel's log in the run directory.
pub const NOTIFICATIONS_FILE_NAME: &str = "notifications.jsonl";

/// Prints messages to stderr and appends them to `notifications.jsonl`.
#[derive(Debug, Clone, Default)]
pub struct Console {
    /// Where to append the JSON lines; `None` = stderr only.
    pub log_path: Option<PathBuf>,
    /// Print to stderr as well.
    pub echo: bool,
}

#[derive(Serialize)]
struct Line<'a> {
    at: i64,
    idempotency_key: &'a str,
    kind: &'a str,
    text: &'a str,
}

impl Console {
    /// A console channel logging to `log_path` and echoing to stderr.
    pub fn new(log_path: Option<PathBuf>) -> Self {
        Self {
            log_path,
            echo: true,
        }
    }

    fn append(&self, key: &str, kind: &str, text: &str) -> Result<(), ChannelError> {
        if self.echo {
            // A closed stderr must not fail the delivery record.
            // The agent's text may carry terminal escapes: never passed through.
            let shown = crate::core::model::text::terminal_safe(text);
            let _ = writeln!(std::io::stderr().lock(), "{shown}");
        }
        let Some(path) = &self.log_path else {
            return Ok(());
        };
        let line = serde_json::to_string(&Line {
            at: crate::core::now_secs(),
            idempotency_key: key,
            kind,
            text,
        })
        .map_err(|e| ChannelError::Permanent(format!("encoding notification: {e}")))?;
        crate::core::store::fsutil::append_line(path, &line)
            .map_err(|e| ChannelError::Transient(format!("writing {}: {e}", path.display())))
    }
}

impl Channel for Console {
    fn id(&self) -> &str {
        "console"
    }

    async fn send(&self, msg: &Outgoing) -> Result<Delivery, ChannelError> {
        let kind = serde_json::to_value(msg.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        self.append(&msg.idempotency_key, &kind, &msg.body.plain)?;
        Ok(Delivery::default())
    }

    async fn wake(&self, wake: &Wake) -> Result<WakeAck, ChannelError> {
        self.append(&wake.idempotency_key, "wake", &wake.text)?;
        Ok(WakeAck {
            detail: Some("logged".to_owned()),
        })
    }
}
