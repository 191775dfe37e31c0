//! Notifications: what the human is told about a run, rendered per markup
//! (plain, Telegram HTML, WhatsApp markdown), and handed to the run's channel.
//!
//! Templates follow the seed's (launch, result, timeout, failure, crash), fixed
//! where the seed was wrong (UTF-16-safe truncation is the channel's job; every
//! outcome reaches every channel).
//!
//! The notifier never prints: delivery trouble (messages still pending,
//! abandoned, an outbox that cannot be written) is reported through `tracing`
//! (`warn`/`error`), which the binary sends to stderr.

pub mod changes;
mod crash;
pub mod delivery;
mod denials;
mod followups;
pub mod foreground;
mod heartbeat;
mod launch;
pub mod outbox;
mod text;

pub use crash::{WakeTarget, crash_items, crash_key, render_crash};
use denials::denial_cause;
pub use denials::denials_line;
pub use followups::followups_not_run_line;

use std::path::Path;
use std::time::Duration;

use crate::backends::Names;
use crate::channels::{
    AnyChannel, Body, Channel, Destination, MessageKind, Outgoing, WOKEN_BUT_UNDELIVERED, Wake,
};
use crate::core::notify::outbox::{EntryStatus, Item, Outbox, RetryPolicy, StaleCheck};
use serde::Serialize;

use crate::core::config::Silence;
use crate::core::model::events::Usage;
use crate::core::model::state::{Outcome, RunState};
use crate::core::store::run::{CompletionMode, RunRecord, RunSpec};

/// Characters of the result shown in the result message.
pub const PREVIEW_CHARS: usize = 2000;
/// Characters of the task shown in the launch message.
pub const TASK_PREVIEW_CHARS: usize = 3500;

pub use crate::core::model::text::{fmt_cost, fmt_tokens, fmt_usage, fmt_usd, terminal_safe};
pub use heartbeat::render_heartbeat;
pub use launch::render_launch;
pub use text::{esc, esc_preview, fmt_duration, preview, resume_command, resume_fact, shell_quote};

/// What the notifier needs to know about the run.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// Run id.
    pub run_id: String,
    /// Backend names.
    pub names: Names,
    /// Label.
    pub label: Option<String>,
    /// Project directory.
    pub project: String,
    /// The task.
    pub prompt: String,
    /// Time limit.
    pub timeout_secs: u64,
    /// Resume id given.
    pub resume: Option<String>,
    /// The run's own worktree, `branch in path`.
    pub worktree: Option<String>,
    /// The safety preset and the CLI option it maps to
    /// ([`crate::backends::RunRequest::safety_summary`]).
    pub safety: String,
    /// What refused a denied tool call, for the result: `the read-only preset`,
    /// `--permission-mode plan`.
    pub denial_cause: String,
    /// The safety summary of a limited run, for the result message
    /// ([`crate::backends::RunRequest::limited_safety`]).
    pub limited_safety: Option<String>,
}

