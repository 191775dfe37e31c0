//! OpenAI Codex: the command line, and the `exec --json` parser.
//!
//! Here: the wire types of an `exec --json` line and the parser. The command
//! line, its checks and capabilities are `backend.rs`; the denials read from
//! Codex's session log `rollout.rs`.
//!
//! # Command
//!
//! ```text
//! codex [--search] exec --json -C <project> <permission> [-c web_search="disabled"] [--model M]
//!       <extra args> [resume <thread id> | fork <thread id>] -
//! ```
//!
//! Checked against `codex --help`, `codex exec --help` and `codex exec resume
//! --help` of 0.169.0, and real runs:
//!
//! - `--search` is a top-level option (before `exec`). Without it this version
//!   still offers the model a web search tool; `-c web_search="disabled"` is what
//!   turns it off.
//! - `exec resume` has no `-C` or `-s` of its own, but `exec` options written
//!   before the `resume` word apply to the resumed session (a resume with
//!   `-C other -s read-only` ran in `other` with the read-only sandbox). So every
//!   option goes before `resume`/`fork`, in the same place for all three forms.
//! - `-` as the prompt argument reads the prompt from stdin (also for `resume`
//!   and `fork`). The prompt is never in argv.
//! - `<permission>` is the configured default
//!   (`--dangerously-bypass-approvals-and-sandbox`) or `-s <mode>`.
//!
//! # Events
//!
//! `thread.started`, `turn.started`, `item.started` / `item.updated` /
//! `item.completed` (items `command_execution`, `agent_message`, `reasoning`,
//! `file_change`, `web_search`, `mcp_tool_call`, `todo_list`, `error`),
//! `turn.completed` (usage, cumulative for the thread), `turn.failed`, `error`.
//! 0.171.0 prints the same types as 0.169.0. Anything else becomes an
//! [`AgentEvent::UnknownEvent`], once per run. See `tests/fixtures/codex/*.jsonl`
//! (0.169.0), `tests/fixtures/codex-0.171.0/*.jsonl` and `tests/fixtures/expected/`.

use rustc_hash::FxHashSet as HashSet;
use std::borrow::Cow;

mod backend;
mod head;
mod rollout;

pub use backend::CodexBackend;

use crate::backends::LineParser;
use crate::backends::wire;
use crate::core::model::events::{AgentEvent, FailureKind, Usage, UsageScope};

/// Sandbox modes `codex -s` accepts (0.169.0).
pub const CODEX_SANDBOX_MODES: &[&str] = &["read-only", "workspace-write", "danger-full-access"];

/// Longest summary of a shell command, in characters.
const COMMAND_SUMMARY_MAX: usize = 80;
/// Longest summary of any other tool call, in characters.
const OTHER_SUMMARY_MAX: usize = 60;
/// Longest stderr excerpt in a failure message, in characters.
const STDERR_MESSAGE_MAX: usize = 500;
/// What `codex exec resume <unknown id>` prints on stderr (0.169.0):
/// `Error: thread/resume: thread/resume failed: no rollout found for thread id …`.
const RESUME_NOT_FOUND: &[&str] = &["no rollout found for thread id", "thread/resume failed"];
/// Harmless stderr lines, left out of failure messages.
const HARMLESS_STDERR_PREFIXES: &[&str] = &[
    "WARNING: proceeding, even though we could not create PATH aliases",
    "Reading additional input from stdin...",
];

// ---------------------------------------------------------------------------
// Wire types: private, lenient, borrowed from the line.

wire::record! {
    /// One line of `exec --json`: the union of the fields of every line type.
    struct Line<'a> {
        "type" => kind: Option<Cow<'a, str>>,
        "thread_id" => thread_id: Option<Cow<'a, str>>,
        "item" => item: Option<Item<'a>>,
        "usage" => usage: Option<WireUsage>,
        "error" => error: Option<ErrorObj<'a>>,
        "message" => message: Option<Cow<'a, str>>,
        // turn.completed (recent versions)
        "status" => status: Option<Cow<'a, str>>,
    }
}

wire::record! {
    /// An item of any type (`command_execution`, `agent_message`, …).
    struct Item<'a> {
        "id" => id: Option<Cow<'a, str>>,
        "type" => kind: Option<Cow<'a, str>>,
        // Needed for a tool's start only: unescaped then.
        "command" => command: Option<wire::RawStr<'a>>,
        "exit_code" => exit_code: Option<i64>,
        "status" => status: Option<Cow<'a, str>>,
        "text" => text: Option<Cow<'a, str>>,
        "message" => message: Option<Cow<'a, str>>,
        "changes" => changes: Vec<Change<'a>>,
        "query" => query: Option<Cow<'a, str>>,
        "server" => server: Option<Cow<'a, str>>,
        "tool" => tool: Option<Cow<'a, str>>,
        "error" => error: Option<ErrorObj<'a>>,
    }
}

