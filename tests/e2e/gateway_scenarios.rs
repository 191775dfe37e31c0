//! Scenarios through the real OpenClaw gateway: a Telegram forum topic (sent
//! directly and through the gateway's `message` tool, woken with the real
//! `openclaw agent --deliver`), WhatsApp's failure path offline, and our skills
//! loaded by the real `openclaw`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use clawrun::channels::MessageKind;
use clawrun::runs::{EntryStatus, OutboxItem as Item};

use crate::fakes::{GATEWAY_AGENT_ANSWER, SLOW_ANSWER, TEXT_ANSWER, TgCall};
use crate::gateway::{self, BOT_TOKEN, CHAT_ID, TOPIC_ID, TOPIC_KEY};
use crate::harness::{Ctx, Run, outbox_entries, run_request};

/// A clawrun.toml for the gateway HOME with `[notify] channel = CHANNEL`.
pub fn clawrun_config(ctx: &Ctx, channel: &str) -> PathBuf {
    let path = ctx.root.join(format!("clawrun-{channel}.toml"));
    std::fs::write(
        &path,
        format!(
            "[telegram]\nopenclaw_program = \"{}\"\nwake_timeout_secs = 120\n\n[notify]\nchannel = \"{channel}\"\n",
            ctx.env.openclaw.display()
        ),
    )
    .unwrap();
    path
}

pub async fn run_in_gateway_home(ctx: &Ctx, config: &Path, project: &str, args: &[&str]) -> Run {
    let backends = ctx.backends_file();
    let project = ctx.project(project);
    let mut all = vec![
        "run",
        "--config",
        config.to_str().unwrap(),
        "--backends",
        backends.to_str().unwrap(),
        "--backend",
        "claude",
        "-p",
        project.to_str().unwrap(),
        "--json",
    ];
    all.extend_from_slice(args);
    ctx.clawrun(&ctx.gateway_home(), &all).await
}

/// Make sure the topic session exists in the gateway (a message into the topic
/// through the real `message` tool creates it) and return its session id.
pub async fn topic_session_id(ctx: &Ctx) -> String {
    let gw = ctx.ready_gateway().await;
    let existing = gw
        .sessions(TOPIC_ID)
        .await
        .into_iter()
        .find(|s| s["key"] == TOPIC_KEY);
    if let Some(s) = existing {
        return s["sessionId"].as_str().unwrap().to_owned();
    }
    let (status, body) = gw
        .invoke(
            "message",
            json!({"action": "send", "channel": "telegram",
                   "target": format!("{CHAT_ID}:topic:{TOPIC_ID}"), "message": "e2e: topic opened"}),
        )
        .await;
    assert_eq!(status, 200, "opening the topic failed: {body}");
    let session = gw
        .sessions(TOPIC_ID)
        .await
        .into_iter()
        .find(|s| s["key"] == TOPIC_KEY)
        .unwrap_or_else(|| panic!("the gateway made no {TOPIC_KEY} session"));
    session["sessionId"].as_str().unwrap().to_owned()
}

pub fn in_topic(c: &TgCall) -> bool {
    c.method == "sendMessage" && c.chat_id() == CHAT_ID && c.thread_id() == TOPIC_ID
}

/// Neither token appears in anything the run wrote or printed.
async fn check_no_secrets(ctx: &Ctx, run_dir: &Path, run: &Run) {
    let gateway_token = ctx.ready_gateway().await.token.clone();
    let mut seen = vec![
        ("stdout".to_owned(), run.stdout.clone()),
        ("stderr".to_owned(), run.stderr.clone()),
    ];
    for entry in std::fs::read_dir(run_dir).unwrap().filter_map(Result::ok) {
        if let Ok(text) = std::fs::read(entry.path()) {
            seen.push((
                entry.path().display().to_string(),
                String::from_utf8_lossy(&text).into_owned(),
            ));
        }
    }
    for (what, text) in &seen {
        for secret in [BOT_TOKEN, gateway_token.as_str()] {
            assert!(!text.contains(secret), "a token leaked into {what}");
        }
    }
}

