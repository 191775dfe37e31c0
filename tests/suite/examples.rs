//! The examples under `examples/`, run as their users would run them.
//!
//! How they are built: `cargo test` already builds every example (they are
//! targets of the package), but `cargo test --test all` does not, and a stale
//! binary must not pass for a fresh one. So the first test that needs one runs
//! `cargo build --examples --offline` once (the same cargo, profile and target dir as
//! this test binary; a no-op when `cargo test` just built them), then runs
//! `target/<profile>/examples/<name>` as a subprocess with a private HOME and
//! PATH. Subprocesses, not in-process calls, because the examples read `PATH`
//! and spawn agents that read their environment, which a test must not set on
//! itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use clawrun::backends::config;
use clawrun::backends::{Backend, LineParser};
use clawrun::events::{AgentEvent, Usage, UsageScope};
use pretty_assertions::assert_eq;
use serde_json::Value;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::common::{Sandbox, clawrun_bin, fixture};

/// Longest a build of the examples may take (a cold build on a slow machine).
const BUILD_LIMIT: Duration = Duration::from_secs(900);
/// Longest one example run may take.
const RUN_LIMIT: Duration = Duration::from_secs(120);

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Run `cmd` to its end, killing it after `limit`.
fn output_within(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = Instant::now() + limit;
    // Read the pipes in a thread so a chatty child cannot block on a full pipe.
    let waiter = std::thread::spawn(move || child.wait_with_output().unwrap());
    while !waiter.is_finished() {
        if Instant::now() > deadline {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("{cmd:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    waiter.join().unwrap()
}

/// The path of example `name`, built once per test process.
fn example(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args([
            "build",
            "--examples",
            "--quiet",
            "--offline",
            "--manifest-path",
        ])
        .arg(repo().join("Cargo.toml"));
        if !cfg!(debug_assertions) {
            cmd.arg("--release");
        }
        let out = output_within(&mut cmd, BUILD_LIMIT);
        assert!(
            out.status.success(),
            "cargo build --examples failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // This binary is target/<profile>/deps/all-<hash>.
        let exe = std::env::current_exe().unwrap();
        exe.parent().unwrap().parent().unwrap().join("examples")
    });
    let path = dir.join(name);
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// An example run in `sb`: its HOME, `path_first` first on PATH.
fn example_cmd(sb: &Sandbox, name: &str, path_first: &Path) -> Command {
    let mut c = Command::new(example(name));
    c.env_clear()
        .env("HOME", sb.home())
        .env("PATH", format!("{}:/usr/bin:/bin", path_first.display()))
        .current_dir(&sb.root);
    c
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn report(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not a report ({e}):\n{}", stderr(o)))
}

fn run_dirs(sb: &Sandbox) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(sb.state_dir().join("runs"))
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    dirs.sort();
    dirs
}

fn notification_kinds(run_dir: &Path) -> Vec<String> {
    std::fs::read_to_string(run_dir.join("notifications.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn run_from_rust_runs_the_agent_to_completion() {
    let sb = Sandbox::new();
    let project = sb.root.join("proj");
    let out = output_within(
        example_cmd(&sb, "run_from_rust", &sb.bin)
            .arg(&project)
            .arg("do the thing")
            .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
            .env("FAKE_RECORD", sb.root.join("rec")),
        RUN_LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rep = report(&out);
    assert_eq!(rep["outcome"], "completed");
    assert_eq!(rep["exit_code"], 0);
    assert_eq!(rep["resume_id"], "b97f592b-6515-4a57-b3bb-0bc3448d4c8a");
    let output = PathBuf::from(rep["output_file"].as_str().unwrap());
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "DONE");
    // The prompt reached the agent on stdin, in the project directory.
    assert!(
        std::fs::read_to_string(sb.root.join("rec/stdin"))
            .unwrap()
            .ends_with("do the thing")
    );
    assert!(project.is_dir());
    let dirs = run_dirs(&sb);
    assert_eq!(dirs.len(), 1);
    assert_eq!(notification_kinds(&dirs[0]), vec!["launch", "result"]);
    // The registry has the session, as after `clawrun run`.
    let reg = std::fs::read_to_string(sb.openclaw_home().join("claude_sessions.json")).unwrap();
    assert!(
        reg.contains("b97f592b-6515-4a57-b3bb-0bc3448d4c8a"),
        "{reg}"
    );
}

#[test]
fn run_from_rust_rejects_bad_input_before_writing_anything() {
    let sb = Sandbox::new();
    let empty = sb.root.join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    // No `claude` on PATH: a usage error, exit 2, nothing created.
    let out = output_within(
        example_cmd(&sb, "run_from_rust", &empty)
            .arg(sb.root.join("proj"))
            .arg("do the thing"),
        RUN_LIMIT,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("claude not found"),
        "{}",
        stderr(&out)
    );
    assert!(!sb.state_dir().exists());
    assert!(!sb.root.join("proj").exists());
}

/// What the webhook received: (Idempotency-Key header, JSON body), in order.
fn posts(requests: &[Request]) -> Vec<(String, Value)> {
    requests
        .iter()
        .map(|r| {
            let key = r
                .headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            (key, serde_json::from_slice(&r.body).unwrap())
        })
        .collect()
}

async fn run_webhook_example(sb: &Sandbox, url: String) -> Output {
    let mut cmd = example_cmd(sb, "webhook_channel", &sb.bin);
    cmd.arg(url)
        .arg(sb.root.join("proj"))
        .arg("do the thing")
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"));
    tokio::task::spawn_blocking(move || output_within(&mut cmd, RUN_LIMIT))
        .await
        .unwrap()
}

#[tokio::test]
async fn webhook_channel_posts_each_message_as_json() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let sb = Sandbox::new();
    let out = run_webhook_example(&sb, format!("{}/hook", server.uri())).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let requests = server.received_requests().await.unwrap();
    assert!(requests.iter().all(|r| r.url.path() == "/hook"));
    let posts = posts(&requests);
    let kinds: Vec<&str> = posts
        .iter()
        .map(|(_, b)| b["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["launch", "result"]);
    for (key, body) in &posts {
        assert_eq!(body["idempotency_key"], key.as_str());
    }
    let (_, launch) = &posts[0];
    assert!(
        launch["text"]
            .as_str()
            .unwrap()
            .contains("Claude Code started")
    );
    assert_eq!(launch["silent"], true);
    let (_, result) = &posts[1];
    let text = result["text"].as_str().unwrap();
    assert!(
        text.contains("task complete") && text.contains("DONE"),
        "{text}"
    );
    // Nothing went to a console log: the custom channel replaced it.
    let dirs = run_dirs(&sb);
    assert!(!dirs[0].join("notifications.jsonl").exists());
}

#[tokio::test]
async fn webhook_channel_errors_are_retried_with_the_same_key() {
    let server = MockServer::start().await;
    // First a 429 with Retry-After, then a 503, then success.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(3)
        .mount(&server)
        .await;
    let sb = Sandbox::new();
    let out = run_webhook_example(&sb, server.uri()).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let posts = posts(&server.received_requests().await.unwrap());
    let launch_keys: Vec<&str> = posts
        .iter()
        .filter(|(_, b)| b["kind"] == "launch")
        .map(|(k, _)| k.as_str())
        .collect();
    // Three attempts at the launch message, all with one key.
    assert_eq!(launch_keys.len(), 3, "{posts:?}");
    assert!(launch_keys.iter().all(|k| *k == launch_keys[0]));
    // The result arrived exactly once.
    assert_eq!(
        posts.iter().filter(|(_, b)| b["kind"] == "result").count(),
        1
    );
}

fn custom_backend_dir() -> PathBuf {
    repo().join("examples/custom_backend")
}

#[test]
fn custom_backend_example_runs_acme_records_and_resumes_its_session() {
    let sb = Sandbox::new();
    let project = sb.root.join("proj");
    let run = |extra: &[&str]| {
        output_within(
            example_cmd(&sb, "custom_backend", &custom_backend_dir())
                .arg(&project)
                .arg("count the files")
                .args(extra),
            RUN_LIMIT,
        )
    };
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rep = report(&out);
    assert_eq!(rep["outcome"], "completed");
    assert_eq!(rep["cost_usd"], 0.0012);
    let id = rep["resume_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("acme-"), "{id}");
    let output = PathBuf::from(rep["output_file"].as_str().unwrap());
    assert_eq!(
        std::fs::read_to_string(output).unwrap(),
        "Done: count the files"
    );
    // The example shows one line mapped before running.
    assert!(stderr(&out).contains("AssistantText { text: \"hello from acme\""));

    // The session is in acme's own registry, in the seed schema.
    let reg: Value = serde_json::from_str(
        &std::fs::read_to_string(sb.openclaw_home().join("acme_sessions.json")).unwrap(),
    )
    .unwrap();
    let entry = &reg["sessions"][&id];
    assert_eq!(entry["session_id"], id.as_str());
    assert_eq!(entry["backend"], "acme");
    assert_eq!(entry["status"], "completed");
    assert_eq!(entry["input_tokens"], 120);
    assert_eq!(entry["output_tokens"], 30);

    // Resuming it works; resuming an unknown session is exit 6.
    let out = run(&[&id]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report(&out)["resume_id"], id.as_str());
    let out = run(&["nope"]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert_eq!(report(&out)["outcome"], "resume_failed");
}

#[test]
fn acme_transcript_maps_to_the_expected_events() {
    let mut cmd = Command::new(custom_backend_dir().join("acme-agent"));
    cmd.args(["run", "--jsonl", "--cwd", "/"])
        .env("ACME_SESSION", "acme-42")
        .stdin(std::process::Stdio::piped());
    let mut child = cmd.stdout(std::process::Stdio::piped()).spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"context\ncount the files\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let transcript = String::from_utf8(out.stdout).unwrap();

    let backends = config::load(Some(&custom_backend_dir().join("backends.toml"))).unwrap();
    let acme = backends.backend("acme").unwrap();
    let mut parser = acme.parser();
    let mut events: Vec<AgentEvent> = transcript
        .lines()
        .flat_map(|l| parser.parse_line(l))
        .collect();
    events.extend(parser.finish(Some(0), ""));
    assert_eq!(
        events,
        vec![
            AgentEvent::SessionStarted {
                resume_id: "acme-42".into(),
                model: Some("acme-1".into()),
                cli_version: Some("0.3.0".into()),
            },
            AgentEvent::ToolStarted {
                call_id: "t1".into(),
                name: "shell".into(),
                summary: "ls".into(),
                parent_tool_id: None,
            },
            AgentEvent::ToolFinished {
                call_id: "t1".into(),
                ok: true,
            },
            AgentEvent::AssistantText {
                text: "Working on: count the files".into(),
                parent_tool_id: None,
            },
            AgentEvent::Usage {
                scope: UsageScope::Cumulative,
                usage: Usage {
                    input_tokens: 120,
                    cached_input_tokens: 20,
                    output_tokens: 30,
                },
            },
            AgentEvent::TurnCompleted {
                final_text: Some("Done: count the files".into()),
                usage: None,
                cost_usd: Some(0.0012),
            },
        ]
    );
    // The failing form of `done` becomes a failed turn with its message.
    let mut parser = acme.parser();
    assert_eq!(
        parser.parse_line(r#"{"kind":"done","failed":true,"error":{"message":"acme gave up"}}"#),
        vec![AgentEvent::TurnFailed {
            message: "acme gave up".into(),
            kind: clawrun::events::FailureKind::Other,
            cost_usd: None,
        }]
    );
}

#[test]
fn custom_backend_through_the_binary_with_backends_flag() {
    let sb = Sandbox::new();
    let backends = custom_backend_dir().join("backends.toml");
    let clawrun = |args: &[&str]| {
        let mut c = Command::new(clawrun_bin());
        c.env_clear()
            .env("HOME", sb.home())
            .env(
                "PATH",
                format!("{}:/usr/bin:/bin", custom_backend_dir().display()),
            )
            .current_dir(&sb.root)
            .arg("--backends")
            .arg(&backends)
            .args(args);
        output_within(&mut c, RUN_LIMIT)
    };
    // A failed turn is exit 3, with the CLI's message.
    let out = clawrun(&[
        "run",
        "--backend",
        "acme",
        "-p",
        "proj",
        "-t",
        "fail",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(report(&out)["error"], "acme gave up");
    // Detached: the runner finds `acme` through the recorded backends file.
    let out = clawrun(&[
        "run",
        "--backend",
        "acme",
        "-p",
        "proj",
        "-t",
        "list",
        "--detach",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let proof: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(proof["backend"], "acme");
    let run_json = PathBuf::from(proof["run_dir"].as_str().unwrap()).join("run.json");
    let deadline = Instant::now() + RUN_LIMIT;
    let record = loop {
        let rec: Value =
            serde_json::from_str(&std::fs::read_to_string(&run_json).unwrap()).unwrap();
        if rec["status"] == "completed" || rec["status"] == "failed" {
            break rec;
        }
        assert!(Instant::now() < deadline, "the detached run did not finish");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(record["status"], "completed");
    // Its sessions are listed like any other backend's.
    let out = clawrun(&["sessions", "--backend", "acme", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    // Claude-only flags are refused before anything runs.
    let out = clawrun(&[
        "run",
        "--backend",
        "acme",
        "-t",
        "x",
        "--fork",
        "--resume",
        "acme-1",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn a_bad_generic_definition_is_a_usage_error_naming_the_key() {
    let sb = Sandbox::new();
    let file = sb.root.join("backends.toml");
    std::fs::write(
        &file,
        "[generic.acme]\nprogram = \"acme-agent\"\n[generic.acme.events]\ntype = \"kind\"\n\
         [generic.acme.events.on.say]\nevent = \"assistant_text\"\ntext = \"/text\"\n",
    )
    .unwrap();
    let mut c = Command::new(clawrun_bin());
    c.env_clear()
        .env("HOME", sb.home())
        .env("PATH", "/usr/bin:/bin")
        .arg("--backends")
        .arg(&file)
        .args(["run", "--backend", "acme", "-t", "x"]);
    let out = output_within(&mut c, RUN_LIMIT);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("generic.acme.events.type") && err.contains("not a JSON pointer"),
        "{err}"
    );
    assert!(!sb.state_dir().exists());
}
