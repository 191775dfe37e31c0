//! A run on a paired node (`clawrun run --node`): the real gateway, a real
//! headless node host (`openclaw node run`, its own HOME, paired by the test),
//! a fake agent on the node, the fake Telegram Bot API.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use clawrun::channels::MessageKind;
use clawrun::runs::OutboxItem as Item;

use crate::fakes::TgCall;
use crate::gateway::{self, TOPIC_KEY};
use crate::gateway_scenarios::{clawrun_config, in_topic, topic_session_id};
use crate::harness::{self, Ctx};

const NODE_NAME: &str = "e2e-node";
const TASK: &str = "NODE-TASK-91c2: tidy the project";

/// The fake agent on the node: records its HOME, argv and environment, then
/// replays a real Claude transcript after a pause (for a heartbeat).
fn node_bin(ctx: &Ctx) -> PathBuf {
    let bin = ctx.root.join("node-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude/tool.jsonl");
    let rec = ctx.root.join("node-agent");
    std::fs::create_dir_all(&rec).unwrap();
    let script = format!(
        "#!/bin/sh\nenv > '{r}/env'\necho \"$@\" > '{r}/argv'\ncat > '{r}/stdin'\necho $$ > '{r}/pid'\n\
         sleep \"${{E2E_NODE_AGENT_SLEEP:-13}}\"\nif [ -e '{r}/hang' ]; then sleep 600; fi\ncat '{f}'\n",
        r = rec.display(),
        f = fixture.display()
    );
    let claude = bin.join("claude");
    std::fs::write(&claude, script).unwrap();
    std::fs::set_permissions(&claude, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    for (name, target) in [
        ("clawrun", PathBuf::from(env!("CARGO_BIN_EXE_clawrun"))),
        ("openclaw", ctx.env.openclaw.clone()),
    ] {
        if !bin.join(name).exists() {
            std::os::unix::fs::symlink(target, bin.join(name)).unwrap();
        }
    }
    bin
}

fn openclaw(ctx: &Ctx, home: &Path, args: &[&str]) -> Value {
    let out = Command::new(&ctx.env.openclaw)
        .args(args)
        .env_clear()
        .envs(gateway::openclaw_env(&ctx.path_var(), home))
        .current_dir(home)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// The node host's process group, stopped when the scenario ends (passed or not).
struct NodeHost(i32, std::process::Child);

impl Drop for NodeHost {
    fn drop(&mut self) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(self.0),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.1.wait();
        harness::unregister_pid(self.0);
    }
}

/// Start the node host and approve its pairing.
async fn start_node(ctx: &Ctx, port: u16, token: &str) -> NodeHost {
    use std::os::unix::process::CommandExt;
    let home = ctx.root.join("node-home");
    std::fs::create_dir_all(&home).unwrap();
    let path = ctx.env.path_var(&node_bin(ctx));
    let log = std::fs::File::create(ctx.root.join("node-host.log")).unwrap();
    let child = Command::new(&ctx.env.openclaw)
        .args([
            "node",
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .args(["--display-name", NODE_NAME])
        .env_clear()
        .envs(gateway::openclaw_env(&path, &home))
        .env("OPENCLAW_GATEWAY_TOKEN", token)
        .current_dir(&home)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    harness::register_pid(pid);
    let host = NodeHost(pid, child);
    let gw_home = ctx.gateway_home();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let pending = openclaw(ctx, &gw_home, &["nodes", "pending", "--json"]);
        if let Some(id) = pending
            .as_array()
            .and_then(|a| a.iter().find(|p| p["displayName"] == NODE_NAME))
            .and_then(|p| p["requestId"].as_str())
        {
            openclaw(ctx, &gw_home, &["nodes", "approve", id]);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the node host never asked to pair: {}",
            harness::tail_file(&ctx.root.join("node-host.log"), 30)
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    host
}

/// `clawrun run --node`, reported into the Telegram topic, listed, and killed.
pub async fn node_run(ctx: Arc<Ctx>) {
    topic_session_id(&ctx).await;
    let (port, token) = {
        let gw = ctx.ready_gateway().await;
        let port: u16 = gw.url.rsplit(':').next().unwrap().parse().unwrap();
        (port, gw.token.clone())
    };
    let _node_host = start_node(&ctx, port, &token).await;
    let home = ctx.gateway_home();
    let config = clawrun_config(&ctx, "auto");
    let cfg = config.to_str().unwrap();
    // The node is connected and has this clawrun.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = ctx
            .clawrun(&home, &["nodes", "--config", cfg, "--json"])
            .await;
        let nodes: Value = serde_json::from_str(&r.stdout).unwrap_or(Value::Null);
        let ok = nodes.as_array().is_some_and(|a| {
            a.iter().any(|n| {
                n["name"] == NODE_NAME && n["connected"] == true && !n["clawrun"].is_null()
            })
        });
        if ok {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the node never showed: {}{}",
            r.stdout,
            r.stderr
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let project = ctx.project("on-the-node");
    let task_file = ctx.root.join("node-task.txt");
    std::fs::write(&task_file, TASK).unwrap();
    let before = ctx.telegram.calls().await.len();
    let launch = |extra: &'static [&'static str]| {
        let mut args = vec!["run", "--config", cfg, "--node", NODE_NAME, "-s", TOPIC_KEY];
        args.extend(["-p", project.to_str().unwrap()]);
        args.extend(["--task-file", task_file.to_str().unwrap(), "--json"]);
        args.extend_from_slice(extra);
        let (ctx, home) = (&ctx, &home);
        async move { ctx.clawrun(home, &args).await }
    };
    let r = launch(&["--heartbeat", "10", "--label", "e2e node"]).await;
    r.expect_code(0);
    let proof = r.json();
    assert_eq!(proof["node"], NODE_NAME, "{proof}");
    let run_id = proof["run_id"].as_str().unwrap().to_owned();
    let run_dir = PathBuf::from(proof["run_dir"].as_str().unwrap());
    assert!(
        run_dir.starts_with(ctx.root.join("node-home")),
        "{}",
        run_dir.display()
    );
    // The run ends; the topic got 🚀 and ✅ through the gateway.
    let rec = wait_status(&run_dir, &["completed"]).await;
    assert_eq!(rec["label"], "e2e node");
    let agent = ctx.root.join("node-agent");
    let env = std::fs::read_to_string(agent.join("env")).unwrap();
    assert!(
        env.contains(&format!("HOME={}", ctx.root.join("node-home").display())),
        "{env}"
    );
    assert!(
        !env.contains(&token) && !env.contains("NODE-TASK"),
        "a secret reached the agent"
    );
    assert!(
        !std::fs::read_to_string(agent.join("argv"))
            .unwrap()
            .contains("NODE-TASK")
    );
    let texts = topic_texts(&ctx, before, "✅").await;
    assert!(
        texts.iter().any(|t| t.contains("🚀")),
        "no 🚀 in the topic: {texts:#?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("✅")),
        "no ✅ in the topic: {texts:#?}"
    );
    let entries = harness::outbox_entries(&run_dir);
    let heartbeats = entries
        .iter()
        .filter(|e| matches!(&e.item, Item::Message(m) if m.kind == MessageKind::Heartbeat))
        .count();
    assert!(heartbeats >= 1, "no heartbeat");
    // One wake, delivered by the node's own `openclaw agent` (a topic session)
    // through the gateway the run was given: the gateway's agent sees it once.
    let wakes = entries
        .iter()
        .filter(|e| matches!(e.item, Item::Wake(_)))
        .count();
    assert_eq!(wakes, 1, "not one wake queued");
    wait_wake_delivered(&run_dir).await;
    let seen = ctx
        .openai
        .chat_bodies()
        .await
        .iter()
        .filter(|b| b.contains(&run_id))
        .count();
    assert!(
        seen >= 1,
        "the gateway's agent never saw the wake of {run_id}"
    );

    // One view from the gateway's machine.
    let l = ctx.clawrun(&home, &["list", "--config", cfg]).await;
    assert!(
        l.stdout.contains(&run_id) && l.stdout.contains(&format!("🖥 {NODE_NAME}:")),
        "{}",
        l.stdout
    );
    let o = ctx
        .clawrun(&home, &["output", "--config", cfg, &run_id])
        .await;
    o.expect_code(0);

    // A second run, killed from here.
    std::fs::write(agent.join("hang"), "").unwrap();
    let r = launch(&[]).await;
    r.expect_code(0);
    let second = r.json()["run_id"].as_str().unwrap().to_owned();
    let second_dir = PathBuf::from(r.json()["run_dir"].as_str().unwrap());
    let k = ctx
        .clawrun(&home, &["kill", "--config", cfg, &second])
        .await;
    k.expect_code(0);
    wait_status(&second_dir, &["killed"]).await;
    let agent_pid: i32 = std::fs::read_to_string(agent.join("pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        !harness::alive(u32::try_from(agent_pid).unwrap()),
        "the agent outlived kill"
    );
    let _ = std::fs::remove_file(agent.join("hang"));
    let texts = topic_texts(&ctx, before, "⛔").await;
    assert!(
        texts.iter().any(|t| t.contains("⛔")),
        "no ⛔ in the topic: {texts:#?}"
    );
}

/// The topic's texts since call `before`, once one of them contains `needle`
/// (a bounded wait: the result is sent just after the record says done).
async fn topic_texts(ctx: &Ctx, before: usize, needle: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let calls: Vec<TgCall> = ctx.telegram.calls().await.split_off(before);
        let texts: Vec<String> = calls
            .iter()
            .filter(|c| in_topic(c))
            .map(|c| c.text().to_owned())
            .collect();
        if texts.iter().any(|t| t.contains(needle)) || Instant::now() >= deadline {
            return texts;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_status(dir: &Path, want: &[&str]) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let rec = harness::run_record(dir);
        if want.iter().any(|w| rec["status"] == *w) {
            return rec;
        }
        assert!(
            Instant::now() < deadline,
            "run never reached {want:?}: {rec}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Wait (bounded) until the run's one wake is delivered; fail with its last
/// error and the runner's log otherwise.
async fn wait_wake_delivered(run_dir: &Path) {
    use clawrun::runs::EntryStatus;
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let entries = harness::outbox_entries(run_dir);
        let wake = entries
            .iter()
            .find(|e| matches!(e.item, Item::Wake(_)))
            .expect("no wake in the outbox");
        if wake.status == EntryStatus::Delivered {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the node run's wake was not delivered: {:?} after {} attempt(s): {:?}\n{}",
            wake.status,
            wake.attempts,
            wake.last_error,
            harness::tail_file(&run_dir.join("runner.log"), 30)
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
