//! The run's control socket: how `clawrun notify` (called by the agent from
//! inside its run) and other local commands talk to a live runner.
//!
//! `<run dir>/control.sock` is a Unix stream socket, mode 0600 inside the 0700
//! run directory. Protocol: one JSON request line, one JSON reply line. Nothing
//! secret crosses it: the runner owns the channel and its tokens; the agent
//! only hands over text.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use crate::core::error::{Error, Result};

/// File name of the socket in the run directory.
pub const CONTROL_SOCKET_NAME: &str = "control.sock";
/// Longest progress note accepted (characters).
pub const MAX_NOTE_CHARS: usize = 2000;

/// A request to the runner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Relay a progress note to the human.
    Notify {
        /// The note.
        text: String,
    },
    /// Stream the agent's text into the chat (after a catch-up).
    Fg,
    /// Stop streaming the agent's text.
    Bg,
    /// Send the next user message to a multi-turn run.
    Respond {
        /// The message.
        text: String,
        /// Interrupt the turn in progress first.
        #[serde(default)]
        interrupt: bool,
        /// From the human: resets the auto-respond counter.
        #[serde(default)]
        user: bool,
    },
}

/// Longest `respond` message accepted (bytes).
pub const MAX_RESPOND_BYTES: usize = 64 * 1024;

/// The runner's reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    /// Whether the request was accepted.
    pub ok: bool,
    /// Why not.
    pub error: Option<String>,
}

impl Reply {
    /// Accepted.
    pub fn ok() -> Self {
        Self {
            ok: true,
            error: None,
        }
    }

    /// Refused.
    pub fn err(msg: impl Into<String>) -> Self {
        Self {
            ok: false,
            error: Some(msg.into()),
        }
    }
}

/// A request waiting for the runner's answer.
pub type Pending = (Request, oneshot::Sender<Reply>);

/// Bind the control socket in `run_dir` and serve it: each request is handed to
/// the returned receiver with a reply channel. The socket file is removed when
/// the returned guard drops.
///
/// # Errors
/// When the socket cannot be bound (e.g. a path longer than the 108-byte limit).
pub fn serve(run_dir: &Path) -> Result<(mpsc::Receiver<Pending>, SocketGuard)> {
    let path = run_dir.join(CONTROL_SOCKET_NAME);
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)
        .map_err(|e| Error::io(format!("binding {}", path.display()), e))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io(format!("chmod {}", path.display()), e))?;
    }
    let (tx, rx) = mpsc::channel::<Pending>(16);
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let _ = handle(stream, tx).await;
            });
        }
    });
    Ok((rx, SocketGuard { path, task }))
}

async fn handle(stream: UnixStream, tx: mpsc::Sender<Pending>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    // A bounded read: a request is small (a `respond` message at most
    // MAX_RESPOND_BYTES, escaped).
    let n = tokio::time::timeout(
        Duration::from_secs(5),
        BufReader::new(read)
            .take(8 * MAX_RESPOND_BYTES as u64)
            .read_line(&mut line),
    )
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "request timeout"))??;
    let reply = if n == 0 {
        Reply::err("empty request")
    } else {
        match serde_json::from_str::<Request>(&line) {
            Err(e) => Reply::err(format!("bad request: {e}")),
            Ok(req) => {
                let (rtx, rrx) = oneshot::channel();
                if tx.send((req, rtx)).await.is_err() {
                    Reply::err("the run is finishing")
                } else {
                    rrx.await
                        .unwrap_or_else(|_| Reply::err("the run is finishing"))
                }
            }
        }
    };
    let mut out = serde_json::to_vec(&reply).map_err(std::io::Error::other)?;
    out.push(b'\n');
    write.write_all(&out).await
}

use tokio::io::AsyncReadExt as _;

