//! OpenClaw's paired nodes: listing them (`node.list`) and running a program on
//! one (`node.invoke` with `system.run`).
//!
//! Both are gateway methods over its WebSocket only (`/tools/invoke` denies
//! `nodes` and `exec`), and `openclaw gateway call --params JSON` would put the
//! parameters (a run's task) in an argv every user can read. So a call is a
//! fixed Node.js helper ([`HELPER_JS`]) that loads OpenClaw's own client from
//! the installed package's public `plugin-sdk/gateway-runtime` export (the
//! client `openclaw gateway call` uses: same URL, token and device identity)
//! and takes its request as JSON on stdin. Nothing secret is in its argv.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

/// The helper: argv `[openclaw package dir]`, stdin `{method, params,
/// timeoutMs}`, stdout one line `{ok, result}` or `{ok: false, error}`.
pub const HELPER_JS: &str = r#"import { pathToFileURL } from "node:url";
const dir = process.argv[1];
let input = "";
for await (const chunk of process.stdin) input += chunk;
const req = JSON.parse(input);
let out;
try {
  const sdk = await import(pathToFileURL(dir + "/dist/plugin-sdk/gateway-runtime.js").href);
  const result = await sdk.callGatewayFromCli(req.method, { timeout: String(req.timeoutMs), json: true }, req.params);
  out = { ok: true, result };
} catch (e) {
  out = { ok: false, error: String((e && e.message) || e) };
}
process.stdout.write(JSON.stringify(out) + "\n", () => process.exit(0));
"#;

/// How clawrun reaches the gateway's node methods.
#[derive(Debug, Clone)]
pub struct NodeGateway {
    /// The `node` program that runs [`HELPER_JS`].
    pub node_program: PathBuf,
    /// The installed `openclaw` package's directory.
    pub openclaw_dir: PathBuf,
    /// The longest one call may take (the helper is killed after it).
    pub timeout: Duration,
}

/// One paired node, as `node.list` gives it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NodeInfo {
    /// The node's id.
    pub id: String,
    /// Its display name (the id when it has none).
    pub name: String,
    /// Whether it is connected now.
    pub connected: bool,
    /// The commands it offers.
    pub commands: Vec<String>,
}

/// What `system.run` on a node returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemRun {
    /// The program's exit code (none when it did not exit by itself).
    pub exit_code: Option<i32>,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
    /// Whether the node stopped it at the time limit.
    pub timed_out: bool,
}

impl SystemRun {
    /// Exit 0 and not timed out.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out
    }
}

/// A call that did not get an answer, or got a refusal.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The helper could not run (no `node`, no `openclaw` package).
    #[error("cannot reach the gateway's nodes: {0}")]
    Helper(String),
    /// No answer within the time limit.
    #[error("no answer from the gateway within {0} s")]
    Timeout(u64),
    /// The gateway (or the node) refused or failed the call.
    #[error("the gateway answered: {0}")]
    Gateway(String),
}

impl NodeGateway {
    /// The gateway reached through the `openclaw` program `openclaw` (a path,
    /// or a name looked up in `path_var`), with `node` from `path_var`.
    pub fn locate(openclaw: &Path, path_var: &str, timeout: Duration) -> Result<Self, NodeError> {
        // Not `sys::programs::find_program`: `openclaw` is only located
        // (its package directory is what counts), so it need not be executable.
        let find = |p: &Path| -> Option<PathBuf> {
            if p.components().count() > 1 {
                return p.is_file().then(|| p.to_path_buf());
            }
            std::env::split_paths(path_var)
                .map(|d| d.join(p))
                .find(|c| c.is_file())
        };
        let cli = find(openclaw)
            .ok_or_else(|| NodeError::Helper(format!("`{}` is not on PATH", openclaw.display())))?;
        let real = std::fs::canonicalize(&cli).unwrap_or(cli);
        let openclaw_dir = real
            .parent()
            .map(Path::to_path_buf)
            .ok_or_else(|| NodeError::Helper("the openclaw package has no directory".into()))?;
        let node_program = find(Path::new("node"))
            .ok_or_else(|| NodeError::Helper("`node` is not on PATH".into()))?;
        Ok(Self {
            node_program,
            openclaw_dir,
            timeout,
        })
    }

