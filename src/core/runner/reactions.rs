//! What the runner does about the agent's events, decided without doing it:
//! [`react`] updates the run state and returns [`Effect`]s (notices, text to
//! stream and save, records to write) that the supervisor carries out.

use std::time::Duration;

use tokio::time::Instant;

use crate::core::model::events::{self, AgentEvent};
use crate::core::model::state::RunState;
use crate::core::notify;
use crate::core::runner::version_guard::VersionGuard;

/// How long the agent must stay active after a stall before "active again"
/// is said: when the run ends within it, the result says it all.
pub(crate) const RECOVERY_NOTE_DELAY: Duration = Duration::from_secs(5);

/// The recovery note, said [`RECOVERY_NOTE_DELAY`] after a stall ended.
pub(crate) const RECOVERED: &str = "✅ The agent is active again.";

/// Flags that make a notice be sent once, not per event.
#[derive(Debug, Default)]
pub(crate) struct Watch {
    /// A stall alert was sent and the agent has been silent since.
    pub stalled: bool,
    /// The agent went on after a stall alert, at this time; the recovery
    /// note waits for [`RECOVERY_NOTE_DELAY`] (a turn end drops it).
    pub recovered_at: Option<Instant>,
    /// A rate limit was announced and the agent has not gone on since.
    pub rate_limited: bool,
    /// Warns once when the CLI is newer than tested or prints unknown events.
    pub guard: Option<VersionGuard>,
    /// Session ids refused so far (only the first few are warned about).
    pub refused_ids: u32,
}

/// Refused session ids warned about, per run.
const MAX_REFUSED_ID_WARNINGS: u32 = 3;

/// The settings of the run that the reactions depend on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Setup<'a> {
    /// The run waits out usage limits with a known reset (announced then).
    pub auto_resume_on_limit: bool,
    /// The backend's name, for the version warning.
    pub backend: &'a str,
    /// The newest CLI version this build was tested with.
    pub tested_version: &'static str,
}

/// One thing to do, in order; text is borrowed from the events it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Effect<'a> {
    /// Tell the human.
    Notice(String),
    /// Top-level assistant text: stream it (foreground) and append it to
    /// `assistant.txt` (after a newline when `after_other` text came before).
    Text {
        /// The text.
        text: &'a str,
        /// Text was counted before this one.
        after_other: bool,
    },
    /// The resume id became known: write the record, the session registry and
    /// the chain link now, so a crash later still leaves a resumable entry.
    ResumeKnown,
    /// A warning for the person running clawrun (returned in the report).
    Warning(String),
}

/// What a batch of events asks for.
#[derive(Debug, Default)]
pub(crate) struct Reaction<'a> {
    /// Effects, in order.
    pub effects: Vec<Effect<'a>>,
    /// Turn ends seen (completed or failed).
    pub turn_ends: u32,
}

/// Apply `events` to `state` and say what to do about them.
pub(crate) fn react<'a>(
    watch: &mut Watch,
    state: &mut RunState,
    events: &'a [AgentEvent],
    now: Instant,
    setup: Setup<'_>,
) -> Reaction<'a> {
    let mut r = Reaction::default();
    if events.is_empty() {
        return r;
    }
    if watch.stalled {
        watch.stalled = false;
        watch.recovered_at = Some(now);
    }
    for ev in events {
        state.touch(now);
        match ev {
            AgentEvent::TurnCompleted { .. } | AgentEvent::TurnFailed { .. } => {
                // The result (or the turn's end) comes next: no "active again" before it.
                watch.recovered_at = None;
                r.turn_ends += 1;
            }
            AgentEvent::AssistantText {
                text,
                parent_tool_id: None,
            } => r.effects.push(Effect::Text {
                text,
                after_other: state.assistant_chars > 0,
            }),
            AgentEvent::Warning { message } => tracing::debug!("agent stream: {message}"),
            _ => {}
        }
        if let Some(notice) = rate_limit_notice(watch, ev, setup.auto_resume_on_limit) {
            r.effects.push(Effect::Notice(notice));
        }
        if let AgentEvent::SessionStarted { resume_id, .. } = ev {
            if let Err(why) = events::check_resume_id(resume_id) {
                // Never stored (run record, registry, iteration chain) nor printed raw.
                watch.refused_ids += 1;
                if watch.refused_ids <= MAX_REFUSED_ID_WARNINGS {
                    r.effects.push(Effect::Warning(format!(
                        "the agent announced a session id that is not recorded ({why}): {}",
                        events::shown_resume_id(resume_id)
                    )));
                }
                continue;
            }
        }
        if state.apply(ev) {
            r.effects.push(Effect::ResumeKnown);
        }
        let guard = watch
            .guard
            .get_or_insert_with(|| VersionGuard::new(setup.backend, setup.tested_version));
        if let Some(warning) = guard.check(state) {
            r.effects.push(Effect::Warning(warning));
        }
    }
    r
}

