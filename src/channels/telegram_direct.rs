//! The `telegram-direct` channel: the Telegram Bot API, called directly with the
//! bot token from OpenClaw's config, and wakes through the `openclaw agent` CLI.
//!
//! Sending (only sending: this channel never calls `getUpdates`, which would steal
//! updates from the OpenClaw gateway polling the same bot):
//!
//! - `sendMessage` with `chat_id`, `message_thread_id` (an integer; omitted for the
//!   forum's General topic "1", which the Bot API rejects), `parse_mode: HTML` when
//!   the body has an HTML rendering, `disable_notification` = `silent`, and
//!   `reply_to_message_id` on the first chunk when replying;
//! - `editMessageText` when the message edits an earlier one;
//! - text over 4096 UTF-16 units is split with tags kept balanced
//!   ([`super::telegram_text`]); more than [`MAX_CHUNKS`] chunks is sent as one
//!   truncated message with a note instead;
//! - an attachment goes after the text with `sendDocument` (multipart);
//! - a 400 "can't parse entities" resends that chunk as plain text; a 400 "message
//!   thread not found" is a loud permanent error naming chat and thread: we never
//!   fall back to the main chat, where the message would reach the wrong audience.
//!
//! Errors: 429 → [`ChannelError::RetryAfter`] with `parameters.retry_after`
//! (the channel never sleeps); 5xx, timeouts and connection failures → transient;
//! other 4xx → permanent. A message sent in several chunks that fails half-way is
//! reported as failed, so a retry may repeat the chunks already delivered (a
//! duplicate is better than a loss).
//!
//! The bot token is part of every Bot API URL (`/bot<token>/method`). It is never
//! formatted into an error, log or `Debug` output: errors are built from our own
//! text (never the reqwest error with its URL), and any text that came from
//! outside is passed through a redactor as a second line of defence.
//!
//! Wake: `openclaw agent --session-id <uuid> --message-file <0600 file> --deliver --json
//! --timeout <s>` (or `--session-key <key>` when no uuid is known). Success only
//! when its JSON says the turn completed (`status: "ok"`) and the reply was
//! delivered (`deliveryStatus.succeeded: true`).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::channels::telegram_text::{
    TELEGRAM_MAX_MESSAGE_LEN, escape_html, split_html, split_plain, strip_html, truncate_html,
    truncate_plain, utf16_len,
};
use crate::channels::{Attachment, Channel, ChannelError, Delivery, Outgoing, Wake, WakeAck};
use crate::core::config::Secret;
use crate::core::openclaw::gateway::{HttpTimeouts, error_chain, redact, snippet};

/// Most messages one outgoing message is split into; longer texts are truncated.
pub const MAX_CHUNKS: usize = 3;
/// Telegram's General forum topic, sent without `message_thread_id`.
pub const GENERAL_TOPIC_ID: &str = "1";
/// Largest file the Bot API accepts with `sendDocument`.
pub const MAX_DOCUMENT_BYTES: u64 = 50 * 1024 * 1024;
/// Most extra time the wake process gets beyond its own `--timeout` (at most
/// the timeout itself again).
pub use crate::core::openclaw::agent::WAKE_GRACE;
/// Wait used for a 429 without `retry_after`.
pub const DEFAULT_RETRY_AFTER_SECS: u64 = 5;

/// Everything a [`TelegramDirect`] needs; see [`crate::channels::build_channel`].
#[derive(Debug, Clone)]
pub struct TelegramDirectSettings {
    /// Bot API base URL, e.g. `https://api.telegram.org` (no trailing slash).
    pub api_base: String,
    /// The bot token.
    pub token: Secret,
    /// Where the token came from, named when Telegram rejects it.
    pub token_source: String,
    /// HTTP timeouts.
    pub timeouts: HttpTimeouts,
    /// The `openclaw` CLI used for wakes.
    pub openclaw_program: PathBuf,
    /// `--timeout` for a wake turn.
    pub wake_timeout: Duration,
}

