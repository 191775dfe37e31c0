//! The wake: what the orchestrating agent is woken with when a run ends or
//! waits for input. A run's wake is one [`WakeTarget`] (whom to wake, with
//! which marker) carrying a [`WakePayload`] (every fact the text names, its
//! [`WakeStatus`] typed), rendered by [`render_wake`] for the agent and by
//! [`WakePayload::argv_text`] for argv. Built here for every path that wakes:
//! the runner's end ([`WakeTarget::of_run`]), a multi-turn run waiting, a
//! crashed run ([`super::crash_items`]). Sending goes through the notifier
//! ([`super::Notifier::send_wake`]), which also decides whether the wake is
//! stale ([`super::stale`]).

use std::path::Path;

use serde::{Serialize, Serializer};

use crate::channels::WOKEN_BUT_UNDELIVERED;
use crate::core::model::state::Outcome;
use crate::core::store::run::{CompletionMode, RunRecord, RunSpec};

use super::outbox::{Entry, EntryStatus, StaleCheck};
use super::stale::{STALE_PREFIX, skip_words};
use super::{changes, compact, followups_not_run_line, resume_fact, warnings_line};

/// Characters of the result in the wake text.
pub const WAKE_PREVIEW_CHARS: usize = 1200;
/// Characters of the agent's last text quoted in a "waiting for input" notice.
pub const WAITING_PREVIEW_CHARS: usize = 500;

/// What the wake reports: how the run ended, or that it waits for input.
/// Serialized as its word (`completed`, …, `waiting`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WakeStatus {
    /// The run ended with this outcome.
    Ended(Outcome),
    /// A multi-turn run finished its turn and waits for input.
    Waiting,
}

impl WakeStatus {
    /// Its word in the wake text (`status=`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ended(outcome) => outcome.as_str(),
            Self::Waiting => "waiting",
        }
    }

    /// clawrun's documented exit code for the status ([`Outcome::exit_code`]);
    /// `None` while waiting.
    pub fn exit_code(self) -> Option<u8> {
        match self {
            Self::Ended(outcome) => Some(outcome.exit_code().code()),
            Self::Waiting => None,
        }
    }
}

impl std::fmt::Display for WakeStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for WakeStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
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
    /// How the run ended, or that it waits.
    pub status: WakeStatus,
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
    /// The run's warnings that matter to the agent ([`warnings_line`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<String>,
}

impl WakePayload {
    /// The wake as it may travel in argv: no result content
    /// ([`compact::render_argv_wake`]).
    pub fn argv_text(&self) -> String {
        compact::render_argv_wake(
            self.status.as_str(),
            self.label.as_deref(),
            &self.run_id,
            &self.output,
        )
    }

    /// Take what the run's record says the agent should know: what changed,
    /// why the session cannot be resumed, the follow-ups not run, warnings.
    pub fn with_record(mut self, record: &RunRecord) -> Self {
        self.changes = record.changes.as_deref().cloned();
        self.no_resume.clone_from(&record.no_resume);
        self.followups_not_run = followups_not_run_line(&record.followups_not_run);
        self.warnings = warnings_line(&record.warnings);
        self
    }
}

/// A wake to send: to whom (the session key and uuid of the run's route),
/// with which marker, and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct WakeTarget {
    /// The OpenClaw session key to wake.
    pub session_key: String,
    /// The OpenClaw session uuid, when routing found it.
    pub session_id: Option<String>,
    /// The backend's wake marker (`[CLAUDE_CODE_RESULT]`).
    pub marker: &'static str,
    /// What the wake says.
    pub payload: WakePayload,
}

