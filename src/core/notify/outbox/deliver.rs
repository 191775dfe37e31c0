//! A delivery pass over one run's outbox: pending items in order through the
//! run's channel, in two lanes (messages; wakes, never before every earlier
//! message is settled), each retried with backoff (honouring `retry_after`)
//! within a [`RetryPolicy`], and what the pass did ([`PassReport`]).

use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::channels::{AnyChannel, Channel, ChannelError, MessageKind};
use crate::core::error::{Error, Result};
use crate::core::now_secs;
use crate::core::store::fsutil;

use super::{Entry, Item, Line, Outbox};

/// How hard to try.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// First backoff.
    pub base: Duration,
    /// Longest backoff.
    pub max: Duration,
    /// Attempts per item in this delivery pass.
    pub max_attempts: u32,
    /// Give up this pass after this long in total (items stay pending).
    pub budget: Duration,
    /// Deliver wakes in this pass (false: messages only).
    pub wakes: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(500),
            max: Duration::from_secs(30),
            max_attempts: 8,
            budget: Duration::from_secs(120),
            wakes: true,
        }
    }
}

impl RetryPolicy {
    /// Backoff before attempt `n` (1-based; attempt 1 has none).
    pub fn backoff(&self, attempt: u32) -> Duration {
        if attempt <= 1 {
            return Duration::ZERO;
        }
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(2))
            .unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }
}

/// What a delivery pass did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PassReport {
    /// Items delivered in this pass.
    pub delivered: Vec<String>,
    /// Items abandoned in this pass, with the reason.
    pub abandoned: Vec<(String, String)>,
    /// Items still pending after it.
    pub pending: usize,
    /// The last error, when something is still pending.
    pub last_error: Option<String>,
}

/// How one item's attempts in a pass ended.
enum Tried {
    /// Delivered, or given up for good.
    Settled,
    /// Still pending: its lane waits for the next pass.
    Blocked,
}

/// The two lanes of a pass: whether each is blocked by an item that could
/// not be delivered in it.
#[derive(Default)]
struct Lanes {
    messages_blocked: bool,
    wakes_blocked: bool,
}

impl Outbox {
    /// Deliver pending items in order through `channel`, retrying with backoff
    /// (honouring `retry_after`) within `policy`. Stops at the first item that
    /// cannot be delivered in this pass, so nothing overtakes it. Superseded
    /// heartbeats are abandoned instead of sent. `before_send` may veto an
    /// item (returning a reason to abandon it, e.g. a stale wake).
    ///
    /// Returns `None` when another process holds the outbox (it is delivering).
    ///
    /// # Errors
    /// I/O errors on the outbox itself.
    pub async fn deliver(
        &self,
        channel: &AnyChannel,
        policy: &RetryPolicy,
        before_send: &mut (dyn FnMut(&Entry) -> Option<String> + Send),
    ) -> Result<Option<PassReport>> {
        let lock_file = fsutil::open_append(&self.lock_path)
            .map_err(|e| Error::io(format!("opening {}", self.lock_path.display()), e))?;
        let mut lock = fd_lock::RwLock::new(lock_file);
        let Ok(_guard) = lock.try_write() else {
            return Ok(None);
        };
        let started = Instant::now();
        let mut report = PassReport::default();
        let pending = self.pending()?;
        let newest_heartbeat = pending
            .iter()
            .filter(|e| matches!(&e.item, Item::Message(m) if m.kind == MessageKind::Heartbeat))
            .map(|e| e.seq)
            .max();
        // Two lanes: messages in order among themselves; wakes in order among
        // themselves, and never before every earlier message is settled (the
        // human gets the result before the agent is woken).
        let mut lanes = Lanes::default();
        for entry in &pending {
            let is_wake = matches!(entry.item, Item::Wake(_));
            if lanes.messages_blocked || (is_wake && (lanes.wakes_blocked || !policy.wakes)) {
                report.pending += 1;
                continue;
            }
            let superseded = matches!(&entry.item, Item::Message(m) if m.kind == MessageKind::Heartbeat)
                && Some(entry.seq) != newest_heartbeat;
            if superseded {
                self.abandon(&entry.key, "superseded by a newer heartbeat")?;
                report
                    .abandoned
                    .push((entry.key.clone(), "superseded".to_owned()));
                continue;
            }
            if let Some(reason) = before_send(entry) {
                self.abandon(&entry.key, &reason)?;
                report.abandoned.push((entry.key.clone(), reason));
                continue;
            }
            let tried = self
                .try_item(channel, policy, entry, started, &mut report)
                .await?;
            if let Tried::Blocked = tried {
                if is_wake {
                    lanes.wakes_blocked = true;
                } else {
                    lanes.messages_blocked = true;
                }
                report.pending += 1;
            }
        }
        Ok(Some(report))
    }

    /// Send `entry` until it is delivered, fails for good, or the pass's
    /// attempts or time (from `started`) are used up; every attempt and its
    /// result is a line of the log.
    async fn try_item(
        &self,
        channel: &AnyChannel,
        policy: &RetryPolicy,
        entry: &Entry,
        started: Instant,
        report: &mut PassReport,
    ) -> Result<Tried> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            self.append(&Line::Attempt {
                key: entry.key.clone(),
                at: now_secs(),
            })?;
            let result = match &entry.item {
                Item::Message(m) => channel.send(m).await.map(|d| d.message_id),
                Item::Wake(w) => channel.wake(w).await.map(|a| a.detail),
            };
            let err = match result {
                Ok(message_id) => {
                    self.append(&Line::Delivered {
                        key: entry.key.clone(),
                        at: now_secs(),
                        message_id,
                    })?;
                    report.delivered.push(entry.key.clone());
                    return Ok(Tried::Settled);
                }
                Err(err) => err,
            };
            let retryable = err.is_retryable();
            self.append(&Line::Failed {
                key: entry.key.clone(),
                at: now_secs(),
                error: err.to_string(),
                retryable,
            })?;
            report.last_error = Some(err.to_string());
            if !retryable {
                self.abandon(&entry.key, &err.to_string())?;
                report.abandoned.push((entry.key.clone(), err.to_string()));
                return Ok(Tried::Settled);
            }
            let wait = match &err {
                ChannelError::RetryAfter(d) => *d,
                _ => policy.backoff(attempt + 1),
            };
            let out_of_time = started.elapsed() + wait > policy.budget;
            if attempt >= policy.max_attempts || out_of_time {
                return Ok(Tried::Blocked);
            }
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap() {
        let p = RetryPolicy {
            base: Duration::from_millis(100),
            max: Duration::from_millis(700),
            ..RetryPolicy::default()
        };
        let got: Vec<u128> = (1..=6).map(|n| p.backoff(n).as_millis()).collect();
        assert_eq!(got, vec![0, 100, 200, 400, 700, 700]);
        assert_eq!(p.backoff(200), Duration::from_millis(700));
    }
}