    /// Call gateway `method` with `params`; the result object.
    pub fn call(&self, method: &str, params: &Value) -> Result<Value, NodeError> {
        let ms = u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX);
        let request = json!({"method": method, "params": params, "timeoutMs": ms});
        let mut child = Command::new(&self.node_program)
            .args(["--input-type=module", "-e", HELPER_JS])
            .arg(&self.openclaw_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| NodeError::Helper(format!("{}: {e}", self.node_program.display())))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A helper that exits early closes the pipe; its answer says why.
            let _ = stdin.write_all(request.to_string().as_bytes());
        }
        let stdout = child.stdout.take();
        let reader = std::thread::spawn(move || {
            let mut buf = String::new();
            if let Some(mut out) = stdout {
                let _ = std::io::Read::read_to_string(&mut out, &mut buf);
            }
            buf
        });
        // The helper's own limit is `timeoutMs`; a margin for Node's start.
        let deadline = Instant::now() + self.timeout + Duration::from_secs(10);
        loop {
            if child.try_wait().ok().flatten().is_some() {
                break;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(NodeError::Timeout(self.timeout.as_secs()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let text = reader.join().unwrap_or_default();
        parse_answer(&text)
    }

    /// The paired nodes.
    pub fn list(&self) -> Result<Vec<NodeInfo>, NodeError> {
        let result = self.call("node.list", &json!({}))?;
        Ok(parse_node_list(&result))
    }

    /// Run `argv` on node `node_id` with the variables `env` added, limited
    /// to `timeout` on the node.
    pub fn system_run(
        &self,
        node_id: &str,
        argv: &[String],
        env: &BTreeMap<String, String>,
        timeout: Duration,
    ) -> Result<SystemRun, NodeError> {
        let mut params = json!({
            "command": argv,
            "timeoutMs": u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        });
        if !env.is_empty() {
            params["env"] = json!(env);
        }
        let invoke = json!({
            "nodeId": node_id,
            "command": "system.run",
            "params": params,
            "timeoutMs": u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
            "idempotencyKey": uuid::Uuid::new_v4().to_string(),
        });
        let result = self.call("node.invoke", &invoke)?;
        Ok(parse_system_run(&result))
    }
}

fn parse_answer(text: &str) -> Result<Value, NodeError> {
    let line = text.lines().rev().find(|l| l.trim_start().starts_with('{'));
    let Some(v) = line.and_then(|l| serde_json::from_str::<Value>(l).ok()) else {
        return Err(NodeError::Helper(
            "the helper gave no answer (is the openclaw package intact?)".into(),
        ));
    };
    if v["ok"].as_bool() == Some(true) {
        Ok(v["result"].clone())
    } else {
        let msg = v["error"].as_str().unwrap_or("unknown error");
        Err(NodeError::Gateway(
            msg.lines().next().unwrap_or(msg).to_owned(),
        ))
    }
}

/// The nodes in a `node.list` result (`{nodes: [{nodeId, displayName,
/// connected, commands}]}`), leniently.
pub fn parse_node_list(result: &Value) -> Vec<NodeInfo> {
    let Some(nodes) = result["nodes"].as_array() else {
        return Vec::new();
    };
    nodes
        .iter()
        .filter_map(|n| {
            let id = n["nodeId"].as_str()?.to_owned();
            let name = n["displayName"].as_str().unwrap_or(&id).to_owned();
            let commands = n["commands"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            Some(NodeInfo {
                connected: n["connected"].as_bool().unwrap_or(false),
                id,
                name,
                commands,
            })
        })
        .collect()
}

/// The `system.run` answer inside a `node.invoke` result (`payload`, or the
/// JSON text `payloadJSON`), leniently.
pub fn parse_system_run(result: &Value) -> SystemRun {
    let payload = match result.get("payload") {
        Some(p) if p.is_object() => p.clone(),
        _ => result["payloadJSON"]
            .as_str()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or(Value::Null),
    };
    let text = |k: &str| payload[k].as_str().unwrap_or_default().to_owned();
    SystemRun {
        exit_code: payload["exitCode"]
            .as_i64()
            .and_then(|c| i32::try_from(c).ok()),
        stdout: text("stdout"),
        stderr: text("stderr"),
        timed_out: payload["timedOut"].as_bool().unwrap_or(false),
    }
}

/// Why a node name cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResolveError {
    /// No paired node has that name or id.
    #[error(
        "no paired node is named `{want}` (paired: {known}); pair it with `openclaw node run` and `openclaw nodes approve`"
    )]
    Unknown {
        /// The name asked for.
        want: String,
        /// The paired nodes' names.
        known: String,
    },
    /// Several nodes have that name.
    #[error("several paired nodes are named `{0}`: use its id (`clawrun nodes`)")]
    Ambiguous(String),
    /// The node is paired but not connected.
    #[error("node `{0}` is not connected: start its node host (`openclaw node run` on it)")]
    Disconnected(String),
}

