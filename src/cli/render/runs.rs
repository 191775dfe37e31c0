//! Runs as text: the `list` table, `show`'s details, `status` lines, and the
//! `kill` summary.

use crate::core::model::state::Outcome;
use crate::core::notify;
use crate::core::notify::stale;
use crate::core::ops::kill::{KillPath, KillReport};
use crate::core::ops::list::RunSummary;
use crate::core::ops::show::{RunDetails, WakeState};
use crate::core::store::run::RunRecord;
use crate::core::store::timefmt;

use crate::core::model::text::fmt_cost;

fn clip(s: &str, n: usize) -> String {
    let mut it = s.chars();
    let head: String = it.by_ref().take(n).collect();
    if it.next().is_some() {
        format!(
            "{}…",
            head.chars().take(n.saturating_sub(1)).collect::<String>()
        )
    } else {
        head
    }
}

/// `list` as a table.
pub fn list(runs: &[RunSummary]) -> String {
    let mut out = format!(
        "{:<13} {:<7} {:>5} {:>5} {:>9}  {:<22}  {:<24}  {}\n",
        "STATUS", "BACKEND", "AGE", "DUR", "COST", "RUN ID", "LABEL", "PROJECT"
    );
    for r in runs {
        // A run on a paired node: its name marks it.
        let node = r
            .node
            .as_ref()
            .map(|n| format!("🖥 {n}: "))
            .unwrap_or_default();
        out.push_str(&format!(
            "{} {:<7} {:>5} {:>5} {:>9}  {:<22}  {:<24}  {node}{}\n",
            super::style::status(&r.status, &format!("{:<13}", r.status)),
            r.backend,
            timefmt::format_age(r.age_secs),
            timefmt::format_age(r.duration_secs),
            fmt_cost(r.cost_usd),
            r.run_id,
            clip(r.label.as_deref().unwrap_or("-"), 24),
            // A worktree run: its branch marks it (the project is the worktree).
            match &r.worktree_branch {
                Some(b) => format!("🌿 {b} {}", r.project.display()),
                None => r.project.display().to_string(),
            }
        ));
    }
    out
}

fn local_time(secs: i64) -> String {
    timefmt::format_local_iso(secs.saturating_mul(1_000_000)).unwrap_or_else(|| secs.to_string())
}

/// `show`'s lines about git: the run's worktree and what changed.
fn git_lines(r: &RunRecord) -> Vec<Line> {
    let mut lines = Vec::new();
    if let Some(w) = &r.worktree {
        lines.push((
            "worktree",
            format!(
                "{} from {} ({}), repository {}",
                w.branch,
                w.base_branch.as_deref().unwrap_or("a detached commit"),
                w.base_commit.get(..12).unwrap_or(&w.base_commit),
                w.repo.display()
            ),
        ));
    }
    if let Some(c) = &r.changes {
        lines.push((
            "changes",
            c.render_compact().replace('\n', "\n                "),
        ));
    }
    lines
}

