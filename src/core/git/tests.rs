//! Unit tests of the private parts: the abort path of a merge that fails in
//! the checkout (the public `merge` refuses conflicts before reaching it),
//! worktree-list parsing, bounded strings.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use super::cmd;
use super::{GitError, changes, merge, worktree};

fn git(dir: &Path, args: &[&str]) -> String {
    cmd::run(dir, args).unwrap().trim().to_owned()
}

fn repo() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let repo = std::fs::canonicalize(tmp.path()).unwrap().join("repo");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    for (k, v) in [
        ("user.name", "T"),
        ("user.email", "t@example.com"),
        ("commit.gpgsign", "false"),
    ] {
        git(&repo, &["config", k, v]);
    }
    std::fs::write(repo.join("f.txt"), "base\n").unwrap();
    git(&repo, &["add", "f.txt"]);
    git(&repo, &["commit", "-q", "-m", "base"]);
    (tmp, repo)
}

fn commit(repo: &Path, content: &str) {
    std::fs::write(repo.join("f.txt"), content).unwrap();
    git(repo, &["commit", "-q", "-am", content.trim()]);
}

#[test]
fn a_merge_failing_in_the_checkout_is_aborted_with_the_files_named() {
    let (_tmp, repo) = repo();
    git(&repo, &["branch", "clawrun/x"]);
    commit(&repo, "main\n");
    git(&repo, &["checkout", "-q", "clawrun/x"]);
    commit(&repo, "run\n");
    git(&repo, &["checkout", "-q", "main"]);
    let head = git(&repo, &["rev-parse", "HEAD"]);

    let err = merge::merge_in_checkout(&repo, "clawrun/x", "main", false).unwrap_err();
    match err {
        GitError::Conflict { files, .. } => assert_eq!(files, ["f.txt"]),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(git(&repo, &["rev-parse", "HEAD"]), head);
    assert_eq!(git(&repo, &["status", "--porcelain"]), "");
    assert!(!repo.join(".git/MERGE_HEAD").exists());
}

#[test]
fn a_merge_blocked_by_an_untracked_file_changes_nothing() {
    let (_tmp, repo) = repo();
    git(&repo, &["checkout", "-q", "-b", "clawrun/y"]);
    std::fs::write(repo.join("new.txt"), "run\n").unwrap();
    git(&repo, &["add", "new.txt"]);
    git(&repo, &["commit", "-q", "-m", "new"]);
    git(&repo, &["checkout", "-q", "main"]);
    std::fs::write(repo.join("new.txt"), "human's own\n").unwrap();
    let head = git(&repo, &["rev-parse", "HEAD"]);

    let err = super::merge(&repo, "clawrun/y", "main").unwrap_err();
    assert!(matches!(err, GitError::Command { .. }), "{err:?}");
    assert!(
        err.to_string().contains("untracked working tree files"),
        "{err}"
    );
    assert_eq!(git(&repo, &["rev-parse", "HEAD"]), head);
    assert_eq!(
        std::fs::read_to_string(repo.join("new.txt")).unwrap(),
        "human's own\n"
    );
}

#[test]
fn worktree_list_skips_detached_and_bare_entries() {
    let (_tmp, repo) = repo();
    let detached = repo.parent().unwrap().join("detached-wt");
    git(
        &repo,
        &[
            "worktree",
            "add",
            "-q",
            "--detach",
            detached.to_str().unwrap(),
        ],
    );
    let all = worktree::all_worktrees(&repo).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(
        (all[0].branch.as_str(), all[0].path.as_path()),
        ("main", repo.as_path())
    );
    assert!(super::list_worktrees(&repo).unwrap().is_empty());
    git(&repo, &["worktree", "remove", detached.to_str().unwrap()]);
}

#[test]
fn bounded_cuts_on_characters() {
    assert_eq!(changes::bounded("héllo", 10), "héllo");
    assert_eq!(changes::bounded("héllo wörld", 5), "héll…");
    assert_eq!(changes::bounded("abc", 0), "…");
}
