//! The git layer on real temporary repositories, as the runner and `clawrun
//! worktree` use it: a
//! worktree per run, what changed, `.worktreeinclude`, merge (fast-forward,
//! merge commit, conflict), discard, safe removal, branch names, non-git dirs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::core::git::{
    self, BRANCH_PREFIX, ChangeLimits, ChangeSummary, CommitLine, GitError, MergeKind, Removal,
    RunWorktree, Uncommitted,
};
use pretty_assertions::assert_eq;
use tempfile::TempDir;

/// Runs git in `dir` for the test's own setup, isolated from the caller's
/// `GIT_*` environment; panics on failure.
fn git(dir: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new("git");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("GIT_") {
            cmd.env_remove(key);
        }
    }
    let out = cmd
        .env("LC_ALL", "C")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A repository on `main` with one commit (`README.md`, `shared.txt`,
/// `.gitignore`), its own identity, plus a separate clawrun state dir.
struct Fixture {
    _tmp: TempDir,
    repo: PathBuf,
    state: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(tmp.path()).unwrap();
        let repo = root.join("repo");
        let state = root.join("state");
        fs::create_dir_all(&repo).unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        for (k, v) in [
            ("user.name", "Test"),
            ("user.email", "test@example.com"),
            ("commit.gpgsign", "false"),
            ("merge.ff", "true"),
        ] {
            git(&repo, &["config", k, v]);
        }
        fs::write(repo.join("README.md"), "# demo\n").unwrap();
        fs::write(repo.join("shared.txt"), "one\ntwo\nthree\n").unwrap();
        fs::write(repo.join(".gitignore"), ".env*\nsecrets/\n").unwrap();
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", "initial"]);
        Self {
            _tmp: tmp,
            repo,
            state,
        }
    }

    fn worktree(&self, hint: &str, run_id: &str) -> RunWorktree {
        let path = self.state.join("worktrees").join(run_id);
        git::create_worktree(&self.repo, hint, None, &path).unwrap()
    }

    fn head(&self) -> String {
        git(&self.repo, &["rev-parse", "HEAD"])
    }
}

fn commit_file(dir: &Path, rel: &str, content: &str, msg: &str) {
    let path = dir.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
    git(dir, &["add", "--", rel]);
    git(dir, &["commit", "-q", "-m", msg]);
}

fn assert_clean_checkout(f: &Fixture, head: &str) {
    assert_eq!(f.head(), head);
    assert_eq!(git(&f.repo, &["status", "--porcelain"]), "");
    assert!(!f.repo.join(".git/MERGE_HEAD").exists());
    assert_eq!(git::head(&f.repo).unwrap().branch.as_deref(), Some("main"));
}

#[test]
fn two_worktrees_from_one_repo_each_with_its_own_changes() {
    let f = Fixture::new();
    let base = f.head();
    let a = f.worktree("Fix login!", "run-a");
    let b = f.worktree("fix login", "run-b");
    assert_eq!(a.branch, "clawrun/fix-login");
    assert_eq!(
        b.branch, "clawrun/fix-login-2",
        "a taken name gets a suffix"
    );
    assert_eq!(a.path, f.state.join("worktrees/run-a"));
    assert_eq!(
        (a.base_commit.as_str(), a.base_branch.as_deref()),
        (base.as_str(), Some("main"))
    );
    assert_eq!(a.repo, f.repo);

    commit_file(
        &a.path,
        "src/login.rs",
        "fn login() {}\nfn logout() {}\n",
        "login: add",
    );
    commit_file(&a.path, "shared.txt", "one\n2\nthree\n", "shared: two");
    commit_file(&b.path, "docs/b.md", "b\n", "docs: b");

    // The base checkout is untouched.
    assert_clean_checkout(&f, &base);
    assert!(!f.repo.join("src/login.rs").exists());

    let sa = git::changes_since(&a.path, &a.base_commit, ChangeLimits::default()).unwrap();
    assert_eq!(sa.branch.as_deref(), Some("clawrun/fix-login"));
    assert_eq!(sa.commit_count, 2);
    let subjects: Vec<&str> = sa.commits.iter().map(|c| c.subject.as_str()).collect();
    assert_eq!(subjects, ["shared: two", "login: add"], "newest first");
    assert_eq!((sa.files_changed, sa.insertions, sa.deletions), (2, 3, 1));
    assert_eq!(sa.paths, ["shared.txt", "src/login.rs"]);
    assert!(sa.uncommitted.is_empty());
    assert_eq!(
        sa.render_compact(),
        "🌿 clawrun/fix-login · 2 commits · 2 files +3 −1\nshared.txt, src/login.rs"
    );

    let sb = git::changes_since(&b.path, &b.base_commit, ChangeLimits::default()).unwrap();
    assert_eq!(
        (
            sb.commit_count,
            sb.files_changed,
            sb.insertions,
            sb.deletions
        ),
        (1, 1, 1, 0)
    );
    assert_eq!(sb.paths, ["docs/b.md"]);

    let listed: Vec<String> = git::list_worktrees(&f.repo)
        .unwrap()
        .into_iter()
        .map(|w| w.branch)
        .collect();
    assert_eq!(
        listed,
        ["clawrun/fix-login", "clawrun/fix-login-2"],
        "ours only, not main"
    );
}

