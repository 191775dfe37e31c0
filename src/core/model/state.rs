//! The live state of a run, folded from [`AgentEvent`]s: what heartbeats show,
//! what the result message reports, and what decides the outcome.
//!
//! A run may hold several turns (Claude ≥ 2.1.332 starts a turn by itself when a
//! background subagent finishes, and prints a `result` for each): the outcome
//! comes from the last terminal event, and a turn end while subagents still run
//! does not make the run idle ([`RunState::background_busy`]).

use std::collections::{BTreeMap, BTreeSet};
use tokio::time::Instant;

use serde::{Deserialize, Serialize};

use crate::core::model::events::{AgentEvent, FailureKind, Usage, UsageScope};

/// Bytes of the newest assistant text kept in memory (for previews); the whole
/// text goes to the run directory's `assistant.txt` as it arrives.
pub const MAX_TEXT_KEPT: usize = 64 * 1024;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The agent finished its task.
    Completed,
    /// The agent reported a failure, or stopped without a result.
    Failed,
    /// The run hit its time limit.
    Timeout,
    /// The run was stopped (`clawrun kill`, SIGTERM/SIGINT to the runner).
    Killed,
    /// The session to resume does not exist.
    ResumeFailed,
    /// The runner itself failed (internal error).
    Crashed,
}

impl Outcome {
    /// The runner's exit status for this outcome (documented in README).
    pub fn exit_code(self) -> crate::core::model::exit::ExitStatus {
        self.into()
    }

    /// The registry/run status word.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Failed => "failed",
            Outcome::Timeout => "timeout",
            Outcome::Killed => "killed",
            Outcome::ResumeFailed => "resume_failed",
            Outcome::Crashed => "crashed",
        }
    }
}

/// Everything known about a running agent, updated event by event.
#[derive(Debug, Clone)]
pub struct RunState {
    /// Resume id (Claude session id / Codex thread id), once announced.
    pub resume_id: Option<String>,
    /// Model, once announced.
    pub model: Option<String>,
    /// CLI version, once announced.
    pub cli_version: Option<String>,
    /// Tool calls started.
    pub tool_calls: u64,
    /// Open tool calls by id → label.
    pub open_tools: BTreeMap<String, String>,
    /// Open subagents: tool call id → what it was asked to do.
    pub open_subagents: BTreeMap<String, String>,
    /// Subagents started in total.
    pub subagents_started: u64,
    /// Per-message usage (replaced per message id), for the messages since
    /// the last cumulative report. Keyed by agent process and message id: a
    /// new process of the same run (a queued follow-up, a resume after a
    /// usage limit) may number its messages from 1 again, and its reports
    /// add to the earlier ones instead of replacing them.
    message_usage: BTreeMap<(u32, String), Usage>,
    /// The agent process the events come from (0 for the first one).
    process: u32,
    /// Messages a cumulative report already counts: later reports of them are
    /// ignored.
    covered: BTreeSet<(u32, String)>,
    /// Cumulative usage, when a cumulative report arrived.
    cumulative: Option<Usage>,
    /// [`Self::usage`] as of the last turn end (or cumulative report): the
    /// figures a result message would show then.
    settled: Usage,
    /// Cost so far.
    pub cost_usd: Option<f64>,
    /// The latest short activity label ("🔧 Bash: cargo test").
    pub last_activity: Option<String>,
    /// When the last event of any kind arrived.
    pub last_event_at: Instant,
    /// Events since the last heartbeat.
    pub events_since_mark: u64,
    /// The newest top-level assistant text, joined (the last [`MAX_TEXT_KEPT`] bytes).
    pub assistant_text: String,
    /// Characters of top-level assistant text in all.
    pub assistant_chars: u64,
    /// Final text from the terminal event.
    pub final_text: Option<String>,
    /// The terminal result, once seen: `Ok(())` completed, `Err` failed.
    pub terminal: Option<Result<(), (String, FailureKind)>>,
    /// API retries seen.
    pub api_retries: u64,
    /// Warnings seen (malformed lines, odd shapes).
    pub warnings: u64,
    /// Event types the parser did not know, by name (once each).
    pub unknown_events: BTreeSet<String>,
    /// Resume ids the run had before its current one (the CLI moved the
    /// conversation to a new session mid-run), oldest first.
    pub replaced_ids: Vec<String>,
    /// Rate-limit reset time, when reported.
    pub rate_limited_until: Option<i64>,
    /// Tool calls the permission mode or sandbox refused: `(tool, detail)`,
    /// in order, each once.
    pub denied: Vec<(String, String)>,
    /// The agent's plan, when it keeps one: `(done, total)` entries.
    pub plan: Option<(u32, u32)>,
}

