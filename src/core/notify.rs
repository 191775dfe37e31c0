//! Notifications: what the human is told about a run, rendered per markup
//! (plain, Telegram HTML, WhatsApp markdown), and handed to the run's channel.
//!
//! Templates follow the seed's (launch, result, timeout, failure, crash), fixed
//! where the seed was wrong (UTF-16-safe truncation is the channel's job; every
//! outcome reaches every channel).

use crate::backends::Names;
use crate::channels::{AnyChannel, Body, Channel, Destination, MessageKind, Outgoing};
use crate::core::run::{RunRecord, RunSpec};
use crate::core::state::{Outcome, RunState};

/// Characters of the result shown in the result message.
pub const PREVIEW_CHARS: usize = 2000;
/// Characters of the task shown in the launch message.
pub const TASK_PREVIEW_CHARS: usize = 3500;

/// `fmt_duration` of the seed: `45s`, `3min`.
pub fn fmt_duration(secs: i64) -> String {
    if secs < 60 {
        format!("{secs}s")
    } else {
        format!("{}min", secs / 60)
    }
}

/// `format_tokens` of the seed: `950`, `1.2K`, `12K`.
pub fn fmt_tokens(n: u64) -> String {
    if n < 1000 {
        n.to_string()
    } else if n < 10_000 {
        format!("{:.1}K", n as f64 / 1000.0)
    } else {
        format!("{}K", n / 1000)
    }
}

