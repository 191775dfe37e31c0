//! Scenarios with the real Claude ACP adapter (`@agentclientprotocol/claude-agent-acp`,
//! installed by scripts/e2e.sh) as an `[acp.<name>]` backend, against the fake
//! Anthropic API: a tool run, a resume with `session/load`, a permission
//! request answered by the run's policy, and a kill (`session/cancel` first);
//! and OpenCode (`opencode acp`, a second ACP agent) against the fake OpenAI
//! Responses API, as an OpenAI provider with a loopback `baseURL`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::fakes::{TEXT_ANSWER, TOOL_ANSWER, TOUCH_ANSWER, TOUCH_FILE};
use crate::harness::{Ctx, Run, alive, registry_entry, run_record};

/// The adapter and its version, as scripts/e2e.sh installed them.
fn adapter() -> (String, String) {
    let var = |v: &str| {
        std::env::var(v)
            .unwrap_or_else(|_| panic!("{v} is not set: run the suite with scripts/e2e.sh"))
    };
    (
        var("CLAWRUN_E2E_CLAUDE_ACP"),
        var("CLAWRUN_E2E_CLAUDE_ACP_VERSION"),
    )
}

/// A backends file with the adapter twice: `claude-acp` (its default mode)
/// and `claude-acp-ask` (mode `default`: it asks before a command that is not
/// read-only).
fn backends_file(ctx: &Ctx) -> PathBuf {
    let (program, version) = adapter();
    let env = format!(
        r#"{{ ANTHROPIC_BASE_URL = "{}", ANTHROPIC_API_KEY = "sk-e2e-fake", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = "1", CLAUDE_CODE_MAX_RETRIES = "0", IS_SANDBOX = "1", DISABLE_AUTOUPDATER = "1" }}"#,
        ctx.anthropic.server.uri()
    );
    let text = format!(
        "[acp.claude-acp]\nprogram = \"{program}\"\ntested_version = \"{version}\"\nenv = {env}\n\n\
         [acp.claude-acp-ask]\nprogram = \"{program}\"\ntested_version = \"{version}\"\nmode = \"default\"\nenv = {env}\n"
    );
    let path = ctx.root.join("acp-backends.toml");
    std::fs::write(&path, text).unwrap();
    path
}

async fn run(ctx: &Ctx, backend: &str, project: &str, task: &str, extra: &[&str]) -> Run {
    let backends = backends_file(ctx);
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
    ctx.clawrun(&ctx.cli_home(), &args).await
}

/// What clawrun remembers of `backend`'s agent (`<state dir>/agents.json`).
fn agent_record(ctx: &Ctx, backend: &str) -> serde_json::Value {
    let path = ctx.cli_home().join(".openclaw/clawrun/agents.json");
    let all: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    all["backends"][backend].clone()
}

/// `clawrun doctor`'s check of the `[acp.<backend>]` program in `backends`.
async fn doctor_check(ctx: &Ctx, backends: &std::path::Path, backend: &str) -> serde_json::Value {
    let backends = backends.to_str().unwrap();
    let args = [
        "doctor",
        "--json",
        "--backends",
        backends,
        "--timeout",
        "10",
    ];
    let d = ctx.clawrun(&ctx.cli_home(), &args).await;
    let report = d.json();
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == backend)
        .cloned()
        .unwrap_or_else(|| panic!("no check {backend}: {report}"))
}

fn output_of(report: &serde_json::Value) -> String {
    std::fs::read_to_string(report["output_file"].as_str().unwrap()).unwrap()
}

