//! `run --node`, `nodes`, and `list`/`show`/`output`/`kill` of runs on paired
//! nodes, with the real binary and a fake gateway: `tests/fixtures/fake-node-gateway.py`
//! is the `node` program clawrun runs its gateway helper with, and it runs the
//! real clawrun as the "node" (its own HOME) for `system.run`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{Sandbox, clawrun_bin, fixture};

const TASK: &str = "SECRET-TASK-7f3a: refactor the parser";

struct World {
    sb: Sandbox,
    node_home: PathBuf,
    project: PathBuf,
}

impl World {
    fn new(conf: Value) -> Self {
        let sb = Sandbox::new();
        std::os::unix::fs::symlink(fixture("fake-node-gateway.py"), sb.bin.join("node")).unwrap();
        std::fs::write(sb.bin.join("openclaw"), "#!/bin/sh\nexit 1\n").unwrap();
        let node_home = sb.root.join("node-home");
        let project = sb.root.join("node-project");
        std::fs::create_dir_all(&node_home).unwrap();
        let mut c = json!({
            "nodes": [
                {"nodeId": "n-box", "displayName": "box", "connected": true, "commands": ["system.run"]},
                {"nodeId": "n-lap", "displayName": "lap", "connected": false, "commands": []},
            ],
            "clawrun": clawrun_bin(),
            "node_home": node_home,
            "node_path": format!("{}:/usr/bin:/bin", sb.bin.display()),
            "node_env": {
                "OPENCLAW_GATEWAY_TOKEN": "node-host-token",
                "FAKE_FIXTURE": fixture("claude/tool.jsonl"),
                "FAKE_RECORD": sb.root.join("agent-record"),
            },
        });
        for (k, v) in conf.as_object().unwrap() {
            c[k] = v.clone();
        }
        std::fs::create_dir_all(sb.root.join("agent-record")).unwrap();
        std::fs::write(sb.bin.join("fake-nodes.json"), c.to_string()).unwrap();
        std::fs::write(sb.root.join("task.txt"), TASK).unwrap();
        Self {
            sb,
            node_home,
            project,
        }
    }

    fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(self.sb.bin.join("requests.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The `system.run` argvs the "gateway" was asked for.
    fn node_commands(&self) -> Vec<Vec<String>> {
        self.requests()
            .iter()
            .filter(|r| r["request"]["method"] == "node.invoke")
            .map(|r| {
                serde_json::from_value(r["request"]["params"]["params"]["command"].clone()).unwrap()
            })
            .collect()
    }

    fn launch(&self, node: &str) -> std::process::Output {
        let task = self.sb.root.join("task.txt");
        self.sb
            .run(&["--node", node, "-p", self.project.to_str().unwrap()])
            .args([
                "--task-file",
                task.to_str().unwrap(),
                "--label",
                "remote one",
                "--json",
            ])
            .output()
            .unwrap()
    }

    /// Change one key of the fake gateway's configuration.
    fn set_conf(&self, key: &str, value: Value) {
        let path = self.sb.bin.join("fake-nodes.json");
        let mut conf: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        conf[key] = value;
        std::fs::write(&path, conf.to_string()).unwrap();
    }

    fn node_runs(&self) -> Vec<String> {
        std::fs::read_dir(self.node_home.join(".openclaw/clawrun/runs"))
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn wait_completed(dir: &Path) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rec: Value = std::fs::read(dir.join("run.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        if rec["status"] == "completed" {
            return rec;
        }
        assert!(Instant::now() < deadline, "node run did not finish: {rec}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_unknown_or_disconnected_node_is_refused_before_anything_runs() {
    let w = World::new(json!({}));
    let out = w.launch("nowhere");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no paired node is named `nowhere`"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("box, lap"), "{}", stderr(&out));
    let out = w.launch("lap");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("not connected"), "{}", stderr(&out));
    assert!(w.node_commands().is_empty(), "{:?}", w.node_commands());
    // A relative project means nothing on another machine.
    let out =
        w.sb.run(&["--node", "box", "-p", "rel", "-t", "x"])
            .output()
            .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("absolute path on the node"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn another_clawrun_version_or_none_on_the_node_is_exit_2_and_nothing_starts() {
    for (conf, needle) in [
        (json!({"version": "clawrun 0.0.1"}), "has clawrun 0.0.1"),
        (
            json!({"missing": true}),
            "no clawrun on the node host's PATH",
        ),
    ] {
        let w = World::new(conf);
        let out = w.launch("box");
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(needle), "{err}");
        assert!(err.contains("cargo install clawrun --version"), "{err}");
        assert_eq!(w.node_commands(), [["clawrun", "--version"]]);
        assert!(w.node_runs().is_empty());
    }
}

#[test]
fn a_run_starts_on_the_node_with_the_task_out_of_every_argv() {
    let w = World::new(json!({}));
    let out = w.launch("box");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let proof: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(proof["node"], "box");
    assert_eq!(proof["node_id"], "n-box");
    let run_id = proof["run_id"].as_str().unwrap().to_owned();
    assert_eq!(w.node_runs(), [run_id]);
    // The run is the node's: its HOME, the same flags, the task from the env.
    let dir = PathBuf::from(proof["run_dir"].as_str().unwrap());
    assert!(dir.starts_with(&w.node_home), "{}", dir.display());
    let rec = wait_completed(&dir);
    assert_eq!(rec["label"], "remote one");
    assert_eq!(rec["project"], w.project.to_str().unwrap());
    let launch = w.node_commands().pop().unwrap();
    assert_eq!(&launch[..2], ["clawrun", "run"]);
    assert!(launch.contains(&"--from-gateway".to_owned()), "{launch:?}");
    assert!(!launch.contains(&"--node".to_owned()), "{launch:?}");
    // Not in any argv: the helper's, the node command's, the agent's.
    for r in w.requests() {
        assert!(!r["argv"].to_string().contains("SECRET-TASK"), "{r}");
        assert!(
            !r["request"]["params"]["params"]["command"]
                .to_string()
                .contains("SECRET-TASK")
        );
    }
    let rec_dir = w.sb.root.join("agent-record");
    let agent_argv = std::fs::read_to_string(rec_dir.join("argv")).unwrap();
    assert!(!agent_argv.contains("SECRET-TASK"), "{agent_argv}");
    assert!(
        std::fs::read_to_string(rec_dir.join("stdin"))
            .unwrap()
            .contains(TASK)
    );
    // The agent inherits neither the task variable nor the node host's token.
    let env = std::fs::read_to_string(rec_dir.join("env")).unwrap();
    assert!(!env.contains("SECRET-TASK"), "{env}");
    assert!(!env.contains("node-host-token"), "{env}");
    assert!(
        env.contains(&format!("HOME={}", w.node_home.display())),
        "{env}"
    );
}

#[test]
fn list_merges_node_runs_and_names_an_unreachable_node_without_hanging() {
    let w = World::new(json!({}));
    let out = w.launch("box");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let proof: Value = serde_json::from_slice(&out.stdout).unwrap();
    let run_id = proof["run_id"].as_str().unwrap();
    wait_completed(Path::new(proof["run_dir"].as_str().unwrap()));
    // A second node that has runs but no longer answers.
    let gone = w.sb.state_dir().join("node-runs/20260101-gone.json");
    std::fs::write(
        &gone,
        json!({"run_id": "20260101-gone", "node_id": "n-gone", "node_name": "gone", "launched_at": 1})
            .to_string(),
    )
    .unwrap();
    let conf_path = w.sb.bin.join("fake-nodes.json");
    let mut conf: Value = serde_json::from_slice(&std::fs::read(&conf_path).unwrap()).unwrap();
    conf["unreachable"] = json!(["n-gone"]);
    std::fs::write(&conf_path, conf.to_string()).unwrap();

    let out = w.sb.cmd().args(["list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(run_id) && text.contains("🖥 box:"), "{text}");
    assert!(
        stderr(&out).contains("node gone (n-gone): unreachable"),
        "{}",
        stderr(&out)
    );
    let out = w.sb.cmd().args(["list", "--json"]).output().unwrap();
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(runs[0]["run_id"], run_id);
    assert_eq!(runs[0]["node"], "box");

    // show and output go through the node; a run of the unreachable node says so.
    let out = w.sb.cmd().args(["output", run_id]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "DONE");
    let out = w.sb.cmd().args(["show", "20260101-gone"]).output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("node gone (n-gone) is unreachable"),
        "{}",
        stderr(&out)
    );
}

/// The node's `openclaw` answers the gateway on its own loopback port, where
/// no gateway listens: the wake of a node run goes to the gateway the run was
/// given, with the node host's token.
#[tokio::test]
async fn a_node_run_s_wake_goes_to_the_gateway_the_run_was_given() {
    use crate::common::telegram::{key, mount_gateway, setup};
    let server = crate::common::gateway::start().await;
    mount_gateway(&server).await;
    let w = World::new(json!({}));
    // The launcher's OpenClaw config names the gateway; the fake `openclaw`
    // (on the node's PATH too) records the wake's environment.
    setup(&w.sb, server.address().port(), &server.uri());
    let node_oc = w.node_home.join(".openclaw");
    std::fs::create_dir_all(&node_oc).unwrap();
    std::fs::write(node_oc.join("openclaw.json"), r#"{"gateway":{"port":1}}"#).unwrap();
    std::fs::write(
        node_oc.join("clawrun.toml"),
        "[notify]\nchannel = \"message-tool\"\n",
    )
    .unwrap();
    let task = w.sb.root.join("task.txt");
    let mut c =
        w.sb.run_std(&["--node", "box", "-p", w.project.to_str().unwrap()]);
    c.args(["-s", &key(), "--heartbeat", "0", "--json"])
        .args(["--task-file", task.to_str().unwrap()]);
    let out = tokio::process::Command::from(c).output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let proof: Value = serde_json::from_slice(&out.stdout).unwrap();
    let dir = PathBuf::from(proof["run_dir"].as_str().unwrap());
    wait_completed(&dir);
    let env_file = w.sb.root.join("openclaw.env");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !env_file.exists() {
        assert!(
            Instant::now() < deadline,
            "the node run never woke through `openclaw agent`"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let env = std::fs::read_to_string(&env_file).unwrap();
    let want = format!(
        "OPENCLAW_GATEWAY_URL=ws://127.0.0.1:{}\n",
        server.address().port()
    );
    assert!(env.contains(&want), "{env}");
    assert!(
        env.contains("OPENCLAW_GATEWAY_TOKEN=node-host-token\n"),
        "{env}"
    );
    assert!(
        !env.contains("CLAWRUN_TASK") && !env.contains("SECRET-TASK"),
        "{env}"
    );
}

/// `status` asks the nodes too: a run running on a node is listed with the
/// node's name; a node that does not answer is named on stderr, and the
/// command ends (exit 0) with what the others said.
#[test]
fn status_shows_a_node_s_running_run_and_names_an_unreachable_node() {
    let w = World::new(json!({}));
    let mut env = json!({"FAKE_FIXTURE": fixture("claude/tool.jsonl"), "FAKE_MODE": "hang"});
    env["FAKE_RECORD"] = json!(w.sb.root.join("agent-record"));
    w.set_conf("node_env", env);
    let task = w.sb.root.join("task.txt");
    let out =
        w.sb.run(&["--node", "box", "-p", w.project.to_str().unwrap()])
            .args(["--task-file", task.to_str().unwrap()])
            // A backstop: the hanging agent is killed below, or at this limit.
            .args(["--timeout", "2m", "--heartbeat", "0", "--json"])
            .output()
            .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let proof: Value = serde_json::from_slice(&out.stdout).unwrap();
    let run_id = proof["run_id"].as_str().unwrap().to_owned();

    let deadline = Instant::now() + Duration::from_secs(30);
    let records = loop {
        let out = w.sb.cmd().args(["status", "--json"]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let records: Value = serde_json::from_slice(&out.stdout).unwrap();
        if records
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["run_id"] == run_id)
        {
            break records;
        }
        assert!(
            Instant::now() < deadline,
            "status never showed the node run: {records}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(records[0]["node"], "box", "{records}");
    assert_eq!(records[0]["node_id"], "n-box", "{records}");
    let out = w.sb.cmd().arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("🖥 box: {run_id}")), "{text}");

    // A second node that has runs but does not answer: named, not waited for.
    std::fs::write(
        w.sb.state_dir().join("node-runs/20260101-gone.json"),
        json!({"run_id": "20260101-gone", "node_id": "n-gone", "node_name": "gone", "launched_at": 1})
            .to_string(),
    )
    .unwrap();
    w.set_conf("unreachable", json!(["n-gone"]));
    let out = w.sb.cmd().arg("status").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&run_id));
    assert!(
        stderr(&out).contains("⚠ node gone (n-gone): unreachable: "),
        "{}",
        stderr(&out)
    );
    // Every node gone: nothing is said to run "anywhere".
    w.set_conf("unreachable", json!(["n-gone", "n-box"]));
    let out = w.sb.cmd().arg("status").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "No runs are running here or on the nodes that answered.\n"
    );
    assert!(
        stderr(&out).contains("node box (n-box): unreachable"),
        "{}",
        stderr(&out)
    );

    w.set_conf("unreachable", json!([]));
    let out = w.sb.cmd().args(["kill", &run_id]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rec = w.node_home.join(".openclaw/clawrun/runs").join(&run_id);
    let deadline = Instant::now() + Duration::from_secs(30);
    while harness_status(&rec) != "killed" {
        assert!(Instant::now() < deadline, "the node run was not killed");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn harness_status(dir: &Path) -> String {
    std::fs::read(dir.join("run.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v["status"].as_str().map(str::to_owned))
        .unwrap_or_default()
}
