//! `clawrun run` end to end over a fake agent that replays real transcripts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{Sandbox, fixture};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn only_run_dir(sb: &Sandbox) -> PathBuf {
    let runs: Vec<_> = std::fs::read_dir(sb.state_dir().join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs[0].clone()
}

fn record(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap()
}

fn pid_alive(pid: i32) -> bool {
    // A zombie is dead for our purpose; /proc/<pid>/stat says so.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.contains(") Z "),
        Err(_) => false,
    }
}

#[test]
fn claude_success_writes_output_record_stream_and_notifications() {
    let sb = Sandbox::new();
    let out = sb
        .run(&[
            "--backend",
            "claude",
            "-t",
            "do the thing",
            "--label",
            "Demo",
        ])
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .env("FAKE_RECORD", sb.root.join("rec"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("🔧 Starting Claude Code..."));
    let dir = only_run_dir(&sb);
    assert_eq!(
        std::fs::read_to_string(dir.join("output.txt")).unwrap(),
        "DONE"
    );
    let rec = record(&dir);
    assert_eq!(rec["status"], "completed");
    assert_eq!(rec["resume_id"], "b97f592b-6515-4a57-b3bb-0bc3448d4c8a");
    assert_eq!(rec["cost_usd"], 0.00135);
    assert_eq!(rec["usage"]["output_tokens"], 14);
    assert_eq!(rec["tool_calls"], 1);
    assert_eq!(rec["label"], "Demo");
    assert_eq!(rec["exit_code"], 0);
    // The raw stream is kept byte for byte.
    assert_eq!(
        std::fs::read(dir.join("stream.jsonl")).unwrap(),
        std::fs::read(fixture("claude/tool.jsonl")).unwrap()
    );
    // The prompt went on stdin, not argv.
    let argv = std::fs::read_to_string(sb.root.join("rec/argv")).unwrap();
    assert!(!argv.contains("do the thing"), "{argv}");
    assert!(argv.contains("stream-json"), "{argv}");
    assert!(
        std::fs::read_to_string(sb.root.join("rec/stdin"))
            .unwrap()
            .ends_with("\n\ndo the thing")
    );
    let env = std::fs::read_to_string(sb.root.join("rec/env")).unwrap();
    assert!(
        env.contains(&format!("CLAWRUN_RUN_DIR={}", dir.display())),
        "{env}"
    );
    // Console notifications: launch, then the result.
    let notes = std::fs::read_to_string(dir.join("notifications.jsonl")).unwrap();
    let kinds: Vec<String> = notes
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(kinds, vec!["launch", "result"]);
    assert!(notes.contains("Claude Code task complete"));
    // Files are private.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("run.json")), 0o600);
    assert_eq!(mode(&dir.join("output.txt")), 0o600);
    assert_eq!(mode(&dir.join("stream.jsonl")), 0o600);
    assert_eq!(mode(&sb.state_dir()), 0o700);
}

#[test]
fn claude_api_error_is_a_failure_with_the_reason() {
    let sb = Sandbox::new();
    let out = sb
        .run(&["-t", "x", "--json"])
        .env("FAKE_FIXTURE", fixture("claude/err500.jsonl"))
        .env("FAKE_EXIT", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["outcome"], "failed");
    assert!(
        report["error"].as_str().unwrap().contains("API Error: 500"),
        "{report}"
    );
    let dir = only_run_dir(&sb);
    assert_eq!(record(&dir)["status"], "failed");
}

#[test]
fn claude_sigint_without_result_is_a_failure_even_with_exit_0() {
    let sb = Sandbox::new();
    let out = sb
        .run(&["-t", "x"])
        .env("FAKE_FIXTURE", fixture("claude/cancel-SIGINT.jsonl"))
        .env("FAKE_EXIT", "0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(record(&only_run_dir(&sb))["status"], "failed");
}

#[test]
fn claude_resume_not_found_has_its_own_exit_code() {
    let sb = Sandbox::new();
    let out = sb
        .run(&[
            "-t",
            "again",
            "--resume",
            "b97f592b-6515-4a57-b3bb-0bc3448d4c8a",
        ])
        .env("FAKE_FIXTURE", fixture("claude/resume-other-cwd.jsonl"))
        .env("FAKE_STDERR", fixture("claude/resume-other-cwd.stderr"))
        .env("FAKE_EXIT", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert_eq!(record(&only_run_dir(&sb))["status"], "resume_failed");
}

#[test]
fn codex_resume_unknown_id_from_stderr_only() {
    let sb = Sandbox::new();
    let out = sb
        .run(&[
            "--backend",
            "codex",
            "-t",
            "again",
            "--resume",
            "00000000-0000-0000-0000-000000000000",
        ])
        .env("FAKE_STDERR", fixture("codex/resume-unknown-id.stderr"))
        .env("FAKE_EXIT", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let dir = only_run_dir(&sb);
    assert!(
        std::fs::read_to_string(dir.join("stderr.log"))
            .unwrap()
            .contains("no rollout found")
    );
}

#[test]
fn codex_tool_run_completes() {
    let sb = Sandbox::new();
    let out = sb
        .run(&["--backend", "codex", "-t", "x"])
        .env("FAKE_FIXTURE", fixture("codex/tool.jsonl"))
        .env("FAKE_STDERR", fixture("codex/tool.stderr"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let dir = only_run_dir(&sb);
    assert_eq!(
        std::fs::read_to_string(dir.join("output.txt")).unwrap(),
        "DONE"
    );
    let rec = record(&dir);
    assert_eq!(rec["resume_id"], "01a20060-1a1b-7e03-ae4c-46fb1f209375");
    assert_eq!(rec["usage"]["input_tokens"], 200);
}

#[test]
fn codex_not_git_failure_reason_is_the_stderr_tail() {
    let sb = Sandbox::new();
    let out = sb
        .run(&["--backend", "codex", "-t", "x", "--json"])
        .env("FAKE_STDERR", fixture("codex/not-git-no-skip.stderr"))
        .env("FAKE_EXIT", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains("Not inside a trusted directory"),
        "{report}"
    );
}

#[test]
fn timeout_kills_the_whole_group_including_a_stubborn_grandchild() {
    let sb = Sandbox::new();
    let rec_dir = sb.root.join("rec");
    let t0 = Instant::now();
    let out = sb
        .run(&["-t", "x", "--timeout", "2", "--grace", "1"])
        .env("FAKE_FIXTURE", fixture("claude/cancel-SIGTERM.jsonl"))
        .env("FAKE_MODE", "grandchild-stubborn")
        .env("FAKE_RECORD", &rec_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(t0.elapsed() < Duration::from_secs(30));
    let dir = only_run_dir(&sb);
    let rec = record(&dir);
    assert_eq!(rec["status"], "timeout");
    let gc: i32 = std::fs::read_to_string(rec_dir.join("grandchild.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let agent = rec["agent_pid"].as_i64().unwrap() as i32;
    assert!(!pid_alive(gc), "grandchild {gc} survived");
    assert!(!pid_alive(agent), "agent {agent} survived");
    // The partial output is written.
    assert!(dir.join("output.txt").exists());
}

#[test]
fn runner_sigterm_stops_the_agent_with_outcome_killed() {
    let sb = Sandbox::new();
    let rec_dir = sb.root.join("rec");
    let child = sb
        .run_std(&["-t", "x", "--grace", "1"])
        .env("FAKE_FIXTURE", fixture("claude/cancel-SIGTERM.jsonl"))
        .env("FAKE_MODE", "grandchild-stubborn")
        .env("FAKE_RECORD", &rec_dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the agent is running.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !rec_dir.join("grandchild.pid").exists() {
        assert!(Instant::now() < deadline, "agent never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let rec = record(&only_run_dir(&sb));
    assert_eq!(rec["status"], "killed");
    let gc: i32 = std::fs::read_to_string(rec_dir.join("grandchild.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!pid_alive(gc), "grandchild {gc} survived");
}

#[test]
fn a_megabyte_of_stderr_does_not_hang_and_only_the_tail_is_kept() {
    let sb = Sandbox::new();
    let out = sb
        .run(&["-t", "x", "--timeout", "60"])
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .env("FAKE_MODE", "stderr-flood")
        .env("FAKE_FLOOD_BYTES", "1048576")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let dir = only_run_dir(&sb);
    let tail = std::fs::metadata(dir.join("stderr.log")).unwrap().len();
    assert_eq!(tail, 64 * 1024);
}

#[test]
fn a_grandchild_holding_stdout_does_not_hang_the_runner() {
    let sb = Sandbox::new();
    let rec_dir = sb.root.join("rec");
    let t0 = Instant::now();
    let out = sb
        .run(&["-t", "x", "--grace", "1"])
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .env("FAKE_MODE", "leave-grandchild")
        .env("FAKE_RECORD", &rec_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(t0.elapsed() < Duration::from_secs(60));
    let gc: i32 = std::fs::read_to_string(rec_dir.join("grandchild.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!pid_alive(gc), "grandchild {gc} survived");
}

#[test]
fn a_200_mb_stream_keeps_memory_flat() {
    let line = r#"{"type":"assistant","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-opus-4-8","content":[{"type":"text","text":"lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore"}],"stop_reason":null,"usage":{"input_tokens":100,"output_tokens":1}},"parent_tool_use_id":null,"session_id":"s"}"#;
    let run = |lines: u64| {
        let sb = Sandbox::new();
        let out = sb
            .run(&["-t", "x"])
            .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
            .env("FAKE_MODE", "stream-flood")
            .env("FAKE_FLOOD_LINE", line)
            .env("FAKE_FLOOD_LINES", lines.to_string())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let dir = only_run_dir(&sb);
        let size = std::fs::metadata(dir.join("stream.jsonl")).unwrap().len();
        (size, record(&dir)["runner_peak_rss_kb"].as_u64().unwrap())
    };
    let (small_size, small_rss) = run(5_000);
    let (big_size, big_rss) = run(200 * 1024 * 1024 / (line.len() as u64 + 1));
    assert!(big_size > 200_000_000, "{big_size}");
    assert!(small_size < 3_000_000);
    // Only a 64 KiB tail of the assistant text stays in memory (the rest is in
    // assistant.txt): nothing may grow with the stream.
    assert!(
        big_rss < small_rss + 4 * 1024,
        "peak RSS grew from {small_rss} KiB to {big_rss} KiB"
    );
}

#[test]
fn detach_prints_the_launch_proof_and_the_run_finishes_in_the_background() {
    let sb = Sandbox::new();
    let out = sb
        .run(&["-t", "x", "--detach", "--json"])
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .env("FAKE_DELAY", "0.2")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let proof: Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "run_id",
        "runner_pid",
        "agent_pid",
        "run_dir",
        "output_file",
    ] {
        assert!(!proof[key].is_null(), "{key} missing in {proof}");
    }
    let dir = PathBuf::from(proof["run_dir"].as_str().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rec = record(&dir);
        if rec["status"] == "completed" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "detached run did not finish: {rec}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        std::fs::read_to_string(proof["output_file"].as_str().unwrap()).unwrap(),
        "DONE"
    );
    // status lists nothing running afterwards.
    let st = sb.cmd().args(["status", "--json"]).output().unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&st.stdout).unwrap(),
        serde_json::json!([])
    );
}

#[test]
fn status_reaps_a_run_whose_runner_died() {
    let sb = Sandbox::new();
    let out = sb
        .run(&["-t", "x"])
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let dir = only_run_dir(&sb);
    // Pretend the run is still running under a runner that is gone.
    let mut rec = record(&dir);
    rec["status"] = "running".into();
    rec["runner_pid"] = 999_999.into();
    std::fs::write(dir.join("run.json"), serde_json::to_vec(&rec).unwrap()).unwrap();
    let st = sb.cmd().args(["status", "--json"]).output().unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&st.stdout).unwrap(),
        serde_json::json!([])
    );
    assert_eq!(record(&dir)["status"], "crashed");
}

#[test]
fn git_init_only_outside_a_work_tree() {
    let sb = Sandbox::new();
    let outer = sb.root.join("repo");
    std::fs::create_dir_all(outer.join("sub")).unwrap();
    assert!(
        std::process::Command::new("git")
            .args(["init", "-q"])
            .current_dir(&outer)
            .status()
            .unwrap()
            .success()
    );
    let out = sb
        .run(&["-t", "x", "-p", outer.join("sub").to_str().unwrap()])
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!outer.join("sub/.git").exists(), "nested repo created");
    let fresh = sb.root.join("fresh");
    let out = sb
        .run(&["-t", "x", "-p", fresh.to_str().unwrap()])
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(fresh.join(".git").exists());
}

#[test]
fn task_from_file_and_stdin() {
    let sb = Sandbox::new();
    let task = sb.root.join("task.md");
    std::fs::write(&task, "from a file").unwrap();
    let rec_dir = sb.root.join("rec");
    let out = sb
        .run(&["--task-file", task.to_str().unwrap()])
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .env("FAKE_RECORD", &rec_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        std::fs::read_to_string(rec_dir.join("stdin"))
            .unwrap()
            .ends_with("\n\nfrom a file")
    );
    let out = sb
        .run(&[
            "--task-file",
            "-",
            "-o",
            sb.root.join("o.txt").to_str().unwrap(),
        ])
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .env("FAKE_RECORD", &rec_dir)
        .write_stdin("from stdin")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        std::fs::read_to_string(rec_dir.join("stdin"))
            .unwrap()
            .ends_with("\n\nfrom stdin")
    );
    assert_eq!(
        std::fs::read_to_string(sb.root.join("o.txt")).unwrap(),
        "DONE"
    );
}

/// Whether a backend can fork is its capability, not its name: codex builds
/// `exec … fork <thread id> -`, so `--fork` is accepted for it.
#[test]
fn fork_is_accepted_for_every_backend_that_can_fork() {
    let sb = Sandbox::new();
    for backend in ["claude", "codex"] {
        let out = sb
            .run(&[
                "--backend",
                backend,
                "--resume",
                "r-1",
                "--fork",
                "-t",
                "x",
                "--validate-only",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{backend}: {}", stderr(&out));
    }
    assert!(!sb.state_dir().join("runs").exists());
}

/// `request.json` written by the version before the spec was grouped still
/// loads, and is written back with the same keys and values.
#[test]
fn request_json_of_the_flat_version_round_trips() {
    let text = std::fs::read_to_string(fixture("runner/request-v1.json")).unwrap();
    let old: Value = serde_json::from_str(&text).unwrap();
    let spec: clawrun::runs::RunSpec = serde_json::from_str(&text).unwrap();
    assert_eq!(serde_json::to_value(&spec).unwrap(), old);
    let record = std::fs::read_to_string(fixture("runner/run-v1.json")).unwrap();
    let old: Value = serde_json::from_str(&record).unwrap();
    let rec: clawrun::runs::RunRecord = serde_json::from_str(&record).unwrap();
    assert_eq!(serde_json::to_value(&rec).unwrap(), old);
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let sb = Sandbox::new();
    let file_not_dir = sb.root.join("afile");
    std::fs::write(&file_not_dir, "x").unwrap();
    let empty_task = sb.root.join("empty.md");
    std::fs::write(&empty_task, "  \n").unwrap();
    let f = file_not_dir.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec![], "--task"),
        (vec!["-t", "x", "--task-file", "y"], "cannot be used with"),
        (vec!["-t", "   "], "the task is empty"),
        (
            vec!["--task-file", "/nonexistent/task.md"],
            "--task-file /nonexistent/task.md",
        ),
        (
            vec!["--task-file", empty_task.to_str().unwrap()],
            "the task is empty",
        ),
        (vec!["-t", "x", "--backend", "gemini"], "gemini"),
        (vec!["-t", "x", "-p", f], "is not a directory"),
        (vec!["-t", "x", "--timeout", "0"], "--timeout"),
        (vec!["-t", "x", "--timeout", "abc"], "--timeout"),
        (vec!["-t", "x", "--timeout", "99999999"], "--timeout"),
        (vec!["-t", "x", "--grace", "9999"], "--grace"),
        (
            vec!["-t", "x", "--resume", ""],
            "--resume must not be empty",
        ),
        (
            vec!["-t", "x", "--resume=--evil"],
            "--resume must not start with",
        ),
        (
            vec!["-t", "x", "--resume", "a b"],
            "--resume must not contain spaces",
        ),
        (vec!["-t", "x", "--fork"], "--fork needs --resume"),
        (vec!["-t", "x", "--model=-x"], "--model must not start with"),
        (vec!["-t", "x", "--model", ""], "--model must not be empty"),
        (vec!["-t", "x", "--label", " "], "--label must not be empty"),
        (vec!["-t", "x", "-s", "a b"], "--session"),
        (
            vec!["-t", "x", "-o", sb.root.to_str().unwrap()],
            "is a directory",
        ),
        (
            vec![
                "-t",
                "x",
                "--permission-mode",
                "plan",
                "--sandbox",
                "read-only",
            ],
            "exclude each other",
        ),
        (
            vec!["-t", "x", "--backend", "codex", "--permission-mode", "plan"],
            "--permission-mode is not an option of the codex backend; for codex use --sandbox MODE",
        ),
        (
            vec!["-t", "x", "--sandbox", "read-only"],
            "--sandbox is not an option of the claude backend; for claude use --permission-mode MODE",
        ),
        (
            vec!["-t", "x", "--backend", "codex", "--sandbox", "yolo"],
            "codex: unknown sandbox mode \"yolo\"",
        ),
        (
            vec!["-t", "x", "--no-search"],
            "--no-search is not an option of the claude backend",
        ),
        (vec!["-t", "x", "--state-dir", f], "is not a directory"),
        (
            vec!["-t", "x", "--backends", "/nonexistent/backends.toml"],
            "/nonexistent/backends.toml",
        ),
        (vec!["-t", "x", "--bogus"], "--bogus"),
        (
            vec!["-t", "x", "--max-budget-usd=0"],
            "'0' is not a positive number; allowed: more than 0",
        ),
        (
            vec!["-t", "x", "--backend", "codex", "--allowed-tools", "Bash"],
            "allowed tools are a Claude option",
        ),
        (
            vec!["-t", "x", "--permission-mode", "yolo"],
            "unknown permission mode",
        ),
        (
            vec!["-t", "x", "--completion-mode", "loop"],
            "--completion-mode",
        ),
        (vec!["-t", "x", "--max-iterations", "0"], "--max-iterations"),
        (vec!["-t", "x", "--heartbeat", "3"], "--heartbeat"),
        (
            vec!["-t", "x", "--notify-channel", "telegram"],
            "Invalid routing",
        ),
        (
            vec!["-t", "x", "-s", "agent:main:telegram:user:123"],
            "Unsafe routing blocked",
        ),
        (
            vec!["-t", "x", "-s", "agent:main:whatsapp:group:1@g.us"],
            "no channel can reach it",
        ),
        (vec!["-t", "x", "-s", "not-a-key"], "session key"),
    ];
    for (args, needle) in cases {
        let out = sb.run(&args).output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: expected {needle:?} in {err}"
        );
        assert!(
            !sb.state_dir().join("runs").exists(),
            "{args:?} created a run dir"
        );
        assert!(
            !sb.openclaw_home().join("claude_sessions.json").exists(),
            "{args:?} wrote the registry"
        );
        assert!(!sb.root.join("rec").exists(), "{args:?} spawned the agent");
    }
    // A program that cannot be found is bad input too.
    let out = sb
        .cmd_with_path("/nonexistent")
        .args(["run", "-t", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));
}

fn notification_lines(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("notifications.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn clawrun_notify_from_the_agent_reaches_the_channel_between_launch_and_result() {
    let sb = Sandbox::new();
    let rec_dir = sb.root.join("rec");
    let out = sb
        .run(&["-t", "x"])
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .env("FAKE_MODE", "notify")
        .env("FAKE_CLAWRUN", crate::common::clawrun_bin())
        .env("FAKE_NOTE", "halfway there")
        .env("FAKE_RECORD", &rec_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let notify_out = std::fs::read_to_string(rec_dir.join("notify.out")).unwrap();
    assert!(notify_out.contains("exit=0"), "{notify_out}");
    let dir = only_run_dir(&sb);
    let notes = notification_lines(&dir);
    let kinds: Vec<&str> = notes.iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["launch", "progress", "result"], "{notes:?}");
    assert_eq!(notes[1]["text"], "📡 🟢 CC: halfway there");
    // The agent was told how, in one line, and nothing secret: the prompt has the command.
    let stdin = std::fs::read_to_string(rec_dir.join("stdin")).unwrap();
    assert!(stdin.contains(" notify \"your note\""), "{stdin}");
    assert!(stdin.ends_with("\n\nx"), "{stdin}");
    // The socket is gone after the run.
    assert!(!dir.join("control.sock").exists());
    // Every item of the outbox was delivered, in order, with idempotency keys.
    let outbox = std::fs::read_to_string(dir.join("outbox.jsonl")).unwrap();
    let delivered = outbox
        .lines()
        .filter(|l| l.contains("\"op\":\"delivered\""))
        .count();
    assert_eq!(delivered, 3, "{outbox}");
}

#[test]
fn notify_outside_a_run_fails_clearly() {
    let sb = Sandbox::new();
    let out = sb
        .cmd()
        .args(["notify", "hello", "--run-dir", sb.root.to_str().unwrap()])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("no live run"), "{}", stderr(&out));
}

#[test]
fn a_runner_panic_is_recorded_as_a_crash_and_the_agent_is_stopped() {
    let sb = Sandbox::new();
    let rec_dir = sb.root.join("rec");
    let out = sb
        .run(&["-t", "x", "--grace", "1"])
        .env("FAKE_FIXTURE", fixture("claude/cancel-SIGTERM.jsonl"))
        .env("FAKE_MODE", "grandchild-stubborn")
        .env("FAKE_RECORD", &rec_dir)
        .env("CLAWRUN_FAULT", "panic-after-spawn")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let dir = only_run_dir(&sb);
    let rec = record(&dir);
    assert_eq!(rec["status"], "crashed");
    assert!(
        rec["error"].as_str().unwrap().contains("injected fault"),
        "{rec}"
    );
    let notes = notification_lines(&dir);
    let kinds: Vec<&str> = notes.iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.last(), Some(&"failure"), "{notes:?}");
    assert!(
        notes.last().unwrap()["text"]
            .as_str()
            .unwrap()
            .contains("runner crashed")
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let agent = rec["agent_pid"].as_i64().unwrap() as i32;
    while pid_alive(agent) {
        assert!(
            Instant::now() < deadline,
            "agent {agent} survived the crash"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn iterate_mode_counts_the_resume_chain_and_refuses_past_the_limit() {
    let sb = Sandbox::new();
    let key = "agent:main:main";
    let base = [
        "-s",
        key,
        "--notify-channel",
        "console",
        "--completion-mode",
        "iterate",
        "--max-iterations",
        "2",
    ];
    let first = sb
        .run(&[&base[..], &["-t", "first"]].concat())
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let id = "b97f592b-6515-4a57-b3bb-0bc3448d4c8a";
    let second = sb
        .run(&[&base[..], &["-t", "second", "--resume", id]].concat())
        .env("FAKE_FIXTURE", fixture("claude/resume.jsonl"))
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    let runs_before = std::fs::read_dir(sb.state_dir().join("runs"))
        .unwrap()
        .count();
    let third = sb
        .run(&[&base[..], &["-t", "third", "--resume", id]].concat())
        .env("FAKE_FIXTURE", fixture("claude/resume.jsonl"))
        .output()
        .unwrap();
    assert_eq!(third.status.code(), Some(2), "{}", stderr(&third));
    assert!(
        stderr(&third).contains("iteration limit reached: this would be iteration 3 of 2"),
        "{}",
        stderr(&third)
    );
    assert_eq!(
        std::fs::read_dir(sb.state_dir().join("runs"))
            .unwrap()
            .count(),
        runs_before
    );
    // The wake told the agent where it stands.
    let wakes: Vec<Value> = std::fs::read_dir(sb.state_dir().join("runs"))
        .unwrap()
        .flat_map(|d| notification_lines(&d.unwrap().path()))
        .filter(|n| n["kind"] == "wake")
        .collect();
    assert_eq!(wakes.len(), 2);
    let texts: Vec<&str> = wakes.iter().map(|w| w["text"].as_str().unwrap()).collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("mode=iterate iteration=1/2")),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("mode=iterate iteration=2/2")
                && t.contains("last allowed iteration")),
        "{texts:?}"
    );
}

#[test]
fn a_timed_out_run_keeps_all_partial_text_on_disk() {
    let sb = Sandbox::new();
    // Text arrives, then the agent hangs until the time limit.
    let out = sb
        .run(&["-t", "x", "--timeout", "3", "--grace", "1"])
        .env("FAKE_FIXTURE", fixture("constructed/stream-texts.jsonl"))
        .env("FAKE_MODE", "hang")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let dir = only_run_dir(&sb);
    // The transcript's result line came before the hang, so the final text is
    // known; without it the partial text would be every assistant text so far.
    let output = std::fs::read_to_string(dir.join("output.txt")).unwrap();
    assert_eq!(output, "text six");
    let all = std::fs::read_to_string(dir.join("assistant.txt")).unwrap();
    assert_eq!(
        all,
        "text one\ntext two\ntext three\ntext four\ntext five\ntext six"
    );
}

#[test]
fn without_a_result_the_output_is_every_assistant_text() {
    let sb = Sandbox::new();
    let head: Vec<String> = std::fs::read_to_string(fixture("constructed/stream-texts.jsonl"))
        .unwrap()
        .lines()
        .take(4)
        .map(str::to_owned)
        .collect();
    let partial = sb.root.join("partial.jsonl");
    std::fs::write(&partial, head.join("\n") + "\n").unwrap();
    let out = sb
        .run(&["-t", "x", "--timeout", "2", "--grace", "1"])
        .env("FAKE_FIXTURE", &partial)
        .env("FAKE_MODE", "hang")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let dir = only_run_dir(&sb);
    assert_eq!(
        std::fs::read_to_string(dir.join("output.txt")).unwrap(),
        "text one\ntext two\ntext three"
    );
    let notes = notification_lines(&dir);
    let result = notes.iter().find(|n| n["kind"] == "failure").unwrap();
    assert!(
        result["text"].as_str().unwrap().contains("timed out"),
        "{result}"
    );
    assert!(
        result["text"].as_str().unwrap().contains("Partial result"),
        "{result}"
    );
}

#[test]
fn max_sessions_refuses_or_queues_a_run() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.openclaw_home()).unwrap();
    std::fs::write(
        sb.openclaw_home().join("clawrun.toml"),
        "[limits]\nmax_sessions = 1\n",
    )
    .unwrap();
    let first = sb
        .run(&["-t", "x", "--detach", "--json", "--label", "long one"])
        .env("FAKE_FIXTURE", fixture("claude/cancel-SIGTERM.jsonl"))
        .env("FAKE_MODE", "hang")
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let refused = sb
        .run(&["-t", "y"])
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("(the limit is 1)"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(crate::common::run_ids(&sb).len(), 1);
    // With --queue it waits; stopping the first run frees the slot.
    let mut queued = sb
        .run_std(&["-t", "y", "--queue"])
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        queued.try_wait().unwrap().is_none(),
        "the queued run did not wait"
    );
    let kill = sb
        .cmd()
        .args(["kill", "long one", "--wait", "20"])
        .output()
        .unwrap();
    assert_eq!(kill.status.code(), Some(0), "{}", stderr(&kill));
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = queued.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "the queued run never started");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status.code(), Some(0));
    assert_eq!(crate::common::run_ids(&sb).len(), 2);
}

#[test]
fn idle_timeout_stops_a_silent_agent_and_a_reminder_is_sent_once() {
    let sb = Sandbox::new();
    let out = sb
        .run(&[
            "-t",
            "x",
            "--idle-timeout",
            "2",
            "--remind-after",
            "1",
            "--grace",
            "1",
            "--json",
        ])
        .env("FAKE_FIXTURE", fixture("claude/cancel-SIGTERM.jsonl"))
        .env("FAKE_MODE", "hang")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["error"].as_str().unwrap().contains("--idle-timeout"),
        "{report}"
    );
    let notes = notification_lines(&only_run_dir(&sb));
    let texts: Vec<&str> = notes.iter().map(|n| n["text"].as_str().unwrap()).collect();
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("is still running"))
            .count(),
        1,
        "{texts:?}"
    );
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("has been silent for"))
            .count(),
        1,
        "{texts:?}"
    );
}