/// Telegram Bot API sender.
#[derive(Clone)]
pub struct TelegramDirect {
    settings: TelegramDirectSettings,
    http: reqwest::Client,
    /// Wake through `openclaw system event` instead of `openclaw agent`
    /// (under OpenClaw's agent `exec`, which refuses `openclaw agent`).
    exec_wake: bool,
}

impl fmt::Debug for TelegramDirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelegramDirect")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// A failed Bot API call, before it becomes a [`ChannelError`].
#[derive(Debug)]
enum ApiFailure {
    /// 400 "can't parse entities": our HTML was rejected.
    ParseEntities(String),
    /// Anything else.
    Other(ChannelError),
}

impl From<ChannelError> for ApiFailure {
    fn from(e: ChannelError) -> Self {
        ApiFailure::Other(e)
    }
}

/// Where one message goes, in Bot API terms.
struct Target<'a> {
    chat: Value,
    chat_text: &'a str,
    thread: Option<i64>,
}

impl TelegramDirect {
    /// A channel with these settings.
    ///
    /// # Errors
    /// [`ChannelError::Permanent`] if the HTTP client cannot be built.
    pub fn new(settings: TelegramDirectSettings) -> Result<Self, ChannelError> {
        let http = settings
            .timeouts
            .client()
            .map_err(ChannelError::Permanent)?;
        Ok(Self {
            settings,
            http,
            exec_wake: false,
        })
    }

    /// Wake through `openclaw system event` rather than `openclaw agent`
    /// (which OpenClaw's agent `exec` refuses).
    pub fn with_exec_wake(mut self) -> Self {
        self.exec_wake = true;
        self
    }

    fn method_url(&self, method: &str) -> String {
        format!(
            "{}/bot{}/{method}",
            self.settings.api_base,
            self.settings.token.expose()
        )
    }

    /// Text from outside (bodies, error chains) with the token removed.
    fn clean(&self, text: &str) -> String {
        redact(text, self.settings.token.expose())
    }

    fn transport_error(&self, method: &str, e: &reqwest::Error) -> ChannelError {
        let base = &self.settings.api_base;
        let what = if e.is_timeout() && !e.is_connect() {
            format!(
                "no answer within {}s",
                self.settings.timeouts.request.as_secs_f32()
            )
        } else if e.is_connect() {
            let chain = error_chain(e).to_lowercase();
            if chain.contains("refused") {
                "connection refused".to_owned()
            } else if e.is_timeout() || chain.contains("timed out") {
                "connect timed out".to_owned()
            } else {
                format!("cannot connect ({})", self.clean(&error_chain(e)))
            }
        } else {
            self.clean(&error_chain(e))
        };
        ChannelError::Transient(format!("Telegram Bot API {method} at {base}: {what}"))
    }

    /// Call a Bot API method with a JSON body; the `result` on success.
    async fn call(
        &self,
        method: &str,
        body: &Value,
        target: &Target<'_>,
    ) -> Result<Value, ApiFailure> {
        let response = self
            .http
            .post(self.method_url(method))
            .json(body)
            .send()
            .await
            .map_err(|e| self.transport_error(method, &e))?;
        self.read_response(method, response, target).await
    }

