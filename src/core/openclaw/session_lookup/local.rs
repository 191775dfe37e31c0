//! [`LocalSessions`] over the agents' session files of OpenClaw versions
//! before SQLite (`<home>/agents/<agent>/sessions/<uuid>-topic-<thread>.jsonl`):
//! which file belongs to a thread, and which Telegram chat it is about.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::{LOCAL_SCAN_LINES, LocalSessions, MetaOrigin, SessionMeta, SourceError};

/// [`LocalSessions`] over `<openclaw home>/agents/<agentId>/sessions/*-topic-<id>.jsonl`
/// (the storage of OpenClaw versions before SQLite; current versions keep
/// sessions in SQLite and only the gateway lookup finds them).
#[derive(Debug, Clone)]
pub struct LocalSessionFiles {
    openclaw_home: PathBuf,
    scan_lines: usize,
}

impl LocalSessionFiles {
    /// Files under `openclaw_home` (`~/.openclaw`).
    pub fn new(openclaw_home: impl Into<PathBuf>) -> Self {
        Self {
            openclaw_home: openclaw_home.into(),
            scan_lines: LOCAL_SCAN_LINES,
        }
    }

    fn find_thread_blocking(
        &self,
        agent_id: Option<&str>,
        thread_id: &str,
    ) -> Result<Option<SessionMeta>, SourceError> {
        let suffix = format!("-topic-{thread_id}.jsonl");
        let mut newest: Option<TopicFile> = None;
        for f in topic_files(&self.openclaw_home, agent_id)? {
            if f.name.ends_with(&suffix) && newest.as_ref().is_none_or(|n| f.mtime > n.mtime) {
                newest = Some(f);
            }
        }
        let Some(f) = newest else {
            return Ok(None);
        };
        let target = scan_chat_target(&f.path, self.scan_lines)?;
        Ok(Some(f.meta(thread_id, target)))
    }

    fn recent_blocking(
        &self,
        agent_id: Option<&str>,
        target: &str,
        max_age: Duration,
    ) -> Result<Vec<SessionMeta>, SourceError> {
        let now = SystemTime::now();
        let mut files: Vec<TopicFile> = topic_files(&self.openclaw_home, agent_id)?
            .into_iter()
            .filter(|f| {
                now.duration_since(f.mtime)
                    .map_or(true, |age| age <= max_age)
            })
            .collect();
        files.sort_by_key(|f| std::cmp::Reverse(f.mtime));
        let mut out = Vec::new();
        for f in files {
            // One unreadable file must not hide the others.
            let Ok(found) = scan_chat_target(&f.path, self.scan_lines) else {
                continue;
            };
            if found.as_deref() == Some(target) {
                let thread = f.thread_id().to_owned();
                out.push(f.meta(&thread, found));
            }
        }
        Ok(out)
    }
}

impl LocalSessions for LocalSessionFiles {
    async fn find_thread(
        &self,
        agent_id: Option<&str>,
        thread_id: &str,
    ) -> Result<Option<SessionMeta>, SourceError> {
        let this = self.clone();
        let (agent, thread) = (agent_id.map(str::to_owned), thread_id.to_owned());
        tokio::task::spawn_blocking(move || this.find_thread_blocking(agent.as_deref(), &thread))
            .await
            .map_err(|e| SourceError::Io {
                path: self.openclaw_home.clone(),
                source: std::io::Error::other(e),
            })?
    }

    async fn recent_thread_sessions(
        &self,
        agent_id: Option<&str>,
        target: &str,
        max_age: Duration,
    ) -> Result<Vec<SessionMeta>, SourceError> {
        let this = self.clone();
        let (agent, target) = (agent_id.map(str::to_owned), target.to_owned());
        tokio::task::spawn_blocking(move || {
            this.recent_blocking(agent.as_deref(), &target, max_age)
        })
        .await
        .map_err(|e| SourceError::Io {
            path: self.openclaw_home.clone(),
            source: std::io::Error::other(e),
        })?
    }
}

/// A `<session id>-topic-<thread id>.jsonl` file.
struct TopicFile {
    path: PathBuf,
    name: String,
    agent_id: String,
    mtime: SystemTime,
}

impl TopicFile {
    fn split(&self) -> (&str, &str) {
        let stem = self.name.strip_suffix(".jsonl").unwrap_or(&self.name);
        match stem.rfind("-topic-") {
            Some(i) => (&stem[..i], &stem[i + "-topic-".len()..]),
            None => (stem, ""),
        }
    }

    fn thread_id(&self) -> &str {
        self.split().1
    }

    fn meta(&self, thread_id: &str, target: Option<String>) -> SessionMeta {
        SessionMeta {
            key: format!("agent:{}:main:thread:{thread_id}", self.agent_id),
            session_id: Some(self.split().0.to_owned()).filter(|s| !s.is_empty()),
            channel: Some("telegram".into()),
            target,
            account: None,
            thread_id: Some(thread_id.to_owned()),
            updated_at_ms: self
                .mtime
                .duration_since(UNIX_EPOCH)
                .ok()
                .and_then(|d| i64::try_from(d.as_millis()).ok()),
            display_name: None,
            origin: MetaOrigin::LocalFile {
                path: self.path.clone(),
            },
        }
    }
}

