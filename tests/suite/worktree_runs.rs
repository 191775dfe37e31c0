//! `clawrun run --worktree` end to end with the fake agent in real git
//! repositories: one worktree and branch per run, "what changed" in the run
//! record, the result message and the wake, and the lifecycle (`clawrun
//! worktree list|merge|discard`, resume, gc).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{Sandbox, fixture, run_ids};

const KEY: &str = "agent:main:main";

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", err(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A repository with one commit (`README.md`) on `main`.
fn repo(sb: &Sandbox) -> PathBuf {
    let repo = sb.root.join("repo");
    fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    fs::write(repo.join("README.md"), "hello\n").unwrap();
    fs::write(repo.join(".gitignore"), ".env\n").unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "init"]);
    repo
}

/// `clawrun run` of the fake agent editing `file` (and committing it when
/// `commit` is given), routed to the console with a wake.
fn edit_run(
    sb: &Sandbox,
    project: &Path,
    file: &str,
    text: &str,
    commit: Option<&str>,
    extra: &[&str],
) -> assert_cmd::Command {
    let project = project.to_str().unwrap();
    let base = [
        "-p",
        project,
        "-s",
        KEY,
        "--notify-channel",
        "console",
        "--heartbeat",
        "0",
        "-t",
        "edit",
    ];
    let mut c = sb.run(&[&base[..], extra].concat());
    c.env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .env("FAKE_MODE", "edit")
        .env("FAKE_EDIT_FILE", file)
        .env("FAKE_EDIT_TEXT", text);
    if let Some(m) = commit {
        c.env("FAKE_COMMIT", m);
    }
    c
}

fn record(sb: &Sandbox, id: &str) -> Value {
    let p = sb.state_dir().join("runs").join(id).join("run.json");
    serde_json::from_slice(&fs::read(p).unwrap()).unwrap()
}

