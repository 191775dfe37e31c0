//! What a run did to its git project, in the messages: the worktree line of
//! the launch message, the worktree and "what changed" facts of the result
//! message (short: the result text stays whole within a channel's cap), and
//! the structured `Worktree:` / `Changes:` / `Commits:` lines of the wake, so
//! the orchestrating agent need not run git itself.

use crate::core::git::{ChangeSummary, RunWorktree};
use crate::core::store::run::RunRecord;

/// Commits listed in the wake.
const WAKE_COMMITS: usize = 5;
/// Paths listed in the wake.
const WAKE_PATHS: usize = 10;

/// `clawrun/fix-login in /state/worktrees/RUN`: the launch message's worktree.
pub fn worktree_line(wt: &RunWorktree) -> String {
    format!("{} in {}", wt.branch, wt.path.display())
}

/// The result message's facts about git: the worktree (with how to merge
/// or discard it) and the compact change summary.
pub fn result_facts(record: &RunRecord) -> Vec<(&'static str, String)> {
    let mut facts = Vec::new();
    if let Some(wt) = &record.worktree {
        facts.push((
            "Worktree",
            format!(
                "{} · merge with `clawrun worktree merge {id}` (or discard)",
                wt.branch,
                id = record.run_id
            ),
        ));
    }
    if let Some(c) = &record.changes {
        facts.push(("Changes", c.render_compact()));
    }
    facts
}

/// The wake's lines about git (each ends in a newline), `key=value` fields
/// the agent can read without running git. Empty when the run had neither a
/// worktree nor a measured change summary.
pub fn wake_lines(
    run_id: &str,
    worktree: Option<&RunWorktree>,
    changes: Option<&ChangeSummary>,
) -> String {
    let mut t = String::new();
    if let Some(wt) = worktree {
        t.push_str(&format!(
            "Worktree: path={} branch={} base_branch={} base_commit={} repo={} \
             merge=\"clawrun worktree merge {run_id}\" discard=\"clawrun worktree discard {run_id}\"\n",
            wt.path.display(),
            wt.branch,
            wt.base_branch.as_deref().unwrap_or("-"),
            short(&wt.base_commit),
            wt.repo.display(),
        ));
    }
    let Some(c) = changes else {
        return t;
    };
    let paths: Vec<&str> = c
        .paths
        .iter()
        .take(WAKE_PATHS)
        .map(String::as_str)
        .collect();
    let more = c.files_changed.saturating_sub(paths.len());
    t.push_str(&format!(
        "Changes: branch={} base={} head={} commits={} files={} insertions={} deletions={} \
         uncommitted={} staged={} unstaged={} untracked={} paths={}{}\n",
        c.branch.as_deref().unwrap_or("-"),
        c.base,
        c.head,
        c.commit_count,
        c.files_changed,
        c.insertions,
        c.deletions,
        if c.uncommitted.is_empty() {
            "no"
        } else {
            "yes"
        },
        c.uncommitted.staged,
        c.uncommitted.unstaged,
        c.uncommitted.untracked,
        if paths.is_empty() {
            "-".to_owned()
        } else {
            paths.join(",")
        },
        if more > 0 {
            format!(" (+{more} more)")
        } else {
            String::new()
        },
    ));
    if !c.commits.is_empty() {
        let commits: Vec<String> = c
            .commits
            .iter()
            .take(WAKE_COMMITS)
            .map(|l| format!("{} {}", l.sha, l.subject))
            .collect();
        t.push_str(&format!("Commits: {}\n", commits.join(" | ")));
    }
    t
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}