/// The route in request.json resolved the topic through the gateway.
fn check_topic_route(run_dir: &Path, session_id: &str) {
    let request = run_request(run_dir);
    let route = &request["route"];
    assert_eq!(route["channel"], "telegram", "{route}");
    assert_eq!(route["target"], CHAT_ID, "{route}");
    assert_eq!(route["thread_id"], TOPIC_ID, "{route}");
    assert_eq!(route["session_key"], TOPIC_KEY, "{route}");
    assert_eq!(
        route["session_id"], session_id,
        "the route's session id is not the gateway's: {route}"
    );
}

/// Telegram topic, sent directly to the Bot API; woken with the real
/// `openclaw agent --session-id … --deliver`.
pub async fn telegram_topic_direct(ctx: Arc<Ctx>) {
    let session_id = topic_session_id(&ctx).await;
    let config = clawrun_config(&ctx, "telegram-direct");
    let before = ctx.telegram.calls().await.len();
    let r = run_in_gateway_home(
        &ctx,
        &config,
        "topic-direct",
        &[
            "-t",
            "[e2e:slow14] A long task in the topic.",
            "--session",
            TOPIC_KEY,
            "--heartbeat",
            "10",
            "--label",
            "e2e topic direct",
        ],
    )
    .await;
    r.expect_code(0);
    let report = r.json();
    assert_eq!(report["outcome"], "completed", "{report}");
    let run_id = report["run_id"].as_str().unwrap().to_owned();
    let run_dir = r.run_dir(&ctx.gateway_home());
    check_topic_route(&run_dir, &session_id);
    check_no_secrets(&ctx, &run_dir, &r).await;
    assert_eq!(run_request(&run_dir)["channel"], "telegram-direct");

    let calls: Vec<TgCall> = ctx.telegram.calls().await.split_off(before);
    let ours: Vec<&TgCall> = calls.iter().filter(|c| c.from_clawrun).collect();
    assert!(
        ours.iter().all(|c| c.method != "getUpdates"),
        "clawrun called getUpdates"
    );
    assert!(
        ours.iter().all(|c| c.token == BOT_TOKEN),
        "clawrun used another bot token"
    );
    let topic: Vec<&&TgCall> = ours.iter().filter(|c| in_topic(c)).collect();
    let texts: Vec<&str> = topic.iter().map(|c| c.text()).collect();
    assert!(
        texts.iter().any(|t| t.contains("started")),
        "no launch message in the topic: {texts:#?}"
    );
    assert!(
        texts.iter().any(|t| t.contains(SLOW_ANSWER)),
        "no result in the topic: {texts:#?}"
    );
    assert!(
        ours.iter()
            .all(|c| c.method != "sendMessage" || in_topic(c)),
        "clawrun sent outside the topic: {ours:#?}"
    );

    // The wake: `openclaw agent` ran a turn of the gateway's agent, which
    // replied into the topic through the gateway.
    let entries = outbox_entries(&run_dir);
    let wake = entries
        .iter()
        .find(|e| matches!(e.item, Item::Wake(_)))
        .expect("no wake in the outbox");
    assert_eq!(
        wake.status,
        EntryStatus::Delivered,
        "wake not confirmed: {:?}",
        wake.last_error
    );
    let heartbeat_count = entries
        .iter()
        .filter(|e| matches!(&e.item, Item::Message(m) if m.kind == MessageKind::Heartbeat))
        .count();
    assert!(heartbeat_count >= 1, "no heartbeat was queued");
    for e in &entries {
        if let Item::Message(m) = &e.item {
            let sent = m.body.html.as_deref().unwrap_or(&m.body.plain);
            assert!(
                texts.contains(&sent),
                "{:?} {} did not reach the topic: {texts:#?}",
                m.kind,
                e.key
            );
        }
    }
    assert!(
        entries.iter().all(|e| e.status == EntryStatus::Delivered),
        "undelivered: {entries:#?}"
    );
    assert!(
        ctx.openai
            .chat_bodies()
            .await
            .iter()
            .any(|b| b.contains(&run_id)),
        "the gateway's agent never saw the wake of {run_id}"
    );
    let replies: Vec<&TgCall> = calls
        .iter()
        .filter(|c| !c.from_clawrun && in_topic(c) && c.text().contains(GATEWAY_AGENT_ANSWER))
        .collect();
    assert!(
        !replies.is_empty(),
        "the woken agent's reply did not reach the topic: {calls:#?}"
    );
    ctx.figure(
        "telegram topic direct (14 s turn, heartbeat 10 s, wake): clawrun wall time",
        format!("{:.1}s", r.secs),
    );
}

