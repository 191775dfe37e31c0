//! `clawrun run --worktree` with the real `claude` and `codex`: the agent
//! edits a file in its own worktree, the repository's checkout stays as it
//! was, and the result names the branch and shows the diffstat.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use serde_json::Value;

use crate::cli_scenarios::{common_success_checks, run};
use crate::fakes::EDIT_ANSWER;
use crate::harness::{Ctx, run_record};

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=e2e", "-c", "user.email=e2e@example.com"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// claude edits a file in its own worktree.
pub async fn claude_worktree(ctx: Arc<Ctx>) {
    worktree_edit(&ctx, "claude").await;
}

/// codex edits a file in its own worktree.
pub async fn codex_worktree(ctx: Arc<Ctx>) {
    worktree_edit(&ctx, "codex").await;
}

async fn worktree_edit(ctx: &Ctx, backend: &str) {
    let name = format!("{backend}-worktree");
    let repo = ctx.project(&name);
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("README.md"), "e2e\n").unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "init"]);
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let label = format!("e2e {backend} worktree");
    let r = run(
        ctx,
        backend,
        &name,
        "[e2e:edit] Add a line to NOTES.md.",
        &["--worktree", "--label", &label],
    )
    .await;
    let (_, record) = common_success_checks(ctx, &r, EDIT_ANSWER);
    let branch = format!("clawrun/e2e-{backend}-worktree");
    assert_eq!(record["worktree"]["branch"], branch.as_str(), "{record}");
    let wt = Path::new(record["worktree"]["path"].as_str().unwrap());
    // The agent edited its worktree; the checkout is as it was.
    assert_eq!(
        std::fs::read_to_string(wt.join("NOTES.md")).unwrap_or_default(),
        "edited by the agent\n",
        "{record}"
    );
    assert!(!repo.join("NOTES.md").exists(), "the checkout was edited");
    assert_eq!(git(&repo, &["rev-parse", "HEAD"]), head);
    assert_eq!(git(&repo, &["status", "--porcelain"]), "");
    let changes = &record["changes"];
    assert_eq!(changes["files_changed"], 1, "{record}");
    assert_eq!(changes["insertions"], 1, "{record}");
    assert_eq!(
        changes["paths"],
        serde_json::json!(["NOTES.md"]),
        "{record}"
    );
    // The result message names the branch and shows the diffstat.
    let dir = r.run_dir(&ctx.cli_home());
    let notes = std::fs::read_to_string(dir.join("notifications.jsonl")).unwrap_or_default();
    let result: Vec<String> = notes
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|n| n["kind"] == "result")
        .map(|n| n["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    let result = result.concat();
    let stat = format!("🌿 {branch} · no commits · 1 file +1 −0 · uncommitted changes left");
    assert!(result.contains(&stat), "{result}");
    assert!(result.contains("NOTES.md"), "{result}");
    let again = run_record(&dir);
    assert_eq!(again["changes"], record["changes"]);
    ctx.figure(
        format!("{backend} --worktree edit run: clawrun wall time"),
        format!("{:.1}s", r.secs),
    );
}