impl RunInfo {
    /// From a run spec.
    pub fn new(spec: &RunSpec, names: Names) -> Self {
        Self {
            run_id: spec.run_id.clone(),
            names,
            label: spec.label.clone(),
            project: spec.request.project.display().to_string(),
            prompt: spec.request.prompt.clone(),
            timeout_secs: spec.limits.timeout_secs,
            resume: spec.request.resume_id.clone(),
            worktree: spec.worktree.as_ref().map(changes::worktree_line),
            safety: spec.request.safety_summary(),
            denial_cause: denial_cause(&spec.request),
            limited_safety: spec.request.limited_safety(),
        }
    }
}

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
    /// The run wakes an orchestrating agent (its reply is the audible one).
    pub wakes: bool,
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
        let courier = tokio::spawn(async move {
            while rx.recv().await.is_some() {
                while rx.try_recv().is_ok() {}
                match courier_outbox
                    .deliver(&channel, &IN_RUN_POLICY, &mut |e| {
                        stale.as_ref().and_then(|s| s.veto(e))
                    })
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
                            if reason != "superseded" {
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
            wakes: false,
        }
    }

    /// The run's outbox.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
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
        self.silence.silent(final_message, self.wakes)
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

    /// Queue a wake of the orchestrating agent; the payload's `wake_id` is set
    /// to the wake's idempotency key.
    pub fn wake_with(
        &mut self,
        session_key: Option<String>,
        session_id: Option<String>,
        marker: &str,
        mut payload: WakePayload,
    ) {
        let key = self.next_key("wake");
        payload.wake_id = key.clone();
        let wake = Wake {
            idempotency_key: key,
            session_key,
            session_id,
            destination: self.destination.clone(),
            text: render_wake(marker, &payload),
        };
        self.enqueue(Item::Wake(wake));
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
        let reason = wake
            .last_error
            .clone()
            .unwrap_or_else(|| "no answer".to_owned());
        let text = match wake.status {
            EntryStatus::Delivered => return,
            EntryStatus::Abandoned if reason.starts_with("stale") => return,
            // Never tried: the messages before it are not through either, so
            // the human cannot be told anything now; the flush will do both.
            EntryStatus::Pending if wake.attempts == 0 => return,
            EntryStatus::Abandoned if reason.starts_with(WOKEN_BUT_UNDELIVERED) => format!(
                "⚠️ T{}. The result is in {}.",
                &reason[1..],
                output.display()
            ),
            EntryStatus::Abandoned => format!(
                "⚠️ Your agent was not woken about this result: {reason}. The result is in {}.",
                output.display()
            ),
            EntryStatus::Pending => format!(
                "⚠️ Your agent has not been woken yet ({reason}); clawrun will try again. \
                 The result is in {}.",
                output.display()
            ),
        };
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

/// The serde name of a message kind (`launch`, `heartbeat`, …).
pub fn kind_word(kind: MessageKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Everything the wake text carries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WakePayload {
    /// Run id.
    pub run_id: String,
    /// Wake id (the wake's idempotency key).
    pub wake_id: String,
    /// Backend.
    pub backend: String,
    /// Outcome word.
    pub status: String,
    /// clawrun's exit code for the outcome, as documented (README "Exit
    /// codes", SKILL's table: 4 timeout, 5 killed, …); `None` while waiting.
    pub exit_code: Option<i32>,
    /// The agent process's own exit status (`143` = SIGTERM), when it ended
    /// with one other than 0: shown apart, never as `exit=`.
    pub agent_exit: Option<i32>,
    /// Resume id.
    pub resume_id: Option<String>,
    /// Why the session cannot be resumed though it has an id
    /// ([`crate::core::store::run::RunRecord::no_resume`]).
    pub no_resume: Option<String>,
    /// Output file.
    pub output: String,
    /// Result preview.
    pub preview: String,
    /// Completion mode.
    pub mode: CompletionMode,
    /// Iteration i of N.
    pub iteration: u32,
    /// N.
    pub max_iterations: u32,
    /// Project.
    pub project: String,
    /// Label.
    pub label: Option<String>,
    /// The run's own worktree.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worktree: Option<crate::core::git::RunWorktree>,
    /// What changed in the project since the run's start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<crate::core::git::ChangeSummary>,
    /// Tool calls the permission mode or sandbox refused, with what refused
    /// them (`1 tool call denied by the read-only preset: Write src/x.rs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denied: Option<String>,
    /// The safety summary of a limited run (`read-only (--sandbox read-only)`),
    /// so the agent knows why nothing changed even when the CLI reported no
    /// denial.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safety: Option<String>,
    /// Follow-ups queued with `clawrun respond` that the run ended before
    /// running ([`followups_not_run_line`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub followups_not_run: Option<String>,
}

/// Characters of the result in the wake text.
pub const WAKE_PREVIEW_CHARS: usize = 1200;

/// The wake status of a multi-turn run that finished a turn and waits for input.
pub const WAITING_STATUS: &str = "waiting";
/// Characters of the agent's last text quoted in a "waiting for input" notice.
pub const WAITING_PREVIEW_CHARS: usize = 500;

/// The last `n` characters of `s`, with `…` in front when cut.
pub fn tail_chars(s: &str, n: usize) -> String {
    let count = s.chars().count();
    if count <= n {
        return s.to_owned();
    }
    let tail: String = s.chars().skip(count - n).collect();
    format!("…{tail}")
}

/// The "waiting for input" notice: `🔔 <label> asks:` and the tail of the
/// agent's text, with how to answer.
pub fn render_waiting(label: &str, run_id: &str, text: &str) -> String {
    let asks = tail_chars(text.trim(), WAITING_PREVIEW_CHARS);
    format!("🔔 {label} asks:\n{asks}\n\n↩️ Answer with `clawrun respond {run_id} \"…\"`.")
}

/// A process exit status in words: `143 (SIGTERM)` for a signal death as
/// the runner records it (128 + n), else the number.
fn describe_exit(code: i32) -> String {
    let signal = match code {
        130 => Some("SIGINT"),
        137 => Some("SIGKILL"),
        143 => Some("SIGTERM"),
        129 => Some("SIGHUP"),
        _ => None,
    };
    match signal {
        Some(name) => format!("{code} ({name})"),
        None => code.to_string(),
    }
}

/// Render the wake text the orchestrating agent reads.
pub fn render_wake(marker: &str, p: &WakePayload) -> String {
    let mut t = format!(
        "{marker} run_id={} wake_id={} backend={} status={} exit={} resume_id={} output={} mode={} iteration={}/{}\n",
        p.run_id,
        p.wake_id,
        p.backend,
        p.status,
        p.exit_code.map_or("-".to_owned(), |c| c.to_string()),
        p.resume_id.as_deref().unwrap_or("-"),
        p.output,
        p.mode.as_str(),
        p.iteration,
        p.max_iterations
    );
    if let Some(l) = &p.label {
        t.push_str(&format!("Label: {l}\n"));
    }
    if let Some(code) = p.agent_exit.filter(|c| *c != 0) {
        t.push_str(&format!("Agent exit status: {}\n", describe_exit(code)));
    }
    t.push_str(&changes::wake_lines(
        &p.run_id,
        p.worktree.as_ref(),
        p.changes.as_ref(),
    ));
    if let Some(s) = &p.safety {
        t.push_str(&format!("Safety: {s}\n"));
    }
    if let Some(d) = &p.denied {
        t.push_str(&format!("Denied: {d}\n"));
    }
    if let Some(f) = &p.followups_not_run {
        t.push_str(&format!("Follow-ups: {f}\n"));
    }
    let resume = p
        .resume_id
        .as_deref()
        .filter(|_| p.no_resume.is_none())
        .map(|id| resume_command(&p.backend, id, Path::new(&p.project)));
    if p.status != WAITING_STATUS
        && let Some(fact) = resume_fact(
            &p.backend,
            p.resume_id.as_deref(),
            Path::new(&p.project),
            p.no_resume.as_deref(),
        )
    {
        t.push_str(&format!("Resume: {fact}\n"));
    }
    if p.status == WAITING_STATUS {
        t.push_str(&format!(
            "Project: {}\n\nThe agent asks:\n{}\n\n---\n\
             This is an automated signal from clawrun, not a message from the user: a multi-turn \
             run finished its turn and is waiting for input. The user has already seen the \
             question. If you can answer it from what the user asked, run: clawrun respond {} \
             \"your answer\". If only the user can, ask them and send their answer with \
             clawrun respond {} --user \"their answer\". Otherwise leave it: the run closes by \
             itself when nobody answers.",
            p.project, p.preview, p.run_id, p.run_id
        ));
        return t;
    }
    t.push_str(&format!(
        "Project: {}\n\nResult preview:\n{}\n\n---\n",
        p.project, p.preview
    ));
    t.push_str(
        "This is an automated completion signal from clawrun, not a message from the user; \
         do not quote it verbatim. The user has already received the result message. ",
    );
    match p.mode {
        CompletionMode::Single => {
            t.push_str("Tell the user what it means in a few lines if useful, then stop.")
        }
        CompletionMode::Iterate => {
            if p.iteration < p.max_iterations {
                let how = match &resume {
                    Some(_) => "with the Resume command above (the next task in FILE; it reports \
                                to this chat and counts the iteration)"
                        .to_owned(),
                    None if p.no_resume.is_some() => {
                        "its session cannot be resumed (see Resume above): start a new run \
                         instead"
                            .to_owned()
                    }
                    None => "the session id is unknown, so it cannot be resumed: start a new \
                             run instead"
                        .to_owned(),
                };
                t.push_str(&format!(
                    "Check the result against the user's original goal. If the goal is met, report and stop. \
                     If not, first post a short visible message to the user (what was done, what is \
                     missing, what the next run will do), then launch exactly one next iteration \
                     {how} (iteration {} of {}).",
                    p.iteration + 1,
                    p.max_iterations
                ));
            } else {
                t.push_str("This was the last allowed iteration: report what was done and what is missing, then stop.");
            }
        }
    }
    t.push_str(&format!(" Full output: {}", p.output));
    t
}

/// Render the result message of a finished run (`prompt`: the task;
/// `denial_cause`: what refused denied tool calls, see [`RunInfo::denial_cause`];
/// `safety`: the preset of a limited run, see [`RunInfo::limited_safety`]).
pub fn render_result(
    names: Names,
    outcome: Outcome,
    record: &RunRecord,
    state: &RunState,
    text: &str,
    duration: i64,
    (prompt, denial_cause, safety): (&str, &str, Option<&str>),
) -> Body {
    let x = names.display;
    let (icon, headline) = match outcome {
        Outcome::Completed => ("✅", format!("{x} task complete!")),
        Outcome::Failed => (
            "❌",
            format!("{x} error (exit {})", record.exit_code.unwrap_or(-1)),
        ),
        Outcome::Timeout => (
            "⏰",
            format!(
                "{x} timed out after {} (limit: {})",
                fmt_duration(duration),
                fmt_duration(record.timeout_secs as i64)
            ),
        ),
        Outcome::Killed => ("⛔", format!("{x} run killed")),
        Outcome::ResumeFailed => ("❌", format!("{x} resume failed")),
        Outcome::Crashed => ("💥", format!("{x} runner crashed")),
    };
    let usage = state.usage();
    let mut facts = vec![
        ("Task", preview(prompt, 200)),
        ("Project", record.project.display().to_string()),
        ("Duration", fmt_duration(duration)),
    ];
    if let Some(l) = &record.label {
        facts.insert(0, ("Label", l.clone()));
    }
    if usage.total() > 0 {
        facts.push(("Tokens", fmt_usage(&usage)));
    }
    if let Some(c) = state.cost_usd {
        facts.push(("Cost", fmt_usd(c)));
    }
    facts.push(("Tool calls", state.tool_calls.to_string()));
    facts.extend(changes::result_facts(record));
    if let Some(s) = safety {
        facts.push(("Safety", s.to_owned()));
    }
    if let Some(line) = denials_line(&state.denied, denial_cause, &record.project) {
        facts.push(("Denied", line));
    }
    if let Some(line) = followups_not_run_line(&record.followups_not_run) {
        facts.push(("Follow-ups", line));
    }
    if let Some(r) = resume_fact(
        &record.backend,
        record.resume_id.as_deref(),
        &record.project,
        record.no_resume.as_deref(),
    ) {
        facts.push(("Resume", r));
    }
    if let (Outcome::ResumeFailed, Some(r)) = (outcome, &record.resumed_from) {
        facts.push((
            "Session",
            format!("{r} not found or expired; start a fresh session without --resume"),
        ));
    }
    let n = text.chars().count();
    let what = match outcome {
        Outcome::Completed => "Result",
        Outcome::Timeout | Outcome::Killed => "Partial result",
        _ => "Output",
    };
    let shown = preview(text, PREVIEW_CHARS);
    let out = record.output_file.display().to_string();

    let mut plain = format!("{icon} {headline}\n\n");
    let mut html = format!("{icon} <b>{}</b>\n\n", esc(&headline));
    let mut md = format!("{icon} *{headline}*\n\n");
    for (k, v) in &facts {
        plain.push_str(&format!("{k}: {v}\n"));
        html.push_str(&format!("<b>{k}:</b> {}\n", esc(v)));
        md.push_str(&format!("*{k}:* {v}\n"));
    }
    plain.push_str(&format!(
        "\n{what} ({n} chars):\n\n{shown}\n\nFull output: {out}"
    ));
    html.push_str(&format!(
        "\n<b>{what}</b> ({n} chars):\n<blockquote expandable>{}</blockquote>\n<b>Full output:</b> <code>{}</code>",
        esc(&shown),
        esc(&out)
    ));
    md.push_str(&format!(
        "\n*{what}* ({n} chars):\n\n{shown}\n\nFull output: {out}"
    ));
    Body {
        plain,
        html: Some(html),
        markdown: Some(md),
    }
}

#[cfg(test)]
mod tests;
