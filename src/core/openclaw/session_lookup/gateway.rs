//! [`SessionSource`] over the gateway's `sessions_list` tool: paged search,
//! and the delivery context of each session read from any of its wrappings.

use std::time::Duration;

use serde_json::{Value, json};

use super::{
    MAX_SESSION_PAGES, MetaOrigin, SESSIONS_PAGE_LIMIT, SessionMeta, SessionSource, SourceError,
    ToolInvoker,
};
use crate::core::openclaw::session_key::{SessionKey, is_telegram_chat_id};
use crate::core::store::timefmt::now_ms;

/// [`SessionSource`] over the gateway's `sessions_list` tool.
#[derive(Debug, Clone)]
pub struct GatewaySessions<I> {
    invoker: I,
    page_limit: u64,
}

/// One parsed `sessions_list` page.
struct SessionsPage {
    sessions: Vec<Value>,
    has_more: bool,
    next_offset: Option<u64>,
}

impl<I: ToolInvoker> GatewaySessions<I> {
    /// Lookups through `invoker`, `SESSIONS_PAGE_LIMIT` sessions a page.
    pub fn new(invoker: I) -> Self {
        Self {
            invoker,
            page_limit: SESSIONS_PAGE_LIMIT,
        }
    }

    /// Use pages of `limit` sessions (at least 1).
    pub fn with_page_limit(mut self, limit: u64) -> Self {
        self.page_limit = limit.max(1);
        self
    }

    /// Every session the gateway lists (all pages), most recently updated
    /// first: for a person or an agent choosing the chat a run reports to.
    ///
    /// # Errors
    /// [`SourceError`] when the gateway cannot answer.
    pub async fn list_all(&self) -> Result<Vec<SessionMeta>, SourceError> {
        let mut out = Vec::new();
        self.scan(&json!({}), |s| {
            out.extend(meta_from_gateway(s));
            false
        })
        .await?;
        out.sort_by_key(|s| std::cmp::Reverse(s.updated_at_ms));
        Ok(out)
    }

    /// Call `sessions_list` with `args` and every following page
    /// (`hasMore`/`nextOffset`), handing each session to `visit` until it
    /// returns true or the list ends.
    async fn scan(
        &self,
        args: &Value,
        mut visit: impl FnMut(&Value) -> bool,
    ) -> Result<(), SourceError> {
        let mut offset: u64 = 0;
        for _ in 0..MAX_SESSION_PAGES {
            let mut page_args = args.clone();
            if let Some(obj) = page_args.as_object_mut() {
                obj.insert("limit".into(), json!(self.page_limit));
                if offset > 0 {
                    obj.insert("offset".into(), json!(offset));
                }
            }
            let resp = self
                .invoker
                .invoke("sessions_list", page_args)
                .await
                .map_err(SourceError::Unavailable)?;
            let page = parse_sessions_page(&resp)?;
            for s in &page.sessions {
                if visit(s) {
                    return Ok(());
                }
            }
            if !page.has_more {
                return Ok(());
            }
            let next = page
                .next_offset
                .unwrap_or(offset + page.sessions.len() as u64);
            if next <= offset {
                return Err(SourceError::BadResponse(format!(
                    "hasMore is true but the next offset ({next}) does not advance past {offset}"
                )));
            }
            offset = next;
        }
        Err(SourceError::BadResponse(format!(
            "more than {MAX_SESSION_PAGES} pages of sessions"
        )))
    }
}

impl<I: ToolInvoker> SessionSource for GatewaySessions<I> {
    async fn find_session(&self, key: &str) -> Result<Option<SessionMeta>, SourceError> {
        let mut found = None;
        // `search` is a substring filter; the exact match is ours.
        self.scan(&json!({ "search": key }), |s| {
            if s.get("key").and_then(Value::as_str) == Some(key) {
                found = meta_from_gateway(s);
                true
            } else {
                false
            }
        })
        .await?;
        Ok(found)
    }

    async fn recent_thread_sessions(
        &self,
        target: &str,
        max_age: Duration,
    ) -> Result<Vec<SessionMeta>, SourceError> {
        let now = now_ms();
        let max_ms = i64::try_from(max_age.as_millis()).unwrap_or(i64::MAX);
        let minutes = max_age.as_secs().div_ceil(60).max(1);
        let mut out = Vec::new();
        // No `search`: a DM thread's key (`agent:main:main:thread:<id>`) does not
        // contain the chat id, so only the delivery context can tell.
        self.scan(&json!({ "activeMinutes": minutes }), |s| {
            let Some(meta) = meta_from_gateway(s) else {
                return false;
            };
            let parsed = SessionKey::parse(&meta.key).ok();
            let is_thread = match &parsed {
                Some(k) => k.thread_id().is_some(),
                None => meta.key.contains(":thread:") || meta.key.contains(":topic:"),
            };
            let same_target = meta.target.as_deref() == Some(target)
                || parsed.as_ref().and_then(SessionKey::telegram_chat) == Some(target);
            let age = meta.updated_at_ms.map(|t| now - t);
            if is_thread && same_target && age.is_some_and(|a| a > 0 && a <= max_ms) {
                out.push(meta);
            }
            false
        })
        .await?;
        Ok(out)
    }
}