/// Escape text for Telegram HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// The first `n` characters of `s`, with `…` when cut.
pub fn preview(s: &str, n: usize) -> String {
    let mut it = s.chars();
    let head: String = it.by_ref().take(n).collect();
    if it.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

/// Sends a run's notifications through its channel, numbering them for
/// idempotency keys (`run_id:kind:seq`).
#[derive(Debug)]
pub struct Notifier {
    channel: AnyChannel,
    run_id: String,
    names: Names,
    destination: Destination,
    label: Option<String>,
    project: String,
    prompt: String,
    timeout_secs: u64,
    resume: Option<String>,
    seq: u64,
}

impl Notifier {
    /// A notifier for the run described by `spec`.
    pub fn new(channel: AnyChannel, spec: &RunSpec, names: Names) -> Self {
        Self {
            channel,
            run_id: spec.run_id.clone(),
            names,
            destination: Destination::default(),
            label: spec.label.clone(),
            project: spec.project.display().to_string(),
            prompt: spec.prompt.clone(),
            timeout_secs: spec.timeout_secs,
            resume: spec.resume_id.clone(),
            seq: 0,
        }
    }

    async fn send(&mut self, kind: MessageKind, body: Body, silent: bool) {
        self.seq += 1;
        let kind_word = serde_json::to_value(kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let msg = Outgoing {
            idempotency_key: format!("{}:{kind_word}:{}", self.run_id, self.seq),
            kind,
            destination: self.destination.clone(),
            body,
            silent,
            reply_to: None,
            edit_of: None,
            attachment: None,
        };
        if let Err(e) = self.channel.send(&msg).await {
            tracing::warn!("notification {} not delivered: {e}", msg.idempotency_key);
            eprintln!("⚠ notification not delivered: {e}");
        }
    }

    /// The launch message.
    pub async fn launch(&mut self, runner_pid_or_agent: u32) {
        let x = self.names.display;
        let resume = self.resume.clone().unwrap_or_else(|| "new".to_owned());
        let mut plain = format!("🚀 {x} started\n");
        let mut html = format!("🚀 <b>{x} started</b>\n");
        let mut md = format!("🚀 *{x} started*\n");
        if let Some(l) = &self.label {
            plain.push_str(&format!("Label: {l}\n"));
            html.push_str(&format!("<b>Label:</b> {}\n", esc(l)));
            md.push_str(&format!("*Label:* {l}\n"));
        }
        let dur = fmt_duration(self.timeout_secs as i64);
        let p = &self.project;
        plain.push_str(&format!(
            "Project: {p}\nTimeout: {dur}\nResume: {resume}\nRun: {}\nPID: {runner_pid_or_agent}\nPrompt: {}",
            self.run_id,
            preview(&self.prompt, 300)
        ));
        html.push_str(&format!(
            "<b>Project:</b> {}\n<b>Timeout:</b> {dur}\n<b>Resume:</b> {}\n<b>Run:</b> <code>{}</code>\n<b>PID:</b> {runner_pid_or_agent}\n<b>Prompt:</b>\n<blockquote expandable>{}</blockquote>",
            esc(p),
            esc(&resume),
            esc(&self.run_id),
            esc(&preview(&self.prompt, TASK_PREVIEW_CHARS))
        ));
        md.push_str(&format!(
            "*Project:* {p}\n*Timeout:* {dur}\n*Resume:* {resume}\n*Run:* {}\n*PID:* {runner_pid_or_agent}\nPrompt: {}",
            self.run_id,
            preview(&self.prompt, 300)
        ));
        let body = Body {
            plain,
            html: Some(html),
            markdown: Some(md),
        };
        self.send(MessageKind::Launch, body, true).await;
    }

    /// A short lifecycle note.
    pub async fn progress_note(&mut self, text: &str) {
        self.send(MessageKind::Notice, Body::plain(text), true)
            .await;
    }

    /// The result message for any outcome.
    pub async fn result(
        &mut self,
        outcome: Outcome,
        record: &RunRecord,
        state: &RunState,
        text: &str,
        duration: i64,
    ) {
        let body = render_result(
            self.names,
            outcome,
            record,
            state,
            text,
            duration,
            &self.prompt,
        );
        let kind = if outcome == Outcome::Completed {
            MessageKind::Result
        } else {
            MessageKind::Failure
        };
        self.send(kind, body, false).await;
    }

    /// The runner's own failure.
    pub async fn crash(&mut self, error: &str) {
        let x = self.names.display;
        let body = Body {
            plain: format!(
                "💥 {x} runner crashed!\n\nTask: {}\nError: {}",
                preview(&self.prompt, 200),
                preview(error, 500)
            ),
            html: Some(format!(
                "💥 <b>{x} runner crashed!</b>\n\n<b>Task:</b> {}\n<b>Error:</b> {}",
                esc(&preview(&self.prompt, 200)),
                esc(&preview(error, 500))
            )),
            markdown: Some(format!(
                "💥 *{x} runner crashed!*\n\n*Task:* {}\n*Error:* {}",
                preview(&self.prompt, 200),
                preview(error, 500)
            )),
        };
        self.send(MessageKind::Failure, body, false).await;
    }
}

/// Render the result message of a finished run.
pub fn render_result(
    names: Names,
    outcome: Outcome,
    record: &RunRecord,
    state: &RunState,
    text: &str,
    duration: i64,
    prompt: &str,
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
        facts.push((
            "Tokens",
            format!(
                "{} in / {} out",
                fmt_tokens(usage.input_tokens),
                fmt_tokens(usage.output_tokens)
            ),
        ));
    }
    if let Some(c) = state.cost_usd {
        facts.push(("Cost", format!("${c:.4}")));
    }
    facts.push(("Tool calls", state.tool_calls.to_string()));
    if let Some(r) = &record.resume_id {
        facts.push((
            "Resume",
            format!(
                "clawrun run --backend {} --resume {r} -p {} --task-file FILE",
                record.backend,
                record.project.display()
            ),
        ));
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
mod tests {
    use super::*;

    #[test]
    fn seed_formats() {
        assert_eq!(fmt_duration(59), "59s");
        assert_eq!(fmt_duration(185), "3min");
        assert_eq!(fmt_tokens(999), "999");
        assert_eq!(fmt_tokens(1234), "1.2K");
        assert_eq!(fmt_tokens(12_345), "12K");
        assert_eq!(esc("<a & b>\"'"), "&lt;a &amp; b&gt;\"'");
        assert_eq!(preview("héllo", 2), "hé…");
        assert_eq!(preview("hé", 2), "hé");
    }
}