/// A tool run: completed, the answer, the ACP session in the registry, the
/// adapter's version, tokens and cost.
pub async fn acp_claude_tool(ctx: Arc<Ctx>) {
    let r = run(
        &ctx,
        "claude-acp",
        "acp-app",
        "[e2e:tool] Greet us by running a shell command.",
        &[],
    )
    .await;
    r.expect_code(0);
    let report = r.json();
    assert_eq!(report["outcome"], "completed", "{report}");
    assert!(output_of(&report).contains(TOOL_ANSWER), "{report}");
    let session = report["resume_id"].as_str().unwrap().to_owned();
    assert!(
        uuid::Uuid::parse_str(&session).is_ok(),
        "not a session id: {session}"
    );
    let record = run_record(&r.run_dir(&ctx.cli_home()));
    assert_eq!(record["cli_version"], adapter().1.as_str(), "{record}");
    assert_eq!(record["tool_calls"], 1, "{record}");
    assert!(
        record["usage"]["output_tokens"].as_u64().unwrap_or(0) > 0,
        "{record}"
    );
    assert!(record["cost_usd"].as_f64().unwrap_or(0.0) > 0.0, "{record}");
    let entry = registry_entry(&ctx.cli_home(), "claude-acp_sessions.json", &session);
    assert_eq!(entry["session_id"], session.as_str(), "{entry}");
    assert!(
        !r.stderr.contains("is newer than the newest version"),
        "{}",
        r.stderr
    );
    // What the adapter advertised is remembered for the next --resume.
    let agent = agent_record(&ctx, "claude-acp");
    assert_eq!(agent["load_session"], true, "{agent}");
    assert_eq!(agent["version"], adapter().1.as_str(), "{agent}");
    // doctor finds the adapter and its version.
    let check = doctor_check(&ctx, &backends_file(&ctx), "claude-acp").await;
    assert_eq!(check["status"], "ok", "{check}");
    assert!(
        check["detail"].as_str().unwrap().contains(&adapter().1),
        "{check}"
    );
    ctx.note("acp_session", &session);
    ctx.figure(
        "claude-agent-acp tool run: clawrun wall time",
        format!("{:.1}s", r.secs),
    );
}

/// `--resume` loads the session (`session/load`) and answers the new prompt.
pub async fn acp_claude_resume(ctx: Arc<Ctx>) {
    let session = ctx.noted("acp_session", "acp_claude_tool");
    let r = run(
        &ctx,
        "claude-acp",
        "acp-app",
        "[e2e:text] And now just say hi.",
        &["--resume", &session],
    )
    .await;
    r.expect_code(0);
    let report = r.json();
    assert_eq!(report["outcome"], "completed", "{report}");
    assert_eq!(report["resume_id"], session.as_str(), "{report}");
    let output = output_of(&report);
    assert!(output.contains(TEXT_ANSWER), "{output:?}");
    // The loaded history is not this run's answer.
    assert!(!output.contains(TOOL_ANSWER), "{output:?}");
}

/// The adapter asks before `touch`: a default run allows it (the file is
/// made); a run with `--permission-mode default` denies it (no file).
pub async fn acp_claude_permission(ctx: Arc<Ctx>) {
    for (project, extra, made) in [
        ("acp-allow", &[][..], true),
        ("acp-deny", &["--permission-mode", "default"][..], false),
    ] {
        let r = run(
            &ctx,
            "claude-acp-ask",
            project,
            "[e2e:touch] Make the probe file.",
            extra,
        )
        .await;
        r.expect_code(0);
        let report = r.json();
        assert_eq!(report["outcome"], "completed", "{report}");
        assert!(output_of(&report).contains(TOUCH_ANSWER), "{report}");
        let stream =
            std::fs::read_to_string(r.run_dir(&ctx.cli_home()).join("stream.jsonl")).unwrap();
        assert!(
            stream.contains("session/request_permission"),
            "the adapter never asked"
        );
        let file = ctx.project(project).join(TOUCH_FILE);
        assert_eq!(file.exists(), made, "{project}: {}", file.display());
    }
}