wire::record! {
    struct Change<'a> {
        "path" => path: Option<Cow<'a, str>>,
    }
}

wire::record! {
    struct ErrorObj<'a> {
        "message" => message: Option<Cow<'a, str>>,
    }
}

wire::record! {
    struct WireUsage {
        "input_tokens" => input_tokens: Option<u64>,
        "cached_input_tokens" => cached_input_tokens: Option<u64>,
        "output_tokens" => output_tokens: Option<u64>,
        "reasoning_output_tokens" => reasoning_output_tokens: Option<u64>,
    }
}

impl WireUsage {
    /// Normalized: cached input is a subset of input; reasoning counts as output.
    fn normalize(self) -> Usage {
        Usage {
            input_tokens: self.input_tokens.unwrap_or(0),
            cached_input_tokens: self.cached_input_tokens.unwrap_or(0),
            output_tokens: self
                .output_tokens
                .unwrap_or(0)
                .saturating_add(self.reasoning_output_tokens.unwrap_or(0)),
        }
    }
}

// ---------------------------------------------------------------------------
// Parser

/// Per-run parser for `codex exec --json` output.
///
/// State it keeps: the tool items started and not finished (so a tool is
/// started exactly once even when Codex only reports its completion), the
/// reasoning items already reported, the last agent message (the final text),
/// the last non-retry `error` (the failure message if no terminal event comes),
/// and whether a terminal event (`turn.completed` / `turn.failed`) was seen.
#[derive(Debug, Clone, Default)]
pub struct CodexParser {
    terminal: bool,
    /// Tool items started and not finished: a few at a time (Codex runs
    /// its commands one after another), so a list, searched, not hashed.
    tools_open: Vec<String>,
    reasoning_seen: HashSet<String>,
    last_message: Option<String>,
    last_error: Option<String>,
    retries: u32,
    warned: HashSet<String>,
}

/// Where an item event stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Started,
    Updated,
    Completed,
}

/// `line` without its surrounding whitespace when it may be a JSON object
/// (it opens with a brace); `None` for a blank line, or one that cannot be
/// (reported in `out`).
fn object_line<'a>(line: &'a str, out: &mut Vec<AgentEvent>) -> Option<&'a str> {
    // JSON whitespace is ASCII.
    let line = line.trim_ascii();
    if line.is_empty() {
        return None;
    }
    if !line.starts_with('{') {
        out.push(AgentEvent::Warning {
            message: format!("Codex line is not a JSON object: {}", preview(line)),
        });
        return None;
    }
    Some(line)
}

/// A short excerpt of an odd line, for warnings.
fn preview(line: &str) -> String {
    wire::short(line, 120)
}

impl CodexParser {
    /// A parser for a new run.
    pub fn new() -> Self {
        Self::default()
    }

    /// Name an unknown line or item type once per run.
    fn unknown_once(&mut self, what: String, out: &mut Vec<AgentEvent>) {
        if self.warned.insert(what.clone()) {
            out.push(AgentEvent::UnknownEvent { what });
        }
    }

    fn warn_once(&mut self, message: String, out: &mut Vec<AgentEvent>) {
        if self.warned.insert(message.clone()) {
            out.push(AgentEvent::Warning { message });
        }
    }

