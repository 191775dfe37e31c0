//! Scenarios with the real `claude` and `codex` against the fake model servers:
//! what the user sees in the report, `run.json`, the output file and the registry.

use std::sync::Arc;

use serde_json::Value;

use crate::fakes::{
    ERR500_MESSAGE, FAILED_MESSAGE, SUBAGENT_ANSWER, TEXT_ANSWER, TOOL_ANSWER, TOOL_COMMAND,
};
use crate::harness::{Ctx, Run, alive, registry_entry, run_record};

/// Write the backends file and `CODEX_HOME/config.toml` (once, at suite start).
pub fn write_backends(ctx: &Ctx) {
    let anthropic = ctx.anthropic.server.uri();
    let codex_home = ctx.codex_home();
    std::fs::create_dir_all(&codex_home).unwrap();
    // Codex, offline: our provider, no retries, no plugin/analytics/update traffic.
    let codex_config = format!(
        r#"model = "gpt-5.5"
model_provider = "e2e"
approval_policy = "never"
sandbox_mode = "danger-full-access"
check_for_update_on_startup = false

[model_providers.e2e]
name = "e2e fake"
base_url = "{base}"
env_key = "E2E_OPENAI_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0

[features]
plugins = false
unbounded_connection_retries = false

[analytics]
enabled = false
"#,
        base = ctx.openai.base_url()
    );
    std::fs::write(codex_home.join("config.toml"), codex_config).unwrap();
    let backends = format!(
        r#"[claude]
program = "{claude}"
env = {{ ANTHROPIC_BASE_URL = "{anthropic}", ANTHROPIC_API_KEY = "sk-e2e-fake", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = "1", CLAUDE_CODE_MAX_RETRIES = "0", IS_SANDBOX = "1", DISABLE_AUTOUPDATER = "1" }}

[codex]
program = "{codex}"
env = {{ CODEX_HOME = "{codex_home}", E2E_OPENAI_API_KEY = "sk-e2e-fake" }}
"#,
        claude = ctx.env.claude.display(),
        codex = ctx.env.codex.display(),
        codex_home = codex_home.display(),
    );
    std::fs::write(ctx.backends_file(), backends).unwrap();
}

pub async fn run(ctx: &Ctx, backend: &str, project: &str, task: &str, extra: &[&str]) -> Run {
    let home = ctx.cli_home();
    let backends = ctx.backends_file();
    let project = ctx.project(project);
    let mut args = vec![
        "run",
        "--backends",
        backends.to_str().unwrap(),
        "--backend",
        backend,
        "-p",
        project.to_str().unwrap(),
        "-t",
        task,
        "--heartbeat",
        "0",
        "--json",
    ];
    args.extend_from_slice(extra);
    ctx.clawrun(&home, &args).await
}

fn no_version_warning(run: &Run) {
    assert!(
        !run.stderr.contains("is newer than the newest version"),
        "unexpected version warning:\n{}",
        run.stderr
    );
}

pub fn common_success_checks(ctx: &Ctx, run: &Run, answer: &str) -> (Value, Value) {
    run.expect_code(0);
    let report = run.json();
    assert_eq!(report["outcome"], "completed", "{report}");
    assert_eq!(report["exit_code"], 0);
    let output_file = report["output_file"].as_str().unwrap();
    let output = std::fs::read_to_string(output_file).unwrap();
    assert!(
        output.contains(answer),
        "output file {output_file} lacks {answer:?}: {output:?}"
    );
    let record = run_record(&run.run_dir(&ctx.cli_home()));
    assert_eq!(record["status"], "completed", "{record}");
    assert_eq!(record["resume_id"], report["resume_id"]);
    assert!(
        record["usage"]["input_tokens"].as_u64().unwrap_or(0) > 0
            && record["usage"]["output_tokens"].as_u64().unwrap_or(0) > 0,
        "no token counts in run.json: {record}"
    );
    no_version_warning(run);
    (report, record)
}