/// `clawrun kill` mid-prompt: `session/cancel` first (the adapter ends the
/// prompt with `cancelled`), then the run is killed and nothing is left.
pub async fn acp_claude_kill(ctx: Arc<Ctx>) {
    let backends = backends_file(&ctx);
    let project = ctx.project("acp-kill");
    let r = ctx
        .clawrun(
            &ctx.cli_home(),
            &[
                "run",
                "--backends",
                backends.to_str().unwrap(),
                "--backend",
                "claude-acp",
                "-p",
                project.to_str().unwrap(),
                "-t",
                "[e2e:slow60] Take your time.",
                "--heartbeat",
                "0",
                "--detach",
                "--json",
            ],
        )
        .await;
    r.expect_code(0);
    let dir = r.run_dir(&ctx.cli_home());
    let id = r.json()["run_id"].as_str().unwrap().to_owned();
    let stream = dir.join("stream.jsonl");
    let deadline = Instant::now() + Duration::from_secs(60);
    // The prompt is under way once the adapter reports on the session.
    while !std::fs::read_to_string(&stream)
        .unwrap_or_default()
        .contains("\"session/update\"")
    {
        assert!(Instant::now() < deadline, "the prompt never started");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    ctx.clawrun(&ctx.cli_home(), &["kill", &id])
        .await
        .expect_code(0);
    let record = loop {
        let record = run_record(&dir);
        if record["status"] != "running" && record["status"] != "starting" {
            break record;
        }
        assert!(Instant::now() < deadline, "the run did not end: {record}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(record["status"], "killed", "{record}");
    let text = std::fs::read_to_string(&stream).unwrap();
    assert!(
        text.contains("\"stopReason\":\"cancelled\""),
        "no cancelled prompt in the stream"
    );
    let agent = record["agent_pid"].as_u64().unwrap() as u32;
    assert!(!alive(agent), "the agent {agent} survived the kill");
}

/// OpenCode over ACP, offline: its `openai` provider pointed at the fake
/// Responses API by the project's `opencode.json`. A tool run (the fake's
/// `exec_command` is no OpenCode tool: OpenCode reports the call as failed
/// and the fake then answers), its session resumable by id.
pub async fn acp_opencode_tool(ctx: Arc<Ctx>) {
    let var = |v: &str| {
        std::env::var(v)
            .unwrap_or_else(|_| panic!("{v} is not set: run the suite with scripts/e2e.sh"))
    };
    let (program, version) = (
        var("CLAWRUN_E2E_OPENCODE"),
        var("CLAWRUN_E2E_OPENCODE_VERSION"),
    );
    let home = ctx.root.join("opencode-home");
    std::fs::create_dir_all(&home).unwrap();
    let backends = ctx.root.join("opencode-backends.toml");
    std::fs::write(
        &backends,
        format!(
            "[acp.opencode]\nprogram = \"{program}\"\nargs = [\"acp\"]\ntested_version = \"{version}\"\n\
             env = {{ OPENCODE_DISABLE_MODELS_FETCH = \"1\", OPENCODE_DISABLE_AUTOUPDATE = \"1\", XDG_CONFIG_HOME = \"{h}/config\", XDG_DATA_HOME = \"{h}/data\", XDG_CACHE_HOME = \"{h}/cache\", XDG_STATE_HOME = \"{h}/state\" }}\n",
            h = home.display()
        ),
    )
    .unwrap();
    let project = ctx.project("opencode-app");
    let config = serde_json::json!({
        "$schema": "https://opencode.ai/config.json",
        "autoupdate": false,
        "share": "disabled",
        "model": "openai/gpt-5.5",
        "provider": {"openai": {
            "options": {"baseURL": ctx.openai.base_url(), "apiKey": "sk-e2e-fake"},
            "models": {"gpt-5.5": {"name": "gpt-5.5"}},
        }},
    });
    std::fs::write(project.join("opencode.json"), config.to_string()).unwrap();
    let r = ctx
        .clawrun(
            &ctx.cli_home(),
            &[
                "run",
                "--backends",
                backends.to_str().unwrap(),
                "--backend",
                "opencode",
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
    let report = r.json();
    assert_eq!(report["outcome"], "completed", "{report}");
    assert!(output_of(&report).contains(TOOL_ANSWER), "{report}");
    let session = report["resume_id"].as_str().unwrap().to_owned();
    assert!(
        session.starts_with("ses_"),
        "not an OpenCode session id: {session}"
    );
    let record = run_record(&r.run_dir(&ctx.cli_home()));
    assert_eq!(record["cli_version"], version.as_str(), "{record}");
    assert!(record["tool_calls"].as_u64().unwrap_or(0) >= 1, "{record}");
    let entry = registry_entry(&ctx.cli_home(), "opencode_sessions.json", &session);
    assert_eq!(entry["session_id"], session.as_str(), "{entry}");
    let agent = agent_record(&ctx, "opencode");
    assert_eq!(agent["load_session"], true, "{agent}");
    assert_eq!(agent["name"], "OpenCode", "{agent}");
    let check = doctor_check(&ctx, &backends, "opencode").await;
    assert_eq!(check["status"], "ok", "{check}");
    assert!(
        check["detail"].as_str().unwrap().contains(&version),
        "{check}"
    );
    ctx.figure(
        "opencode acp tool run: clawrun wall time",
        format!("{:.1}s", r.secs),
    );
}