impl WakeTarget {
    /// The wake of the run `spec`'s orchestrating agent, when the run has a
    /// session key to wake: the route's key, else the one given at launch.
    /// Its exit code is clawrun's for `status` ([`WakeStatus::exit_code`]),
    /// never the agent's raw status (`agent_exit`). The facts only known as
    /// the run goes (changes, denials, …) are left empty.
    pub fn of_run(
        spec: &RunSpec,
        marker: &'static str,
        (status, agent_exit): (WakeStatus, Option<i32>),
        resume_id: Option<String>,
        preview: String,
    ) -> Option<Self> {
        let session_key = spec
            .route
            .session_key
            .clone()
            .or_else(|| spec.session_key.clone())?;
        Some(Self {
            session_key,
            session_id: spec.route.session_id.clone(),
            marker,
            payload: WakePayload {
                run_id: spec.run_id.clone(),
                wake_id: String::new(),
                backend: spec.backend.clone(),
                status,
                exit_code: status.exit_code().map(i32::from),
                agent_exit,
                resume_id,
                no_resume: None,
                output: spec.output_file.display().to_string(),
                preview,
                mode: spec.chain.completion_mode,
                iteration: spec.chain.iteration,
                max_iterations: spec.chain.max_iterations,
                project: spec.request.project.display().to_string(),
                label: spec.label.clone(),
                worktree: spec.worktree.clone(),
                changes: None,
                denied: None,
                safety: spec.request.limited_safety(),
                followups_not_run: None,
                warnings: None,
            },
        })
    }
}

/// The wake's state in a run's notifier: whether the run wakes an agent,
/// what finds its wake stale ([`StaleCheck`]), and whether it was found
/// stale before the result went out.
#[derive(Debug, Clone, Default)]
pub struct WakeState {
    /// The run wakes an orchestrating agent (its reply is the audible one).
    pub wakes: bool,
    /// Decides whether the wake is stale (a later run of the chain exists).
    stale: Option<StaleCheck>,
    /// Why the wake is skipped, once [`WakeState::decide`] found it stale.
    skipped: Option<String>,
}

impl WakeState {
    /// A run that wakes an agent when `wakes`, its wake checked by `stale`.
    pub fn new(wakes: bool, stale: Option<StaleCheck>) -> Self {
        Self {
            wakes,
            stale,
            skipped: None,
        }
    }

    /// Decide, before the result goes out, whether the run's wake will be
    /// skipped as stale; returns why. A skipped wake makes the result ring:
    /// no agent turn follows it.
    pub fn decide(&mut self) -> Option<String> {
        self.skipped = self.skip_reason();
        self.skipped.clone()
    }

    /// Why the wake would be skipped now (checked again at wake time).
    pub fn skip_reason(&self) -> Option<String> {
        self.stale.as_ref().and_then(StaleCheck::skip_reason)
    }

    /// Whether an agent's turn follows the result (then the result is quiet).
    pub fn agent_turn_follows(&self) -> bool {
        self.wakes && self.skipped.is_none()
    }

    /// The veto of a delivery pass: why `entry` (a stale wake) is given up.
    pub fn veto(&self, entry: &Entry) -> Option<String> {
        self.stale.as_ref().and_then(|s| s.veto(entry))
    }