/// Telegram topic through the gateway's `message` tool.
pub async fn telegram_topic_message_tool(ctx: Arc<Ctx>) {
    let session_id = topic_session_id(&ctx).await;
    let config = clawrun_config(&ctx, "message-tool");
    let before = ctx.telegram.calls().await.len();
    let r = run_in_gateway_home(
        &ctx,
        &config,
        "topic-message-tool",
        &[
            "-t",
            "[e2e:slow12] A long task, reported through the gateway.",
            "--session",
            TOPIC_KEY,
            "--heartbeat",
            "10",
            "--delivery-wait",
            "60",
        ],
    )
    .await;
    r.expect_code(0);
    let report = r.json();
    assert_eq!(report["outcome"], "completed", "{report}");
    let run_dir = r.run_dir(&ctx.gateway_home());
    check_topic_route(&run_dir, &session_id);
    check_no_secrets(&ctx, &run_dir, &r).await;
    assert_eq!(run_request(&run_dir)["channel"], "message-tool");
    let calls: Vec<TgCall> = ctx.telegram.calls().await.split_off(before);
    assert!(
        calls.iter().all(|c| !c.from_clawrun),
        "clawrun called the Bot API itself: {calls:#?}"
    );
    let texts: Vec<&str> = calls
        .iter()
        .filter(|c| in_topic(c))
        .map(TgCall::text)
        .collect();
    assert!(
        texts.iter().any(|t| t.contains("started")),
        "no launch message in the topic: {texts:#?}"
    );
    assert!(
        texts.iter().any(|t| t.contains(SLOW_ANSWER)),
        "no result in the topic: {texts:#?}"
    );
    let entries = outbox_entries(&run_dir);
    let messages: Vec<_> = entries
        .iter()
        .filter_map(|e| match &e.item {
            Item::Message(m) => Some((m.kind, e.status, e.message_id.clone())),
            Item::Wake(_) => None,
        })
        .collect();
    for kind in [
        MessageKind::Launch,
        MessageKind::Heartbeat,
        MessageKind::Result,
    ] {
        assert!(
            messages
                .iter()
                .any(|(k, s, id)| *k == kind && *s == EntryStatus::Delivered && id.is_some()),
            "{kind:?} not delivered through the gateway with a message id: {messages:#?}"
        );
    }
    // The wake goes through `sessions_send`, which the gateway refuses for
    // thread sessions: either it is confirmed, or the human is told in the
    // topic, with the reason. Never silent.
    let wake = entries
        .iter()
        .find(|e| matches!(e.item, Item::Wake(_)))
        .expect("no wake in the outbox");
    println!(
        "    message-tool wake of a topic session: {:?}, {} attempt(s), last error: {:?}",
        wake.status, wake.attempts, wake.last_error
    );
    if wake.status != EntryStatus::Delivered {
        let reason = wake.last_error.clone().unwrap_or_default();
        assert!(!reason.is_empty(), "wake failed without a reason");
        let all_texts: Vec<String> = ctx
            .telegram
            .calls()
            .await
            .split_off(before)
            .iter()
            .filter(|c| in_topic(c))
            .map(|c| c.text().to_owned())
            .collect();
        // The gateway renders Markdown (`x` → <code>x</code>): compare bare text.
        let bare = |t: &str| strip_tags(t).replace('`', "");
        let told = all_texts
            .iter()
            .any(|t| t.contains("not woken") && bare(t).contains(&bare(&reason)));
        assert!(
            told,
            "the human was not told the wake failed ({reason}): {all_texts:#?}"
        );
    }
}