    fn handle(&mut self, line: &mut Line<'_>, out: &mut Vec<AgentEvent>) {
        match line.kind.as_deref() {
            Some("thread.started") => match line.thread_id.take() {
                Some(id) => out.push(AgentEvent::SessionStarted {
                    resume_id: id.into_owned(),
                    model: None,
                    cli_version: None,
                }),
                None => out.push(AgentEvent::Warning {
                    message: "Codex thread.started without a thread_id".to_string(),
                }),
            },
            Some("turn.started") => {}
            Some("item.started") => self.item(Phase::Started, line.item.as_mut(), out),
            Some("item.updated") => self.item(Phase::Updated, line.item.as_mut(), out),
            Some("item.completed") => self.item(Phase::Completed, line.item.as_mut(), out),
            // Reported for recent versions (not in 0.171.0's transcripts): a
            // `status`, `turn_id` and `duration_ms`. Only a failed or interrupted
            // status changes anything.
            Some("turn.completed")
                if matches!(
                    line.status.as_deref(),
                    Some("failed" | "interrupted" | "cancelled")
                ) =>
            {
                self.terminal = true;
                let status = line.status.as_deref().unwrap_or_default();
                let message = line
                    .error
                    .take()
                    .and_then(|e| e.message)
                    .map(Cow::into_owned)
                    .or_else(|| self.last_error.clone())
                    .unwrap_or_else(|| format!("Codex ended the turn as {status}"));
                let kind = classify_failure(&message);
                out.push(AgentEvent::TurnFailed {
                    message,
                    kind,
                    cost_usd: None,
                });
            }
            Some("turn.completed") => self.turn_completed(line.usage, out),
            Some("turn.failed") => {
                let message = line.error.take().and_then(|e| e.message);
                self.turn_failed(message, out);
            }
            Some("error") => {
                let message = line.message.take().map(Cow::into_owned).unwrap_or_default();
                self.error(message, out);
            }
            Some(other) => self.unknown_once(format!("{other:?}"), out),
            None => out.push(AgentEvent::Warning {
                message: "Codex line without a \"type\"".to_string(),
            }),
        }
    }

    /// A turn that ended well, with the thread's usage so far.
    fn turn_completed(&mut self, usage: Option<WireUsage>, out: &mut Vec<AgentEvent>) {
        self.terminal = true;
        let usage = usage.map(WireUsage::normalize);
        if let Some(usage) = usage {
            out.push(AgentEvent::Usage {
                scope: UsageScope::Cumulative,
                usage,
            });
        }
        out.push(AgentEvent::TurnCompleted {
            final_text: self.last_message.clone(),
            usage,
            cost_usd: None,
        });
    }

    /// A failed turn, with its message (else the last error's).
    fn turn_failed(&mut self, message: Option<Cow<'_, str>>, out: &mut Vec<AgentEvent>) {
        self.terminal = true;
        let message = message
            .map(Cow::into_owned)
            .or_else(|| self.last_error.clone())
            .unwrap_or_else(|| "Codex reported a failed turn".to_string());
        let kind = classify_failure(&message);
        out.push(AgentEvent::TurnFailed {
            message,
            kind,
            cost_usd: None,
        });
    }

    /// `line` (see [`object_line`]) read by the general reader: every field
    /// of [`Line`], whatever their order and however they are written.
    fn read_in_full(&mut self, line: &str, out: &mut Vec<AgentEvent>) {
        let mut wire = Line::default();
        if let Err(e) = wire::parse_record(line, &mut wire) {
            out.push(AgentEvent::Warning {
                message: format!("malformed Codex line ({e}): {}", preview(line)),
            });
            return;
        }
        self.handle(&mut wire, out);
    }

    /// A top-level `error`: a retry notice, or a failure that `turn.failed`
    /// usually repeats (kept for [`LineParser::finish`] in case it does not).
    fn error(&mut self, message: String, out: &mut Vec<AgentEvent>) {
        if let Some(rest) = message.strip_prefix("Reconnecting...") {
            self.retries = self.retries.saturating_add(1);
            let (attempt, max_retries) = retry_counts(rest).unwrap_or((self.retries, None));
            out.push(AgentEvent::ApiRetry {
                attempt,
                max_retries,
                status: status_in(&message),
                message,
            });
            return;
        }
        if wire::contains_ignore_ascii_case(&message, "usage limit") {
            out.push(AgentEvent::RateLimited {
                resets_at: None,
                message: message.clone(),
            });
        }
        self.last_error = Some(message);
    }

