//! A real OpenClaw gateway for the suite: its own HOME and port, Telegram pointed
//! at the fake Bot API (`channels.telegram.apiRoot`), its model at the fake OpenAI
//! server; started once, ready when `/readyz` answers 200 and `sessions_list`
//! works, stopped by its pid (SIGTERM, then SIGKILL to its process group).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{self, E2eEnv};

/// The chat and topic the Telegram scenarios use.
pub const CHAT_ID: &str = "-1001234567890";
/// The forum topic.
pub const TOPIC_ID: &str = "369520";
/// The session key of that topic in the gateway.
pub const TOPIC_KEY: &str = "agent:main:telegram:group:-1001234567890:topic:369520";
/// The Telegram user id of the human who answers approvals in the group.
pub use crate::fakes::HUMAN_ID;
/// The fake bot token (never a real one).
pub const BOT_TOKEN: &str = "123456:E2E-FAKE-TOKEN";
/// Longest wait for readiness.
const READY_LIMIT: Duration = Duration::from_secs(240);

/// A running gateway.
pub struct Gateway {
    child: Option<Child>,
    /// Its pid (= its process group).
    pub pid: i32,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// `gateway.auth.token`.
    pub token: String,
    /// Its log file (`logging.file`).
    pub log_file: PathBuf,
    /// Its stdout + stderr.
    pub console_file: PathBuf,
    spawned_at: Instant,
    http: reqwest::Client,
}

/// Write `~/.openclaw/openclaw.json` for a gateway on `port`.
pub fn write_config(home: &Path, port: u16, token: &str, openai_base: &str, telegram_root: &str) {
    let dir = home.join(".openclaw");
    std::fs::create_dir_all(&dir).unwrap();
    let config = json!({
        "gateway": {
            "mode": "local", "port": port, "bind": "loopback",
            "auth": {"mode": "token", "token": token},
            "tools": {"allow": ["sessions_send"]},
        },
        "tools": {"sessions": {"visibility": "all"}},
        "logging": {"file": home.join("openclaw.log")},
        "update": {"checkOnStart": false},
        "models": {
            "catalogRefresh": {"enabled": false},
            "mode": "merge",
            "providers": {"fake": {
                "baseUrl": openai_base, "apiKey": "sk-e2e-local", "api": "openai-completions",
                "models": [{"id": "fake-model", "name": "E2E Fake Model", "reasoning": false, "input": ["text"],
                            "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0},
                            "contextWindow": 128_000, "maxTokens": 4096}],
            }},
        },
        "agents": {"defaults": {"model": {"primary": "fake/fake-model"}}},
        // Plugin approvals (clawrun's openclaw-plugin) in the chat the request names: the
        // human is an approver, the prompt goes to the originating topic, and the group
        // takes the human's `/approve …` without a mention.
        "approvals": {"plugin": {"enabled": true, "mode": "session"}},
        "channels": {"telegram": {"enabled": true, "botToken": BOT_TOKEN, "apiRoot": telegram_root,
            "execApprovals": {"enabled": true, "approvers": [crate::fakes::HUMAN_ID.to_string()], "target": "channel"},
            "capabilities": {"inlineButtons": "all"},
            "groups": {CHAT_ID: {"requireMention": false}},
            "groupAllowFrom": [crate::fakes::HUMAN_ID.to_string()]}},
        "bindings": [{"agentId": "main", "match": {"channel": "telegram", "accountId": "default"}}],
    });
    std::fs::write(
        dir.join("openclaw.json"),
        serde_json::to_string_pretty(&config).unwrap(),
    )
    .unwrap();
}