#[test]
fn uncommitted_changes_are_counted_and_reported() {
    let f = Fixture::new();
    let w = f.worktree("wip", "run-1");
    assert!(!git::is_dirty(&w.path).unwrap());
    fs::write(w.path.join("README.md"), "# demo\nmore\n").unwrap(); // unstaged
    fs::write(w.path.join("staged.txt"), "s\n").unwrap();
    git(&w.path, &["add", "staged.txt"]); // staged
    fs::write(w.path.join("new.txt"), "a\nb\nc").unwrap(); // untracked, no final newline
    fs::write(w.path.join(".env"), "IGNORED=1\n").unwrap(); // ignored: not counted

    assert!(git::is_dirty(&w.path).unwrap());
    let expected = Uncommitted {
        staged: 1,
        unstaged: 1,
        untracked: 1,
    };
    assert_eq!(git::uncommitted(&w.path).unwrap(), expected);
    let s = git::changes_since(&w.path, &w.base_commit, ChangeLimits::default()).unwrap();
    assert_eq!(s.commit_count, 0);
    assert_eq!(s.uncommitted, expected);
    assert_eq!((s.files_changed, s.insertions, s.deletions), (3, 5, 0));
    assert_eq!(s.paths, ["README.md", "staged.txt", "new.txt"]);
    assert_eq!(
        s.render_compact(),
        "🌿 clawrun/wip · no commits · 3 files +5 −0 · uncommitted changes left\n\
         README.md, staged.txt, new.txt"
    );
    // The base checkout is not dirty.
    assert!(!git::is_dirty(&f.repo).unwrap());
}

#[test]
fn changes_work_in_a_plain_checkout_and_from_a_subdirectory() {
    let f = Fixture::new();
    let base = f.head();
    let none = git::changes_since(&f.repo, &base, ChangeLimits::default()).unwrap();
    assert!(none.is_empty());
    assert_eq!(none.render_compact(), "🌿 main · no changes");
    for i in 0..3 {
        commit_file(
            &f.repo,
            &format!("sub/f{i}.txt"),
            "x\n",
            &format!("commit {i}"),
        );
    }
    git(&f.repo, &["mv", "README.md", "READ.md"]);
    let limits = ChangeLimits {
        commits: 2,
        paths: 2,
    };
    let s = git::changes_since(&f.repo.join("sub"), &base, limits).unwrap();
    assert_eq!(s.commit_count, 3);
    assert_eq!(s.commits.len(), 2, "capped");
    assert_eq!(s.files_changed, 4, "a staged rename counts once");
    assert_eq!(s.paths.len(), 2, "capped");
    assert_eq!(s.uncommitted.staged, 1);
    let text = s.render_compact();
    assert!(text.ends_with(" +2 more"), "{text}");
    assert_eq!(s.base, git(&f.repo, &["rev-parse", "--short", &base]));
    let json = serde_json::to_value(&s).unwrap();
    for key in [
        "branch",
        "base",
        "head",
        "commit_count",
        "commits",
        "files_changed",
        "insertions",
        "deletions",
        "paths",
        "uncommitted",
    ] {
        assert!(json.get(key).is_some(), "{key} in {json}");
    }
    assert_eq!(json["uncommitted"]["staged"], 1);
}

#[test]
fn compact_rendering_stays_bounded() {
    let long = "x".repeat(500);
    let s = ChangeSummary {
        branch: Some(format!("clawrun/{long}")),
        base: "abc1234".into(),
        head: "def5678".into(),
        commit_count: 1,
        commits: vec![CommitLine {
            sha: "def5678".into(),
            subject: "s".into(),
        }],
        files_changed: 1000,
        insertions: 1,
        deletions: 2,
        paths: vec![long.clone(); 20],
        uncommitted: Uncommitted::default(),
    };
    let text = s.render_compact();
    assert!(text.chars().count() < 400, "{} chars", text.chars().count());
    assert!(text.starts_with("🌿 clawrun/xxx"));
    assert!(text.contains("1 commit · 1000 files +1 −2"));
    assert!(
        !text.contains('\n'),
        "no path fits the budget, so no second line: {text}"
    );
}

