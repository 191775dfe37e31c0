//! What the chat and the orchestrating agent hear when a runner died: the
//! crash message and the wake, under fixed keys so that every path that
//! finds the runner dead may queue them and they are still sent once.

use crate::channels::{Destination, MessageKind, Outgoing, Wake};
use crate::core::store::run::RunRecord;

use super::outbox::Item;
#[cfg(doc)]
use super::outbox::Outbox;
use super::{RunInfo, WakePayload, render_crash, render_wake};

/// A wake to send: to whom (the session key and uuid of the run's route),
/// with which marker, and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct WakeTarget {
    /// The OpenClaw session key to wake.
    pub session_key: String,
    /// The OpenClaw session uuid, when routing found it.
    pub session_id: Option<String>,
    /// The backend's wake marker (`[CLAUDE_CODE_RESULT]`).
    pub marker: &'static str,
    /// What the wake says.
    pub payload: WakePayload,
}

/// The idempotency key of a run's crash message (`kind` = `failure`) or crash
/// wake (`wake`): `<run id>:<kind>:crash`. Fixed, so that every path that
/// finds a runner dead (its panic guard, its watcher, a command that reaps
/// it) may record them, and the outbox keeps the first (a repeated key is
/// ignored): the chat hears of the crash once.
pub fn crash_key(run_id: &str, kind: &str) -> String {
    format!("{run_id}:{kind}:crash")
}

/// The crash message of a run whose runner died and, when the run has an
/// orchestrating agent, its wake (status `crashed`), under the fixed keys of
/// [`crash_key`], ready for [`Outbox::enqueue`]. The message shows the
/// tokens and cost of `record` (what the runner last wrote). Pure.
pub fn crash_items(
    info: &RunInfo,
    destination: &Destination,
    reply_to: Option<String>,
    (error, record): (&str, &RunRecord),
    wake: Option<WakeTarget>,
) -> Vec<Item> {
    let mut items = vec![Item::Message(Outgoing {
        idempotency_key: crash_key(&info.run_id, "failure"),
        kind: MessageKind::Failure,
        destination: destination.clone(),
        body: render_crash(info, error, &record.usage, record.cost_usd),
        silent: false,
        reply_to,
        edit_of: None,
        attachment: None,
    })];
    if let Some(mut w) = wake {
        let key = crash_key(&info.run_id, "wake");
        w.payload.wake_id = key.clone();
        items.push(Item::Wake(Wake {
            idempotency_key: key,
            session_key: Some(w.session_key),
            session_id: w.session_id,
            destination: destination.clone(),
            text: render_wake(w.marker, &w.payload),
        }));
    }
    items
}
