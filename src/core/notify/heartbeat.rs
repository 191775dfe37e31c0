//! The compact heartbeat line sent while a run goes on.

use std::time::Duration;

use tokio::time::Instant;

use super::fmt_usage;
use crate::core::model::state::RunState;

/// The compact heartbeat line of the seed:
/// `🟢 CC (3min) | sub:1 | 12K in / 800 out | 18 calls | 🔧 Bash ✍️`.
///
/// 🟢 when the agent was active in the last 30 s, 🟡 under 120 s, 🔴 beyond.
/// Tokens are the run's totals as of the agent's last finished turn (`500 in
/// / 63 out`, [`RunState::settled_usage`]): the numbers the result message
/// shows, none before the first turn ends; `plan 2/5` when the agent keeps a plan (entries
/// done / in all). The last part is what the agent does now: its
/// latest activity, followed by `✍️` when it produced output since the
/// previous heartbeat (it is working, not waiting), or `🧠 Thinking...` when
/// it has been quiet for more than 15 s.
pub fn render_heartbeat(
    tag: &str,
    elapsed: Duration,
    state: &RunState,
    now: Instant,
    show_subagents: bool,
) -> String {
    let idle = now.saturating_duration_since(state.last_event_at).as_secs();
    let dot = if idle < 30 {
        "🟢"
    } else if idle < 120 {
        "🟡"
    } else {
        "🔴"
    };
    let mut parts = vec![format!(
        "{dot} {tag} ({})",
        super::fmt_duration(elapsed.as_secs() as i64)
    )];
    if show_subagents {
        parts.push(format!("sub:{}", state.open_subagents.len()));
    } else if state.open_tool_calls() > 0 {
        parts.push(format!("ops:{}", state.open_tool_calls()));
    }
    let usage = state.settled_usage();
    if usage.total() > 0 {
        // The same totals, in the same words, as the result message.
        parts.push(fmt_usage(&usage));
    }
    if state.tool_calls > 0 {
        parts.push(format!("{} calls", state.tool_calls));
    }
    if let Some((done, total)) = state.plan {
        parts.push(format!("plan {done}/{total}"));
    }
    if idle > 120 {
        parts.push(format!("🧠 Thinking... ({idle}s)"));
    } else if idle > 15 && state.events_since_mark == 0 {
        parts.push("🧠 Thinking...".to_owned());
    } else if let Some(a) = &state.last_activity {
        if state.events_since_mark > 0 {
            parts.push(format!("{a} ✍️"));
        } else {
            parts.push(a.clone());
        }
    }
    parts.join(" | ")
}