/// Removes the socket file and stops serving when dropped.
#[derive(Debug)]
pub struct SocketGuard {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SocketGuard {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Send `req` to the runner of `run_dir` and return its reply.
///
/// # Errors
/// When no runner listens there (the run is over or the directory is wrong).
pub async fn request(run_dir: &Path, req: &Request) -> Result<Reply> {
    let path = run_dir.join(CONTROL_SOCKET_NAME);
    let stream = UnixStream::connect(&path).await.map_err(|e| {
        Error::io(
            format!(
                "no live run at {} (is the run still going?)",
                run_dir.display()
            ),
            e,
        )
    })?;
    let (read, mut write) = stream.into_split();
    let mut out = serde_json::to_vec(req)
        .map_err(|e| Error::io("encoding request", std::io::Error::other(e)))?;
    out.push(b'\n');
    write
        .write_all(&out)
        .await
        .map_err(|e| Error::io("sending to the runner", e))?;
    let mut line = String::new();
    tokio::time::timeout(
        Duration::from_secs(30),
        BufReader::new(read).read_line(&mut line),
    )
    .await
    .map_err(|_| {
        Error::io(
            "waiting for the runner",
            std::io::Error::new(std::io::ErrorKind::TimedOut, "timeout"),
        )
    })?
    .map_err(|e| Error::io("reading the runner's reply", e))?;
    serde_json::from_str(&line)
        .map_err(|e| Error::io("parsing the runner's reply", std::io::Error::other(e)))
}

/// A token bucket for progress notes: `burst` at once, then one per `every`.
#[derive(Debug, Clone)]
pub struct NoteLimiter {
    burst: f64,
    every: Duration,
    tokens: f64,
    last: tokio::time::Instant,
    /// Total notes accepted.
    pub accepted: u32,
    /// Most notes per run.
    pub max_total: u32,
}

impl NoteLimiter {
    /// A limiter with `burst` notes at once, one more per `every`, at most `max_total`.
    pub fn new(burst: u32, every: Duration, max_total: u32) -> Self {
        Self {
            burst: f64::from(burst),
            every,
            tokens: f64::from(burst),
            last: tokio::time::Instant::now(),
            accepted: 0,
            max_total,
        }
    }

    /// A progress note from the agent: checked (not empty, not too long),
    /// then counted against the rate. Returns the note, trimmed.
    ///
    /// # Errors
    /// The reply that refuses it.
    pub fn accept<'t>(&mut self, text: &'t str) -> std::result::Result<&'t str, Reply> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Reply::err("empty note"));
        }
        if text.chars().count() > MAX_NOTE_CHARS {
            return Err(Reply::err(format!(
                "note longer than {MAX_NOTE_CHARS} characters"
            )));
        }
        self.take().map_err(Reply::err)?;
        Ok(text)
    }

    /// Take one note, or say how long to wait.
    ///
    /// # Errors
    /// A message saying when to try again, or that the run's quota is used up.
    pub fn take(&mut self) -> std::result::Result<(), String> {
        if self.accepted >= self.max_total {
            return Err(format!(
                "rate limited: at most {} notes per run",
                self.max_total
            ));
        }
        let now = tokio::time::Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() / self.every.as_secs_f64();
        self.tokens = (self.tokens + refill).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.accepted += 1;
            Ok(())
        } else {
            let wait = ((1.0 - self.tokens) * self.every.as_secs_f64()).ceil();
            Err(format!("rate limited: try again in {wait}s"))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn limiter_allows_a_burst_then_one_per_interval() {
        let mut l = NoteLimiter::new(2, Duration::from_secs(10), 4);
        assert!(l.take().is_ok());
        assert!(l.take().is_ok());
        let e = l.take().unwrap_err();
        assert!(e.contains("try again in 10s"), "{e}");
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(l.take().is_ok());
        tokio::time::advance(Duration::from_secs(100)).await;
        assert!(l.take().is_ok());
        assert!(l.take().unwrap_err().contains("at most 4 notes"));
    }
}