#[test]
fn worktreeinclude_copies_ignored_files_only() {
    let f = Fixture::new();
    fs::write(
        f.repo.join(".worktreeinclude"),
        "# local files\n.env*\nsecrets/\nREADME.md\nnotes.txt\n",
    )
    .unwrap();
    fs::write(f.repo.join(".env"), "TOKEN=1\n").unwrap();
    fs::create_dir_all(f.repo.join("secrets/deep")).unwrap();
    fs::write(f.repo.join("secrets/deep/key"), "k\n").unwrap();
    fs::write(f.repo.join("notes.txt"), "untracked, not ignored\n").unwrap();
    fs::write(f.repo.join("README.md"), "# local edit\n").unwrap(); // tracked: never copied
    let outside = f.state.parent().unwrap().join("outside.txt");
    fs::write(&outside, "outside\n").unwrap();
    std::os::unix::fs::symlink(&outside, f.repo.join(".env.link")).unwrap();

    let w = f.worktree("include", "run-1");
    let mut copied = w.copied.clone();
    copied.sort();
    assert_eq!(copied, [".env", "secrets/deep/key"]);
    assert_eq!(
        fs::read_to_string(w.path.join(".env")).unwrap(),
        "TOKEN=1\n"
    );
    assert_eq!(
        fs::read_to_string(w.path.join("README.md")).unwrap(),
        "# demo\n"
    );
    assert!(!w.path.join("notes.txt").exists());
    assert!(
        fs::symlink_metadata(w.path.join(".env.link")).is_err(),
        "symlinks are not copied"
    );
    assert!(
        !git::is_dirty(&w.path).unwrap(),
        "copied files are ignored there too"
    );
}

#[test]
fn merge_fast_forward_then_discard() {
    let f = Fixture::new();
    let w = f.worktree("ff", "run-1");
    commit_file(&w.path, "feature.txt", "f\n", "feature");
    let tip = git(&w.path, &["rev-parse", "HEAD"]);
    assert!(!git::is_merged(&f.repo, &w.branch, "main").unwrap());
    assert_eq!(
        git::removal_check(&w).unwrap(),
        Removal::Unmerged { commits: 1 }
    );

    let out = git::merge(&f.repo, &w.branch, "main").unwrap();
    assert_eq!(
        (out.kind, out.commit.as_str()),
        (MergeKind::FastForward, tip.as_str())
    );
    assert_clean_checkout(&f, &tip);
    assert!(
        f.repo.join("feature.txt").exists(),
        "the checkout was updated"
    );
    assert!(git::is_merged(&f.repo, &w.branch, "main").unwrap());
    let again = git::merge(&f.repo, &w.branch, "main").unwrap();
    assert_eq!(again.kind, MergeKind::AlreadyMerged);

    assert_eq!(git::removal_check(&w).unwrap(), Removal::Safe);
    let d = git::discard(&w, false).unwrap();
    assert!(d.removed_dir && d.deleted_branch);
    assert!(!w.path.exists());
    assert!(!git::branch_exists(&f.repo, &w.branch).unwrap());
    assert!(git::list_worktrees(&f.repo).unwrap().is_empty());
    let twice = git::discard(&w, false).unwrap();
    assert!(!twice.removed_dir && !twice.deleted_branch, "idempotent");
}

#[test]
fn merge_with_a_merge_commit_when_base_moved() {
    let f = Fixture::new();
    let w = f.worktree("nonff", "run-1");
    commit_file(&w.path, "feature.txt", "f\n", "feature");
    commit_file(&f.repo, "main.txt", "m\n", "main moved");
    let out = git::merge(&f.repo, &w.branch, "main").unwrap();
    assert_eq!(out.kind, MergeKind::MergeCommit);
    assert_clean_checkout(&f, &out.commit);
    let parents = git(&f.repo, &["rev-list", "--parents", "-n", "1", "HEAD"]);
    assert_eq!(parents.split(' ').count(), 3, "two parents: {parents}");
    assert!(f.repo.join("feature.txt").exists() && f.repo.join("main.txt").exists());
    assert!(git::is_merged(&f.repo, &w.branch, "main").unwrap());
}