impl Default for RunState {
    fn default() -> Self {
        Self::new()
    }
}

impl RunState {
    /// A fresh state.
    pub fn new() -> Self {
        Self {
            resume_id: None,
            model: None,
            cli_version: None,
            tool_calls: 0,
            open_tools: BTreeMap::new(),
            open_subagents: BTreeMap::new(),
            subagents_started: 0,
            message_usage: BTreeMap::new(),
            process: 0,
            covered: BTreeSet::new(),
            cumulative: None,
            settled: Usage::default(),
            cost_usd: None,
            last_activity: None,
            last_event_at: Instant::now(),
            events_since_mark: 0,
            assistant_text: String::new(),
            assistant_chars: 0,
            final_text: None,
            terminal: None,
            api_retries: 0,
            warnings: 0,
            unknown_events: BTreeSet::new(),
            replaced_ids: Vec::new(),
            rate_limited_until: None,
            denied: Vec::new(),
            plan: None,
        }
    }

    /// Token usage so far, without double counting: the latest cumulative
    /// report plus the messages that came after it.
    pub fn usage(&self) -> Usage {
        let base = self.cumulative.unwrap_or_default();
        self.message_usage.values().fold(base, |acc, u| Usage {
            input_tokens: acc.input_tokens.saturating_add(u.input_tokens),
            cached_input_tokens: acc
                .cached_input_tokens
                .saturating_add(u.cached_input_tokens),
            output_tokens: acc.output_tokens.saturating_add(u.output_tokens),
        })
    }

    /// Token usage as of the agent's last finished turn (or its last
    /// cumulative report): the numbers the result message shows, never the
    /// figures of a message still in flight (Claude reports a message's
    /// output tokens at its start, 1 or 2, and the true count only at the end
    /// of the turn). Heartbeats show these.
    pub fn settled_usage(&self) -> Usage {
        self.settled
    }

    /// A new agent process takes over the run (same session): the message
    /// ids it reports are its own, never the earlier process's.
    pub fn new_process(&mut self) {
        self.process = self.process.saturating_add(1);
    }

    /// A cumulative report: it counts every message seen so far.
    fn set_cumulative(&mut self, usage: Usage) {
        let seen = std::mem::take(&mut self.message_usage);
        self.covered.extend(seen.into_keys());
        self.cumulative = Some(usage);
        self.settled = usage;
    }

    /// Subagents are still running: a turn end now is not the end of the work
    /// (the CLI goes on when they finish).
    pub fn background_busy(&self) -> bool {
        !self.open_subagents.is_empty()
    }

    /// "1 background task still running (Inspect files)", when one is.
    pub fn background_note(&self) -> Option<String> {
        let n = self.open_subagents.len();
        if n == 0 {
            return None;
        }
        let names: Vec<&str> = self
            .open_subagents
            .values()
            .map(String::as_str)
            .filter(|d| !d.is_empty())
            .collect();
        let what = if n == 1 { "task" } else { "tasks" };
        let names = if names.is_empty() {
            String::new()
        } else {
            format!(" ({})", names.join(", "))
        };
        Some(format!("{n} background {what} still running{names}"))
    }

    /// Note that a line arrived (any line counts as liveness).
    pub fn touch(&mut self, now: Instant) {
        self.last_event_at = now;
        self.events_since_mark += 1;
    }

