//! What the chat and the orchestrating agent hear when a runner died: the
//! crash message and the wake, under fixed keys so that every path that
//! finds the runner dead may queue them and they are still sent once.

use crate::channels::{Destination, MessageKind, Outgoing, Wake};
use crate::core::store::run::RunRecord;

use super::outbox::Item;
#[cfg(doc)]
use super::outbox::Outbox;
use super::{RunInfo, WakeTarget, esc, fmt_usage, fmt_usd, preview, render_wake};
use crate::channels::Body;
use crate::core::model::events::Usage;

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
            argv_text: Some(w.payload.argv_text()),
        }));
    }
    items
}

/// Render the crash message. `usage` and `cost` are what the run had spent
/// when its runner died (as its record last said), shown like the result
/// message shows them.
pub fn render_crash(info: &RunInfo, error: &str, usage: &Usage, cost: Option<f64>) -> Body {
    let x = info.names.display;
    let task = preview(&info.prompt, 200);
    let err = preview(error, 500);
    // Which run died and where: the seed's Task and Error, then what the
    // human needs to find or resume it (`clawrun show RUN` has the rest).
    let mut facts: Vec<(&str, String)> = info
        .label
        .iter()
        .map(|l| ("Label", l.clone()))
        .chain([
            ("Project", info.project.clone()),
            ("Run", info.run_id.clone()),
        ])
        .collect();
    if usage.total() > 0 {
        facts.push(("Tokens", fmt_usage(usage)));
    }
    if let Some(c) = cost {
        facts.push(("Cost", fmt_usd(c)));
    }
    let plain_facts: String = facts.iter().map(|(k, v)| format!("\n{k}: {v}")).collect();
    let html_facts: String = facts
        .iter()
        .map(|(k, v)| format!("\n<b>{k}:</b> {}", esc(v)))
        .collect();
    let md_facts: String = facts.iter().map(|(k, v)| format!("\n*{k}:* {v}")).collect();
    Body {
        plain: format!("💥 {x} runner crashed!\n\nTask: {task}\nError: {err}{plain_facts}"),
        html: Some(format!(
            "💥 <b>{x} runner crashed!</b>\n\n<b>Task:</b> {}\n<b>Error:</b> {}{html_facts}",
            esc(&task),
            esc(&err)
        )),
        markdown: Some(format!(
            "💥 *{x} runner crashed!*\n\n*Task:* {task}\n*Error:* {err}{md_facts}"
        )),
    }
}
