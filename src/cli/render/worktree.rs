//! `clawrun worktree` as text.

use crate::core::git::MergeKind;
use crate::core::ops::worktree::{DiscardReport, MergeReport, WorktreeRun, WorktreeState};

/// Where a worktree stands, in words.
fn state(s: &WorktreeState) -> String {
    match s {
        WorktreeState::Active => "run active".to_owned(),
        WorktreeState::Merged => "merged (safe to discard)".to_owned(),
        WorktreeState::Unmerged { commits } => format!("{commits} unmerged commit(s)"),
        WorktreeState::Uncommitted { changes } => format!(
            "uncommitted changes ({} staged, {} unstaged, {} untracked)",
            changes.staged, changes.unstaged, changes.untracked
        ),
        WorktreeState::Gone => "discarded".to_owned(),
        WorktreeState::Unknown { error } => format!("unknown: {error}"),
    }
}

/// `worktree list`.
pub fn list(runs: &[WorktreeRun]) -> String {
    if runs.is_empty() {
        return "No run has a worktree of its own (`clawrun run --worktree`).\n".to_owned();
    }
    let mut out = String::new();
    for r in runs {
        out.push_str(&format!(
            "{}  {:<10} 🌿 {}  ← {}  {}\n    {}{}\n",
            r.run_id,
            r.status,
            r.worktree.branch,
            r.worktree.base_branch.as_deref().unwrap_or("(detached)"),
            state(&r.state),
            r.worktree.path.display(),
            r.label
                .as_deref()
                .map(|l| format!("  ({l})"))
                .unwrap_or_default()
        ));
    }
    out
}

/// `worktree merge`.
pub fn merged(r: &MergeReport) -> String {
    let m = &r.merge;
    let what = match m.kind {
        MergeKind::AlreadyMerged => format!("✅ {} was already merged into {}", m.branch, m.into),
        MergeKind::FastForward => format!("✅ {} fast-forwarded to {}", m.into, m.branch),
        MergeKind::MergeCommit => format!("✅ {} merged into {} (merge commit)", m.branch, m.into),
    };
    let mut out = format!(
        "{what}: {} is now {} in {}\n",
        m.into,
        m.commit.get(..12).unwrap_or(&m.commit),
        r.repo.display()
    );
    if !r.uncommitted_left.is_empty() {
        out.push_str(&format!(
            "⚠ the worktree still has uncommitted changes, not merged: commit them there and \
             merge again, or `clawrun worktree discard {} --force`\n",
            r.run_id
        ));
    }
    out.push_str(&format!(
        "Remove the worktree and branch with `clawrun worktree discard {}` (or leave it to `clawrun gc`).\n",
        r.run_id
    ));
    out
}

/// `worktree discard`.
pub fn discarded(r: &DiscardReport) -> String {
    let mut parts = Vec::new();
    if r.discarded.removed_dir {
        parts.push(format!("removed {}", r.worktree.path.display()));
    }
    if r.discarded.deleted_branch {
        parts.push(format!("deleted branch {}", r.worktree.branch));
    }
    if parts.is_empty() {
        return format!(
            "ℹ run {}: worktree and branch were already gone\n",
            r.run_id
        );
    }
    format!("🗑 run {}: {}\n", r.run_id, parts.join(", "))
}