    /// What the human is told at the end of the run about its last wake
    /// (`wake`, as the outbox has it) when it did not happen, pointing at
    /// `output`; and, when it was found stale only now, why (for the trace).
    pub fn missed(&self, wake: &Entry, output: &Path) -> Option<(String, Option<String>)> {
        let reason = wake
            .last_error
            .clone()
            .unwrap_or_else(|| "no answer".to_owned());
        let stale = reason.starts_with(STALE_PREFIX);
        let output = output.display();
        let text = match wake.status {
            EntryStatus::Delivered => return None,
            // Skipped before the result went out: the result rang already.
            EntryStatus::Abandoned if stale && self.skipped.is_some() => return None,
            // Found stale only at wake time: say so, ringing (the result was
            // silent, waiting for an agent turn that will not come).
            EntryStatus::Abandoned if stale => format!(
                "ℹ️ Your agent was not woken about this result: {}. The result is in {output}.",
                skip_words(&reason),
            ),
            // Never tried: the messages before it are not through either, so
            // the human cannot be told anything now; the flush will do both.
            EntryStatus::Pending if wake.attempts == 0 => return None,
            EntryStatus::Abandoned if reason.starts_with(WOKEN_BUT_UNDELIVERED) => {
                format!("⚠️ T{}. The result is in {output}.", &reason[1..])
            }
            EntryStatus::Abandoned => format!(
                "⚠️ Your agent was not woken about this result: {reason}. The result is in {output}."
            ),
            EntryStatus::Pending => format!(
                "⚠️ Your agent has not been woken yet ({reason}); clawrun will try again. \
                 The result is in {output}."
            ),
        };
        Some((text, stale.then_some(reason)))
    }
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

/// Render the wake text the orchestrating agent reads: the marker line, the
/// facts, then what the agent is asked to do.
pub fn render_wake(marker: &str, p: &WakePayload) -> String {
    let mut t = marker_line(marker, p);
    t.push_str(&fact_lines(p));
    match p.status {
        WakeStatus::Waiting => t.push_str(&waiting_request(p)),
        WakeStatus::Ended(_) => {
            if let Some(fact) = resume_fact(
                &p.backend,
                p.resume_id.as_deref(),
                Path::new(&p.project),
                p.no_resume.as_deref(),
            ) {
                t.push_str(&format!("Resume: {fact}\n"));
            }
            t.push_str(&completion_request(p));
        }
    }
    t
}

/// The first line: the marker and the machine-readable `key=value` facts.
fn marker_line(marker: &str, p: &WakePayload) -> String {
    format!(
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
    )
}

/// The optional facts, one line each: label, the agent's exit status, the
/// worktree and changes, safety, denials, follow-ups, warnings.
fn fact_lines(p: &WakePayload) -> String {
    let mut t = String::new();
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
    for (key, value) in [
        ("Safety", &p.safety),
        ("Denied", &p.denied),
        ("Follow-ups", &p.followups_not_run),
        ("Warnings", &p.warnings),
    ] {
        if let Some(v) = value {
            t.push_str(&format!("{key}: {v}\n"));
        }
    }
    t
}

/// A waiting run: the agent's question and how to answer it.
fn waiting_request(p: &WakePayload) -> String {
    format!(
        "Project: {}\n\nThe agent asks:\n{}\n\n---\n\
         This is an automated signal from clawrun, not a message from the user: a multi-turn \
         run finished its turn and is waiting for input. The user has already seen the \
         question. If you can answer it from what the user asked, run: clawrun respond {} \
         \"your answer\". If only the user can, ask them and send their answer with \
         clawrun respond {} --user \"their answer\". Otherwise leave it: the run closes by \
         itself when nobody answers.",
        p.project, p.preview, p.run_id, p.run_id
    )
}

/// An ended run: the result preview and what to do next (by completion mode).
fn completion_request(p: &WakePayload) -> String {
    let mut t = format!(
        "Project: {}\n\nResult preview:\n{}\n\n---\n",
        p.project, p.preview
    );
    t.push_str(
        "This is an automated completion signal from clawrun, not a message from the user; \
         do not quote it verbatim. The user has already received the result message. ",
    );
    match p.mode {
        CompletionMode::Single => {
            t.push_str("Tell the user what it means in a few lines if useful, then stop.");
        }
        CompletionMode::Iterate if p.iteration < p.max_iterations => {
            t.push_str(&next_iteration(p));
        }
        CompletionMode::Iterate => t.push_str(
            "This was the last allowed iteration: report what was done and what is missing, then stop.",
        ),
    }
    t.push_str(&format!(" Full output: {}", p.output));
    t
}

/// Iterate mode before the last iteration: check the goal, then launch the next.
fn next_iteration(p: &WakePayload) -> String {
    let resumable = p.resume_id.is_some() && p.no_resume.is_none();
    let how = if resumable {
        "with the Resume command above (the next task in FILE; it reports to this chat and \
         counts the iteration)"
    } else if p.no_resume.is_some() {
        "its session cannot be resumed (see Resume above): start a new run instead"
    } else {
        "the session id is unknown, so it cannot be resumed: start a new run instead"
    };
    format!(
        "Check the result against the user's original goal. If the goal is met, report and stop. \
         If not, first post a short visible message to the user (what was done, what is \
         missing, what the next run will do), then launch exactly one next iteration \
         {how} (iteration {} of {}).",
        p.iteration + 1,
        p.max_iterations
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_status_travels_as_its_word_and_gives_the_exit_code() {
        let waiting = serde_json::to_value(WakeStatus::Waiting).unwrap();
        assert_eq!(waiting, "waiting");
        let timeout = WakeStatus::Ended(Outcome::Timeout);
        assert_eq!(serde_json::to_value(timeout).unwrap(), "timeout");
        assert_eq!(timeout.exit_code(), Some(4));
        assert_eq!(WakeStatus::Waiting.exit_code(), None);
    }

    #[test]
    fn a_run_without_a_session_key_has_no_wake() {
        let mut spec: RunSpec = serde_json::from_str(include_str!(
            "../../../tests/fixtures/runner/request-v1.json"
        ))
        .unwrap();
        spec.route.session_key = None;
        spec.session_key = None;
        let status = (WakeStatus::Ended(Outcome::Completed), None);
        assert!(WakeTarget::of_run(&spec, "[M]", status, None, String::new()).is_none());
        spec.session_key = Some("agent:main:main".into());
        let t = WakeTarget::of_run(&spec, "[M]", status, None, String::new()).unwrap();
        assert_eq!(t.session_key, "agent:main:main");
        assert_eq!(t.payload.exit_code, Some(0));
    }

    /// The run's last wake as the outbox has it.
    fn wake_entry(status: EntryStatus, attempts: u32, last_error: Option<&str>) -> Entry {
        Entry {
            key: "r1:wake:9".into(),
            seq: 9,
            channel: "telegram".into(),
            item: super::super::outbox::Item::Wake(crate::channels::Wake {
                idempotency_key: "r1:wake:9".into(),
                session_key: Some("agent:main:main".into()),
                session_id: None,
                destination: crate::channels::Destination::default(),
                text: String::new(),
                argv_text: None,
            }),
            enqueued_at: 0,
            attempts,
            in_doubt: false,
            last_error: last_error.map(str::to_owned),
            status,
            message_id: None,
        }
    }

    #[test]
    fn the_human_hears_of_a_wake_that_did_not_happen_once() {
        let out = Path::new("/o.md");
        let state = WakeState::new(true, None);
        let delivered = wake_entry(EntryStatus::Delivered, 1, None);
        assert_eq!(state.missed(&delivered, out), None);
        let never_tried = wake_entry(EntryStatus::Pending, 0, None);
        assert_eq!(state.missed(&never_tried, out), None, "the flush tells");
        let failing = wake_entry(EntryStatus::Pending, 2, Some("HTTP 502"));
        let (text, stale) = state.missed(&failing, out).unwrap();
        assert!(text.contains("not been woken yet (HTTP 502)"), "{text}");
        assert_eq!(stale, None);
        let reason = super::super::stale::stale_reason("r2");
        let skipped = wake_entry(EntryStatus::Abandoned, 0, Some(&reason));
        let (text, stale) = state.missed(&skipped, out).unwrap();
        assert!(text.starts_with("ℹ️ Your agent was not woken"), "{text}");
        assert!(
            text.contains("a later run of the same chain (r2)"),
            "{text}"
        );
        assert_eq!(
            stale.as_deref(),
            Some(reason.as_str()),
            "found stale only now"
        );
        // Found stale before the result: the result rang, nothing more to say.
        let mut decided = state.clone();
        decided.skipped = Some(reason.clone());
        assert!(!decided.agent_turn_follows());
        assert_eq!(decided.missed(&skipped, out), None);
        assert!(state.agent_turn_follows());
        assert!(
            !WakeState::default().agent_turn_follows(),
            "no wake, the result rings"
        );
    }
}
