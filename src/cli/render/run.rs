//! `clawrun run` as text: the launch banner on stderr (the skill's launch
//! check greps for "Starting"), the launch proof of `--detach`, and the line
//! that says how a foreground run ended.

use crate::core::git::RunWorktree;
use crate::core::model::exit::ExitStatus;
use crate::core::model::state::Outcome;
use crate::core::notify;
use crate::core::runner::{LaunchProof, RunReport};
use crate::core::store::run::RunSpec;

/// The seed's stderr banner, with where the route came from and, for a
/// `--resume RUN_ID`, which session that run id stood for.
pub fn banner(spec: &RunSpec, resume_run_id: Option<&str>) -> String {
    let name = match spec.backend.as_str() {
        "claude" => "Claude Code",
        "codex" => "OpenAI Codex",
        other => other,
    };
    let mut out = format!("🔧 Starting {name}...\n");
    out.push_str(&format!(
        "   Task: {}\n",
        notify::preview(&spec.request.prompt, 100).replace('\n', " ")
    ));
    out.push_str(&format!("   Project: {}\n", spec.request.project.display()));
    if let Some(w) = &spec.worktree {
        out.push_str(&format!("   Worktree: {}\n", worktree_line(w)));
    }
    out.push_str(&format!("   Output: {}\n", spec.output_file.display()));
    out.push_str(&format!(
        "   Timeout: {}\n",
        notify::fmt_duration(spec.limits.timeout_secs as i64)
    ));
    if let Some(r) = &spec.request.resume_id {
        out.push_str(&format!(
            "   Resume: {r}{}{}\n",
            if spec.request.fork { " (fork)" } else { "" },
            resume_run_id.map_or(String::new(), |id| format!(" (the session of run {id})"))
        ));
    }
    out.push_str(&format!("   Route: {}\n", route_line(spec)));
    if let Some(l) = &spec.label {
        out.push_str(&format!("   Label: {l}\n"));
    }
    if let Some(m) = &spec.request.model {
        out.push_str(&format!("   Model: {m}\n"));
    }
    out.push_str(&format!("   Safety: {}\n", spec.request.safety_summary()));
    out.push_str(&format!("   Run: {}\n", spec.run_id));
    out
}

/// The launch proof of `run --detach`, for people.
pub fn launched(
    proof: &LaunchProof,
    spec: &RunSpec,
    queue_position: Option<usize>,
    max_sessions: u32,
) -> String {
    let Some(agent_pid) = proof.agent_pid else {
        return format!(
            "⏳ Queued {} run {}{}: it starts when one of the {max_sessions} slots \
             ([limits] max_sessions) frees; `clawrun kill {}` cancels it\n   runner pid: {}\n   \
             run dir:    {}\n   output:     {}\n   route:      {} via {}\n",
            proof.backend,
            proof.run_id,
            queue_position.map_or(String::new(), |p| format!(" (position {p} in the queue)")),
            proof.run_id,
            proof.runner_pid,
            proof.run_dir.display(),
            proof.output_file.display(),
            spec.route.channel.as_str(),
            spec.channel
        );
    };
    let worktree = proof.worktree.as_ref().map_or(String::new(), |w| {
        format!("   worktree:   {}\n", worktree_line(w))
    });
    format!(
        "✅ Launched {} run {}\n   runner pid: {}\n   agent pid:  {}\n   run dir:    {}\n   \
         output:     {}\n{worktree}   route:      {}\n",
        proof.backend,
        proof.run_id,
        proof.runner_pid,
        agent_pid,
        proof.run_dir.display(),
        proof.output_file.display(),
        route_line(spec)
    )
}

/// `/repo/.clawrun-worktrees/fix (branch clawrun/fix)`.
fn worktree_line(w: &RunWorktree) -> String {
    format!("{} (branch {})", w.path.display(), w.branch)
}

/// `telegram -100… thread 7 via telegram-direct (source: …)`.
fn route_line(spec: &RunSpec) -> String {
    let r = &spec.route;
    let mut out = r.channel.as_str().to_owned();
    if let Some(t) = &r.target {
        out.push_str(&format!(" {t}"));
    }
    if let Some(t) = &r.thread_id {
        out.push_str(&format!(" thread {t}"));
    }
    out.push_str(&format!(" via {} (source: {})", spec.channel, r.source));
    out
}

/// How a foreground run ended (stderr), and the session it registered.
pub fn done(report: &RunReport) -> String {
    let icon = match report.outcome {
        _ if !report.storage_errors.is_empty() => "❌",
        Outcome::Completed => "✅",
        Outcome::Timeout => "⏰ TIMEOUT",
        Outcome::Failed | Outcome::Killed | Outcome::ResumeFailed | Outcome::Crashed => "❌",
    };
    let word = report.outcome.as_str();
    let mut out = format!(
        "{icon} Done ({}, agent exit {}, {} chars, {})\n",
        super::style::status(word, word),
        report
            .agent_exit_code
            .map_or("-".to_owned(), |c| c.to_string()),
        report.output_chars,
        notify::fmt_duration(report.duration_secs)
    );
    match (&report.resume_id, report.session_registered) {
        (Some(id), true) => out.push_str(&format!("📝 Session registered: {id}\n")),
        (Some(id), false) => out.push_str(&format!("📝 Session: {id} (not registered)\n")),
        (None, _) => {}
    }
    for e in &report.storage_errors {
        out.push_str(&format!("❌ Not saved: {e}\n"));
    }
    if !report.storage_errors.is_empty() && report.exit_code == ExitStatus::Failure {
        out.push_str("❌ The run's results could not all be saved (exit 1).\n");
    }
    out
}

/// Characters of the answer a foreground run prints on stdout.
pub const ANSWER_CHARS: usize = 4000;

/// The answer of a foreground run, for stdout: the output file's text (its
/// first [`ANSWER_CHARS`] characters), safe for a terminal; and, when it was
/// cut, the note for stderr that says where the rest is.
pub fn answer(report: &RunReport) -> (String, Option<String>) {
    use std::io::Read as _;
    let mut head = Vec::new();
    // At most 4 bytes a character: enough for the head, never the whole file.
    let _ = std::fs::File::open(&report.output_file)
        .and_then(|f| f.take(ANSWER_CHARS as u64 * 4).read_to_end(&mut head));
    let text = String::from_utf8_lossy(&head);
    let shown: String = text.chars().take(ANSWER_CHARS).collect();
    let mut out = notify::terminal_safe(shown.trim_end()).into_owned();
    if !out.is_empty() {
        out.push('\n');
    }
    let cut = report.output_chars > ANSWER_CHARS;
    let note = cut.then(|| {
        format!(
            "… the first {ANSWER_CHARS} of {} characters; the whole answer is in {}\n",
            report.output_chars,
            report.output_file.display()
        )
    });
    (out, note)
}
