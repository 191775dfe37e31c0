//! The ACP world of the integration tests: a sandbox whose `backends.toml`
//! defines `[acp.fake]` (the scripted agent `tests/fixtures/fake-acp-agent.py`),
//! a foreground run of one of its scenarios, and the run's record.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Sandbox, fixture};

/// A sandbox whose `backends.toml` defines `[acp.fake]`, and where the agent
/// records what it receives.
pub fn sandbox() -> (Sandbox, PathBuf) {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.state_dir()).unwrap();
    let toml = format!(
        "[acp.fake]\nprogram = {:?}\ntested_version = \"9.9.9\"\n",
        fixture("fake-acp-agent.py").display().to_string()
    );
    std::fs::write(sb.state_dir().join("backends.toml"), toml).unwrap();
    let rec = sb.root.join("received.jsonl");
    (sb, rec)
}

/// A foreground run of `scenario`: its exit code and JSON report.
pub fn run(sb: &Sandbox, rec: &Path, scenario: &str, extra: &[&str]) -> (Option<i32>, Value) {
    let args = [
        &[
            "--backend",
            "fake",
            "-t",
            "do the thing",
            "--json",
            "--heartbeat",
            "0",
        ][..],
        extra,
    ]
    .concat();
    let out = sb
        .run(&args)
        .env("FAKE_ACP_SCENARIO", scenario)
        .env("FAKE_ACP_RECORD", rec)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("no JSON report: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), report)
}

/// The run directory of a finished run, from its report (run ids made in
/// the same second do not sort by time).
pub fn dir_of(sb: &Sandbox, report: &Value) -> PathBuf {
    sb.state_dir()
        .join("runs")
        .join(report["run_id"].as_str().unwrap())
}

/// The run's `run.json`.
pub fn record(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap()
}