/// claude: a tool-using run → completed, real session id in the registry,
/// result text, cost and tokens.
pub async fn claude_tool(ctx: Arc<Ctx>) {
    let before = ctx.anthropic.message_bodies().await.len();
    let r = run(
        &ctx,
        "claude",
        "claude-app",
        "[e2e:tool] Greet us by running a shell command.",
        &["--label", "e2e claude tool"],
    )
    .await;
    let (report, record) = common_success_checks(&ctx, &r, TOOL_ANSWER);
    let session = report["resume_id"].as_str().unwrap().to_owned();
    assert!(
        uuid::Uuid::parse_str(&session).is_ok(),
        "not a Claude session id: {session}"
    );
    // The session id is the one the CLI used on the wire.
    assert!(
        ctx.anthropic.session_headers().await.contains(&session),
        "the fake never saw session {session}"
    );
    assert_eq!(record["cli_version"], ctx.env.claude_version.as_str());
    assert_eq!(record["tool_calls"], 1, "{record}");
    let cost = record["cost_usd"].as_f64().unwrap_or(0.0);
    assert!(cost > 0.0, "no cost in run.json: {record}");
    assert_eq!(report["cost_usd"].as_f64(), Some(cost));
    // Two model turns: the tool call, then the answer after its result.
    let bodies = ctx.anthropic.message_bodies().await;
    assert_eq!(bodies.len() - before, 2, "expected 2 Messages requests");
    let last = bodies.last().unwrap().to_string();
    assert!(
        last.contains("hello-from-tool"),
        "the tool's real output did not reach the model"
    );
    let entry = registry_entry(&ctx.cli_home(), "claude_sessions.json", &session);
    assert_eq!(entry["status"], "completed", "{entry}");
    assert_eq!(entry["session_id"], session.as_str());
    assert_eq!(entry["label"], "e2e claude tool");
    assert_eq!(entry["backend"], "claude");
    assert_eq!(entry["run_id"], report["run_id"]);
    assert_eq!(entry["cost_usd"].as_f64(), Some(cost));
    assert!(entry["input_tokens"].as_u64().unwrap_or(0) > 0, "{entry}");
    assert!(entry["output_tokens"].as_u64().unwrap_or(0) > 0, "{entry}");
    ctx.note("claude_session", &session);
    ctx.figure(
        "claude tool run: clawrun wall time",
        format!("{:.1}s", r.secs),
    );
}

/// claude: resume that session from the same project.
pub async fn claude_resume(ctx: Arc<Ctx>) {
    let session = ctx.noted("claude_session", "claude_tool");
    let before = ctx.anthropic.message_bodies().await.len();
    let r = run(
        &ctx,
        "claude",
        "claude-app",
        "[e2e:text] And now say hi.",
        &["--resume", &session],
    )
    .await;
    let (report, record) = common_success_checks(&ctx, &r, TEXT_ANSWER);
    assert_eq!(
        report["resume_id"],
        session.as_str(),
        "resume changed the session id"
    );
    assert_eq!(record["resumed_from"], session.as_str());
    // The resumed request carries the earlier conversation.
    let bodies = ctx.anthropic.message_bodies().await;
    let resumed = bodies[before..]
        .iter()
        .map(Value::to_string)
        .find(|b| b.contains("And now say hi"))
        .expect("the resumed turn never reached the fake");
    assert!(
        resumed.contains("Greet us by running a shell command")
            && resumed.contains("hello-from-tool"),
        "the resumed request does not carry the first turn"
    );
    let entry = registry_entry(&ctx.cli_home(), "claude_sessions.json", &session);
    assert_eq!(entry["status"], "completed");
    assert_eq!(
        entry["run_id"], report["run_id"],
        "registry not updated by the resume"
    );
    assert_eq!(
        entry["label"], "e2e claude tool",
        "the resume lost the label"
    );
}

/// claude: an API error (500) → failed outcome with the reason.
pub async fn claude_api_error(ctx: Arc<Ctx>) {
    let r = run(
        &ctx,
        "claude",
        "claude-err",
        "[e2e:err500] This will fail.",
        &[],
    )
    .await;
    r.expect_code(3);
    let report = r.json();
    assert_eq!(report["outcome"], "failed", "{report}");
    let error = report["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("500") && error.contains(ERR500_MESSAGE),
        "the reason is not in the report: {error:?}"
    );
    let record = run_record(&r.run_dir(&ctx.cli_home()));
    assert_eq!(record["status"], "failed");
    assert_eq!(record["error"], report["error"]);
    let session = report["resume_id"]
        .as_str()
        .expect("no session id")
        .to_owned();
    let entry = registry_entry(&ctx.cli_home(), "claude_sessions.json", &session);
    assert_eq!(entry["status"], "failed", "{entry}");
    assert!(
        r.stderr.contains("failed"),
        "stderr says nothing: {}",
        r.stderr
    );
}

