//! Nothing leaked (issue 13, D): the agent's environment holds no token
//! clawrun delivers with; the wake text is never in argv (see
//! `channel_delivery::telegram_wake_runs_openclaw_agent_and_checks_json` and
//! `telegram_run`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{Sandbox, fixture};

const GW: &str = "gw-token-in-env-7731";
const BOT: &str = "123456:bot-token-in-env-9917";
const WELL_KNOWN_GW: &str = "gw-well-known-5512";
const WELL_KNOWN_BOT: &str = "654321:well-known-bot-3301";

#[test]
fn the_agent_environment_holds_no_token_variable() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.openclaw_home()).unwrap();
    std::fs::write(
        sb.openclaw_home().join("clawrun.toml"),
        "[gateway]\ntoken_env = \"MY_GW_TOKEN\"\n\n[telegram]\nbot_token_env = \"MY_BOT_TOKEN\"\n",
    )
    .unwrap();
    let rec = sb.root.join("rec");
    let out = sb
        .run(&["--backend", "claude", "-t", "print your environment"])
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .env("FAKE_RECORD", &rec)
        .env("MY_GW_TOKEN", GW)
        .env("MY_BOT_TOKEN", BOT)
        .env("OPENCLAW_GATEWAY_TOKEN", WELL_KNOWN_GW)
        .env("TELEGRAM_BOT_TOKEN", WELL_KNOWN_BOT)
        .env("SOME_HARMLESS_VAR", "kept")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The fake agent wrote its own environment (`env`) to rec/env.
    let env = std::fs::read_to_string(rec.join("env")).unwrap();
    for secret in [GW, BOT, WELL_KNOWN_GW, WELL_KNOWN_BOT] {
        assert!(!env.contains(secret), "token {secret} reached the agent");
    }
    for name in [
        "MY_GW_TOKEN=",
        "MY_BOT_TOKEN=",
        "OPENCLAW_GATEWAY_TOKEN=",
        "TELEGRAM_BOT_TOKEN=",
    ] {
        assert!(
            !env.lines().any(|l| l.starts_with(name)),
            "{name} reached the agent"
        );
    }
    // Everything else is inherited as before.
    assert!(env.lines().any(|l| l == "SOME_HARMLESS_VAR=kept"), "{env}");
    assert!(
        env.lines().any(|l| l.starts_with("CLAWRUN_RUN_DIR=")),
        "{env}"
    );
}

/// The `openclaw agent` wake runs with a cleaned environment: what OpenClaw
/// needs (PATH, HOME, its own OPENCLAW_* settings and gateway credentials),
/// never the bot token, a configured token variable or another secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wake_process_gets_no_token_but_the_gateways() {
    use crate::common::telegram::{key, topic_sandbox};
    let server = crate::common::gateway::start().await;
    let sb = topic_sandbox(&server, "[telegram]\nbot_token_env = \"MY_BOT_TOKEN\"\n").await;
    let mut c = sb.run_std(&["-s", &key(), "-t", "x"]);
    c.env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .env("MY_BOT_TOKEN", BOT)
        .env("TELEGRAM_BOT_TOKEN", WELL_KNOWN_BOT)
        .env("OPENCLAW_GATEWAY_TOKEN", WELL_KNOWN_GW)
        .env("OPENCLAW_PROFILE", "kept-profile")
        .env("ANTHROPIC_API_KEY", "sk-ant-secret-4411")
        .env("GITHUB_TOKEN", "ghp_secret_8812")
        .env("SOME_HARMLESS_VAR", "dropped-too");
    let out = tokio::process::Command::from(c).output().await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The fake `openclaw` wrote its environment (`env`) there.
    let env = std::fs::read_to_string(sb.root.join("openclaw.env")).unwrap();
    for secret in [BOT, WELL_KNOWN_BOT, "sk-ant-secret-4411", "ghp_secret_8812"] {
        assert!(!env.contains(secret), "{secret} reached the wake: {env}");
    }
    for name in ["MY_BOT_TOKEN=", "TELEGRAM_BOT_TOKEN=", "SOME_HARMLESS_VAR="] {
        assert!(!env.lines().any(|l| l.starts_with(name)), "{name}: {env}");
    }
    let home = format!("HOME={}", sb.home().display());
    for kept in [
        home.as_str(),
        "OPENCLAW_PROFILE=kept-profile",
        &format!("OPENCLAW_GATEWAY_TOKEN={WELL_KNOWN_GW}"),
    ] {
        assert!(env.lines().any(|l| l == kept), "{kept} missing: {env}");
    }
    assert!(env.lines().any(|l| l.starts_with("PATH=")), "{env}");
}
