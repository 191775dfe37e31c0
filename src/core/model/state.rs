//! The live state of a run, folded from [`AgentEvent`]s: what heartbeats show,
//! what the result message reports, and what decides the outcome.
//!
//! A run may hold several turns (Claude ≥ 2.1.332 starts a turn by itself when a
//! background subagent finishes, and prints a `result` for each): the outcome
//! comes from the last terminal event, and a turn end while subagents still run
//! does not make the run idle ([`RunState::background_busy`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};

use rustc_hash::FxHashSet;
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
    /// The ids of the tool calls still open.
    open_tools: FxHashSet<String>,
    /// The open tool call the activity names (empty: the activity is not a
    /// tool's), so that a better label for it replaces the activity.
    activity_tool: String,
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
            open_tools: FxHashSet::default(),
            activity_tool: String::new(),
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

    /// Tool calls started and not finished yet.
    pub fn open_tool_calls(&self) -> usize {
        self.open_tools.len()
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
            AgentEvent::TextDelta { .. } => self.set_activity(format_args!("✍️ Writing")),
            AgentEvent::Thinking => self.set_activity(format_args!("🧠 Thinking")),
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
        self.set_activity(format_args!("✍️ Writing"));
    }

    /// A tool call started: counted, open until it finishes, the activity.
    fn tool_started(&mut self, call_id: &str, name: &str, summary: &str) {
        self.tool_calls += 1;
        self.open_tools.insert(call_id.to_owned());
        self.tool_activity(call_id, name, summary);
    }

    /// The activity is now `args`. Its buffer is reused: the activity
    /// changes with nearly every event, and costs no allocation then.
    fn set_activity(&mut self, args: fmt::Arguments<'_>) {
        write_activity(&mut self.last_activity, args);
        self.activity_tool.clear();
    }

    /// The activity is tool call `call_id`: `🔧 Bash: cargo test`, or
    /// `🔧 Bash` without a summary.
    fn tool_activity(&mut self, call_id: &str, name: &str, summary: &str) {
        if summary.is_empty() {
            self.set_activity(format_args!("🔧 {name}"));
        } else {
            self.set_activity(format_args!("🔧 {name}: {summary}"));
        }
        call_id.clone_into(&mut self.activity_tool);
    }

    /// A subagent started (a repeated start of the same call counts once).
    fn subagent_started(&mut self, call_id: &str, description: &str) {
        if !self.open_subagents.contains_key(call_id) {
            self.open_subagents
                .insert(call_id.to_owned(), description.to_owned());
            self.subagents_started += 1;
        }
        if !description.is_empty() {
            self.set_activity(format_args!("🤖 {description}"));
        }
    }

    /// What a subagent is doing, named after its task when it has one.
    fn subagent_progress(&mut self, call_id: &str, activity: &str) {
        let to = &mut self.last_activity;
        match self.open_subagents.get(call_id).filter(|d| !d.is_empty()) {
            Some(task) => write_activity(to, format_args!("🤖 {task}: {activity}")),
            None => write_activity(to, format_args!("🤖 {activity}")),
        }
        self.activity_tool.clear();
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
            self.set_activity(format_args!("📋 {entry}"));
        }
    }

    /// A running tool's better label replaces the current activity when
    /// the activity is this tool.
    fn tool_updated(&mut self, call_id: &str, name: &str, summary: &str) {
        if self.open_tools.contains(call_id) && self.activity_tool == call_id {
            self.tool_activity(call_id, name, summary);
        }
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
        let to = &mut self.last_activity;
        match self.open_subagents.values().next() {
            Some(task) if !task.is_empty() => {
                write_activity(to, format_args!("🤖 {task} (in the background)"));
            }
            Some(_) => write_activity(to, format_args!("🤖 a background task")),
            None => write_activity(to, format_args!("✅ Finishing")),
        }
        self.activity_tool.clear();
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

/// Write `args` over the activity in `to`, reusing its buffer.
fn write_activity(to: &mut Option<String>, args: fmt::Arguments<'_>) {
    let activity = to.get_or_insert_with(String::new);
    activity.clear();
    // Writing to a String cannot fail.
    let _ = activity.write_fmt(args);
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
        assert_eq!(s.last_activity.as_deref(), Some("🔧 execute: cargo test"));
        s.apply(&AgentEvent::Plan {
            done: 2,
            total: 5,
            current: Some("Write the tests".into()),
        });
        assert_eq!(s.plan, Some((2, 5)));
        assert_eq!(s.last_activity.as_deref(), Some("📋 Write the tests"));
    }

    #[test]
    fn a_tool_update_relabels_the_activity_only_when_it_is_that_tool() {
        let mut s = RunState::new();
        let start = |id: &str, summary: &str| AgentEvent::ToolStarted {
            call_id: id.into(),
            name: "execute".into(),
            summary: summary.into(),
            parent_tool_id: None,
        };
        let update = |id: &str, summary: &str| AgentEvent::ToolUpdated {
            call_id: id.into(),
            name: "execute".into(),
            summary: summary.into(),
        };
        s.apply(&start("a", "Terminal"));
        s.apply(&start("b", "Terminal"));
        // Same label as the activity, but the activity is b's.
        s.apply(&update("a", "make"));
        assert_eq!(s.last_activity.as_deref(), Some("🔧 execute: Terminal"));
        s.apply(&update("b", "cargo test"));
        assert_eq!(s.last_activity.as_deref(), Some("🔧 execute: cargo test"));
        // Once the agent writes, a late label of the tool does not take over.
        s.apply(&AgentEvent::TextDelta { text: "x".into() });
        s.apply(&update("b", "cargo build"));
        assert_eq!(s.last_activity.as_deref(), Some("✍️ Writing"));
        assert_eq!(s.tool_calls, 2);
        assert_eq!(s.open_tools.len(), 2);
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
