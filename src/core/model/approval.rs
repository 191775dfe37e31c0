//! Tool approvals, backend-neutral: what an agent asks before it uses a tool
//! ([`Ask`]), what the runner answers ([`Answer`]), how a human decided
//! ([`Decision`]), and the run's setting ([`ApprovalMode`]). A backend's
//! protocol turns its own permission requests into asks (Claude's
//! `control_request`/`can_use_tool`; ACP's `session/request_permission`) and
//! encodes answers; the runner's approver decides. Pure data, no I/O.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Default `--approval-timeout`, in seconds.
pub const DEFAULT_APPROVAL_TIMEOUT_SECS: u64 = 120;
/// Longest `--approval-timeout`, in seconds.
pub const MAX_APPROVAL_TIMEOUT_SECS: u64 = 600;
/// Longest approval title (the gateway caps it there).
pub const MAX_TITLE_CHARS: usize = 80;
/// Longest approval description.
pub const MAX_DESCRIPTION_CHARS: usize = 512;

/// Who answers the agent's permission requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalMode {
    /// Nobody: the run's permission mode decides alone (the default).
    #[default]
    Off,
    /// The human, through an OpenClaw approval in the run's chat.
    Chat,
}

impl ApprovalMode {
    /// Its name in flags and `clawrun.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Chat => "chat",
        }
    }

    /// True for [`ApprovalMode::Off`] (serde's `skip_serializing_if`).
    pub fn is_off(&self) -> bool {
        *self == Self::Off
    }
}

impl std::str::FromStr for ApprovalMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "off" => Ok(Self::Off),
            "chat" => Ok(Self::Chat),
            other => Err(format!(
                "unknown approvals mode {other:?}; valid: off, chat"
            )),
        }
    }
}

/// An agent asks whether it may use a tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ask {
    /// The protocol's id of the request, echoed in the answer (opaque).
    pub request_id: String,
    /// The tool call's id, when the agent names it (`toolu_…`).
    pub call_id: Option<String>,
    /// The tool's name (`Bash`, `Write`, …).
    pub tool: String,
    /// The tool's input, as the agent sent it.
    pub input: Value,
    /// The agent's own short description of the call, if any.
    pub description: Option<String>,
}

impl Ask {
    /// The command (Bash) or the file path (file tools) the call is about,
    /// else the description.
    pub fn subject(&self) -> String {
        for key in [
            "command",
            "file_path",
            "notebook_path",
            "path",
            "url",
            "pattern",
        ] {
            if let Some(s) = self.input.get(key).and_then(Value::as_str) {
                return s.to_owned();
            }
        }
        self.description.clone().unwrap_or_default()
    }

    /// What `allow-always` remembers: the tool, and for a shell tool the
    /// command's first word (`Bash:git`); see `Allowed`.
    pub fn always_key(&self) -> String {
        match self.input.get("command").and_then(Value::as_str) {
            Some(cmd) if is_shell(&self.tool) => {
                let first = cmd.split_whitespace().next().unwrap_or("");
                format!("{}:{first}", self.tool)
            }
            _ => self.tool.clone(),
        }
    }

    /// How risky the call looks: shell and file-changing tools are a warning,
    /// anything else is information.
    pub fn severity(&self) -> Severity {
        match self.tool.as_str() {
            "Bash" | "Write" | "Edit" | "MultiEdit" | "NotebookEdit" => Severity::Warning,
            _ => Severity::Info,
        }
    }
}

fn is_shell(tool: &str) -> bool {
    matches!(tool, "Bash" | "PowerShell")
}

/// An approval's severity (the contract's `severity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth a look.
    Info,
    /// Changes files or runs commands.
    Warning,
    /// Dangerous.
    Critical,
}

/// A human's decision on an approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// This call only.
    AllowOnce,
    /// This call, and the same tool (command) for the rest of the run.
    AllowAlways,
    /// Refused.
    Deny,
}

/// The runner's answer to an [`Ask`], for the protocol to encode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "behavior", rename_all = "snake_case")]
pub enum Answer {
    /// Go ahead with the call as asked.
    Allow,
    /// Do not; `message` is what the agent is told.
    Deny {
        /// Shown to the agent as the tool's error.
        message: String,
    },
}

/// How an ask was settled. In `approvals.jsonl` as `"remembered"`,
/// `"timed_out"`, `"off"`, `{"human":"allow-once"}` or `{"failed":"why"}`;
/// a line written before (the Rust debug form: `Human(AllowOnce)`,
/// `Failed("why")`, …) reads as well.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Settled {
    /// The human decided.
    Human(Decision),
    /// Allowed earlier with `allow-always`.
    Remembered,
    /// Nobody answered before the timeout.
    TimedOut,
    /// The approval could not be asked (why, for the chat and the agent).
    Failed(String),
    /// `--approvals off`: the agent asked anyway.
    Off,
}

impl<'de> Deserialize<'de> for Settled {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Self::from_value(&value)
            .ok_or_else(|| serde::de::Error::custom(format!("not a settled approval: {value}")))
    }
}