fn texts(sb: &Sandbox, id: &str, kind: &str) -> Vec<String> {
    let p = sb
        .state_dir()
        .join("runs")
        .join(id)
        .join("notifications.jsonl");
    fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|n| n["kind"] == kind)
        .map(|n| n["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn wait_done(sb: &Sandbox, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = record(sb, id);
        let done = !["starting", "running", "queued"].contains(&r["status"].as_str().unwrap());
        // The result is the last message before the wake.
        if done && !texts(sb, id, "result").is_empty() {
            return r;
        }
        assert!(Instant::now() < deadline, "run {id} not done: {r}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn clawrun(sb: &Sandbox, args: &[&str]) -> Output {
    sb.cmd().args(args).output().unwrap()
}

/// The run ids added by `f`.
fn new_ids(sb: &Sandbox, f: impl FnOnce()) -> Vec<String> {
    let before = run_ids(sb);
    f();
    run_ids(sb)
        .into_iter()
        .filter(|id| !before.contains(id))
        .collect()
}

#[test]
fn two_concurrent_runs_get_their_own_branches_and_diffstats() {
    let sb = Sandbox::new();
    let repo = repo(&sb);
    fs::write(repo.join(".env"), "SECRET=1\n").unwrap();
    fs::write(repo.join(".worktreeinclude"), ".env\n").unwrap();
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let mut ids = Vec::new();
    for (label, file, lines) in [
        ("Fix login", "login.rs", "a\nb"),
        ("Add docs", "docs.md", "c"),
    ] {
        ids.extend(new_ids(&sb, || {
            let out = edit_run(&sb, &repo, file, lines, Some(label), &["--label", label])
                .args(["--worktree", "--detach"])
                .env("FAKE_DELAY", "0.2")
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(0), "{}", err(&out));
        }));
    }
    let [a, b] = [ids[0].clone(), ids[1].clone()];
    let (ra, rb) = (wait_done(&sb, &a), wait_done(&sb, &b));
    let deadline = Instant::now() + Duration::from_secs(30);
    while texts(&sb, &b, "wake").is_empty() {
        assert!(Instant::now() < deadline, "no wake for {b}");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Two branches from the same base; the base checkout is untouched.
    assert_eq!(ra["worktree"]["branch"], "clawrun/fix-login");
    assert_eq!(rb["worktree"]["branch"], "clawrun/add-docs");
    assert_eq!(ra["worktree"]["base_branch"], "main");
    assert_eq!(ra["worktree"]["copied"], serde_json::json!([".env"]));
    assert_eq!(git(&repo, &["rev-parse", "HEAD"]), head);
    assert_eq!(
        git(&repo, &["status", "--porcelain"]),
        "?? .worktreeinclude"
    );
    assert!(!repo.join("login.rs").exists() && !repo.join("docs.md").exists());
    // The agent ran in its worktree; each result has its own diffstat.
    let wa = PathBuf::from(ra["worktree"]["path"].as_str().unwrap());
    assert_eq!(ra["project"], ra["worktree"]["path"]);
    assert_eq!(fs::read_to_string(wa.join("login.rs")).unwrap(), "a\nb\n");
    assert!(wa.starts_with(sb.state_dir().join("worktrees")));
    for (r, path, plus) in [(&ra, "login.rs", 2), (&rb, "docs.md", 1)] {
        let c = &r["changes"];
        assert_eq!(
            (
                c["commit_count"].clone(),
                c["files_changed"].clone(),
                c["insertions"].clone(),
                c["paths"].clone()
            ),
            (1.into(), 1.into(), plus.into(), serde_json::json!([path])),
            "{r}"
        );
    }
    let result = texts(&sb, &a, "result").concat();
    assert!(
        result.contains("🌿 clawrun/fix-login · 1 commit · 1 file +2 −0"),
        "{result}"
    );
    assert!(
        result.contains(&format!("clawrun worktree merge {a}")),
        "{result}"
    );
    let launch = texts(&sb, &a, "launch").concat();
    assert!(
        launch.contains("Worktree: clawrun/fix-login in "),
        "{launch}"
    );
    // The wake carries the same facts as fields.
    let wake = texts(&sb, &b, "wake").concat();
    assert!(wake.contains("Worktree: path="), "{wake}");
    assert!(
        wake.contains("branch=clawrun/add-docs base_branch=main"),
        "{wake}"
    );
    assert!(
        wake.contains("commits=1 files=1 insertions=1 deletions=0 uncommitted=no"),
        "{wake}"
    );
    assert!(wake.contains("paths=docs.md"), "{wake}");
    assert!(wake.contains("Commits: "), "{wake}");
    // list and show name them.
    let list = String::from_utf8_lossy(&clawrun(&sb, &["list"]).stdout).into_owned();
    assert!(list.contains("🌿 clawrun/fix-login"), "{list}");
    let show = String::from_utf8_lossy(&clawrun(&sb, &["show", &a]).stdout).into_owned();
    assert!(
        show.contains("worktree: clawrun/fix-login from main"),
        "{show}"
    );
    let wl = String::from_utf8_lossy(&clawrun(&sb, &["worktree", "list"]).stdout).into_owned();
    assert!(wl.contains("1 unmerged commit(s)"), "{wl}");
}

#[test]
fn merge_clean_then_a_conflict_is_refused_with_nothing_changed() {
    let sb = Sandbox::new();
    let repo = repo(&sb);
    let a = new_ids(&sb, || {
        edit_run(
            &sb,
            &repo,
            "README.md",
            "from a",
            Some("a"),
            &["--worktree", "a"],
        )
        .assert()
        .success();
    })[0]
        .clone();
    let b = new_ids(&sb, || {
        edit_run(
            &sb,
            &repo,
            "README.md",
            "from b",
            Some("b"),
            &["--worktree", "b"],
        )
        .assert()
        .success();
    })[0]
        .clone();
    let out = clawrun(&sb, &["worktree", "merge", &a]);
    assert_eq!(out.status.code(), Some(0), "{}", err(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("fast-forwarded"));
    assert_eq!(
        fs::read_to_string(repo.join("README.md")).unwrap(),
        "hello\nfrom a\n"
    );
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let out = clawrun(&sb, &["worktree", "merge", &b]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err(&out).contains("would conflict in README.md; nothing was changed"),
        "{}",
        err(&out)
    );
    assert_eq!(git(&repo, &["rev-parse", "HEAD"]), head);
    assert_eq!(git(&repo, &["status", "--porcelain"]), "");
}

#[test]
fn discard_refuses_unmerged_work_unless_forced_and_removes_merged_worktrees() {
    let sb = Sandbox::new();
    let repo = repo(&sb);
    let a = new_ids(&sb, || {
        edit_run(&sb, &repo, "a.txt", "x", Some("a"), &["--worktree"])
            .assert()
            .success();
    })[0]
        .clone();
    let wt = PathBuf::from(record(&sb, &a)["worktree"]["path"].as_str().unwrap());
    let branch = record(&sb, &a)["worktree"]["branch"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(branch, format!("clawrun/{a}"));
    let out = clawrun(&sb, &["worktree", "discard", &a]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err(&out).contains("1 commit(s) not merged into main"),
        "{}",
        err(&out)
    );
    assert!(wt.is_dir());
    let out = clawrun(&sb, &["worktree", "discard", &a, "--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", err(&out));
    assert!(!wt.exists());
    assert_eq!(git(&repo, &["branch", "--list", &branch]), "");
    // A merged one goes without --force.
    let b = new_ids(&sb, || {
        edit_run(&sb, &repo, "b.txt", "y", Some("b"), &["--worktree"])
            .assert()
            .success();
    })[0]
        .clone();
    clawrun(&sb, &["worktree", "merge", &b]);
    let out = clawrun(&sb, &["worktree", "discard", &b]);
    assert_eq!(out.status.code(), Some(0), "{}", err(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("deleted branch"));
    assert!(repo.join("b.txt").is_file());
}

#[test]
fn a_resume_runs_in_the_same_worktree() {
    let sb = Sandbox::new();
    let repo = repo(&sb);
    let a = new_ids(&sb, || {
        let p = repo.to_str().unwrap();
        sb.run(&[
            "-p",
            p,
            "--notify-channel",
            "console",
            "--worktree",
            "first",
            "-t",
            "x",
        ])
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .assert()
        .success();
    })[0]
        .clone();
    let ra = record(&sb, &a);
    assert!(ra["resume_id"].is_string(), "{ra}");
    let rec = sb.root.join("rec");
    let b = new_ids(&sb, || {
        sb.cmd()
            .args(["resume", &a, "go on"])
            .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
            .env("FAKE_RECORD", &rec)
            .assert()
            .success();
    })[0]
        .clone();
    let rb = record(&sb, &b);
    assert_eq!(rb["worktree"], ra["worktree"]);
    assert_eq!(rb["project"], ra["worktree"]["path"]);
    let env = fs::read_to_string(rec.join("env")).unwrap();
    let pwd = format!("PWD={}", ra["worktree"]["path"].as_str().unwrap());
    assert!(
        env.lines().any(|l| l == pwd),
        "{pwd} not in the agent's env"
    );
    // The same with the repository as the project: back into the worktree.
    let c = new_ids(&sb, || {
        sb.run(&["-p", repo.to_str().unwrap(), "--resume", &a, "-t", "more"])
            .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
            .assert()
            .success();
    })[0]
        .clone();
    assert_eq!(record(&sb, &c)["project"], ra["worktree"]["path"]);
}

#[test]
fn a_run_without_a_worktree_reports_what_changed_too() {
    let sb = Sandbox::new();
    let repo = repo(&sb);
    let a = new_ids(&sb, || {
        edit_run(&sb, &repo, "README.md", "more", None, &[])
            .assert()
            .success();
    })[0]
        .clone();
    let r = record(&sb, &a);
    assert!(r.get("worktree").is_none());
    assert_eq!(r["git_base"], git(&repo, &["rev-parse", "HEAD"]));
    let c = &r["changes"];
    assert_eq!(c["branch"], "main");
    assert_eq!(c["commit_count"], 0);
    assert_eq!(c["files_changed"], 1);
    assert_eq!(c["uncommitted"]["unstaged"], 1);
    let result = texts(&sb, &a, "result").concat();
    assert!(
        result.contains("🌿 main · no commits · 1 file +1 −0 · uncommitted changes left"),
        "{result}"
    );
    let wake = texts(&sb, &a, "wake").concat();
    assert!(
        wake.contains("uncommitted=yes staged=0 unstaged=1"),
        "{wake}"
    );
    assert!(!wake.contains("Worktree:"), "{wake}");
}

#[test]
fn worktree_outside_a_repository_or_with_a_bad_base_is_refused_before_anything_starts() {
    let sb = Sandbox::new();
    let plain = sb.root.join("plain");
    fs::create_dir_all(&plain).unwrap();
    let out = edit_run(&sb, &plain, "a", "x", None, &["--worktree"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err(&out).contains("is not in a git repository"),
        "{}",
        err(&out)
    );
    let repo = repo(&sb);
    let out = edit_run(
        &sb,
        &repo,
        "a",
        "x",
        None,
        &["--worktree", "--base", "nope"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err(&out).contains("--base \"nope\" does not name a commit"),
        "{}",
        err(&out)
    );
    let out = edit_run(&sb, &repo, "a", "x", None, &["--base", "main"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(run_ids(&sb).is_empty());
    assert!(!sb.state_dir().join("worktrees").exists());
}

#[test]
fn auto_mode_makes_a_worktree_only_when_another_run_is_active_in_the_repository() {
    let sb = Sandbox::new();
    let repo = repo(&sb);
    fs::create_dir_all(sb.openclaw_home()).unwrap();
    fs::write(
        sb.openclaw_home().join("clawrun.toml"),
        "[run]\nworktree = \"auto\"\n",
    )
    .unwrap();
    // Alone: in the checkout itself.
    let first = new_ids(&sb, || {
        edit_run(&sb, &repo, "x.txt", "x", None, &["--detach"])
            .env("FAKE_MODE", "hang")
            .assert()
            .success();
    })[0]
        .clone();
    assert!(record(&sb, &first).get("worktree").is_none());
    // While it runs: a worktree.
    let second = new_ids(&sb, || {
        edit_run(&sb, &repo, "y.txt", "y", None, &[])
            .assert()
            .success();
    })[0]
        .clone();
    assert!(record(&sb, &second)["worktree"]["branch"].is_string());
    assert!(!repo.join("y.txt").exists());
    // --no-worktree wins over the config.
    let third = new_ids(&sb, || {
        edit_run(&sb, &repo, "z.txt", "z", None, &["--no-worktree"])
            .assert()
            .success();
    })[0]
        .clone();
    assert!(record(&sb, &third).get("worktree").is_none());
    clawrun(&sb, &["kill", &first]);
}

#[test]
fn gc_removes_merged_worktrees_past_retention_and_keeps_unmerged_ones() {
    let sb = Sandbox::new();
    let repo = repo(&sb);
    let mut ids = Vec::new();
    for f in ["m.txt", "u.txt"] {
        ids.extend(new_ids(&sb, || {
            edit_run(&sb, &repo, f, "x", Some(f), &["--worktree"])
                .assert()
                .success();
        }));
    }
    let (merged, unmerged) = (ids[0].clone(), ids[1].clone());
    clawrun(&sb, &["worktree", "merge", &merged]);
    let wt = |id: &str| PathBuf::from(record(&sb, id)["worktree"]["path"].as_str().unwrap());
    let (wm, wu) = (wt(&merged), wt(&unmerged));
    // Runs that ended a moment ago are past a zero-day retention after a second.
    std::thread::sleep(Duration::from_millis(1100));
    let out = clawrun(&sb, &["gc", "--older-than", "0"]);
    assert_eq!(out.status.code(), Some(0), "{}", err(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!wm.exists(), "{text}");
    assert!(wu.is_dir(), "{text}");
    assert!(
        text.contains(&format!(
            "kept worktree clawrun/{unmerged} of run {unmerged}"
        )),
        "{text}"
    );
    assert!(text.contains("1 unmerged commit(s)"), "{text}");
    assert_eq!(run_ids(&sb), vec![unmerged]);
}

/// Issue 25: the launch proof of a `--worktree` run (`--detach --json` and the
/// text) names the worktree's path and branch, the banner too; a worktree a
/// resume went back into is listed once by `worktree list`, with its latest
/// run.
#[test]
fn the_launch_proof_names_the_worktree_and_a_resumed_one_is_listed_once() {
    let sb = Sandbox::new();
    let repo = repo(&sb);
    let p = repo.to_str().unwrap();
    let launch = |json: bool, name: &str| {
        let mut args = vec!["-p", p, "--notify-channel", "console", "--worktree", name];
        args.extend(["-t", "x", "--detach", "--heartbeat", "0"]);
        if json {
            args.push("--json");
        }
        sb.run(&args)
            .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
            .output()
            .unwrap()
    };
    let out = launch(true, "proof");
    assert_eq!(out.status.code(), Some(0), "{}", err(&out));
    let proof: Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = proof["run_id"].as_str().unwrap().to_owned();
    assert_eq!(proof["worktree"]["branch"], "clawrun/proof", "{proof}");
    let path = proof["worktree"]["path"].as_str().unwrap().to_owned();
    assert!(Path::new(&path).is_dir(), "{proof}");
    wait_done(&sb, &a);
    // Resume the first run: its worktree again, listed once, with the resume.
    let c = new_ids(&sb, || {
        sb.cmd()
            .args(["resume", &a, "go on"])
            .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
            .assert()
            .success();
    })[0]
        .clone();
    let list: Value =
        serde_json::from_slice(&clawrun(&sb, &["worktree", "list", "--json"]).stdout).unwrap();
    let rows = list.as_array().unwrap();
    let of_a: Vec<&Value> = rows
        .iter()
        .filter(|r| r["worktree"]["path"] == path.as_str())
        .collect();
    assert_eq!(of_a.len(), 1, "{list}");
    assert_eq!(of_a[0]["run_id"], c.as_str(), "{list}");
    assert_eq!(rows.len(), 1, "{list}");

    // The text proof and banner.
    let out = launch(false, "text");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("   Worktree: ") && text.contains("   worktree:   "),
        "{text}"
    );
    assert!(text.contains("(branch clawrun/text)"), "{text}");
    for id in run_ids(&sb) {
        wait_done(&sb, &id);
    }
}