/// Install the clawrun plugin from this repository into the gateway's HOME
/// (before the gateway starts, which loads it), the way the README says.
pub fn install_plugin(env: &E2eEnv, path_var: &str, home: &Path) {
    let plugin = Path::new(env!("CARGO_MANIFEST_DIR")).join("openclaw-plugin");
    let out = Command::new(&env.openclaw)
        .args(["plugins", "install"])
        .arg(&plugin)
        .args(["--force", "--accept-capabilities"])
        .env_clear()
        .envs(openclaw_env(path_var, home))
        .current_dir(home)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openclaw plugins install failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The environment every `openclaw` process of the suite gets.
pub fn openclaw_env(path_var: &str, home: &Path) -> Vec<(String, String)> {
    vec![
        ("HOME".into(), home.display().to_string()),
        ("PATH".into(), path_var.to_owned()),
        ("OPENCLAW_NO_AUTO_UPDATE".into(), "1".into()),
        ("OPENCLAW_DISABLE_BONJOUR".into(), "1".into()),
        ("OPENCLAW_NO_RESPAWN".into(), "1".into()),
    ]
}

impl Gateway {
    /// Spawn `openclaw gateway run` (config already written into `home`).
    pub fn spawn(env: &E2eEnv, path_var: &str, home: &Path, port: u16, token: &str) -> Self {
        Self::spawn_with(env, path_var, home, port, token, &[])
    }

    /// [`Self::spawn`] with `extra` variables in its environment.
    pub fn spawn_with(
        env: &E2eEnv,
        path_var: &str,
        home: &Path,
        port: u16,
        token: &str,
        extra: &[(&str, String)],
    ) -> Self {
        use std::os::unix::process::CommandExt;
        let console_file = home.join("gateway.console.log");
        let out = std::fs::File::create(&console_file).unwrap();
        let err = out.try_clone().unwrap();
        let child = Command::new(&env.openclaw)
            .args(["gateway", "run", "--port", &port.to_string()])
            .env_clear()
            .envs(openclaw_env(path_var, home))
            .envs(extra.iter().map(|(k, v)| (k, v)))
            .current_dir(home)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", env.openclaw.display()));
        let pid = i32::try_from(child.id()).unwrap();
        harness::register_pid(pid);
        Self {
            child: Some(child),
            pid,
            url: format!("http://127.0.0.1:{port}"),
            token: token.to_owned(),
            log_file: home.join("openclaw.log"),
            console_file,
            spawned_at: Instant::now(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
        }
    }

    /// Wait for `/readyz` 200 and a working `sessions_list`; the time from spawn.
    pub async fn wait_ready(&mut self) -> Result<Duration, String> {
        let deadline = Instant::now() + READY_LIMIT;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!(
                        "the gateway exited ({status}) before it was ready; its output:\n{}",
                        harness::tail_file(&self.console_file, 40)
                    ));
                }
            }
            let ready = self
                .http
                .get(format!("{}/readyz", self.url))
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .is_ok_and(|r| r.status().as_u16() == 200);
            if ready {
                let (status, _) = self.invoke("sessions_list", json!({"limit": 1})).await;
                if status == 200 {
                    return Ok(self.spawned_at.elapsed());
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "the gateway was not ready within {}s; its output:\n{}",
                    READY_LIMIT.as_secs(),
                    harness::tail_file(&self.console_file, 40)
                ));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// `POST /tools/invoke`: (HTTP status, body).
    pub async fn invoke(&self, tool: &str, args: Value) -> (u16, Value) {
        match self
            .http
            .post(format!("{}/tools/invoke", self.url))
            .bearer_auth(&self.token)
            .json(&json!({"tool": tool, "args": args}))
            .send()
            .await
        {
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.json().await.unwrap_or(Value::Null))
            }
            Err(e) => (0, json!({"transport_error": e.without_url().to_string()})),
        }
    }

    /// The gateway's sessions whose key or title contains `search`.
    pub async fn sessions(&self, search: &str) -> Vec<Value> {
        let (status, body) = self
            .invoke("sessions_list", json!({"search": search, "limit": 50}))
            .await;
        assert_eq!(status, 200, "sessions_list failed: {body}");
        body.pointer("/result/details/sessions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.url.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// SIGKILL its main process only, as a crash would (its spawn broker,
    /// left in its process group, signals the execs), and reap it. Its pid
    /// stays registered until [`Self::reap_group`].
    pub fn kill_main(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM its main process (a graceful stop: it drains first); see
    /// [`Self::exited`].
    pub fn terminate(&self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }

    /// Whether its main process has exited (reaped).
    pub fn exited(&mut self) -> bool {
        self.child
            .as_mut()
            .is_none_or(|c| matches!(c.try_wait(), Ok(Some(_))))
    }

    /// SIGKILL whatever is left in the process group of a gateway that was
    /// started with pid `pid` (after [`Self::kill_main`]).
    pub fn reap_group(pid: i32) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        harness::unregister_pid(pid);
    }

    /// Stop it by its pid: SIGTERM, up to 30 s, then SIGKILL to its group. The
    /// time it took.
    pub fn stop(&mut self) -> Option<Duration> {
        let mut child = self.child.take()?;
        let started = Instant::now();
        let pid = nix::unistd::Pid::from_raw(self.pid);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if !matches!(child.try_wait(), Ok(Some(_))) {
            eprintln!("e2e: the gateway ignored SIGTERM for 30s; SIGKILL");
            let _ = child.kill();
            let _ = child.wait();
        }
        // Its workers exit with it; anything left in its group goes now.
        let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGKILL);
        harness::unregister_pid(self.pid);
        Some(started.elapsed())
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.stop();
    }
}