#[test]
fn merge_into_a_branch_not_checked_out_moves_only_the_ref() {
    let f = Fixture::new();
    git(&f.repo, &["branch", "release"]);
    let path = f.state.join("worktrees/run-1");
    let w = git::create_worktree(&f.repo, "rel", Some("release"), &path).unwrap();
    assert_eq!(w.base_branch.as_deref(), Some("release"));
    commit_file(&w.path, "feature.txt", "f\n", "feature");
    // Move release on in a second worktree, then remove that worktree.
    let other = f.state.join("other");
    git(
        &f.repo,
        &["worktree", "add", "-q", other.to_str().unwrap(), "release"],
    );
    commit_file(&other, "rel.txt", "r\n", "release moved");
    git(&f.repo, &["worktree", "remove", other.to_str().unwrap()]);

    let main_head = f.head();
    let out = git::merge(&f.repo, &w.branch, "release").unwrap();
    assert_eq!(out.kind, MergeKind::MergeCommit);
    assert_eq!(git(&f.repo, &["rev-parse", "release"]), out.commit);
    let tree = git(&f.repo, &["ls-tree", "--name-only", "release"]);
    assert!(
        tree.contains("feature.txt") && tree.contains("rel.txt"),
        "{tree}"
    );
    assert_clean_checkout(&f, &main_head);
}

