//! The 🚀 launch message: what the chat hears when a run starts, in one
//! message however long the task.

use crate::channels::Body;
use crate::channels::telegram_text::{TELEGRAM_MAX_MESSAGE_LEN, utf16_len};

use super::{RunInfo, TASK_PREVIEW_CHARS, esc, esc_preview, fmt_duration, preview};

/// Render the launch message.
pub fn render_launch(info: &RunInfo, pid: u32) -> Body {
    let x = info.names.display;
    let resume = info.resume.clone().unwrap_or_else(|| "new".to_owned());
    let mut plain = format!("🚀 {x} started\n");
    let mut html = format!("🚀 <b>{x} started</b>\n");
    let mut md = format!("🚀 *{x} started*\n");
    if let Some(l) = &info.label {
        plain.push_str(&format!("Label: {l}\n"));
        html.push_str(&format!("<b>Label:</b> {}\n", esc(l)));
        md.push_str(&format!("*Label:* {l}\n"));
    }
    if let Some(w) = &info.worktree {
        plain.push_str(&format!("Worktree: {w}\n"));
        html.push_str(&format!("<b>Worktree:</b> {}\n", esc(w)));
        md.push_str(&format!("*Worktree:* {w}\n"));
    }
    let dur = fmt_duration(info.timeout_secs as i64);
    let p = &info.project;
    let run = &info.run_id;
    let safety = &info.safety;
    plain.push_str(&format!(
        "Project: {p}\nTimeout: {dur}\nSafety: {safety}\nResume: {resume}\nRun: {run}\nPID: {pid}\nPrompt: {}",
        preview(&info.prompt, 300)
    ));
    html.push_str(&format!(
        "<b>Project:</b> {}\n<b>Timeout:</b> {dur}\n<b>Safety:</b> {}\n<b>Resume:</b> {}\n<b>Run:</b> <code>{}</code>\n<b>PID:</b> {pid}\n<b>Prompt:</b>\n<blockquote expandable>",
        esc(p),
        esc(safety),
        esc(&resume),
        esc(run),
    ));
    // The task preview fills what is left of one Telegram message, never
    // more: a longer launch message would be split, leaving a stray fragment.
    let close = "</blockquote>";
    let room = TELEGRAM_MAX_MESSAGE_LEN.saturating_sub(utf16_len(&html) + utf16_len(close));
    html.push_str(&esc_preview(&info.prompt, TASK_PREVIEW_CHARS, room));
    html.push_str(close);
    md.push_str(&format!(
        "*Project:* {p}\n*Timeout:* {dur}\n*Safety:* {safety}\n*Resume:* {resume}\n*Run:* {run}\n*PID:* {pid}\nPrompt: {}",
        preview(&info.prompt, 300)
    ));
    Body {
        plain,
        html: Some(html),
        markdown: Some(md),
    }
}