/// claude: a turn that never ends → timeout, the agent stopped.
pub async fn claude_timeout(ctx: Arc<Ctx>) {
    let r = run(
        &ctx,
        "claude",
        "claude-slow",
        "[e2e:slow120] Take your time.",
        &["--timeout", "6", "--grace", "2"],
    )
    .await;
    r.expect_code(4);
    let report = r.json();
    assert_eq!(report["outcome"], "timeout", "{report}");
    assert_eq!(report["error"], "timed out after 6s");
    assert!(r.secs < 30.0, "the timeout took {:.1}s", r.secs);
    let record = run_record(&r.run_dir(&ctx.cli_home()));
    assert_eq!(record["status"], "timeout");
    let agent = record["agent_pid"].as_u64().unwrap() as u32;
    assert!(!alive(agent), "the agent {agent} survived the timeout");
    ctx.figure(
        "claude timeout (--timeout 6 --grace 2): clawrun wall time",
        format!("{:.1}s", r.secs),
    );
}

/// codex: a tool run.
pub async fn codex_tool(ctx: Arc<Ctx>) {
    let before = ctx.openai.responses_bodies().await.len();
    let r = run(
        &ctx,
        "codex",
        "codex-app",
        "[e2e:tool] Greet us by running a shell command.",
        &["--label", "e2e codex tool"],
    )
    .await;
    let (report, record) = common_success_checks(&ctx, &r, TOOL_ANSWER);
    let thread = report["resume_id"].as_str().unwrap().to_owned();
    assert!(
        uuid::Uuid::parse_str(&thread).is_ok(),
        "not a Codex thread id: {thread}"
    );
    assert!(record["tool_calls"].as_u64().unwrap_or(0) >= 1, "{record}");
    // Codex names no version in its stream: the version guard asked `codex --version`.
    assert_eq!(
        record["cli_version"],
        ctx.env.codex_version.as_str(),
        "{record}"
    );
    let bodies = ctx.openai.responses_bodies().await;
    assert_eq!(bodies.len() - before, 2, "expected 2 Responses requests");
    let last = bodies.last().unwrap().to_string();
    assert!(
        last.contains("hello-from-tool"),
        "the command's real output did not reach the model"
    );
    let stream = std::fs::read_to_string(r.run_dir(&ctx.cli_home()).join("stream.jsonl")).unwrap();
    assert!(
        stream.contains(TOOL_COMMAND),
        "codex did not report the command it ran"
    );
    let entry = registry_entry(&ctx.cli_home(), "codex_sessions.json", &thread);
    assert_eq!(entry["status"], "completed", "{entry}");
    assert_eq!(entry["thread_id"], thread.as_str());
    assert_eq!(entry["backend"], "codex");
    assert_eq!(entry["label"], "e2e codex tool");
    ctx.note("codex_thread", &thread);
    ctx.figure(
        "codex tool run: clawrun wall time",
        format!("{:.1}s", r.secs),
    );
}

/// codex: resume by thread id.
pub async fn codex_resume(ctx: Arc<Ctx>) {
    let thread = ctx.noted("codex_thread", "codex_tool");
    let before = ctx.openai.responses_bodies().await.len();
    let r = run(
        &ctx,
        "codex",
        "codex-app",
        "[e2e:text] And now say hi.",
        &["--resume", &thread],
    )
    .await;
    let (report, record) = common_success_checks(&ctx, &r, TEXT_ANSWER);
    assert_eq!(
        report["resume_id"],
        thread.as_str(),
        "resume changed the thread id"
    );
    assert_eq!(record["resumed_from"], thread.as_str());
    let bodies = ctx.openai.responses_bodies().await;
    let resumed = bodies[before..]
        .iter()
        .map(Value::to_string)
        .find(|b| b.contains("And now say hi"))
        .expect("the resumed turn never reached the fake");
    assert!(
        resumed.contains("hello-from-tool"),
        "the resumed request does not carry the first turn"
    );
    let entry = registry_entry(&ctx.cli_home(), "codex_sessions.json", &thread);
    assert_eq!(
        entry["run_id"], report["run_id"],
        "registry not updated by the resume"
    );
}

/// codex: a `turn.failed` run.
pub async fn codex_failed(ctx: Arc<Ctx>) {
    let r = run(
        &ctx,
        "codex",
        "codex-failed",
        "[e2e:failed] This will fail.",
        &[],
    )
    .await;
    r.expect_code(3);
    let report = r.json();
    assert_eq!(report["outcome"], "failed", "{report}");
    let error = report["error"].as_str().unwrap_or_default();
    assert!(
        error.contains(FAILED_MESSAGE),
        "the reason is not in the report: {error:?}"
    );
    let stream = std::fs::read_to_string(r.run_dir(&ctx.cli_home()).join("stream.jsonl")).unwrap();
    assert!(
        stream.contains("\"turn.failed\""),
        "codex printed no turn.failed: {stream}"
    );
    let record = run_record(&r.run_dir(&ctx.cli_home()));
    assert_eq!(record["status"], "failed");
}

