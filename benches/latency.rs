//! Time from the agent's exit to the result message accepted by a loopback
//! channel (a fake OpenClaw gateway's `message` tool), over real `clawrun run`
//! processes with the fake agent. Prints median, p90, min and max.
//!
//! Run: `cargo bench --bench latency` (RUNS=N to change the number of runs).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const KEY: &str = "agent:main:whatsapp:group:120363@g.us";

#[derive(Clone, Default)]
struct Clock(Arc<Mutex<Vec<(String, u128)>>>);

impl Respond for Clock {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        if let Ok(mut v) = self.0.lock() {
            v.push((String::from_utf8_lossy(&req.body).into_owned(), now));
        }
        let sessions = json!({"sessions": [{"key": KEY, "sessionId": "5f0c3c1e-1111-4222-8333-944445555666",
            "deliveryContext": {"channel": "whatsapp", "to": "120363@g.us"}}]});
        ResponseTemplate::new(200).set_body_json(json!({"ok": true, "result": {"content": [{"type": "text", "text": sessions.to_string()}], "details": sessions}}))
    }
}

fn main() {
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let Ok(rt) = tokio::runtime::Runtime::new() else {
        eprintln!("no runtime");
        return;
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_clawrun"));
    let Ok(tmp) = tempfile::tempdir() else { return };
    let fakebin = tmp.path().join("bin");
    let _ = std::fs::create_dir_all(&fakebin);
    let _ = std::os::unix::fs::symlink(
        root.join("tests/fixtures/fake-agent.sh"),
        fakebin.join("claude"),
    );
    let clock = Clock::default();
    let server = rt.block_on(async {
        let s = MockServer::start().await;
        Mock::given(wiremock::matchers::method("POST"))
            .respond_with(clock.clone())
            .mount(&s)
            .await;
        s
    });
    let mut lat_ms = Vec::new();
    for i in 0..runs {
        let home = tmp.path().join(format!("home{i}"));
        let oc = home.join(".openclaw");
        let _ = std::fs::create_dir_all(&oc);
        let _ = std::fs::write(
            oc.join("openclaw.json"),
            json!({"gateway": {"port": server.address().port(), "auth": {"token": "bench"}}})
                .to_string(),
        );
        let rec = tmp.path().join(format!("rec{i}"));
        let status = std::process::Command::new(&bin)
            .env_clear()
            .env("HOME", &home)
            .env("PATH", format!("{}:/usr/bin:/bin", fakebin.display()))
            .env(
                "FAKE_FIXTURE",
                root.join("tests/fixtures/claude/tool.jsonl"),
            )
            .env("FAKE_RECORD", &rec)
            .args(["run", "-s", KEY, "-t", "bench", "--heartbeat", "0"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        if !status.map(|s| s.success()).unwrap_or(false) {
            eprintln!("run {i} failed");
            continue;
        }
        let exit_ns: u128 = std::fs::read_to_string(rec.join("exit_ns"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        let got = clock.0.lock().map(|v| v.clone()).unwrap_or_default();
        if let Some((_, at)) = got
            .iter()
            .rev()
            .find(|(body, _)| body.contains("task complete"))
        {
            lat_ms.push((*at as f64 - exit_ns as f64) / 1e6);
        }
        if let Ok(mut v) = clock.0.lock() {
            v.clear();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if lat_ms.is_empty() {
        eprintln!("no measurement");
        return;
    }
    lat_ms.sort_by(|a, b| a.total_cmp(b));
    let pick = |q: f64| lat_ms[((lat_ms.len() - 1) as f64 * q).round() as usize];
    println!(
        "agent exit -> result accepted by the loopback gateway over {} runs: median {:.1} ms, p90 {:.1} ms, min {:.1} ms, max {:.1} ms ({} cores)",
        lat_ms.len(),
        pick(0.5),
        pick(0.9),
        lat_ms[0],
        lat_ms[lat_ms.len() - 1],
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
}