#[test]
fn a_conflicting_merge_is_refused_and_changes_nothing() {
    let f = Fixture::new();
    let w = f.worktree("conflict", "run-1");
    commit_file(
        &w.path,
        "shared.txt",
        "one\nTWO (run)\nthree\n",
        "run edits shared",
    );
    commit_file(&w.path, "only-run.txt", "r\n", "run only");
    commit_file(
        &f.repo,
        "shared.txt",
        "one\nTWO (human)\nthree\n",
        "human edits shared",
    );
    let head = f.head();
    let wt_head = git(&w.path, &["rev-parse", "HEAD"]);

    let err = git::merge(&f.repo, &w.branch, "main").unwrap_err();
    match &err {
        GitError::Conflict {
            files,
            branch,
            into,
        } => {
            assert_eq!(files, &["shared.txt"]);
            assert_eq!(
                (branch.as_str(), into.as_str()),
                ("clawrun/conflict", "main")
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(err.to_string().contains("shared.txt"), "{err}");
    assert_clean_checkout(&f, &head);
    assert!(!f.repo.join("only-run.txt").exists());
    assert_eq!(git(&w.path, &["rev-parse", "HEAD"]), wt_head);
    assert!(!git::is_merged(&f.repo, &w.branch, "main").unwrap());
}

#[test]
fn merge_refuses_a_dirty_base_checkout_and_foreign_branches() {
    let f = Fixture::new();
    let w = f.worktree("dirty", "run-1");
    commit_file(&w.path, "feature.txt", "f\n", "feature");
    fs::write(f.repo.join("README.md"), "# edited by the human\n").unwrap();
    let head = f.head();
    let err = git::merge(&f.repo, &w.branch, "main").unwrap_err();
    assert!(matches!(err, GitError::Dirty { .. }), "{err:?}");
    assert_eq!(f.head(), head);
    assert_eq!(
        fs::read_to_string(f.repo.join("README.md")).unwrap(),
        "# edited by the human\n"
    );

    let err = git::merge(&f.repo, "main", "main").unwrap_err();
    assert!(matches!(err, GitError::NotOurs { .. }), "{err:?}");
    let err = git::merge(&f.repo, &w.branch, "no-such-branch").unwrap_err();
    assert!(matches!(err, GitError::UnknownRevision { .. }), "{err:?}");
}

#[test]
fn discard_refuses_unmerged_commits_and_uncommitted_changes_without_force() {
    let f = Fixture::new();
    let w = f.worktree("unmerged", "run-1");
    commit_file(&w.path, "feature.txt", "f\n", "feature");
    let err = git::discard(&w, false).unwrap_err();
    match &err {
        GitError::Unmerged { commits, into, .. } => {
            assert_eq!((*commits, into.as_str()), (1, "main"))
        }
        other => panic!("expected Unmerged, got {other:?}"),
    }
    assert!(w.path.exists() && git::branch_exists(&f.repo, &w.branch).unwrap());
    let d = git::discard(&w, true).unwrap();
    assert!(d.removed_dir && d.deleted_branch);
    assert!(!w.path.exists() && !git::branch_exists(&f.repo, &w.branch).unwrap());

    let u = f.worktree("untracked", "run-2");
    fs::write(u.path.join("scratch.txt"), "s\n").unwrap();
    let check = git::removal_check(&u).unwrap();
    assert!(
        matches!(check, Removal::Uncommitted { changes } if changes.untracked == 1),
        "{check:?}"
    );
    let err = git::discard(&u, false).unwrap_err();
    assert!(matches!(err, GitError::UncommittedLeft { .. }), "{err:?}");
    assert!(u.path.join("scratch.txt").exists());
    git::discard(&u, true).unwrap();
    assert!(!u.path.exists());
    assert_clean_checkout(&f, &f.head());
}

#[test]
fn discard_refuses_branches_that_are_not_ours() {
    let f = Fixture::new();
    let mut w = f.worktree("mine", "run-1");
    w.branch = "main".into();
    let err = git::discard(&w, true).unwrap_err();
    assert!(matches!(err, GitError::NotOurs { .. }), "{err:?}");
    assert!(git::branch_exists(&f.repo, "main").unwrap());
}

#[test]
fn branch_names_are_sanitized_valid_and_unique() {
    let f = Fixture::new();
    let cases = [
        ("Fix login!", "fix-login"),
        ("feature/Add API", "feature-add-api"),
        ("a..b", "a.b"),
        ("..hidden", "hidden"),
        ("x.lock", "x"),
        ("y.lock.lock-", "y"),
        ("@{upstream}", "upstream"),
        ("élan vital", "lan-vital"),
        ("", "run"),
        ("///", "run"),
        ("run_20240101-abcd", "run_20240101-abcd"),
    ];
    for (hint, want) in cases {
        assert_eq!(git::sanitize_branch_name(hint), want, "hint {hint:?}");
    }
    let long = "word ".repeat(40);
    assert!(git::sanitize_branch_name(&long).len() <= 48);
    for hint in [
        &long as &str,
        "a b/c\\d:e?f*g[h~i^j",
        "-",
        ".",
        "x.",
        "tab\there",
        "ü.lock",
    ] {
        let name = format!("{BRANCH_PREFIX}{}", git::sanitize_branch_name(hint));
        assert!(
            git::is_valid_branch_name(&f.repo, &name).unwrap(),
            "{name:?} from {hint:?}"
        );
    }
    assert!(!git::is_valid_branch_name(&f.repo, "clawrun/a..b").unwrap());

    let names: Vec<String> = (0..3)
        .map(|i| f.worktree("same", &format!("run-{i}")).branch)
        .collect();
    assert_eq!(names, ["clawrun/same", "clawrun/same-2", "clawrun/same-3"]);
}

#[test]
fn bad_inputs_give_clear_errors() {
    let f = Fixture::new();
    let plain = tempfile::tempdir().unwrap();
    assert!(!git::is_inside_work_tree(plain.path()).unwrap());
    assert!(!git::is_inside_work_tree(&plain.path().join("missing")).unwrap());
    assert!(git::is_inside_work_tree(&f.repo).unwrap());
    let err = git::toplevel(plain.path()).unwrap_err();
    assert!(matches!(err, GitError::NotARepository { .. }), "{err:?}");
    assert!(
        err.to_string().contains("is not inside a git work tree"),
        "{err}"
    );
    let err = git::create_worktree(plain.path(), "x", None, &f.state.join("w")).unwrap_err();
    assert!(matches!(err, GitError::NotARepository { .. }), "{err:?}");
    let err = git::changes_since(plain.path(), "HEAD", ChangeLimits::default()).unwrap_err();
    assert!(matches!(err, GitError::NotARepository { .. }), "{err:?}");

    let path = f.state.join("worktrees/run-1");
    let err = git::create_worktree(&f.repo, "x", Some("no-such-ref"), &path).unwrap_err();
    assert!(matches!(err, GitError::UnknownRevision { .. }), "{err:?}");
    assert!(
        !git::branch_exists(&f.repo, "clawrun/x").unwrap(),
        "nothing created"
    );
    fs::create_dir_all(&path).unwrap();
    let err = git::create_worktree(&f.repo, "x", None, &path).unwrap_err();
    assert!(matches!(err, GitError::PathExists { .. }), "{err:?}");

    let head = git::head(&f.repo).unwrap();
    assert_eq!(
        (head.commit, head.branch.as_deref()),
        (f.head(), Some("main"))
    );
    assert_eq!(git::toplevel(&f.repo.join(".")).unwrap(), f.repo);
}
