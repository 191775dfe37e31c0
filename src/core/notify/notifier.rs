//! The [`Notifier`]: a run's messages and wake, each recorded in the run's
//! outbox before a background courier delivers it; whether the wake is
//! skipped as stale ([`StaleCheck`]), and the one note to the human when the
//! wake did not happen.

use std::path::Path;
use std::time::Duration;

use crate::channels::{AnyChannel, Body, Channel, Destination, MessageKind, Outgoing, Wake};
use crate::core::config::Silence;
use crate::core::model::events::Usage;
use crate::core::model::state::{Outcome, RunState};
use crate::core::store::run::RunRecord;

use super::outbox::{Item, Outbox, RetryPolicy, StaleCheck};
use super::{
    RunInfo, WakeState, WakeTarget, kind_word, render_crash, render_launch, render_result,
    render_wake, stale,
};

/// Sends a run's notifications: each is recorded in the run's outbox (with an
/// idempotency key `run_id:kind:seq`) before a background courier delivers it.
#[derive(Debug)]
pub struct Notifier {
    info: RunInfo,
    outbox: Outbox,
    channel_id: String,
    destination: Destination,
    seq: u64,
    kick: Option<tokio::sync::mpsc::UnboundedSender<()>>,
    courier: Option<tokio::task::JoinHandle<()>>,
    /// Edit one heartbeat message in place instead of posting new ones.
    pub heartbeat_edit: bool,
    heartbeat_message: Option<String>,
    final_channel: AnyChannel,
    /// Reply to this message id (`--reply-to-message-id`).
    pub reply_to: Option<String>,
    /// Which messages are silent (`[notify] silent`).
    pub silence: Silence,
    /// Send technical trace markers (`--trace-live`).
    pub trace_live: bool,
    /// Whether the run wakes an agent, and whether its wake is stale.
    pub wake: WakeState,
}

/// Delivery budget of one courier pass while the run goes on.
const IN_RUN_POLICY: RetryPolicy = RetryPolicy {
    base: Duration::from_millis(500),
    max: Duration::from_secs(30),
    max_attempts: 8,
    budget: Duration::from_secs(60),
    wakes: true,
};