/// WhatsApp through the real gateway, offline: the channel is unavailable, the
/// outbox keeps every message, the user gets a clear error, nothing is lost.
pub async fn whatsapp_unavailable(ctx: Arc<Ctx>) {
    let gw_log = {
        let gw = ctx.ready_gateway().await;
        gw.log_file.clone()
    };
    let config = clawrun_config(&ctx, "auto");
    let jid = "120363000000000000@g.us";
    let started = Instant::now();
    let r = run_in_gateway_home(
        &ctx,
        &config,
        "whatsapp",
        &[
            "-t",
            "[e2e:text] Say hi on WhatsApp.",
            "--notify-channel",
            "whatsapp",
            "--notify-target",
            jid,
            "--heartbeat",
            "0",
            "--delivery-wait",
            "8",
        ],
    )
    .await;
    // The task itself succeeded; only its notifications are stuck.
    r.expect_code(0);
    let report = r.json();
    assert_eq!(report["outcome"], "completed", "{report}");
    let run_dir = r.run_dir(&ctx.gateway_home());
    assert_eq!(run_request(&run_dir)["channel"], "whatsapp-gateway");
    let output = std::fs::read_to_string(report["output_file"].as_str().unwrap()).unwrap();
    assert!(output.contains(TEXT_ANSWER), "output: {output:?}");
    assert!(
        r.stderr.contains("still pending") && r.stderr.contains("clawrun outbox flush"),
        "no clear error for the user:\n{}",
        r.stderr
    );
    assert!(
        started.elapsed() < Duration::from_secs(90),
        "the run hung on the dead channel"
    );

    // Nothing lost: launch and result wait in the outbox, with the reason.
    let entries = outbox_entries(&run_dir);
    let pending: Vec<_> = entries
        .iter()
        .filter(|e| e.status == EntryStatus::Pending)
        .collect();
    let kinds: Vec<MessageKind> = pending
        .iter()
        .filter_map(|e| match &e.item {
            Item::Message(m) => Some(m.kind),
            Item::Wake(_) => None,
        })
        .collect();
    assert!(
        kinds.contains(&MessageKind::Launch) && kinds.contains(&MessageKind::Result),
        "launch/result not kept: {entries:#?}"
    );
    assert!(
        entries.iter().all(|e| e.status != EntryStatus::Delivered),
        "something claims delivery over WhatsApp: {entries:#?}"
    );
    // What was tried says why it failed; what waited behind it was never sent.
    let tried: Vec<_> = pending.iter().filter(|e| e.attempts > 0).collect();
    assert!(!tried.is_empty(), "nothing was tried: {entries:#?}");
    for e in &tried {
        let err = e.last_error.as_deref().unwrap_or_default();
        assert!(
            err.contains("`message` tool failed inside the OpenClaw gateway"),
            "unclear reason for {}: {err:?}",
            e.key
        );
    }
    // The gateway's log has the real reason behind its sanitized 500.
    let log = std::fs::read_to_string(&gw_log).unwrap_or_default();
    assert!(
        log.contains("Channel is unavailable: whatsapp"),
        "the gateway log does not say why (see {})",
        gw_log.display()
    );
    // `clawrun outbox list` shows them to the user; a flush keeps them.
    let list = ctx
        .clawrun(&ctx.gateway_home(), &["outbox", "list", "--json"])
        .await;
    list.expect_code(0);
    let listed = list.json();
    let run_id = report["run_id"].as_str().unwrap();
    let ours = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["run_dir"].as_str().is_some_and(|d| d.ends_with(run_id)))
        .unwrap_or_else(|| panic!("outbox list does not show {run_id}: {listed}"));
    assert_eq!(
        ours["pending"].as_array().map(Vec::len),
        Some(pending.len()),
        "{ours}"
    );
}

