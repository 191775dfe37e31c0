//! `clawrun doctor`: every check against fakes (CLI scripts printing versions,
//! a wiremock gateway and Bot API), bad permissions and configs, exit codes,
//! and tokens that never appear in the output.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{Sandbox, clawrun_bin, gateway};

const GW_TOKEN: &str = "gw-doctor-secret-7788";
const BOT_TOKEN: &str = "123456:DOCTOR-bot-secret-ZZ";

/// A directory with `claude` and `codex` scripts; `None` leaves one out.
fn cli_dir(sb: &Sandbox, claude: Option<&str>, codex: Option<&str>) -> PathBuf {
    let dir = sb.root.join("clis");
    fs::create_dir_all(&dir).unwrap();
    for (name, body) in [("claude", claude), ("codex", codex)] {
        let p = dir.join(name);
        let _ = fs::remove_file(&p);
        if let Some(body) = body {
            fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    dir
}

fn good_clis(sb: &Sandbox) -> PathBuf {
    let dir = cli_dir(
        sb,
        Some("echo '2.1.337 (Claude Code)'"),
        Some("echo 'codex-cli 0.171.0'"),
    );
    // The OpenClaw CLI that wakes Telegram runs.
    let openclaw = dir.join("openclaw");
    fs::write(
        &openclaw,
        "#!/bin/sh
exit 0
",
    )
    .unwrap();
    fs::set_permissions(&openclaw, fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn write_private(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
}

/// openclaw.json with both tokens and, when `allow`, the sessions_send settings.
fn openclaw_json(sb: &Sandbox, allow: bool) {
    let mut v = json!({
        "gateway": {"auth": {"token": GW_TOKEN}},
        "channels": {"telegram": {"botToken": BOT_TOKEN}}
    });
    if allow {
        v["gateway"]["tools"] = json!({"allow": ["sessions_send"]});
        v["tools"] = json!({"sessions": {"visibility": "all"}});
    }
    write_private(&sb.openclaw_home().join("openclaw.json"), &v.to_string());
}

fn clawrun_toml(sb: &Sandbox, text: &str) {
    write_private(&sb.openclaw_home().join("clawrun.toml"), text);
}

/// `clawrun doctor ARGS…` with `clis` first on PATH; (exit code, stdout, stderr).
async fn doctor(sb: &Sandbox, clis: &Path, args: &[&str]) -> (i32, String, String) {
    let mut c = std::process::Command::new(clawrun_bin());
    c.env_clear()
        .env("HOME", sb.home())
        .env("PATH", format!("{}:/usr/bin:/bin", clis.display()))
        .current_dir(&sb.root)
        .arg("doctor")
        .args(args);
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::from(c).output(),
    )
    .await
    .expect("doctor finishes")
    .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn doctor_json(sb: &Sandbox, clis: &Path, args: &[&str]) -> (i32, Value, String) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let (code, out, err) = doctor(sb, clis, &all).await;
    assert_no_secret(&out);
    assert_no_secret(&err);
    (code, serde_json::from_str(&out).unwrap(), err)
}

fn assert_no_secret(text: &str) {
    for s in [GW_TOKEN, BOT_TOKEN, "DOCTOR-bot-secret"] {
        assert!(!text.contains(s), "a token leaked: {text}");
    }
}

/// The check called `name`.
fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {report:#}"))
}

fn status(report: &Value, name: &str) -> String {
    check(report, name)["status"].as_str().unwrap().to_owned()
}

fn private_state_dir(sb: &Sandbox) {
    fs::create_dir_all(sb.state_dir()).unwrap();
    fs::set_permissions(sb.openclaw_home(), fs::Permissions::from_mode(0o700)).unwrap();
    fs::set_permissions(sb.state_dir(), fs::Permissions::from_mode(0o700)).unwrap();
}

/// `calls`: how many doctor runs will call `sessions_list`.
async fn mount_gateway(server: &MockServer, invoke_status: u16, calls: u64) {
    gateway::mount_ready(server).await;
    let body = if invoke_status == 200 {
        gateway::tool_result(&json!({"count": 0, "sessions": []}))
    } else {
        json!({"error": {"message": "Unauthorized", "type": "unauthorized"}})
    };
    Mock::given(method("POST"))
        .and(path("/tools/invoke"))
        .and(body_partial_json(
            json!({"tool": "sessions_list", "args": {"limit": 1}}),
        ))
        .respond_with(ResponseTemplate::new(invoke_status).set_body_json(body))
        .expect(calls)
        .mount(server)
        .await;
    gateway::mount_plugin(server).await;
}

async fn mount_get_me(server: &MockServer, status: u16, body: Value, calls: u64) {
    Mock::given(method("GET"))
        .and(path(format!("/bot{BOT_TOKEN}/getMe")))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .expect(calls)
        .mount(server)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_working_setup_passes_every_check() {
    let sb = Sandbox::new();
    let server = gateway::start().await;
    mount_gateway(&server, 200, 2).await;
    mount_get_me(
        &server,
        200,
        json!({"ok": true, "result": {"id": 123456, "is_bot": true, "username": "clawbot"}}),
        2,
    )
    .await;
    openclaw_json(&sb, true);
    clawrun_toml(
        &sb,
        &format!(
            "[gateway]\nurl = \"{0}\"\n[telegram]\napi_base = \"{0}\"\n",
            server.uri()
        ),
    );
    private_state_dir(&sb);
    write_private(
        &sb.openclaw_home().join("claude_sessions.json"),
        "{\"sessions\": {}}",
    );
    let clis = good_clis(&sb);
    let (code, report, err) = doctor_json(&sb, &clis, &[]).await;
    assert_eq!(code, 0, "{report:#}\n{err}");
    assert_eq!(report["ok"], true);
    let names: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "clawrun.toml",
            "backends.toml",
            "openclaw.json",
            "claude",
            "codex",
            "gateway",
            "gateway token",
            "clawrun plugin",
            "sessions_send",
            "telegram",
            "openclaw CLI (wakes)",
            "state dir",
            "registries"
        ]
    );
    for c in report["checks"].as_array().unwrap() {
        assert_eq!(c["status"], "ok", "{c}");
        assert!(c["fix"].is_null(), "{c}");
    }
    assert!(
        check(&report, "claude")["detail"]
            .as_str()
            .unwrap()
            .starts_with("2.1.337")
    );
    assert!(
        check(&report, "telegram")["detail"]
            .as_str()
            .unwrap()
            .contains("@clawbot")
    );
    // The token went as a bearer header, not anywhere else.
    let invoke = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path() == "/tools/invoke")
        .unwrap();
    assert_eq!(
        invoke
            .headers
            .get("authorization")
            .unwrap()
            .to_str()
            .unwrap(),
        format!("Bearer {GW_TOKEN}")
    );
    // The text form says the same, one line per check plus a summary.
    let (code, text, _) = doctor(&sb, &clis, &[]).await;
    assert_eq!(code, 0);
    assert_no_secret(&text);
    assert!(text.ends_with("13 ok, 0 warn, 0 fail, 0 skip\n"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_tokens_fail_with_their_source_and_are_never_printed() {
    let sb = Sandbox::new();
    let server = gateway::start().await;
    mount_gateway(&server, 401, 2).await;
    // A Bot API that even echoes the token back in its description.
    mount_get_me(
        &server,
        401,
        json!({"ok": false, "error_code": 401, "description": format!("Unauthorized {BOT_TOKEN}")}),
        2,
    )
    .await;
    openclaw_json(&sb, true);
    clawrun_toml(
        &sb,
        &format!(
            "[gateway]\nurl = \"{0}\"\n[telegram]\napi_base = \"{0}\"\n",
            server.uri()
        ),
    );
    private_state_dir(&sb);
    let clis = good_clis(&sb);
    let (code, report, _) = doctor_json(&sb, &clis, &[]).await;
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["ok"], false);
    let token = check(&report, "gateway token");
    assert_eq!(token["status"], "fail");
    let detail = token["detail"].as_str().unwrap();
    assert!(
        detail.contains("401") && detail.contains("gateway.auth.token"),
        "{detail}"
    );
    let tg = check(&report, "telegram");
    assert_eq!(tg["status"], "fail");
    assert!(
        tg["detail"]
            .as_str()
            .unwrap()
            .contains("channels.telegram.botToken"),
        "{tg}"
    );
    assert!(tg["fix"].as_str().unwrap().contains("@BotFather"), "{tg}");
    // The rest still passes.
    assert_eq!(status(&report, "gateway"), "ok");
    assert_eq!(status(&report, "claude"), "ok");
    let (_, text, err) = doctor(&sb, &clis, &[]).await;
    assert_no_secret(&text);
    assert_no_secret(&err);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_gateway_and_an_odd_bot_api_are_explained_without_tokens() {
    let sb = Sandbox::new();
    let bot_api = gateway::start().await;
    mount_get_me(
        &bot_api,
        502,
        json!({"ok": false, "description": format!("bad gateway for bot{BOT_TOKEN}")}),
        1,
    )
    .await;
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    openclaw_json(&sb, false);
    clawrun_toml(
        &sb,
        &format!(
            "[gateway]\nurl = \"http://127.0.0.1:{closed}\"\n[telegram]\napi_base = \"{}\"\n[notify]\nchannel = \"whatsapp-gateway\"\n",
            bot_api.uri()
        ),
    );
    private_state_dir(&sb);
    let clis = good_clis(&sb);
    let (code, report, _) = doctor_json(&sb, &clis, &[]).await;
    assert_eq!(code, 1);
    let gw = check(&report, "gateway");
    assert_eq!(gw["status"], "fail");
    assert!(
        gw["detail"]
            .as_str()
            .unwrap()
            .contains("connection refused"),
        "{gw}"
    );
    assert!(
        gw["fix"].as_str().unwrap().contains("openclaw gateway run"),
        "{gw}"
    );
    assert_eq!(status(&report, "gateway token"), "skip");
    // The whatsapp-gateway channel needs sessions_send: fail, naming both settings.
    let ss = check(&report, "sessions_send");
    assert_eq!(ss["status"], "fail");
    let fix = ss["fix"].as_str().unwrap();
    assert!(
        fix.contains("`gateway.tools.allow: [\"sessions_send\"]`"),
        "{fix}"
    );
    assert!(
        fix.contains("`tools.sessions.visibility: \"all\"`"),
        "{fix}"
    );
    let tg = check(&report, "telegram");
    assert_eq!(tg["status"], "fail");
    let detail = tg["detail"].as_str().unwrap();
    assert!(
        detail.contains("HTTP 502") && detail.contains("<redacted>"),
        "{detail}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_health_falls_back_to_healthz_and_not_ready_is_a_warning() {
    let sb = Sandbox::new();
    let server = gateway::start().await;
    // No /readyz (wiremock answers 404): /healthz is used.
    Mock::given(method("GET"))
        .and(path("/healthz"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/tools/invoke"))
        .and(header(
            "authorization",
            format!("Bearer {GW_TOKEN}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(gateway::tool_result(&json!({"count": 0, "sessions": []}))),
        )
        .mount(&server)
        .await;
    let v =
        json!({"gateway": {"auth": {"token": GW_TOKEN}, "tools": {"allow": ["sessions_send"]}}});
    write_private(&sb.openclaw_home().join("openclaw.json"), &v.to_string());
    clawrun_toml(&sb, &format!("[gateway]\nurl = \"{}\"\n", server.uri()));
    private_state_dir(&sb);
    let clis = good_clis(&sb);
    let (code, report, _) = doctor_json(&sb, &clis, &[]).await;
    assert_eq!(code, 0, "{report:#}");
    assert!(
        check(&report, "gateway")["detail"]
            .as_str()
            .unwrap()
            .contains("/healthz")
    );
    assert_eq!(status(&report, "gateway token"), "ok");
    // visibility unset: fine (defaults to "all"), and said so.
    let ss = check(&report, "sessions_send");
    assert_eq!(ss["status"], "ok");
    assert!(ss["detail"].as_str().unwrap().contains("unset"), "{ss}");
    // No Telegram configured: skipped, not failed.
    assert_eq!(status(&report, "telegram"), "skip");

    // Starting up: /readyz 503 is a warning, and the exit code stays 0.
    Mock::given(method("GET"))
        .and(path("/readyz"))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_json(json!({"ready": false, "failing": ["agents"]})),
        )
        .mount(&server)
        .await;
    let (code, report, _) = doctor_json(&sb, &clis, &[]).await;
    assert_eq!(code, 0, "{report:#}");
    let gw = check(&report, "gateway");
    assert_eq!(gw["status"], "warn");
    assert!(gw["detail"].as_str().unwrap().contains("agents"), "{gw}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_versions_are_compared_and_missing_or_hanging_clis_are_explained() {
    let sb = Sandbox::new();
    private_state_dir(&sb);
    // Older claude, newer-minor codex: warn and ok; nothing configured else.
    let clis = cli_dir(
        &sb,
        Some("echo '2.0.5 (Claude Code)'"),
        Some("echo 'codex-cli 0.172.2'"),
    );
    let (code, report, _) = doctor_json(&sb, &clis, &[]).await;
    assert_eq!(code, 0, "{report:#}");
    let claude = check(&report, "claude");
    assert_eq!(claude["status"], "warn");
    assert!(
        claude["detail"]
            .as_str()
            .unwrap()
            .contains("older than the tested 2.1.337"),
        "{claude}"
    );
    assert!(
        claude["fix"]
            .as_str()
            .unwrap()
            .contains("@anthropic-ai/claude-code")
    );
    let codex = check(&report, "codex");
    assert_eq!(codex["status"], "ok");
    assert!(
        codex["detail"]
            .as_str()
            .unwrap()
            .contains("newer than the tested 0.171.0")
    );
    // Optional things absent: skip / warn, never fail.
    for name in ["gateway", "gateway token", "sessions_send", "telegram"] {
        assert_eq!(status(&report, name), "skip", "{name}");
    }
    assert_eq!(status(&report, "openclaw.json"), "warn");

    // A newer major version warns.
    let clis = cli_dir(&sb, Some("echo '3.0.0 (Claude Code)'"), None);
    let (code, report, _) = doctor_json(&sb, &clis, &[]).await;
    assert_eq!(code, 0);
    assert_eq!(status(&report, "claude"), "warn");
    // One CLI missing (codex): a warning naming how to install it.
    let codex = check(&report, "codex");
    assert_eq!(codex["status"], "warn");
    assert!(
        codex["fix"].as_str().unwrap().contains("@openai/codex"),
        "{codex}"
    );

    // Both missing (programs set to absent paths in backends.toml): fail.
    write_private(
        &sb.state_dir().join("backends.toml"),
        "[claude]\nprogram = \"/nonexistent/claude\"\n[codex]\nprogram = \"/nonexistent/codex\"\n",
    );
    let (code, report, _) = doctor_json(&sb, &clis, &[]).await;
    assert_eq!(code, 1);
    assert_eq!(status(&report, "claude"), "fail");
    assert_eq!(status(&report, "codex"), "fail");
    assert!(
        check(&report, "claude")["fix"]
            .as_str()
            .unwrap()
            .contains("backends.toml")
    );
    fs::remove_file(sb.state_dir().join("backends.toml")).unwrap();

    // A CLI that hangs is stopped at the timeout; one that fails says how.
    let clis = cli_dir(
        &sb,
        Some("sleep 30"),
        Some("echo 'error: broken install' >&2; exit 3"),
    );
    let started = Instant::now();
    let (code, report, _) = doctor_json(&sb, &clis, &["--timeout", "1"]).await;
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(code, 1);
    let claude = check(&report, "claude");
    assert_eq!(claude["status"], "fail");
    assert!(
        claude["detail"]
            .as_str()
            .unwrap()
            .contains("did not answer within 1s"),
        "{claude}"
    );
    let codex = check(&report, "codex");
    assert_eq!(codex["status"], "fail");
    assert!(
        codex["detail"]
            .as_str()
            .unwrap()
            .contains("exited with 3: error: broken install"),
        "{codex}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_permissions_and_bad_configs_fail_with_fixes() {
    let sb = Sandbox::new();
    let clis = good_clis(&sb);
    fs::create_dir_all(sb.state_dir()).unwrap();
    fs::set_permissions(sb.state_dir(), fs::Permissions::from_mode(0o755)).unwrap();
    let reg = sb.openclaw_home().join("claude_sessions.json");
    fs::write(&reg, "{\"sessions\": {}}").unwrap();
    fs::set_permissions(&reg, fs::Permissions::from_mode(0o644)).unwrap();
    let codex_reg = sb.openclaw_home().join("codex_sessions.json");
    write_private(&codex_reg, "{\"threads\": []}");
    let oc = sb.openclaw_home().join("openclaw.json");
    fs::write(&oc, "{\"gateway\": {\"port\": 1}}").unwrap();
    fs::set_permissions(&oc, fs::Permissions::from_mode(0o644)).unwrap();
    clawrun_toml(&sb, "[gateway]\nurll = \"http://x\"\n");
    let bad_backends = sb.root.join("my-backends.toml");
    fs::write(&bad_backends, "[claude]\nprogam = \"claude\"\n").unwrap();

    let (code, report, _) =
        doctor_json(&sb, &clis, &["--backends", bad_backends.to_str().unwrap()]).await;
    assert_eq!(code, 1);
    let cfg = check(&report, "clawrun.toml");
    assert_eq!(cfg["status"], "fail");
    assert!(
        cfg["detail"].as_str().unwrap().contains("gateway.urll"),
        "{cfg}"
    );
    let be = check(&report, "backends.toml");
    assert_eq!(be["status"], "fail");
    assert!(be["detail"].as_str().unwrap().contains("progam"), "{be}");
    // The CLIs are still checked, with the built-in definitions.
    assert_eq!(status(&report, "claude"), "ok");
    let ocj = check(&report, "openclaw.json");
    assert_eq!(ocj["status"], "warn");
    assert_eq!(
        ocj["fix"].as_str().unwrap(),
        format!("chmod 600 {}", oc.display())
    );
    let st = check(&report, "state dir");
    assert_eq!(st["status"], "fail");
    assert!(st["detail"].as_str().unwrap().contains("755"), "{st}");
    assert!(
        st["fix"]
            .as_str()
            .unwrap()
            .contains(&format!("chmod 700 {}", sb.state_dir().display())),
        "{st}"
    );
    let regs = check(&report, "registries");
    assert_eq!(regs["status"], "fail");
    let fix = regs["fix"].as_str().unwrap();
    assert!(
        fix.contains(&format!("chmod 600 {}", reg.display())),
        "{fix}"
    );
    // The codex registry is readable only by us but not in the schema.
    assert!(
        regs["detail"]
            .as_str()
            .unwrap()
            .contains("codex_sessions.json"),
        "{regs}"
    );
    // Fixed: every one of those checks passes.
    fs::set_permissions(sb.state_dir(), fs::Permissions::from_mode(0o700)).unwrap();
    fs::set_permissions(&reg, fs::Permissions::from_mode(0o600)).unwrap();
    fs::set_permissions(&oc, fs::Permissions::from_mode(0o600)).unwrap();
    write_private(&codex_reg, "{\"sessions\": {}}");
    clawrun_toml(&sb, "");
    let (_, report, _) = doctor_json(&sb, &clis, &[]).await;
    for name in [
        "clawrun.toml",
        "backends.toml",
        "openclaw.json",
        "state dir",
        "registries",
    ] {
        assert_eq!(status(&report, name), "ok", "{name}: {report:#}");
    }
}

/// clawrun's OpenClaw plugin: a missing one is a warning (`--approvals chat`
/// is refused without it) unless `[run] approvals = "chat"` needs it (then it fails, with the install command); an
/// old version is a warning; the token never shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clawrun_plugin_is_checked_against_what_the_config_needs() {
    let sb = Sandbox::new();
    let server = gateway::start().await;
    gateway::mount_ready(&server).await;
    gateway::mount_tools(&server, gateway::tool_result(&json!({"sessions": []}))).await;
    openclaw_json(&sb, true);
    private_state_dir(&sb);
    let clis = good_clis(&sb);
    let toml = |extra: &str| format!("[gateway]\nurl = \"{}\"\n{extra}", server.uri());
    // No plugin route (wiremock's 404).
    clawrun_toml(&sb, &toml(""));
    let (_, report, _) = doctor_json(&sb, &clis, &[]).await;
    let c = check(&report, "clawrun plugin");
    assert_eq!(c["status"], "warn", "{c}");
    assert!(
        c["detail"]
            .as_str()
            .unwrap()
            .contains("`--approvals chat` needs it"),
        "{c}"
    );
    assert!(
        c["fix"]
            .as_str()
            .unwrap()
            .contains("openclaw plugins install"),
        "{c}"
    );
    clawrun_toml(&sb, &toml("[run]\napprovals = \"chat\"\n"));
    let (code, report, _) = doctor_json(&sb, &clis, &[]).await;
    assert_eq!(status(&report, "clawrun plugin"), "fail");
    assert_ne!(code, 0);
    // An older plugin.
    Mock::given(method("POST"))
        .and(path("/clawrun/v1/info"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "plugin": "clawrun", "version": "0.0.9"})),
        )
        .mount(&server)
        .await;
    let (_, report, _) = doctor_json(&sb, &clis, &[]).await;
    let c = check(&report, "clawrun plugin");
    assert_eq!(c["status"], "warn", "{c}");
    assert!(c["detail"].as_str().unwrap().contains("0.0.9"), "{c}");
    let (_, text, _) = doctor(&sb, &clis, &[]).await;
    assert_no_secret(&text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acp_agents_are_found_with_their_version_or_their_install_command() {
    let sb = Sandbox::new();
    private_state_dir(&sb);
    let clis = good_clis(&sb);
    for (name, body) in [
        ("good-acp", "echo 'good-acp v1.2.3'"),
        ("mute-acp", "sleep 30"),
    ] {
        let p = clis.join(name);
        fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    write_private(
        &sb.state_dir().join("backends.toml"),
        "[acp.good]\nprogram = \"good-acp\"\ntested_version = \"1.2.3\"\n\
         [acp.mute]\nprogram = \"mute-acp\"\n\
         [acp.gone]\nprogram = \"gone-acp\"\ninstall = \"npm install -g gone-acp\"\n\
         [acp.lost]\nprogram = \"/nonexistent/lost-acp\"\n",
    );
    let started = Instant::now();
    let (_, report, _) = doctor_json(&sb, &clis, &["--timeout", "1"]).await;
    assert!(started.elapsed() < Duration::from_secs(10));
    let good = check(&report, "good");
    assert_eq!(good["status"], "ok", "{good}");
    assert!(good["detail"].as_str().unwrap().contains("1.2.3"), "{good}");
    // Not every agent answers --version: found is enough.
    let mute = check(&report, "mute");
    assert_eq!(mute["status"], "ok", "{mute}");
    assert!(
        mute["detail"]
            .as_str()
            .unwrap()
            .contains("did not answer within 1s"),
        "{mute}"
    );
    let gone = check(&report, "gone");
    assert_eq!(gone["status"], "warn", "{gone}");
    assert!(
        gone["fix"]
            .as_str()
            .unwrap()
            .contains("npm install -g gone-acp"),
        "{gone}"
    );
    let lost = check(&report, "lost");
    assert_eq!(lost["status"], "warn", "{lost}");
    assert!(
        lost["fix"].as_str().unwrap().contains("[acp.lost]"),
        "{lost}"
    );
}

/// `clawrun ARGS…` with its data segment limited to 256 MiB (`ulimit -d`),
/// `clis` first on PATH: a child's output read whole past that aborts it.
fn with_data_limit(sb: &Sandbox, clis: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg("ulimit -d 262144 && exec \"$@\"")
        .arg("sh")
        .arg(clawrun_bin())
        .args(args)
        .env_clear()
        .env("HOME", sb.home())
        .env("PATH", format!("{}:/usr/bin:/bin", clis.display()))
        .env("FAKE_FIXTURE", crate::common::fixture("codex/tool.jsonl"))
        .current_dir(&sb.root)
        .output()
        .unwrap()
}

#[test]
fn a_version_probe_reads_only_the_start_of_a_flood() {
    let sb = Sandbox::new();
    private_state_dir(&sb);
    // The version first, then 400 MB: only the start is kept.
    let flood = format!(
        "if [ \"$1\" = --version ]; then echo 'codex-cli 0.171.0'; \
         yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 400000000; exit 0; fi\n\
         exec '{}' \"$@\"",
        crate::common::fixture("fake-agent.sh").display()
    );
    let clis = cli_dir(&sb, Some("echo '2.1.337 (Claude Code)'"), Some(&flood));
    // The codex script must be named codex for the fake agent's own checks.
    let out = with_data_limit(&sb, &clis, &["doctor", "--json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.code().is_some(), "doctor died: {err}");
    let report: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {err}"));
    assert_eq!(status(&report, "codex"), "ok", "{report:#}");
    // A codex run asks the same program's --version (the version guard).
    let out = with_data_limit(&sb, &clis, &["run", "--backend", "codex", "-t", "x"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