    /// Fold one event in. Returns true when the event is "session started"
    /// with a new resume id (the caller records it at once).
    pub fn apply(&mut self, event: &AgentEvent) -> bool {
        match event {
            AgentEvent::SessionStarted {
                resume_id,
                model,
                cli_version,
            } => return self.session_started(resume_id, model, cli_version),
            AgentEvent::AssistantText {
                text,
                parent_tool_id,
            } => self.text_written(text, parent_tool_id.is_some()),
            AgentEvent::TextDelta { .. } => {
                self.last_activity = Some("✍️ Writing".to_owned());
            }
            AgentEvent::Thinking => self.last_activity = Some("🧠 Thinking".to_owned()),
            AgentEvent::ToolStarted {
                call_id,
                name,
                summary,
                ..
            } => self.tool_started(call_id, name, summary),
            AgentEvent::ToolUpdated {
                call_id,
                name,
                summary,
            } => self.tool_updated(call_id, name, summary),
            AgentEvent::Plan {
                done,
                total,
                current,
            } => self.plan_updated(*done, *total, current.as_deref()),
            AgentEvent::AgentInfo { .. } => {}
            AgentEvent::ToolFinished { call_id, .. } => {
                self.open_tools.remove(call_id);
            }
            AgentEvent::SubagentStarted {
                call_id,
                description,
            } => self.subagent_started(call_id, description),
            AgentEvent::SubagentProgress { call_id, activity } => {
                self.subagent_progress(call_id, activity);
            }
            AgentEvent::SubagentFinished { call_id } => {
                self.open_subagents.remove(call_id);
            }
            AgentEvent::Usage { scope, usage } => self.usage_reported(scope, *usage),
            AgentEvent::ApiRetry { .. } => self.api_retries += 1,
            AgentEvent::RateLimited { resets_at, .. } => self.rate_limited_until = *resets_at,
            AgentEvent::TurnCompleted {
                final_text,
                usage,
                cost_usd,
            } => self.turn_completed(final_text, *usage, *cost_usd),
            AgentEvent::TurnFailed {
                message,
                kind,
                cost_usd,
            } => self.turn_failed(message, kind, *cost_usd),
            AgentEvent::ToolDenied { tool, detail } => self.tool_denied(tool, detail),
            AgentEvent::Warning { .. } => self.warnings += 1,
            AgentEvent::UnknownEvent { what } => {
                self.unknown_events.insert(what.clone());
            }
        }
        false
    }

    /// Assistant text: the top-level agent's is kept (a subagent's only shows
    /// as activity).
    fn text_written(&mut self, text: &str, by_subagent: bool) {
        if !by_subagent {
            if !self.assistant_text.is_empty() {
                self.push_text("\n");
            }
            self.push_text(text);
        }
        self.last_activity = Some("✍️ Writing".to_owned());
    }

    /// A tool call started: counted, open until it finishes, the activity.
    fn tool_started(&mut self, call_id: &str, name: &str, summary: &str) {
        self.tool_calls += 1;
        let label = tool_label(name, summary);
        self.open_tools.insert(call_id.to_owned(), label.clone());
        self.last_activity = Some(label);
    }

    /// A subagent started (a repeated start of the same call counts once).
    fn subagent_started(&mut self, call_id: &str, description: &str) {
        if !self.open_subagents.contains_key(call_id) {
            self.open_subagents
                .insert(call_id.to_owned(), description.to_owned());
            self.subagents_started += 1;
        }
        if !description.is_empty() {
            self.last_activity = Some(format!("🤖 {description}"));
        }
    }

    /// What a subagent is doing, named after its task when it has one.
    fn subagent_progress(&mut self, call_id: &str, activity: &str) {
        let task = self.open_subagents.get(call_id).filter(|d| !d.is_empty());
        self.last_activity = Some(match task {
            Some(task) => format!("🤖 {task}: {activity}"),
            None => format!("🤖 {activity}"),
        });
    }