    async fn read_response(
        &self,
        method: &str,
        response: reqwest::Response,
        target: &Target<'_>,
    ) -> Result<Value, ApiFailure> {
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| self.transport_error(method, &e))?;
        let parsed: Option<Value> = serde_json::from_str(&text).ok();
        let ok = parsed
            .as_ref()
            .filter(|v| v.get("ok").and_then(Value::as_bool) == Some(true));
        if let (Some(v), true) = (ok, (200..300).contains(&status)) {
            return Ok(v.get("result").cloned().unwrap_or(Value::Null));
        }
        let description = parsed
            .as_ref()
            .and_then(|v| v.get("description"))
            .and_then(Value::as_str)
            .map_or_else(|| snippet(&text), str::to_owned);
        let description = self.clean(&description);
        let params = parsed.as_ref().and_then(|v| v.get("parameters"));
        let lower = description.to_lowercase();
        let chat = target.chat_text;
        let base = &self.settings.api_base;
        let source = &self.settings.token_source;
        let err = match status {
            429 => {
                let secs = params
                    .and_then(|p| p.get("retry_after"))
                    .and_then(Value::as_u64)
                    .unwrap_or(DEFAULT_RETRY_AFTER_SECS);
                ChannelError::RetryAfter(Duration::from_secs(secs))
            }
            400 if lower.contains("can't parse entities") || lower.contains("can't find end") => {
                return Err(ApiFailure::ParseEntities(description));
            }
            400 if lower.contains("message thread not found")
                || lower.contains("topic_closed")
                || lower.contains("topic closed") =>
            {
                let thread = target
                    .thread
                    .map_or_else(|| "?".to_owned(), |t| t.to_string());
                ChannelError::Permanent(format!(
                    "Telegram: message thread {thread} not found in chat {chat} ({description}). \
                     Not sending to the main chat instead: check the route's thread_id (the topic \
                     may have been deleted or closed)"
                ))
            }
            400 => {
                let migrated = params
                    .and_then(|p| p.get("migrate_to_chat_id"))
                    .map(|id| format!("; the group is now chat {id}: update the route's target"))
                    .unwrap_or_default();
                ChannelError::Permanent(format!(
                    "Telegram {method} to chat {chat} failed (400): {description}{migrated}"
                ))
            }
            401 => ChannelError::Permanent(format!(
                "Telegram rejected the bot token (401 Unauthorized); check {source}"
            )),
            403 => ChannelError::Permanent(format!(
                "Telegram {method} to chat {chat} forbidden (403): {description}"
            )),
            404 => ChannelError::Permanent(format!(
                "Telegram Bot API at {base} answered 404 Not Found for {method}: the bot token from \
                 {source} is malformed, or the API base URL is wrong"
            )),
            s if s >= 500 => {
                ChannelError::Transient(format!("Telegram {method} failed ({s}): {description}"))
            }
            s => ChannelError::Permanent(format!(
                "Telegram {method} to chat {chat} failed ({s}): {description}"
            )),
        };
        Err(ApiFailure::Other(err))
    }

    /// Send one chunk; falls back to plain text if Telegram cannot parse our HTML.
    async fn send_chunk(
        &self,
        target: &Target<'_>,
        text: &str,
        html: bool,
        msg: &Outgoing,
        reply_to: Option<i64>,
    ) -> Result<Option<String>, ChannelError> {
        let mut body = Map::new();
        body.insert("chat_id".into(), target.chat.clone());
        if let Some(thread) = target.thread {
            body.insert("message_thread_id".into(), json!(thread));
        }
        body.insert("text".into(), json!(text));
        if html {
            body.insert("parse_mode".into(), json!("HTML"));
        }
        body.insert("disable_notification".into(), json!(msg.silent));
        if let Some(reply) = reply_to {
            body.insert("reply_to_message_id".into(), json!(reply));
        }
        let mut body = Value::Object(body);
        let result = match self.call("sendMessage", &body, target).await {
            Ok(r) => r,
            Err(ApiFailure::ParseEntities(why)) if html => {
                tracing::warn!(
                    chat = target.chat_text,
                    "Telegram could not parse our HTML ({why}); resending as plain text"
                );
                if let Some(obj) = body.as_object_mut() {
                    obj.remove("parse_mode");
                    obj.insert("text".into(), json!(strip_html(text)));
                }
                self.call("sendMessage", &body, target)
                    .await
                    .map_err(ApiFailure::into_channel_error)?
            }
            Err(e) => return Err(e.into_channel_error()),
        };
        Ok(message_id(&result))
    }

    async fn edit(
        &self,
        target: &Target<'_>,
        message_id: &str,
        msg: &Outgoing,
    ) -> Result<Delivery, ChannelError> {
        let id: i64 = message_id.trim().parse().map_err(|_| {
            ChannelError::Permanent(format!(
                "cannot edit Telegram message {message_id:?}: not a message id"
            ))
        })?;
        let (text, html) = self.single_message_text(msg);
        let mut body = json!({
            "chat_id": target.chat,
            "message_id": id,
            "text": text,
        });
        if let (true, Some(obj)) = (html, body.as_object_mut()) {
            obj.insert("parse_mode".into(), json!("HTML"));
        }
        let outcome = match self.call("editMessageText", &body, target).await {
            Err(ApiFailure::ParseEntities(_)) if html => {
                if let Some(obj) = body.as_object_mut() {
                    obj.remove("parse_mode");
                    obj.insert("text".into(), json!(strip_html(&text)));
                }
                self.call("editMessageText", &body, target).await
            }
            other => other,
        };
        match outcome {
            Ok(_) => {}
            // Editing to the same text is not a failure.
            Err(ApiFailure::Other(ChannelError::Permanent(m)))
                if m.contains("message is not modified") => {}
            Err(e) => return Err(e.into_channel_error()),
        }
        Ok(Delivery {
            message_id: Some(message_id.to_owned()),
        })
    }

    /// The message's text fitted into one Telegram message: (text, is_html).
    fn single_message_text(&self, msg: &Outgoing) -> (String, bool) {
        match &msg.body.html {
            Some(html) => {
                let note = "\n\n<i>… (truncated)</i>";
                let (head, cut) = truncate_html(html, TELEGRAM_MAX_MESSAGE_LEN - utf16_len(note));
                (if cut { head + note } else { head }, true)
            }
            None => {
                let note = "\n\n… (truncated)";
                let (head, cut) =
                    truncate_plain(&msg.body.plain, TELEGRAM_MAX_MESSAGE_LEN - utf16_len(note));
                (if cut { head + note } else { head }, false)
            }
        }
    }

    /// The chunks to send for `msg`, and whether they are HTML.
    fn chunks(msg: &Outgoing) -> (Vec<String>, bool) {
        let (text, html) = match &msg.body.html {
            Some(h) => (h.as_str(), true),
            None => (msg.body.plain.as_str(), false),
        };
        let split = |t: &str, limit: usize| {
            if html {
                split_html(t, limit)
            } else {
                split_plain(t, limit)
            }
        };
        let chunks = split(text, TELEGRAM_MAX_MESSAGE_LEN);
        if chunks.len() <= MAX_CHUNKS {
            return (chunks, html);
        }
        let total = if html {
            utf16_len(&strip_html(text))
        } else {
            utf16_len(text)
        };
        let note_text = match &msg.attachment {
            Some(a) => format!(
                "… (truncated: {total} characters in all; the full text is in the attached file {})",
                a.file_name
            ),
            None => format!("… (truncated: {total} characters in all)"),
        };
        let note = if html {
            format!("\n\n<i>{}</i>", escape_html(&note_text))
        } else {
            format!("\n\n{note_text}")
        };
        let room = TELEGRAM_MAX_MESSAGE_LEN.saturating_sub(utf16_len(&note));
        let head = split(text, room).into_iter().next().unwrap_or_default();
        (vec![head + &note], html)
    }

    async fn send_document(
        &self,
        target: &Target<'_>,
        attachment: &Attachment,
        silent: bool,
    ) -> Result<Option<String>, ChannelError> {
        let path = &attachment.path;
        let meta = tokio::fs::metadata(path).await.map_err(|e| {
            ChannelError::Permanent(format!("cannot read attachment {}: {e}", path.display()))
        })?;
        if meta.len() > MAX_DOCUMENT_BYTES {
            return Err(ChannelError::Permanent(format!(
                "attachment {} is {} bytes; the Bot API accepts at most {MAX_DOCUMENT_BYTES}",
                path.display(),
                meta.len()
            )));
        }
        let bytes = tokio::fs::read(path).await.map_err(|e| {
            ChannelError::Permanent(format!("cannot read attachment {}: {e}", path.display()))
        })?;
        let chat = match &target.chat {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let mut form = reqwest::multipart::Form::new()
            .text("chat_id", chat)
            .text("disable_notification", silent.to_string());
        if let Some(thread) = target.thread {
            form = form.text("message_thread_id", thread.to_string());
        }
        let part = reqwest::multipart::Part::bytes(bytes).file_name(attachment.file_name.clone());
        form = form.part("document", part);
        let response = self
            .http
            .post(self.method_url("sendDocument"))
            .multipart(form)
            .send()
            .await
            .map_err(|e| self.transport_error("sendDocument", &e))?;
        let result = self
            .read_response("sendDocument", response, target)
            .await
            .map_err(ApiFailure::into_channel_error)?;
        Ok(message_id(&result))
    }

    async fn run_wake(&self, wake: &Wake) -> Result<WakeAck, ChannelError> {
        if self.exec_wake {
            return super::openclaw_system_event_wake(
                &self.settings.openclaw_program,
                wake,
                &|s: &str| self.clean(s),
                &[self.settings.token.expose()],
            )
            .await;
        }
        super::openclaw_agent_wake(
            &self.settings.openclaw_program,
            self.settings.wake_timeout,
            wake,
            &|s: &str| self.clean(s),
            &[self.settings.token.expose()],
        )
        .await
    }
}