    fn item(&mut self, phase: Phase, item: Option<&mut Item<'_>>, out: &mut Vec<AgentEvent>) {
        let Some(item) = item else {
            out.push(AgentEvent::Warning {
                message: "Codex item event without an item".to_string(),
            });
            return;
        };
        let id = item.id.as_deref().unwrap_or("");
        match item.kind.as_deref() {
            Some("command_execution") => {
                self.command(phase, id, item.command, item.exit_code, out);
            }
            Some("file_change") => {
                let summary = || {
                    let names: Vec<&str> = item
                        .changes
                        .iter()
                        .filter_map(|c| c.path.as_deref())
                        .map(wire::base_name)
                        .collect();
                    wire::short(&names.join(", "), OTHER_SUMMARY_MAX)
                };
                let ok = !matches!(item.status.as_deref(), Some("failed" | "declined"));
                self.tool(phase, id, "file_change", summary, ok, out);
            }
            Some("web_search") => {
                let summary =
                    || wire::short(item.query.as_deref().unwrap_or(""), OTHER_SUMMARY_MAX);
                let ok = !matches!(item.status.as_deref(), Some("failed"));
                self.tool(phase, id, "web_search", summary, ok, out);
            }
            Some("mcp_tool_call") => {
                let summary = || {
                    let server = item.server.as_deref().unwrap_or("");
                    let tool = item.tool.as_deref().unwrap_or("");
                    wire::short(&format!("{server}/{tool}"), OTHER_SUMMARY_MAX)
                };
                let ok = item.error.is_none() && !matches!(item.status.as_deref(), Some("failed"));
                self.tool(phase, id, "mcp_tool_call", summary, ok, out);
            }
            Some("agent_message") => {
                if phase == Phase::Completed {
                    self.message(item.text.take(), out);
                }
            }
            Some("reasoning") => self.reasoning(phase, id, out),
            Some("todo_list") => {}
            Some("error") => {
                if phase == Phase::Completed {
                    out.push(AgentEvent::Warning {
                        message: item
                            .message
                            .take()
                            .map(Cow::into_owned)
                            .unwrap_or_else(|| "Codex reported an error item".to_string()),
                    });
                }
            }
            Some(other) => self.unknown_once(format!("item {other:?}"), out),
            None => self.warn_once("Codex item without a type".to_string(), out),
        }
    }

    /// A `command_execution` item: a shell tool, ok when it exited 0.
    fn command(
        &mut self,
        phase: Phase,
        id: &str,
        command: Option<wire::RawStr<'_>>,
        exit_code: Option<i64>,
        out: &mut Vec<AgentEvent>,
    ) {
        let summary = || {
            let command = command.and_then(|c| c.text()).unwrap_or_default();
            wire::short(&shell_inner(&command), COMMAND_SUMMARY_MAX)
        };
        self.tool(phase, id, "shell", summary, exit_code == Some(0), out);
    }

    /// A completed `agent_message` item's text.
    fn message(&mut self, text: Option<Cow<'_, str>>, out: &mut Vec<AgentEvent>) {
        let Some(text) = text else {
            return;
        };
        let text = text.into_owned();
        // Kept for the turn's final text, in the buffer of the previous
        // one: no allocation per message.
        match &mut self.last_message {
            Some(last) => {
                last.clear();
                last.push_str(&text);
            }
            None => self.last_message = Some(text.clone()),
        }
        out.push(AgentEvent::AssistantText {
            text,
            parent_tool_id: None,
        });
    }

    /// A `reasoning` item: the model thinks (once per item).
    fn reasoning(&mut self, phase: Phase, id: &str, out: &mut Vec<AgentEvent>) {
        if phase != Phase::Updated && !self.reasoning_seen.contains(id) {
            self.reasoning_seen.insert(id.to_string());
            out.push(AgentEvent::Thinking);
        }
    }

    /// A tool-like item: started once (also when only its completion is
    /// reported), finished on completion.
    fn tool(
        &mut self,
        phase: Phase,
        id: &str,
        name: &str,
        summary: impl FnOnce() -> String,
        ok: bool,
        out: &mut Vec<AgentEvent>,
    ) {
        match phase {
            Phase::Started => {
                if !self.tools_open.iter().any(|open| open == id) {
                    self.tools_open.push(id.to_string());
                    out.push(AgentEvent::ToolStarted {
                        call_id: id.to_string(),
                        name: name.to_string(),
                        summary: summary(),
                        parent_tool_id: None,
                    });
                }
            }
            Phase::Updated => {}
            Phase::Completed => {
                // The id kept when the tool started is the finished event's.
                let open = self.tools_open.iter().position(|open| open == id);
                let call_id = match open.map(|at| self.tools_open.swap_remove(at)) {
                    Some(call_id) => call_id,
                    None => {
                        out.push(AgentEvent::ToolStarted {
                            call_id: id.to_string(),
                            name: name.to_string(),
                            summary: summary(),
                            parent_tool_id: None,
                        });
                        id.to_string()
                    }
                };
                out.push(AgentEvent::ToolFinished { call_id, ok });
            }
        }
    }
}

/// The `n/m` of `"Reconnecting... n/m (…)"`.
fn retry_counts(rest: &str) -> Option<(u32, Option<u32>)> {
    let word = rest.split_whitespace().next()?;
    let (n, m) = word.split_once('/')?;
    Some((n.parse().ok()?, m.parse().ok()))
}