impl Settled {
    /// The serialized form, else the debug form of the files written before.
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::String(word) => match word.as_str() {
                "remembered" => Some(Self::Remembered),
                "timed_out" => Some(Self::TimedOut),
                "off" => Some(Self::Off),
                other => Self::from_debug(other),
            },
            Value::Object(one) if one.len() == 1 => match one.iter().next()? {
                (k, v) if k == "human" => serde_json::from_value(v.clone()).ok().map(Self::Human),
                (k, Value::String(why)) if k == "failed" => Some(Self::Failed(why.clone())),
                _ => None,
            },
            _ => None,
        }
    }

    /// The debug form `approvals.jsonl` had before ([`format!("{:?}")`]).
    fn from_debug(text: &str) -> Option<Self> {
        Some(match text {
            "Human(AllowOnce)" => Self::Human(Decision::AllowOnce),
            "Human(AllowAlways)" => Self::Human(Decision::AllowAlways),
            "Human(Deny)" => Self::Human(Decision::Deny),
            "Remembered" => Self::Remembered,
            "TimedOut" => Self::TimedOut,
            "Off" => Self::Off,
            other => {
                let quoted = other.strip_prefix("Failed(")?.strip_suffix(')')?;
                Self::Failed(serde_json::from_str(quoted).unwrap_or_else(|_| quoted.to_owned()))
            }
        })
    }
}

/// What a line of `approvals.jsonl` records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogEvent {
    /// The agent asked.
    Asked,
    /// The ask was settled and answered.
    Answered,
}

/// One line of a run's `approvals.jsonl`: an ask, or its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// Unix time.
    pub at: i64,
    /// Asked or answered.
    pub event: LogEvent,
    /// The protocol's id of the request.
    pub request_id: String,
    /// The tool call's id, when the agent named it.
    pub call_id: Option<String>,
    /// The tool.
    pub tool: String,
    /// What the call is about ([`Ask::subject`], clipped).
    pub subject: String,
    /// How it was settled (answers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled: Option<Settled>,
    /// What the agent was answered (answers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
}

/// The tools (and shell command words) allowed for the rest of a run by
/// `allow-always`. A key is [`Ask::always_key`]: `Write`, or `Bash:git` (every
/// command whose first word is `git`, never a bare `Bash`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowed(BTreeSet<String>);

impl Allowed {
    /// Remember `ask`'s key.
    pub fn remember(&mut self, ask: &Ask) {
        self.0.insert(ask.always_key());
    }

    /// Whether `ask` was allowed for the rest of the run.
    pub fn covers(&self, ask: &Ask) -> bool {
        self.0.contains(&ask.always_key())
    }
}

/// `text` cut to `max` characters, with an ellipsis when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn ask(tool: &str, input: Value) -> Ask {
        Ask {
            request_id: "r".into(),
            call_id: None,
            tool: tool.into(),
            input,
            description: None,
        }
    }

    #[test]
    fn always_keys_a_shell_call_by_its_first_word() {
        let git = ask("Bash", json!({"command": "git status"}));
        let rm = ask("Bash", json!({"command": "rm -rf x"}));
        let mut allowed = Allowed::default();
        allowed.remember(&git);
        assert!(allowed.covers(&ask("Bash", json!({"command": "git  log -1"}))));
        assert!(!allowed.covers(&rm));
        let write = ask("Write", json!({"file_path": "/a"}));
        allowed.remember(&write);
        assert!(allowed.covers(&ask("Write", json!({"file_path": "/b"}))));
    }

    #[test]
    fn subject_severity_and_clip() {
        assert_eq!(ask("Bash", json!({"command": "ls"})).subject(), "ls");
        assert_eq!(ask("Edit", json!({"file_path": "/x"})).subject(), "/x");
        assert_eq!(ask("Bash", json!({})).severity(), Severity::Warning);
        assert_eq!(ask("WebFetch", json!({})).severity(), Severity::Info);
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
        assert_eq!("chat".parse::<ApprovalMode>(), Ok(ApprovalMode::Chat));
        assert!("on".parse::<ApprovalMode>().is_err());
    }

    #[test]
    fn settled_is_serialized_and_the_old_debug_form_still_reads() {
        let all = [
            Settled::Human(Decision::AllowOnce),
            Settled::Human(Decision::AllowAlways),
            Settled::Human(Decision::Deny),
            Settled::Remembered,
            Settled::TimedOut,
            Settled::Failed("gateway \"down\" (502)".into()),
            Settled::Off,
        ];
        for s in all {
            let json = serde_json::to_value(&s).unwrap();
            assert_eq!(serde_json::from_value::<Settled>(json).unwrap(), s);
            // What the runner wrote before: `format!("{settled:?}")`.
            let old = serde_json::Value::String(format!("{s:?}"));
            assert_eq!(serde_json::from_value::<Settled>(old).unwrap(), s);
        }
        assert_eq!(
            serde_json::to_value(Settled::Human(Decision::AllowAlways)).unwrap(),
            json!({"human": "allow-always"})
        );
        assert_eq!(
            serde_json::to_value(Settled::TimedOut).unwrap(),
            json!("timed_out")
        );
        assert!(serde_json::from_value::<Settled>(json!("Maybe")).is_err());
    }

    #[test]
    fn an_answer_line_of_the_old_form_reads() {
        let old = r#"{"answer":{"behavior":"allow"},"at":1796096952,"call_id":"toolu_1","event":"answered","request_id":"q","settled":"Human(AllowOnce)","subject":"ls","tool":"Bash"}"#;
        let line: LogLine = serde_json::from_str(old).unwrap();
        assert_eq!(line.settled, Some(Settled::Human(Decision::AllowOnce)));
        assert_eq!(line.answer, Some(Answer::Allow));
        assert_eq!(line.event, LogEvent::Answered);
    }
}