/// The recovery note, once the agent has stayed active for
/// [`RECOVERY_NOTE_DELAY`] after a stall without ending its turn.
pub(crate) fn due_recovery(watch: &mut Watch, now: Instant) -> Option<String> {
    let at = watch.recovered_at?;
    if watch.stalled || now.saturating_duration_since(at) < RECOVERY_NOTE_DELAY {
        return None;
    }
    watch.recovered_at = None;
    Some(RECOVERED.to_owned())
}

/// The stall alert after `silent_for` of silence. A chat's reader cannot run
/// `clawrun`: they are told to ask their agent; the console's reader gets the
/// command.
pub(crate) fn stall_alert(silent_for: String, run_id: &str, for_chat: bool) -> String {
    if for_chat {
        format!(
            "⚠️ The agent has been silent for {silent_for}; it may be stuck. To stop it, \
             ask your agent to stop run {run_id}."
        )
    } else {
        format!(
            "⚠️ The agent has been silent for {silent_for}; it may be stuck. Stop it with \
             `clawrun kill {run_id}` if needed."
        )
    }
}

/// The one "still running" reminder, phrased for the chat or the console
/// (see [`stall_alert`]).
pub(crate) fn reminder(name: &str, ran: String, run_id: &str, for_chat: bool) -> String {
    if for_chat {
        format!(
            "⏱️ {name} is still running ({ran}). Ask your agent how it is going, or to stop \
             run {run_id}."
        )
    } else {
        format!(
            "⏱️ {name} is still running ({ran}). Watch it with `clawrun fg {run_id}`, or stop \
             it with `clawrun kill {run_id}`."
        )
    }
}

/// The rate-limit notice `ev` calls for, if any: announced once when it starts
/// (unless the run will wait it out: then it is announced when it waits), and
/// once when the agent goes on.
fn rate_limit_notice(watch: &mut Watch, ev: &AgentEvent, auto_resume: bool) -> Option<String> {
    match ev {
        AgentEvent::RateLimited { resets_at, .. }
            if !watch.rate_limited && auto_resume && resets_at.is_some() =>
        {
            watch.rate_limited = true;
            None
        }
        AgentEvent::RateLimited { resets_at, message } if !watch.rate_limited => {
            watch.rate_limited = true;
            let until = resets_at.map_or(String::new(), |t| {
                format!(
                    " until {}",
                    crate::core::store::timefmt::format_utc_compact(t)
                )
            });
            Some(format!(
                "⏳ Rate limited{until}: {}",
                notify::preview(message, 200)
            ))
        }
        AgentEvent::AssistantText { .. }
        | AgentEvent::ToolStarted { .. }
        | AgentEvent::TurnCompleted { .. }
            if watch.rate_limited =>
        {
            watch.rate_limited = false;
            Some("▶️ Resumed after the rate limit.".to_owned())
        }
        _ => None,
    }
}

/// The numeric parts of a version (`2.1.197`, `v0.169.0`, `2.2.0-beta.1` →
/// `[2, 2, 0]`); `None` when it does not start with a number.
fn version_parts(v: &str) -> Option<Vec<u64>> {
    let core = v.trim().trim_start_matches('v');
    let core = core.split(['-', '+', ' ']).next().unwrap_or_default();
    let parts: Option<Vec<u64>> = core.split('.').map(|p| p.parse().ok()).collect();
    parts.filter(|p| !p.is_empty())
}