/// One `show` line: its name and its text.
type Line = (&'static str, String);

/// `show` as text.
pub fn details(d: &RunDetails, now: i64) -> String {
    let r = &d.record;
    let mut lines = what_lines(d);
    lines.extend(route_lines(d));
    lines.extend(process_lines(d, now));
    lines.extend(result_lines(d));
    lines.extend(session_lines(d));
    lines.push(("run dir", d.run_dir.display().to_string()));
    let mut out = format!("Run {}\n", r.run_id);
    for (k, v) in lines {
        out.push_str(&format!("  {k:>12}: {v}\n"));
    }
    out
}

/// `show`'s lines about what runs: status, backend, label, project, git,
/// safety, task.
fn what_lines(d: &RunDetails) -> Vec<Line> {
    let r = &d.record;
    let mut lines = Vec::new();
    let mut status = r.shown_status().to_owned();
    if let Some(since) = r.waiting_since {
        status.push_str(&format!(
            " for input since {} (`clawrun respond {}`)",
            local_time(since),
            r.run_id
        ));
    }
    lines.push(("status", status));
    let mut backend = r.backend.clone();
    if let Some(m) = &r.model {
        backend.push_str(&format!(", model {m}"));
    }
    if let Some(v) = &r.cli_version {
        backend.push_str(&format!(", CLI {v}"));
    }
    lines.push(("backend", backend));
    if let Some(l) = &r.label {
        lines.push(("label", l.clone()));
    }
    lines.push(("project", r.project.display().to_string()));
    lines.extend(git_lines(r));
    if let Some(safety) = &d.safety_summary {
        lines.push(("safety", safety.clone()));
    }
    lines.push(("task", r.task_summary.replace('\n', " ")));
    lines
}

/// `show`'s lines about where the run reports: the session key and the route.
fn route_lines(d: &RunDetails) -> Vec<Line> {
    let mut lines = Vec::new();
    if let Some(k) = &d.record.session_key {
        lines.push(("session key", k.clone()));
    }
    if let Some(route) = &d.route {
        let mut s = route.channel.as_str().to_owned();
        if let Some(t) = &route.target {
            s.push_str(&format!(" → {t}"));
        }
        if let Some(t) = &route.thread_id {
            s.push_str(&format!(" (thread {t})"));
        }
        if let Some(c) = &d.channel {
            s.push_str(&format!(" via {c}"));
        }
        lines.push(("route", s));
    }
    lines
}

/// `show`'s lines about the processes and the time: pids, created, ended,
/// duration.
fn process_lines(d: &RunDetails, now: i64) -> Vec<Line> {
    let r = &d.record;
    let alive = |b: bool| if b { "alive" } else { "gone" };
    let mut lines = vec![(
        "runner pid",
        format!("{} ({})", r.runner_pid, alive(d.runner_alive)),
    )];
    if let Some(p) = r.agent_pid {
        lines.push(("agent pid", format!("{p} ({})", alive(d.agent_alive))));
    }
    lines.push((
        "created",
        format!(
            "{} ({} ago)",
            local_time(r.created_at),
            timefmt::format_age(now - r.created_at)
        ),
    ));
    if let Some(e) = r.ended_at {
        lines.push(("ended", local_time(e)));
    }
    lines.push((
        "duration",
        format!(
            "{}{}",
            timefmt::format_age(r.duration_secs(now)),
            if r.status.is_done() { "" } else { " so far" }
        ),
    ));
    lines
}

/// `show`'s lines about what the run produced: usage, cost, exit code,
/// output, stream, error.
fn result_lines(d: &RunDetails) -> Vec<Line> {
    let r = &d.record;
    let mut lines = vec![
        (
            "usage",
            format!(
                "{} input ({} cached), {} output tokens; {} tool calls",
                r.usage.input_tokens,
                r.usage.cached_input_tokens,
                r.usage.output_tokens,
                r.tool_calls
            ),
        ),
        ("cost", fmt_cost(r.cost_usd)),
    ];
    if let Some(c) = r.exit_code {
        lines.push(("exit code", c.to_string()));
    }
    lines.push(("output", r.output_file.display().to_string()));
    lines.push(("stream", format!("{} bytes", d.stream_bytes)));
    if let Some(e) = &r.error {
        lines.push(("error", e.clone()));
    }
    lines
}

/// `show`'s lines about the session: where it came from, its id, how to
/// resume it, and the wake.
fn session_lines(d: &RunDetails) -> Vec<Line> {
    let r = &d.record;
    let mut lines = Vec::new();
    if let Some(f) = &r.resumed_from {
        lines.push(("resumed from", f.clone()));
    }
    if let Some(id) = &r.resume_id {
        lines.push(("session id", id.clone()));
    }
    if let Some(c) = &d.resume_command {
        lines.push(("resume", c.clone()));
    }
    if let Some(w) = &d.wake {
        lines.push(("wake", wake_line(w)));
    }
    lines
}

/// What became of the run's wake, in words.
fn wake_line(w: &WakeState) -> String {
    let reason = w.reason.as_deref().unwrap_or("no answer");
    match w.status {
        "skipped" => format!("skipped: {}", stale::skip_words(reason)),
        "pending" => match &w.reason {
            Some(e) => format!("pending (last error: {e})"),
            None => "pending".to_owned(),
        },
        "abandoned" => format!("not delivered: {reason}"),
        other => other.to_owned(),
    }
}

/// One `status` line of an active run, ending with its output file (the
/// record's own: `run --output FILE` puts it outside the run directory).
pub fn status_line(r: &RunRecord, now: i64) -> String {
    format!(
        "{}  {:<7} {:<8} {:>6}  pid {}/{}  {}  {}\n",
        r.run_id,
        r.backend,
        r.shown_status(),
        notify::fmt_duration(r.duration_secs(now)),
        r.runner_pid,
        r.agent_pid.map_or("-".to_owned(), |p| p.to_string()),
        r.label.as_deref().unwrap_or("-"),
        r.output_file.display()
    )
}

/// What `kill` did, in one line.
pub fn kill(report: &KillReport) -> String {
    let icon = if report.outcome == Outcome::Killed {
        "⛔"
    } else {
        "ℹ"
    };
    let via = match report.via {
        KillPath::Runner => "its runner",
        KillPath::AgentGroup => "the agent's process group; the runner was gone",
        KillPath::NothingAlive => "nothing: runner and agent were already gone",
    };
    let mut out = format!(
        "{icon} run {} {} ({:.1}s, via {via})\n",
        report.run_id,
        report.outcome.as_str(),
        report.seconds
    );
    if let Some(line) = crate::core::notify::followups_not_run_line(&report.followups_not_run) {
        out.push_str(&format!(
            "⚠ {line}; continue the session with `clawrun resume {} \"…\"`\n",
            report.run_id
        ));
    }
    out
}

/// Runs whose record cannot be read: named with their path, never left out.
pub fn unreadable(runs: &[crate::core::store::run::UnreadableRun]) -> String {
    runs.iter()
        .map(|u| {
            format!(
                "⚠ unreadable run record: {} ({})\n",
                u.dir.join("run.json").display(),
                u.error
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_status_line_names_the_run_s_own_output_file() {
        let mut r: RunRecord =
            serde_json::from_str(include_str!("../../../tests/fixtures/runner/run-v1.json"))
                .unwrap();
        // `run --output FILE`: the output is there, not in the run directory.
        r.output_file = "/work/p/result.md".into();
        let line = status_line(&r, r.created_at + 5);
        assert!(line.trim_end().ends_with("/work/p/result.md"), "{line}");
    }
}
