//! `clawrun run` as text: the launch banner on stderr (the skill's launch
//! check greps for "Starting"), the launch proof of `--detach`, and the line
//! that says how a foreground run ended.

use clawrun::core::model::state::Outcome;
use clawrun::core::notify;
use clawrun::core::runner::{LaunchProof, RunReport};
use clawrun::core::store::run::RunSpec;

/// The seed's stderr banner.
pub fn banner(spec: &RunSpec) -> String {
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
    out.push_str(&format!("   Output: {}\n", spec.output_file.display()));
    out.push_str(&format!(
        "   Timeout: {}s ({}min)\n",
        spec.limits.timeout_secs,
        spec.limits.timeout_secs / 60
    ));
    if let Some(r) = &spec.request.resume_id {
        out.push_str(&format!(
            "   Resume: {r}{}\n",
            if spec.request.fork { " (fork)" } else { "" }
        ));
    }
    if let Some(l) = &spec.label {
        out.push_str(&format!("   Label: {l}\n"));
    }
    if let Some(m) = &spec.request.model {
        out.push_str(&format!("   Model: {m}\n"));
    }
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
    format!(
        "✅ Launched {} run {}\n   runner pid: {}\n   agent pid:  {}\n   run dir:    {}\n   \
         output:     {}\n   route:      {} via {}\n",
        proof.backend,
        proof.run_id,
        proof.runner_pid,
        agent_pid,
        proof.run_dir.display(),
        proof.output_file.display(),
        spec.route.channel.as_str(),
        spec.channel
    )
}

/// How a foreground run ended (stderr), and the session it registered.
pub fn done(report: &RunReport) -> String {
    let icon = match report.outcome {
        Outcome::Completed => "✅",
        Outcome::Timeout => "⏰ TIMEOUT",
        Outcome::Failed | Outcome::Killed | Outcome::ResumeFailed | Outcome::Crashed => "❌",
    };
    let mut out = format!(
        "{icon} Done ({}, exit {}, {} chars, {})\n",
        report.outcome.as_str(),
        report
            .agent_exit_code
            .map_or("-".to_owned(), |c| c.to_string()),
        report.output_chars,
        notify::fmt_duration(report.duration_secs)
    );
    if let Some(id) = &report.resume_id {
        out.push_str(&format!("📝 Session registered: {id}\n"));
    }
    out
}