/// An HTTP status named in an error text: `status 401`, `last status: 429`.
fn status_in(text: &str) -> Option<u16> {
    const WORD: &str = "status";
    // Messages are short: a look at each `s` costs less than a substring
    // searcher's set-up.
    let bytes = text.as_bytes();
    let mut words =
        memchr::memchr_iter(b's', bytes).filter(|&at| bytes[at..].starts_with(WORD.as_bytes()));
    words.find_map(|at| {
        let rest = text[at + WORD.len()..].trim_start_matches([':', ' ']);
        let digits: &str = &rest[..rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len())];
        (digits.len() == 3)
            .then(|| digits.parse::<u16>().ok())
            .flatten()
            .filter(|s| (100..=599).contains(s))
    })
}

fn classify_failure(message: &str) -> FailureKind {
    let status = status_in(message);
    if status == Some(429)
        || ["rate limit", "usage limit", "too many requests"]
            .iter()
            .any(|words| wire::contains_ignore_ascii_case(message, words))
    {
        return FailureKind::RateLimit;
    }
    match status {
        Some(status) => FailureKind::Api {
            status: Some(status),
        },
        None => FailureKind::Other,
    }
}

/// The command inside Codex's shell wrapper: `/bin/bash -lc 'echo hi'` → `echo hi`.
fn shell_inner(command: &str) -> Cow<'_, str> {
    let trimmed = command.trim();
    let Some((program, (flag, script))) =
        word(trimmed).and_then(|(program, rest)| Some((program, word(rest)?)))
    else {
        return Cow::Borrowed(trimmed);
    };
    let shell = matches!(wire::base_name(program), "bash" | "sh" | "zsh" | "dash");
    if !shell || !matches!(flag, "-c" | "-lc" | "-cl") {
        return Cow::Borrowed(trimmed);
    }
    unquote(script.trim())
}

/// The text before the first space of `s`, and the text after it.
fn word(s: &str) -> Option<(&str, &str)> {
    // A byte search: a command's first words are short.
    let at = s.bytes().position(|b| b == b' ')?;
    Some((&s[..at], &s[at + 1..]))
}

/// Undo one level of POSIX shell quoting of a whole word, when it is one.
fn unquote(word: &str) -> Cow<'_, str> {
    let bytes = word.as_bytes();
    if bytes.len() >= 2 && bytes[0] == b'\'' && bytes[bytes.len() - 1] == b'\'' {
        let inner = &word[1..word.len() - 1];
        if !inner.contains('\'') {
            return Cow::Borrowed(inner);
        }
        // `'\''` is how a quote is written inside single quotes; any other quote
        // means this is not a single quoted word.
        if !inner.replace("'\\''", "").contains('\'') {
            return Cow::Owned(inner.replace("'\\''", "'"));
        }
    } else if bytes.len() >= 2 && bytes[0] == b'"' && bytes[bytes.len() - 1] == b'"' {
        let inner = &word[1..word.len() - 1];
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, chars.peek()) {
                ('\\', Some(&next)) if matches!(next, '\\' | '"' | '$' | '`') => {
                    out.push(next);
                    chars.next();
                }
                ('"', _) => return Cow::Borrowed(word),
                _ => out.push(c),
            }
        }
        return Cow::Owned(out);
    }
    Cow::Borrowed(word)
}

impl LineParser for CodexParser {
    fn parse_line_into(&mut self, line: &str, out: &mut Vec<AgentEvent>) {
        let Some(line) = object_line(line, out) else {
            return;
        };
        // Type first: most lines are read by their layout (`head.rs`).
        if !self.by_head(line, out) {
            self.read_in_full(line, out);
        }
    }

    fn finish(&mut self, exit_code: Option<i32>, stderr_tail: &str) -> Vec<AgentEvent> {
        if self.terminal {
            return Vec::new();
        }
        let useful = stderr_tail.lines().filter(|l| {
            !HARMLESS_STDERR_PREFIXES
                .iter()
                .any(|p| l.trim_start().starts_with(p))
        });
        let tail = wire::tail_lines(useful, STDERR_MESSAGE_MAX);
        if RESUME_NOT_FOUND.iter().any(|s| stderr_tail.contains(s)) {
            return vec![AgentEvent::TurnFailed {
                message: tail,
                kind: FailureKind::ResumeNotFound,
                cost_usd: None,
            }];
        }
        let message = match self.last_error.take() {
            Some(error) => error,
            None if !tail.is_empty() => tail,
            None => wire::no_result_message(exit_code),
        };
        vec![AgentEvent::TurnFailed {
            message,
            kind: FailureKind::NoResult,
            cost_usd: None,
        }]
    }
}

#[cfg(test)]
mod tests;
