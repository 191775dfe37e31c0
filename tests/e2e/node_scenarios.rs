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
/// replays a real Claude transcript after a pause (for a heartbeat); while a
/// `hold` file is in its record directory, only once a `go` file is there.
fn node_bin(ctx: &Ctx) -> PathBuf {
    let bin = ctx.root.join("node-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude/tool.jsonl");
    let rec = ctx.root.join("node-agent");
    std::fs::create_dir_all(&rec).unwrap();
    let script = format!(
        "#!/bin/sh\nenv > '{r}/env'\necho \"$@\" > '{r}/argv'\ncat > '{r}/stdin'\necho $$ > '{r}/pid'\n\
         if [ -e '{r}/hold' ]; then while [ ! -e '{r}/go' ]; do sleep 0.2; done; \
         else sleep \"${{E2E_NODE_AGENT_SLEEP:-13}}\"; fi\nif [ -e '{r}/hang' ]; then sleep 600; fi\ncat '{f}'\n",
        r = rec.display(),
        f = fixture.display()
    );
    let claude = bin.join("claude");
    // Not rewritten under a running agent (sh reads its script as it goes).
    if std::fs::read_to_string(&claude).ok().as_deref() != Some(script.as_str()) {
        std::fs::write(&claude, script).unwrap();
    }
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

/// The log of node host `name` (both of its lives).
fn node_log(ctx: &Ctx, name: &str) -> PathBuf {
    ctx.root.join(format!("{name}.log"))
}

/// Start the node host `name` with HOME `home` (its device identity: the
/// same HOME reconnects as the same paired node).
fn spawn_node_host(ctx: &Ctx, port: u16, token: &str, name: &str, home: &Path) -> NodeHost {
    use std::os::unix::process::CommandExt;
    std::fs::create_dir_all(home).unwrap();
    let path = ctx.env.path_var(&node_bin(ctx));
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(node_log(ctx, name))
        .unwrap();
    let child = Command::new(&ctx.env.openclaw)
        .args([
            "node",
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .args(["--display-name", name])
        .env_clear()
        .envs(gateway::openclaw_env(&path, home))
        .env("OPENCLAW_GATEWAY_TOKEN", token)
        .current_dir(home)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    harness::register_pid(pid);
    NodeHost(pid, child)
}

fn signal_group(pgid: i32, signal: nix::sys::signal::Signal) {
    nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), signal).unwrap();
}

/// Start the node host `name` (HOME `home`) and approve its pairing.
async fn start_node(ctx: &Ctx, port: u16, token: &str, name: &str, home: &Path) -> NodeHost {
    let host = spawn_node_host(ctx, port, token, name, home);
    let gw_home = ctx.gateway_home();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let pending = openclaw(ctx, &gw_home, &["nodes", "pending", "--json"]);
        if let Some(id) = pending
            .as_array()
            .and_then(|a| a.iter().find(|p| p["displayName"] == name))
            .and_then(|p| p["requestId"].as_str())
        {
            openclaw(ctx, &gw_home, &["nodes", "approve", id]);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the node host never asked to pair: {}",
            harness::tail_file(&node_log(ctx, name), 30)
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    host
}

/// Wait (bounded) until `clawrun nodes` shows node `name` connected
/// (`want`) with this clawrun, or not connected (`!want`).
async fn wait_node(ctx: &Ctx, cfg: &str, name: &str, want: bool) {
    let home = ctx.gateway_home();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let r = ctx
            .clawrun(&home, &["nodes", "--config", cfg, "--json"])
            .await;
        let nodes: Value = serde_json::from_str(&r.stdout).unwrap_or(Value::Null);
        let ok = nodes.as_array().is_some_and(|a| {
            a.iter().any(|n| {
                n["name"] == name
                    && if want {
                        n["connected"] == true && !n["clawrun"].is_null()
                    } else {
                        n["connected"] == false
                    }
            })
        });
        if ok {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "node {name} never showed connected={want}: {}{}",
            r.stdout,
            r.stderr
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// A node host paired and connected, with this clawrun.
struct ReadyNode {
    host: NodeHost,
    /// The gateway's port and token, for starting the node host again.
    port: u16,
    token: String,
    /// clawrun's configuration on the gateway's machine.
    config: PathBuf,
}

/// The topic session, and node host `name` (HOME `home`) started, paired,
/// and seen connected with this clawrun.
async fn ready_node(ctx: &Ctx, name: &str, home: &Path) -> ReadyNode {
    topic_session_id(ctx).await;
    let (port, token) = {
        let gw = ctx.ready_gateway().await;
        let port: u16 = gw.url.rsplit(':').next().unwrap().parse().unwrap();
        (port, gw.token.clone())
    };
    let host = start_node(ctx, port, &token, name, home).await;
    let config = clawrun_config(ctx, "auto");
    wait_node(ctx, config.to_str().unwrap(), name, true).await;
    ReadyNode {
        host,
        port,
        token,
        config,
    }
}

/// `clawrun run --node`, reported into the Telegram topic, listed, and killed.
pub async fn node_run(ctx: Arc<Ctx>) {
    let node = ready_node(&ctx, NODE_NAME, &ctx.root.join("node-home")).await;
    let home = ctx.gateway_home();
    let cfg = node.config.to_str().unwrap();
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
        !env.contains(&node.token) && !env.contains("NODE-TASK"),
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
    let seen = woken(&ctx, &run_dir, &run_id).await;
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

/// A node disconnected mid-run: the run goes on there; `list` and `status`
/// here name the node unreachable and end; once the node host is back (the
/// same HOME: the same paired node), the run is listed again and its result
/// and wake arrive once.
pub async fn node_disconnect(ctx: Arc<Ctx>) {
    const NAME: &str = "e2e-node-b";
    const LABEL: &str = "e2e node disconnect";
    let node_home = ctx.root.join("node-home-b");
    let node = ready_node(&ctx, NAME, &node_home).await;
    let host = node.host;
    let home = ctx.gateway_home();
    let cfg = node.config.to_str().unwrap();
    let agent = ctx.root.join("node-agent");
    let _ = std::fs::remove_file(agent.join("go"));
    std::fs::write(agent.join("hold"), "").unwrap();
    let project = ctx.project("on-node-b");
    let task_file = ctx.root.join("node-b-task.txt");
    std::fs::write(&task_file, TASK).unwrap();
    let before = ctx.telegram.calls().await.len();
    let mut args = vec!["run", "--config", cfg, "--node", NAME, "-s", TOPIC_KEY];
    args.extend(["-p", project.to_str().unwrap(), "--label", LABEL]);
    args.extend(["--task-file", task_file.to_str().unwrap(), "--json"]);
    let r = ctx.clawrun(&home, &args).await;
    r.expect_code(0);
    let run_id = r.json()["run_id"].as_str().unwrap().to_owned();
    let run_dir = PathBuf::from(r.json()["run_dir"].as_str().unwrap());
    assert!(run_dir.starts_with(&node_home), "{}", run_dir.display());
    wait_status(&run_dir, &["running"]).await;

    // A node host that hangs (stopped: the gateway may still count it
    // connected): `list` waits for it at most its time limit, then names it.
    let unreachable = format!("⚠ node {NAME} (");
    signal_group(host.0, nix::sys::signal::Signal::SIGSTOP);
    let l = ctx.clawrun(&home, &["list", "--config", cfg]).await;
    signal_group(host.0, nix::sys::signal::Signal::SIGCONT);
    l.expect_code(0);
    assert!(
        l.stderr.contains(&unreachable) && l.stderr.contains("unreachable"),
        "list did not name the hanging {NAME} unreachable: {}",
        l.stderr
    );
    println!("    {}", l.stderr.trim());
    ctx.figure(
        "node_disconnect: clawrun list with the node host stopped (SIGSTOP)",
        format!("{:.1}s", l.secs),
    );

    // The node host goes away; the run goes on there.
    drop(host);
    wait_node(&ctx, cfg, NAME, false).await;
    let l = ctx.clawrun(&home, &["list", "--config", cfg]).await;
    l.expect_code(0);
    println!("    {}", l.stderr.trim());
    assert!(
        l.stderr
            .lines()
            .any(|x| x.starts_with(&unreachable) && x.contains("unreachable")),
        "list did not name {NAME} unreachable: {}",
        l.stderr
    );
    assert!(!l.stdout.contains(&run_id), "{}", l.stdout);
    ctx.figure(
        "node_disconnect: clawrun list with the node unreachable",
        format!("{:.1}s", l.secs),
    );
    let st = ctx.clawrun(&home, &["status", "--config", cfg]).await;
    st.expect_code(0);
    assert!(
        st.stderr.contains(&unreachable) && st.stderr.contains("unreachable"),
        "status did not name {NAME} unreachable: {}",
        st.stderr
    );
    ctx.figure(
        "node_disconnect: clawrun status with the node unreachable",
        format!("{:.1}s", st.secs),
    );
    let o = ctx
        .clawrun(&home, &["output", "--config", cfg, &run_id])
        .await;
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("is unreachable"), "{}", o.stderr);
    let rec = harness::run_record(&run_dir);
    assert_eq!(rec["status"], "running", "{rec}");
    let runner = u32::try_from(rec["runner_pid"].as_u64().unwrap()).unwrap();
    assert!(harness::alive(runner), "the runner died with the node host");

    // Back: the same HOME is the same paired node (no new pairing).
    let back = Instant::now();
    let _host = spawn_node_host(&ctx, node.port, &node.token, NAME, &node_home);
    wait_node(&ctx, cfg, NAME, true).await;
    let l = ctx.clawrun(&home, &["list", "--config", cfg]).await;
    l.expect_code(0);
    assert!(
        l.stdout.contains(&run_id) && l.stdout.contains(&format!("🖥 {NAME}:")),
        "the node's run is not listed after the reconnect: {}{}",
        l.stdout,
        l.stderr
    );
    ctx.figure(
        "node_disconnect: node host restart to its run listed again",
        format!("{:.1}s", back.elapsed().as_secs_f64()),
    );
    let go = Instant::now();
    std::fs::write(agent.join("go"), "").unwrap();
    wait_status(&run_dir, &["completed"]).await;
    let texts = topic_texts(&ctx, before, "✅").await;
    ctx.figure(
        "node_disconnect: agent released to ✅ in the chat",
        format!("{:.1}s", go.elapsed().as_secs_f64()),
    );
    let _ = std::fs::remove_file(agent.join("hold"));
    let done: Vec<&String> = texts.iter().filter(|t| t.contains("✅")).collect();
    assert_eq!(done.len(), 1, "not one ✅ in the topic: {texts:#?}");
    let seen = woken(&ctx, &run_dir, &run_id).await;
    ctx.figure(
        "node_disconnect: agent released to the wake delivered",
        format!("{:.1}s", go.elapsed().as_secs_f64()),
    );
    assert_eq!(
        seen, 1,
        "the orchestrator was not woken once about {run_id}"
    );
}

/// The run's one wake (asserted), once delivered (a bounded wait): how many
/// model calls of the gateway's agent carried it (OpenClaw redacts `run_id=`
/// in what the model gets, not the wake id).
async fn woken(ctx: &Ctx, run_dir: &Path, run_id: &str) -> usize {
    let wakes = harness::outbox_entries(run_dir)
        .iter()
        .filter(|e| matches!(e.item, Item::Wake(_)))
        .count();
    assert_eq!(wakes, 1, "not one wake queued");
    wait_wake_delivered(run_dir).await;
    let wake_id = format!("wake_id={run_id}:wake:");
    ctx.openai
        .chat_bodies()
        .await
        .iter()
        .filter(|b| b.contains(&wake_id))
        .count()
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