    /// A turn failed: its cost and the usage so far settle, the failure is
    /// the terminal event (until a later one).
    fn turn_failed(&mut self, message: &str, kind: &FailureKind, cost_usd: Option<f64>) {
        if cost_usd.is_some() {
            self.cost_usd = cost_usd;
        }
        self.settled = self.usage();
        self.terminal = Some(Err((message.to_owned(), kind.clone())));
    }

    /// A denied tool call, listed once (a multi-turn run's results each list
    /// the denials so far).
    fn tool_denied(&mut self, tool: &str, detail: &str) {
        let denial = (tool.to_owned(), detail.to_owned());
        if !self.denied.contains(&denial) {
            self.denied.push(denial);
        }
    }

    /// A usage report, per message of this process or cumulative.
    fn usage_reported(&mut self, scope: &UsageScope, usage: Usage) {
        match scope {
            UsageScope::Message { id } => {
                let key = (self.process, id.clone());
                if !self.covered.contains(&key) {
                    self.message_usage.insert(key, usage);
                }
            }
            UsageScope::Cumulative => self.set_cumulative(usage),
        }
    }

    /// The agent's plan now: its counts, and its current entry as the activity.
    fn plan_updated(&mut self, done: u32, total: u32, current: Option<&str>) {
        self.plan = (total > 0).then_some((done, total));
        if let Some(entry) = current {
            self.last_activity = Some(format!("📋 {entry}"));
        }
    }

    /// A running tool's better label replaces the old one, and the current
    /// activity when it was this tool.
    fn tool_updated(&mut self, call_id: &str, name: &str, summary: &str) {
        let label = tool_label(name, summary);
        let Some(old) = self.open_tools.get_mut(call_id) else {
            return;
        };
        if self.last_activity.as_deref() == Some(old.as_str()) {
            self.last_activity = Some(label.clone());
        }
        *old = label;
    }

    /// A session (re)started: a new resume id replaces the old one, which is
    /// remembered. Returns whether the id is new.
    fn session_started(
        &mut self,
        resume_id: &str,
        model: &Option<String>,
        cli_version: &Option<String>,
    ) -> bool {
        let new = self.resume_id.as_deref() != Some(resume_id);
        if new {
            if let Some(old) = self.resume_id.take() {
                self.replaced_ids.push(old);
            }
        }
        self.resume_id = Some(resume_id.to_owned());
        if model.is_some() {
            self.model.clone_from(model);
        }
        if cli_version.is_some() {
            self.cli_version.clone_from(cli_version);
        }
        new
    }

    /// A turn completed: its totals, text and outcome; the activity says
    /// whether background tasks still run.
    fn turn_completed(
        &mut self,
        final_text: &Option<String>,
        usage: Option<Usage>,
        cost_usd: Option<f64>,
    ) {
        if let Some(u) = usage {
            self.set_cumulative(u);
        }
        self.settled = self.usage();
        if cost_usd.is_some() {
            self.cost_usd = cost_usd;
        }
        self.final_text.clone_from(final_text);
        self.terminal = Some(Ok(()));
        self.last_activity = Some(match self.open_subagents.values().next() {
            Some(task) if !task.is_empty() => format!("🤖 {task} (in the background)"),
            Some(_) => "🤖 a background task".to_owned(),
            None => "✅ Finishing".to_owned(),
        });
    }

    fn push_text(&mut self, text: &str) {
        self.assistant_chars += text.chars().count() as u64;
        self.assistant_text.push_str(text);
        // Trim in batches: keep the newest MAX_TEXT_KEPT bytes.
        if self.assistant_text.len() > 2 * MAX_TEXT_KEPT {
            let mut cut = self.assistant_text.len() - MAX_TEXT_KEPT;
            while !self.assistant_text.is_char_boundary(cut) {
                cut += 1;
            }
            self.assistant_text.drain(..cut);
        }
    }

    /// The best final answer: the terminal event's text, else the newest of
    /// the assistant's texts so far (the whole text is in `assistant.txt`).
    #[cfg(test)]
    pub fn best_text(&self) -> Option<&str> {
        self.final_text
            .as_deref()
            .filter(|t| !t.is_empty())
            .or_else(|| Some(self.assistant_text.as_str()).filter(|t| !t.is_empty()))
    }
}