/// A real transcript up to its first line containing `upto`, as a file under the sandbox.
fn transcript_head(sb: &Sandbox, rel: &str, upto: &str) -> PathBuf {
    let text = std::fs::read_to_string(fixture(rel)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let end = lines.iter().position(|l| l.contains(upto)).unwrap();
    let path = sb.root.join("head.jsonl");
    std::fs::write(&path, lines[..=end].join("\n") + "\n").unwrap();
    path
}

#[test]
fn a_background_subagent_counts_and_a_timeout_names_it() {
    let sb = Sandbox::new();
    let head = transcript_head(
        &sb,
        "claude-2.1.332/subagent-background.jsonl",
        "\"task_progress\"",
    );
    let out = sb
        .run(&["-t", "x", "--timeout", "2", "--grace", "1"])
        .env("FAKE_FIXTURE", &head)
        .env("FAKE_MODE", "hang")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let rec = record(&only_run_dir(&sb));
    assert_eq!(rec["status"], "timeout");
    assert_eq!(rec["subagents_running"], 1, "{rec}");
    assert_eq!(rec["subagents_started"], 1, "{rec}");
    let error = rec["error"].as_str().unwrap();
    assert!(
        error.contains("1 background task still running (Inspect files)"),
        "{error}"
    );
}

#[test]
fn a_run_with_two_results_ends_when_the_cli_ends() {
    let sb = Sandbox::new();
    let out = sb
        .run(&["-t", "x", "--timeout", "60"])
        .env(
            "FAKE_FIXTURE",
            fixture("claude-2.1.332/subagent-background.jsonl"),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let dir = only_run_dir(&sb);
    let rec = record(&dir);
    assert_eq!(rec["status"], "completed");
    // Zero counts are left out of run.json (the shape older versions wrote).
    assert_eq!(rec.get("subagents_running"), None);
    assert_eq!(rec["subagents_started"], 1);
    // modelUsage of the last result: every call of the run.
    assert_eq!(rec["usage"]["input_tokens"], 500);
    assert_eq!(rec["usage"]["output_tokens"], 35);
    assert_eq!(rec["cost_usd"], 0.0027);
    assert_eq!(
        std::fs::read_to_string(dir.join("output.txt")).unwrap(),
        "DONE with subagent"
    );
    // The tested version: no warning.
    assert!(!stderr(&out).contains("newer than"), "{}", stderr(&out));
}

#[test]
fn a_session_that_moves_mid_run_moves_the_registry_entry() {
    let sb = Sandbox::new();
    let text = std::fs::read_to_string(fixture("claude-2.1.332/tool.jsonl")).unwrap();
    let (init, rest) = text.split_once('\n').unwrap();
    let old: Value = serde_json::from_str(init).unwrap();
    let old = old["session_id"].as_str().unwrap().to_owned();
    let new = "0a0a0a0a-1111-4222-8333-444444444444";
    let moved = sb.root.join("moved.jsonl");
    std::fs::write(&moved, format!("{init}\n{}", rest.replace(&old, new))).unwrap();
    let out = sb
        .run(&["-t", "x", "--label", "Mover"])
        .env("FAKE_FIXTURE", &moved)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rec = record(&only_run_dir(&sb));
    assert_eq!(rec["resume_id"], new);
    assert_eq!(rec["replaced_ids"], serde_json::json!([old]));
    let registry: Value = serde_json::from_slice(
        &std::fs::read(sb.openclaw_home().join("claude_sessions.json")).unwrap(),
    )
    .unwrap();
    let entry = |id: &str| {
        registry["sessions"]
            .get(id)
            .cloned()
            .unwrap_or_else(|| panic!("no entry {id} in {registry}"))
    };
    assert_eq!(entry(&old)["status"], "replaced");
    assert_eq!(entry(new)["status"], "completed");
    assert_eq!(entry(new)["resumed_from"], old.as_str());
    assert_eq!(entry(new)["label"], "Mover");
}

/// Issue 25: the wake speaks clawrun's documented exit codes (SKILL's table:
/// 4 timeout, 5 killed), not the agent's raw status (143 = SIGTERM), which
/// it shows apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wake_says_the_documented_exit_code_of_a_timeout_and_a_kill() {
    use crate::common::gateway::{self, TOKEN, WHATSAPP_KEY as KEY, deliveries};
    let port = gateway::free_port();
    let server = gateway::start_on(port).await;
    gateway::mount_whatsapp(&server, KEY).await;
    let sb = gateway::sandbox(port, TOKEN);
    // A timeout: the agent hangs past --timeout.
    let mut c = sb.run_std(&["-s", KEY, "-t", "x", "--timeout", "2", "--grace", "1"]);
    c.env("FAKE_FIXTURE", fixture("claude/cancel-SIGTERM.jsonl"))
        .env("FAKE_MODE", "hang");
    let out = tokio::process::Command::from(c).output().await.unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    // A kill: the runner gets SIGTERM.
    let rec_dir = sb.root.join("rec");
    let mut c = sb.run_std(&["-s", KEY, "-t", "x", "--grace", "1"]);
    c.env("FAKE_FIXTURE", fixture("claude/cancel-SIGTERM.jsonl"))
        .env("FAKE_MODE", "grandchild-stubborn")
        .env("FAKE_RECORD", &rec_dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let child = tokio::process::Command::from(c).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !rec_dir.join("grandchild.pid").exists() {
        assert!(Instant::now() < deadline, "agent never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id().unwrap() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(5));
    let wakes: Vec<String> = deliveries(&server.received_requests().await.unwrap())
        .into_iter()
        .filter(|(tool, _, _)| tool == "sessions_send")
        .map(|(_, _, text)| text)
        .collect();
    assert_eq!(wakes.len(), 2, "{wakes:?}");
    assert!(wakes[0].contains("status=timeout exit=4 "), "{}", wakes[0]);
    assert!(wakes[1].contains("status=killed exit=5 "), "{}", wakes[1]);
    for w in &wakes {
        assert!(!w.contains("exit=143") && !w.contains("exit=137"), "{w}");
        // The agent's own status, apart and in words.
        assert!(w.contains("\nAgent exit status: 143 (SIGTERM)\n"), "{w}");
    }
}