/// Version guard: a claude that reports a newer version (the real CLI, its
/// `claude_code_version` rewritten on the way out) → one warning line.
pub async fn version_guard(ctx: Arc<Ctx>) {
    let wrapper = ctx.root.join("claude-9.0.0");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/bash\nset -o pipefail\n'{}' \"$@\" | sed -u 's/\"claude_code_version\":\"[^\"]*\"/\"claude_code_version\":\"9.0.0\"/'\n",
            ctx.env.claude.display()
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let base = std::fs::read_to_string(ctx.backends_file()).unwrap();
    let newer = ctx.root.join("backends-newer.toml");
    std::fs::write(
        &newer,
        base.replace(
            &format!("program = \"{}\"", ctx.env.claude.display()),
            &format!("program = \"{}\"", wrapper.display()),
        ),
    )
    .unwrap();
    let project = ctx.project("claude-newer");
    let r = ctx
        .clawrun(
            &ctx.cli_home(),
            &[
                "run",
                "--backends",
                newer.to_str().unwrap(),
                "--backend",
                "claude",
                "-p",
                project.to_str().unwrap(),
                "-t",
                "[e2e:tool] Greet us by running a shell command.",
                "--heartbeat",
                "0",
                "--json",
            ],
        )
        .await;
    r.expect_code(0);
    let tested = clawrun::backends::config::BackendsConfig::builtin()
        .unwrap()
        .claude
        .tested_version;
    let expected = format!(
        "⚠ claude 9.0.0 is newer than the newest version clawrun was tested with ({tested}); if results look wrong, report it"
    );
    let lines: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("is newer than"))
        .collect();
    assert_eq!(lines, vec![expected.as_str()], "stderr:\n{}", r.stderr);
    let record = run_record(&r.run_dir(&ctx.cli_home()));
    assert_eq!(record["cli_version"], "9.0.0");
    assert_eq!(record["status"], "completed");
}

/// claude with a subagent (in the background with 2.1.332, in the foreground
/// with 2.1.197; 12 s of it): a heartbeat shows `sub:1` while it runs, the run ends
/// `completed` with the main agent's answer, and the token totals count every
/// model call of the run, the subagent's included.
pub async fn claude_subagent(ctx: Arc<Ctx>) {
    let before = ctx.anthropic.message_bodies().await.len();
    let project = ctx.project("claude-subagent");
    let backends = ctx.backends_file();
    let r = ctx
        .clawrun(
            &ctx.cli_home(),
            &[
                "run",
                "--backends",
                backends.to_str().unwrap(),
                "--backend",
                "claude",
                "-p",
                project.to_str().unwrap(),
                "-t",
                "[e2e:subagent] Delegate the inspection to a subagent.",
                "--heartbeat",
                "10",
                "--timeout",
                "120",
                "--json",
            ],
        )
        .await;
    let (_report, record) = common_success_checks(&ctx, &r, SUBAGENT_ANSWER);
    assert_eq!(record["subagents_started"], 1, "{record}");
    // Zero counts are left out of run.json.
    assert_eq!(record.get("subagents_running"), None, "{record}");
    // Every model call of this run (the fake answers 100 in / 7 out each).
    let calls = ctx
        .anthropic
        .message_bodies()
        .await
        .iter()
        .skip(before)
        .filter(|b| b.get("tools").is_some())
        .count() as u64;
    assert!(calls >= 4, "only {calls} model calls");
    assert_eq!(record["usage"]["input_tokens"], 100 * calls, "{record}");
    assert_eq!(record["usage"]["output_tokens"], 7 * calls, "{record}");
    let notes =
        std::fs::read_to_string(r.run_dir(&ctx.cli_home()).join("notifications.jsonl")).unwrap();
    let beats: Vec<Value> = notes
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|n| n["kind"] == "heartbeat")
        .collect();
    assert!(
        beats.iter().any(|b| b.to_string().contains("sub:1")),
        "no heartbeat showed the running subagent: {beats:?}"
    );
    ctx.figure(
        "claude_subagent: model calls",
        format!("{calls} ({} heartbeats)", beats.len()),
    );
}