/// The node `want` names (an id, else a display name), connected.
pub fn resolve<'a>(nodes: &'a [NodeInfo], want: &str) -> Result<&'a NodeInfo, ResolveError> {
    let by_id = nodes.iter().find(|n| n.id == want);
    let node = match by_id {
        Some(n) => n,
        None => {
            let named: Vec<&'a NodeInfo> = nodes.iter().filter(|n| n.name == want).collect();
            match named.as_slice() {
                [one] => *one,
                [] => {
                    let known: Vec<_> = nodes.iter().map(|n| n.name.as_str()).collect();
                    return Err(ResolveError::Unknown {
                        want: want.to_owned(),
                        known: if known.is_empty() {
                            "none".to_owned()
                        } else {
                            known.join(", ")
                        },
                    });
                }
                _ => return Err(ResolveError::Ambiguous(want.to_owned())),
            }
        }
    };
    if node.connected {
        Ok(node)
    } else {
        Err(ResolveError::Disconnected(node.name.clone()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn node(id: &str, name: &str, connected: bool) -> NodeInfo {
        NodeInfo {
            id: id.into(),
            name: name.into(),
            connected,
            commands: vec![],
        }
    }

    #[test]
    fn resolves_by_id_then_name_and_refuses_the_rest() {
        let nodes = [node("a1", "box", true), node("b2", "lap", false)];
        assert_eq!(resolve(&nodes, "a1").unwrap().id, "a1");
        assert_eq!(resolve(&nodes, "box").unwrap().id, "a1");
        assert_eq!(
            resolve(&nodes, "lap"),
            Err(ResolveError::Disconnected("lap".into()))
        );
        assert!(matches!(
            resolve(&nodes, "nope"),
            Err(ResolveError::Unknown { .. })
        ));
        let twins = [node("a", "x", true), node("b", "x", true)];
        assert_eq!(
            resolve(&twins, "x"),
            Err(ResolveError::Ambiguous("x".into()))
        );
    }

    #[test]
    fn system_run_payload_or_payload_json() {
        let a = parse_system_run(&json!({"payload": {"exitCode": 0, "stdout": "v"}}));
        assert!(a.success());
        assert_eq!(a.stdout, "v");
        let b = parse_system_run(
            &json!({"payload": null, "payloadJSON": "{\"exitCode\":3,\"timedOut\":true}"}),
        );
        assert_eq!(b.exit_code, Some(3));
        assert!(b.timed_out);
    }
}