/// `text` without HTML tags.
fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// The `name:` in a SKILL.md front matter.
fn skill_name(text: &str) -> Option<String> {
    let mut lines = text.lines();
    if lines.next()?.trim() != "---" {
        return None;
    }
    lines
        .take_while(|l| l.trim() != "---")
        .find_map(|l| l.strip_prefix("name:"))
        .map(|n| n.trim().trim_matches(['"', '\'']).to_owned())
}

/// Our SKILL*.md files load in the real openclaw without errors.
pub async fn skills_load(ctx: Arc<Ctx>) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut skills: Vec<(PathBuf, String)> = std::fs::read_dir(repo)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("SKILL") && n.ends_with(".md"))
        })
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let name = skill_name(&text)
                .unwrap_or_else(|| panic!("{} has no front matter with a `name:`", p.display()));
            (p, name)
        })
        .collect();
    skills.sort();
    assert!(
        !skills.is_empty(),
        "no SKILL*.md at the repository root ({}): nothing to load into openclaw",
        repo.display()
    );
    // Installed the way OpenClaw discovers skills: <workspace>/skills/<name>/SKILL.md.
    let home = ctx.gateway_home();
    for (path, name) in &skills {
        let dir = home.join(".openclaw/workspace/skills").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(path, dir.join("SKILL.md")).unwrap();
    }
    let started = Instant::now();
    let out = tokio::process::Command::new(&ctx.env.openclaw)
        .args(["skills", "list", "--json"])
        .env_clear()
        .envs(gateway::openclaw_env(&ctx.path_var(), &home))
        .current_dir(&home)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), out)
        .await
        .expect("openclaw skills list hung")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "openclaw skills list failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let start = stdout.find(['{', '[']).unwrap_or(0);
    let listing: Value = serde_json::from_str(&stdout[start..])
        .unwrap_or_else(|e| panic!("skills list printed no JSON ({e}):\n{stdout}"));
    let all = listing
        .get("skills")
        .and_then(Value::as_array)
        .or_else(|| listing.as_array())
        .cloned()
        .unwrap_or_default();
    let workspace: Vec<&str> = all
        .iter()
        .filter(|s| s["source"] == "openclaw-workspace")
        .filter_map(|s| s["name"].as_str())
        .collect();
    for (path, name) in &skills {
        let found = all
            .iter()
            .find(|s| s["name"] == name.as_str())
            .unwrap_or_else(|| {
                panic!(
                    "{} (skill {name}) is not in `openclaw skills list` (an invalid skill is \
                     skipped); workspace skills listed: {workspace:?}; openclaw stderr:\n{stderr}",
                    path.display()
                )
            });
        println!("    skill {name}: {found}");
        // Everything a user would have is there (clawrun, claude, codex on PATH,
        // a gateway token): the skill must be usable.
        assert_eq!(
            found["eligible"],
            json!(true),
            "skill {name} is not eligible; missing: {}",
            found["missing"]
        );
        for key in ["error", "errors", "invalid"] {
            let v = &found[key];
            assert!(
                v.is_null() || v == &json!(false) || v == &json!([]),
                "skill {name} has {key}: {v}"
            );
        }
    }
    assert!(
        !stderr.to_lowercase().contains("invalid skill"),
        "openclaw reported an invalid skill:\n{stderr}"
    );
    ctx.figure(
        "openclaw skills list",
        format!("{:.1}s", started.elapsed().as_secs_f64()),
    );
}