impl Notifier {
    /// A notifier writing to the outbox in `run_dir` and delivering through
    /// `channel` to `destination`. Must be called inside a tokio runtime.
    pub fn new(
        channel: AnyChannel,
        run_dir: &Path,
        info: RunInfo,
        destination: Destination,
        stale: Option<StaleCheck>,
    ) -> Self {
        let outbox = Outbox::new(run_dir);
        let final_channel = channel.clone();
        let channel_id = channel.id().to_owned();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let courier_outbox = outbox.clone();
        let wake = WakeState::new(false, stale);
        let courier_wake = wake.clone();
        let courier = tokio::spawn(async move {
            let wake = courier_wake;
            while rx.recv().await.is_some() {
                while rx.try_recv().is_ok() {}
                match courier_outbox
                    .deliver(&channel, &IN_RUN_POLICY, &mut |e| wake.veto(e))
                    .await
                {
                    Ok(Some(report)) => {
                        if let Some(e) = report.last_error.filter(|_| report.pending > 0) {
                            tracing::warn!(
                                "⚠ notifications pending ({} waiting): {e}",
                                report.pending
                            );
                        }
                        for (key, reason) in report.abandoned {
                            if reason.starts_with(stale::STALE_PREFIX) {
                                tracing::info!("wake {key} skipped: {reason}");
                            } else if reason != "superseded" {
                                tracing::error!("❌ notification {key} not delivered: {reason}");
                            }
                        }
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!("⚠ outbox: {e}"),
                }
            }
        });
        Self {
            info,
            outbox,
            channel_id,
            destination,
            seq: 0,
            kick: Some(tx),
            courier: Some(courier),
            heartbeat_edit: false,
            heartbeat_message: None,
            final_channel,
            reply_to: None,
            silence: Silence::Progress,
            trace_live: false,
            wake,
        }
    }

    fn next_key(&mut self, kind: &str) -> String {
        self.seq += 1;
        format!("{}:{kind}:{}", self.info.run_id, self.seq)
    }

    fn enqueue(&mut self, item: Item) {
        if let Err(e) = self.outbox.enqueue(&self.channel_id, item) {
            tracing::warn!("⚠ outbox: {e}");
            return;
        }
        if let Some(tx) = &self.kick {
            let _ = tx.send(());
        }
    }

    /// Whether a message is sent silently: `final_message` for the result,
    /// a failure or a crash (see [`Silence`]).
    pub fn is_silent(&self, final_message: bool) -> bool {
        self.silence
            .silent(final_message, self.wake.agent_turn_follows())
    }

    /// Queue a message of `kind`.
    pub fn send(&mut self, kind: MessageKind, body: Body, silent: bool) {
        let kind_word = kind_word(kind);
        let msg = Outgoing {
            idempotency_key: self.next_key(&kind_word),
            kind,
            destination: self.destination.clone(),
            body,
            silent,
            reply_to: self.reply_to.clone(),
            edit_of: None,
            attachment: None,
        };
        self.enqueue(Item::Message(msg));
    }

    /// A wake under the next key, which is also the payload's `wake_id`.
    fn next_wake(&mut self, target: WakeTarget, session_id: Option<String>) -> Wake {
        let WakeTarget {
            session_key,
            marker,
            mut payload,
            ..
        } = target;
        let key = self.next_key("wake");
        payload.wake_id = key.clone();
        Wake {
            idempotency_key: key,
            session_key: Some(session_key),
            session_id,
            destination: self.destination.clone(),
            text: render_wake(marker, &payload),
            argv_text: Some(payload.argv_text()),
        }
    }

    /// Wake the orchestrating agent with `target`, unless the wake is stale
    /// now (checked again at wake time: a later run of the chain may have
    /// started since the result was decided); a stale wake is recorded as
    /// given up ([`Notifier::skip_wake`]). `output` is named in the trace.
    pub fn send_wake(&mut self, target: WakeTarget, output: &Path) {
        if let Some(reason) = self.wake.skip_reason() {
            if self.trace_live {
                self.trace(&format!("[WAKE][SKIP] {reason}"));
            }
            tracing::info!("wake skipped: {reason}");
            self.skip_wake(target, &reason);
            return;
        }
        if self.trace_live {
            let t = format!(
                "[WAKE] dispatching wake (session={}, output={})",
                target.session_key,
                output.display()
            );
            self.trace(&t);
        }
        let session_id = target.session_id.clone();
        let wake = self.next_wake(target, session_id);
        self.enqueue(Item::Wake(wake));
    }

    /// Record a wake skipped as stale (`reason`, from
    /// [`StaleCheck::skip_reason`]): in the outbox as given up, so that `show`
    /// and `outbox list` say so; nothing is sent.
    pub fn skip_wake(&mut self, target: WakeTarget, reason: &str) {
        let wake = self.next_wake(target, None);
        let key = wake.idempotency_key.clone();
        let recorded = self
            .outbox
            .enqueue(&self.channel_id, Item::Wake(wake))
            .and_then(|()| self.outbox.abandon(&key, reason));
        if let Err(e) = recorded {
            tracing::warn!("⚠ outbox: {e}");
        }
    }

    /// A technical trace marker (`--trace-live`).
    pub fn trace(&mut self, text: &str) {
        self.send(
            MessageKind::Trace,
            Body::plain(format!("[TRACE][TECH]{text}")),
            self.is_silent(false),
        );
    }

    /// The launch message.
    pub fn launch(&mut self, pid: u32) {
        let body = render_launch(&self.info, pid);
        let silent = self.is_silent(false);
        self.send(MessageKind::Launch, body, silent);
    }

    /// A heartbeat (silent; edited in place when asked and possible).
    pub fn heartbeat(&mut self, text: String) {
        if self.heartbeat_edit && self.heartbeat_message.is_none() {
            self.heartbeat_message = self.delivered_heartbeat_id();
        }
        let msg = Outgoing {
            idempotency_key: self.next_key("heartbeat"),
            kind: MessageKind::Heartbeat,
            destination: self.destination.clone(),
            body: Body::plain(text),
            silent: self.is_silent(false),
            reply_to: None,
            edit_of: if self.heartbeat_edit {
                self.heartbeat_message.clone()
            } else {
                None
            },
            attachment: None,
        };
        self.enqueue(Item::Message(msg));
    }

    fn delivered_heartbeat_id(&self) -> Option<String> {
        self.outbox
            .entries()
            .ok()?
            .into_iter()
            .rev()
            .find_map(|e| match &e.item {
                Item::Message(m) if m.kind == MessageKind::Heartbeat => e.message_id.clone(),
                _ => None,
            })
    }

    /// Streamed agent text (foreground mode; silent).
    pub fn stream(&mut self, text: String) {
        let silent = self.is_silent(false);
        self.send(MessageKind::Stream, Body::plain(text), silent);
    }

    /// A short lifecycle note (silent).
    pub fn notice(&mut self, text: &str) {
        let silent = self.is_silent(false);
        self.send(MessageKind::Notice, Body::plain(text), silent);
    }

    /// A progress note from the agent.
    pub fn progress(&mut self, text: &str) {
        let body = Body::plain(format!("📡 🟢 {}: {text}", self.info.names.tag));
        let silent = self.is_silent(false);
        self.send(MessageKind::Progress, body, silent);
    }

    /// The result message for any outcome.
    pub fn result(
        &mut self,
        outcome: Outcome,
        record: &RunRecord,
        state: &RunState,
        text: &str,
        duration: i64,
    ) {
        let body = render_result(
            self.info.names,
            outcome,
            record,
            state,
            text,
            duration,
            (
                &self.info.prompt,
                &self.info.denial_cause,
                self.info.limited_safety.as_deref(),
            ),
        );
        let kind = if outcome == Outcome::Completed {
            MessageKind::Result
        } else {
            MessageKind::Failure
        };
        let silent = self.is_silent(true);
        self.send(kind, body, silent);
    }

    /// The runner's own failure, with what the run had spent so far.
    pub fn crash(&mut self, error: &str, usage: &Usage, cost: Option<f64>) {
        let body = render_crash(&self.info, error, usage, cost);
        let silent = self.is_silent(true);
        self.send(MessageKind::Failure, body, silent);
    }

    /// Stop accepting messages and let the courier deliver what is queued,
    /// for at most `wait`. What is not delivered stays in the outbox for
    /// `clawrun outbox flush`.
    pub async fn finish(&mut self, wait: Duration, output: &Path) {
        self.kick = None;
        if let Some(mut courier) = self.courier.take() {
            if tokio::time::timeout(wait, &mut courier).await.is_err() {
                // Stuck in retries: stop it; what is left stays in the outbox.
                courier.abort();
                let _ = courier.await;
                tracing::warn!(
                    "⚠ some notifications are still pending; they stay in {} for `clawrun outbox flush`",
                    self.outbox.path().display()
                );
            }
        }
        // One message to the human when the wake did not happen.
        let Ok(entries) = self.outbox.entries() else {
            return;
        };
        let Some(wake) = entries
            .iter()
            .rev()
            .find(|e| matches!(e.item, Item::Wake(_)))
        else {
            return;
        };
        let Some((text, stale_now)) = self.wake.missed(wake, output) else {
            return;
        };
        if let Some(reason) = stale_now.filter(|_| self.trace_live) {
            self.trace(&format!("[WAKE][SKIP] {reason}"));
        }
        self.send(MessageKind::Notice, Body::plain(text), false);
        let policy = RetryPolicy {
            budget: wait.min(Duration::from_secs(30)),
            wakes: false,
            ..IN_RUN_POLICY
        };
        let _ = self
            .outbox
            .deliver(&self.final_channel, &policy, &mut |_| None)
            .await;
    }
}