/// Read a `sessions_list` answer in any of its wrappings: the HTTP envelope
/// `{"ok":true,"result":{…}}`, the `result` (`content[].text` is the payload as
/// a JSON string, `details` the same as an object), or the payload itself.
fn parse_sessions_page(resp: &Value) -> Result<SessionsPage, SourceError> {
    if resp.get("ok").and_then(Value::as_bool) == Some(false)
        || (resp.get("error").is_some() && resp.get("result").is_none())
    {
        let msg = resp
            .pointer("/error/message")
            .and_then(Value::as_str)
            .map_or_else(|| resp.to_string(), str::to_owned);
        return Err(SourceError::Gateway(msg));
    }
    let result = resp.get("result").unwrap_or(resp);
    let has_sessions = |v: &Value| v.get("sessions").is_some_and(Value::is_array);
    let payload: Value = if let Some(d) = result.get("details").filter(|d| has_sessions(d)) {
        d.clone()
    } else if has_sessions(result) {
        result.clone()
    } else {
        let texts = result
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("text").and_then(Value::as_str));
        texts
            .filter_map(|t| serde_json::from_str::<Value>(t).ok())
            .find(has_sessions)
            .ok_or_else(|| {
                SourceError::BadResponse("no sessions in result.details or result.content".into())
            })?
    };
    let sessions = payload
        .get("sessions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Ok(SessionsPage {
        sessions,
        has_more: payload
            .get("hasMore")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        next_offset: payload.get("nextOffset").and_then(Value::as_u64),
    })
}

/// A string or a number as a string (thread ids come both ways).
fn str_or_num(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One `sessions_list` entry as [`SessionMeta`]: the delivery context
/// (`deliveryContext.{channel,to,accountId,threadId}`, older gateways'
/// `lastChannel`/`lastTo`/`lastAccountId`/`lastThreadId`), with `to` split into
/// channel prefix, target and topic (`telegram:-100…:topic:5`).
fn meta_from_gateway(s: &Value) -> Option<SessionMeta> {
    let key = s.get("key").and_then(Value::as_str)?.to_owned();
    let dc = s.get("deliveryContext");
    let field = |dc_name: &str, last_name: &str| {
        str_or_num(dc.and_then(|d| d.get(dc_name))).or_else(|| str_or_num(s.get(last_name)))
    };
    let mut channel = field("channel", "lastChannel").or_else(|| str_or_num(s.get("channel")));
    let mut thread_id = field("threadId", "lastThreadId");
    let mut target = None;
    let to = field("to", "lastTo").or_else(|| {
        // The seed also read `displayName`; only a plain `telegram:<chat id>` is a target
        // (`telegram:g-100…-topic-5` is a label, not a chat).
        str_or_num(s.get("displayName"))
            .filter(|d| d.strip_prefix("telegram:").is_some_and(is_telegram_chat_id))
    });
    if let Some(to) = to {
        let (prefix, rest) = split_channel_prefix(&to);
        if channel.is_none() {
            channel = prefix.map(str::to_owned);
        }
        let (t, topic) = match rest.split_once(":topic:") {
            Some((t, topic)) => (t, Some(topic.to_owned())),
            None => (rest, None),
        };
        if thread_id.is_none() {
            thread_id = topic;
        }
        target = Some(t.to_owned()).filter(|t| !t.is_empty());
    }
    Some(SessionMeta {
        key,
        session_id: str_or_num(s.get("sessionId")),
        channel,
        target,
        account: field("accountId", "lastAccountId"),
        thread_id,
        updated_at_ms: s.get("updatedAt").and_then(Value::as_i64),
        display_name: str_or_num(s.get("displayName")),
        origin: MetaOrigin::Gateway,
    })
}

/// `telegram:-100` → (`telegram`, `-100`); `telegram:group:-100` → same;
/// `+4915…` / `-100` → (None, as is). A prefix is a name of letters, digits,
/// `-` and `_` that starts with a letter.
fn split_channel_prefix(to: &str) -> (Option<&str>, &str) {
    let Some((head, rest)) = to.split_once(':') else {
        return (None, to);
    };
    let is_name = head.starts_with(|c: char| c.is_ascii_alphabetic())
        && head
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !is_name || rest.is_empty() {
        return (None, to);
    }
    let rest = ["group:", "user:", "direct:", "channel:"]
        .iter()
        .find_map(|k| rest.strip_prefix(k))
        .unwrap_or(rest);
    (Some(head), rest)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn to_prefixes() {
        assert_eq!(
            split_channel_prefix("telegram:-100"),
            (Some("telegram"), "-100")
        );
        assert_eq!(
            split_channel_prefix("telegram:group:-100"),
            (Some("telegram"), "-100")
        );
        assert_eq!(split_channel_prefix("-100:topic:5"), (None, "-100:topic:5"));
        assert_eq!(split_channel_prefix("+4915"), (None, "+4915"));
        assert_eq!(split_channel_prefix("120363@g.us"), (None, "120363@g.us"));
    }
}