/// `🔧 Bash: cargo test`, or `🔧 Bash` without a summary.
fn tool_label(name: &str, summary: &str) -> String {
    if summary.is_empty() {
        format!("🔧 {name}")
    } else {
        format!("🔧 {name}: {summary}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_replaced_per_message_and_by_cumulative() {
        let mut s = RunState::new();
        let u = |i, o| Usage {
            input_tokens: i,
            cached_input_tokens: 0,
            output_tokens: o,
        };
        let msg = |id: &str, usage| AgentEvent::Usage {
            scope: UsageScope::Message { id: id.to_owned() },
            usage,
        };
        s.apply(&msg("a", u(100, 1)));
        s.apply(&msg("a", u(100, 7)));
        s.apply(&msg("b", u(50, 3)));
        assert_eq!(s.usage(), u(150, 10));
        s.apply(&AgentEvent::Usage {
            scope: UsageScope::Cumulative,
            usage: u(200, 14),
        });
        assert_eq!(s.usage(), u(200, 14));
    }

    #[test]
    fn a_new_process_adds_its_messages_to_the_earlier_ones() {
        let mut s = RunState::new();
        let u = |i, o| Usage {
            input_tokens: i,
            cached_input_tokens: 0,
            output_tokens: o,
        };
        let msg = |usage| AgentEvent::Usage {
            scope: UsageScope::Message {
                id: "acp-prompt-1".to_owned(),
            },
            usage,
        };
        s.apply(&msg(u(10, 5)));
        s.new_process();
        // The new process numbers its first prompt 1 again.
        s.apply(&msg(u(20, 6)));
        assert_eq!(s.usage(), u(30, 11));
    }

    #[test]
    fn a_tool_update_relabels_the_running_tool_and_a_plan_counts() {
        let mut s = RunState::new();
        s.apply(&AgentEvent::ToolStarted {
            call_id: "t".into(),
            name: "execute".into(),
            summary: "Terminal".into(),
            parent_tool_id: None,
        });
        s.apply(&AgentEvent::ToolUpdated {
            call_id: "t".into(),
            name: "execute".into(),
            summary: "cargo test".into(),
        });
        assert_eq!(s.last_activity.as_deref(), Some("🔧 execute: cargo test"));
        assert_eq!(s.open_tools["t"], "🔧 execute: cargo test");
        assert_eq!(s.tool_calls, 1);
        // An update of a finished tool changes nothing.
        s.apply(&AgentEvent::ToolFinished {
            call_id: "t".into(),
            ok: true,
        });
        s.apply(&AgentEvent::ToolUpdated {
            call_id: "t".into(),
            name: "execute".into(),
            summary: "other".into(),
        });
        assert!(s.open_tools.is_empty());
        s.apply(&AgentEvent::Plan {
            done: 2,
            total: 5,
            current: Some("Write the tests".into()),
        });
        assert_eq!(s.plan, Some((2, 5)));
        assert_eq!(s.last_activity.as_deref(), Some("📋 Write the tests"));
    }

    #[test]
    fn subagent_counted_once_and_text_from_top_level_only() {
        let mut s = RunState::new();
        let start = AgentEvent::SubagentStarted {
            call_id: "t1".into(),
            description: "d".into(),
        };
        s.apply(&start);
        s.apply(&start);
        assert_eq!(s.open_subagents.len(), 1);
        assert_eq!(s.subagents_started, 1);
        s.apply(&AgentEvent::AssistantText {
            text: "inside".into(),
            parent_tool_id: Some("t1".into()),
        });
        s.apply(&AgentEvent::AssistantText {
            text: "top".into(),
            parent_tool_id: None,
        });
        s.apply(&AgentEvent::SubagentFinished {
            call_id: "t1".into(),
        });
        assert!(s.open_subagents.is_empty());
        assert_eq!(s.best_text(), Some("top"));
    }
}