impl ApiFailure {
    fn into_channel_error(self) -> ChannelError {
        match self {
            ApiFailure::ParseEntities(d) => {
                ChannelError::Permanent(format!("Telegram could not parse the message: {d}"))
            }
            ApiFailure::Other(e) => e,
        }
    }
}

fn message_id(result: &Value) -> Option<String> {
    result.get("message_id").map(|id| match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

impl Channel for TelegramDirect {
    fn id(&self) -> &str {
        "telegram-direct"
    }

    async fn send(&self, msg: &Outgoing) -> Result<Delivery, ChannelError> {
        let dest = &msg.destination;
        let chat_text = dest
            .target
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ChannelError::Permanent(
                    "telegram-direct needs a chat id (the route's target)".to_owned(),
                )
            })?;
        let chat = chat_text
            .parse::<i64>()
            .map_or_else(|_| json!(chat_text), |n| json!(n));
        let thread = match dest.thread_id.as_deref().map(str::trim) {
            None | Some("") | Some(GENERAL_TOPIC_ID) => None,
            Some(t) => Some(t.parse::<i64>().map_err(|_| {
                ChannelError::Permanent(format!(
                    "Telegram thread id {t:?} for chat {chat_text} is not a number"
                ))
            })?),
        };
        let target = Target {
            chat,
            chat_text,
            thread,
        };
        if let Some(edit_of) = &msg.edit_of {
            return self.edit(&target, edit_of, msg).await;
        }
        let reply_to = match msg.reply_to.as_deref() {
            None => None,
            Some(r) => Some(r.trim().parse::<i64>().map_err(|_| {
                ChannelError::Permanent(format!(
                    "cannot reply to Telegram message {r:?}: not a message id"
                ))
            })?),
        };
        let (chunks, html) = Self::chunks(msg);
        if chunks.is_empty() && msg.attachment.is_none() {
            return Err(ChannelError::Permanent(
                "refusing to send an empty Telegram message".to_owned(),
            ));
        }
        let mut first_id = None;
        for (i, chunk) in chunks.iter().enumerate() {
            let reply = if i == 0 { reply_to } else { None };
            let id = self.send_chunk(&target, chunk, html, msg, reply).await?;
            if first_id.is_none() {
                first_id = id;
            }
        }
        if let Some(attachment) = &msg.attachment {
            let id = self.send_document(&target, attachment, msg.silent).await?;
            if first_id.is_none() {
                first_id = id;
            }
        }
        Ok(Delivery {
            message_id: first_id,
        })
    }

    async fn wake(&self, wake: &Wake) -> Result<WakeAck, ChannelError> {
        self.run_wake(wake).await
    }
}