/// Every `*-topic-*.jsonl` in the agent's (or every agent's) sessions dir.
/// Missing directories are simply empty.
fn topic_files(home: &Path, agent_id: Option<&str>) -> Result<Vec<TopicFile>, SourceError> {
    let agents_dir = home.join("agents");
    let io_err = |path: &Path, source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let agents: Vec<String> = match agent_id {
        Some(a) => vec![a.to_owned()],
        None => match std::fs::read_dir(&agents_dir) {
            Ok(rd) => rd
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().into_string().ok())
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io_err(&agents_dir, e)),
        },
    };
    let mut out = Vec::new();
    for agent in agents {
        let dir = agents_dir.join(&agent).join("sessions");
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err(&dir, e)),
        };
        for entry in rd.filter_map(Result::ok) {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if !(name.ends_with(".jsonl") && name.contains("-topic-")) {
                continue;
            }
            let Ok(md) = entry.metadata() else { continue };
            if !md.is_file() {
                continue;
            }
            out.push(TopicFile {
                path: entry.path(),
                name,
                agent_id: agent.clone(),
                mtime: md.modified().unwrap_or(UNIX_EPOCH),
            });
        }
    }
    Ok(out)
}

/// The Telegram chat of a session file: from the first `max_lines` lines, the
/// user messages' metadata text. A `chat_id` (or `conversation_label … id:<n>`)
/// anywhere wins over a `sender_id` (as seed CX): in a forum group the sender
/// is a person, the chat is the group. Malformed lines are skipped.
fn scan_chat_target(path: &Path, max_lines: usize) -> Result<Option<String>, SourceError> {
    let file = std::fs::File::open(path).map_err(|source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut sender = None;
    for line in BufReader::new(file).split(b'\n').take(max_lines) {
        let Ok(line) = line else { break };
        let Ok(v) = serde_json::from_slice::<Value>(&line) else {
            continue;
        };
        if v.get("type").and_then(Value::as_str) != Some("message")
            || v.pointer("/message/role").and_then(Value::as_str) != Some("user")
        {
            continue;
        }
        for text in message_texts(v.pointer("/message/content")) {
            if let Some(chat) = chat_id_in(text) {
                return Ok(Some(chat));
            }
            if sender.is_none() {
                sender = number_after_key(text, "sender_id");
            }
        }
    }
    Ok(sender)
}

fn message_texts(content: Option<&Value>) -> Vec<&str> {
    match content {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|c| c.get("text").and_then(Value::as_str))
            .collect(),
        _ => Vec::new(),
    }
}

/// `"chat_id": "-100…"` (also `"telegram:-100…"`), else
/// `"conversation_label": "… id:-100…"`.
fn chat_id_in(text: &str) -> Option<String> {
    number_after_key(text, "chat_id").or_else(|| label_id(text))
}

/// The integer after `"<key>"\s*:\s*"?(telegram:)?` in `text`, at any occurrence.
fn number_after_key(text: &str, key: &str) -> Option<String> {
    let needle = format!("\"{key}\"");
    let mut from = 0;
    while let Some(pos) = text[from..].find(&needle) {
        let after = from + pos + needle.len();
        from = after;
        let rest = text[after..].trim_start();
        let Some(rest) = rest.strip_prefix(':') else {
            continue;
        };
        let rest = rest.trim_start();
        let rest = rest.strip_prefix('"').unwrap_or(rest);
        let rest = rest.strip_prefix("telegram:").unwrap_or(rest);
        if let Some(n) = leading_int(rest) {
            return Some(n.to_owned());
        }
    }
    None
}

/// `-?\d+` at the start of `s`, not followed by another word character.
fn leading_int(s: &str) -> Option<&str> {
    let sign = usize::from(s.starts_with('-'));
    let digits = s[sign..].bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let end = sign + digits;
    let next = s[end..].chars().next();
    if next.is_some_and(|c| c.is_alphanumeric() || c == '_') {
        return None;
    }
    Some(&s[..end])
}

/// The `id:<n>` inside the `conversation_label` string value.
fn label_id(text: &str) -> Option<String> {
    let needle = "\"conversation_label\"";
    let start = text.find(needle)? + needle.len();
    let rest = text[start..].trim_start().strip_prefix(':')?.trim_start();
    let value = rest.strip_prefix('"')?;
    let value = &value[..value.find('"').unwrap_or(value.len())];
    let mut from = 0;
    while let Some(pos) = value[from..].find("id:") {
        let at = from + pos;
        from = at + 3;
        let boundary = value[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        if boundary && let Some(n) = leading_int(&value[at + 3..]) {
            return Some(n.to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn int_scanning() {
        assert_eq!(
            number_after_key(r#"x {"chat_id": "-100123", "sender_id": 5}"#, "chat_id").as_deref(),
            Some("-100123")
        );
        assert_eq!(
            number_after_key(r#""chat_id":"telegram:-42""#, "chat_id").as_deref(),
            Some("-42")
        );
        assert_eq!(number_after_key(r#""chat_id": "abc""#, "chat_id"), None);
        assert_eq!(number_after_key(r#""chat_id": 12ab"#, "chat_id"), None);
        assert_eq!(
            number_after_key(r#""sender_id" : 77 }"#, "sender_id").as_deref(),
            Some("77")
        );
        assert_eq!(
            label_id(r#"{"conversation_label": "Team chat id:-100999 (forum)"}"#).as_deref(),
            Some("-100999")
        );
        assert_eq!(label_id(r#"{"conversation_label": "userid:5"}"#), None);
    }
}