/// The warning for a CLI `seen` newer than the newest version clawrun was
/// `tested` with, or `None` (same or older, or a version we cannot read).
/// Only CLIs that print their version in the stream are checked.
pub fn version_warning(backend: &str, seen: Option<&str>, tested: &str) -> Option<String> {
    let seen = seen?;
    let (s, t) = (version_parts(seen)?, version_parts(tested)?);
    (s > t).then(|| {
        format!(
            "⚠ {backend} {seen} is newer than the newest version clawrun was tested with \
             ({tested}); if results look wrong, report it"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_only_for_a_newer_cli() {
        let w = version_warning("claude", Some("2.2.0"), "2.1.197");
        assert_eq!(
            w.as_deref(),
            Some(
                "⚠ claude 2.2.0 is newer than the newest version clawrun was tested with \
                 (2.1.197); if results look wrong, report it"
            )
        );
        assert!(version_warning("claude", Some("2.1.197"), "2.1.197").is_none());
        assert!(version_warning("claude", Some("2.1.99"), "2.1.197").is_none());
        assert!(version_warning("claude", Some("2.1.198-beta"), "2.1.197").is_some());
        assert!(version_warning("claude", Some("2.1.197.1"), "2.1.197").is_some());
        assert!(version_warning("claude", Some("unknown"), "2.1.197").is_none());
        assert!(version_warning("codex", None, "0.169.0").is_none());
    }

    fn setup() -> Setup<'static> {
        Setup {
            auto_resume_on_limit: false,
            backend: "x",
            tested_version: "1.0.0",
        }
    }

    #[test]
    fn text_resume_and_rate_limit_become_effects() {
        let mut watch = Watch::default();
        let mut state = RunState::new();
        let now = Instant::now();
        let events = vec![
            AgentEvent::SessionStarted {
                resume_id: "s-1".into(),
                model: None,
                cli_version: Some("2.0.0".into()),
            },
            AgentEvent::RateLimited {
                resets_at: None,
                message: "slow down".into(),
            },
            AgentEvent::AssistantText {
                text: "hi".into(),
                parent_tool_id: None,
            },
            AgentEvent::AssistantText {
                text: "there".into(),
                parent_tool_id: None,
            },
        ];
        let r = react(&mut watch, &mut state, &events, now, setup());
        assert_eq!(
            r.effects,
            vec![
                Effect::ResumeKnown,
                Effect::Warning(
                    "⚠ x 2.0.0 is newer than the newest version clawrun was tested with \
                     (1.0.0); if results look wrong, report it"
                        .into()
                ),
                Effect::Notice("⏳ Rate limited: slow down".into()),
                Effect::Text {
                    text: "hi",
                    after_other: false
                },
                Effect::Notice("▶️ Resumed after the rate limit.".into()),
                Effect::Text {
                    text: "there",
                    after_other: true
                },
            ]
        );
        assert_eq!(r.turn_ends, 0);
        watch.stalled = true;
        let r = react(&mut watch, &mut state, &[], now, setup());
        assert!(r.effects.is_empty());
        assert!(watch.stalled);
    }

    #[tokio::test(start_paused = true)]
    async fn active_again_is_said_only_when_the_run_goes_on() {
        let text = AgentEvent::AssistantText {
            text: "x".into(),
            parent_tool_id: None,
        };
        let end = AgentEvent::TurnCompleted {
            final_text: None,
            usage: None,
            cost_usd: None,
        };
        let mut state = RunState::new();
        // Text after a stall, then the result within the delay: no note.
        let mut watch = Watch {
            stalled: true,
            ..Watch::default()
        };
        let r = react(
            &mut watch,
            &mut state,
            std::slice::from_ref(&text),
            Instant::now(),
            setup(),
        );
        assert!(!r.effects.contains(&Effect::Notice(RECOVERED.into())));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(due_recovery(&mut watch, Instant::now()), None);
        react(&mut watch, &mut state, &[end], Instant::now(), setup());
        tokio::time::advance(RECOVERY_NOTE_DELAY).await;
        assert_eq!(due_recovery(&mut watch, Instant::now()), None);
        // Text after a stall and the run goes on: the note, once.
        watch.stalled = true;
        react(&mut watch, &mut state, &[text], Instant::now(), setup());
        tokio::time::advance(RECOVERY_NOTE_DELAY).await;
        assert_eq!(
            due_recovery(&mut watch, Instant::now()).as_deref(),
            Some(RECOVERED)
        );
        assert_eq!(due_recovery(&mut watch, Instant::now()), None);
    }
}
