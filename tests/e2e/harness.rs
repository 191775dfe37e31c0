//! The suite's plumbing: where the real programs are (from scripts/e2e.sh), the
//! shared fakes and gateway, running `clawrun`, and the pids of every process
//! the suite started (stopped on SIGTERM/SIGINT too).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fakes::{Anthropic, OpenAi, Telegram};
use crate::gateway::Gateway;

/// Longest a single `clawrun` invocation may take.
const CLAWRUN_LIMIT: Duration = Duration::from_secs(240);

/// The programs under test, as installed by scripts/e2e.sh.
#[derive(Debug, Clone)]
pub struct E2eEnv {
    /// `claude`.
    pub claude: PathBuf,
    /// `codex`.
    pub codex: PathBuf,
    /// Directory with Node 24's `node`.
    pub node24_bin: PathBuf,
    /// `openclaw`.
    pub openclaw: PathBuf,
    /// The claude version installed (`CLAWRUN_E2E_CLAUDE_VERSION`).
    pub claude_version: String,
    /// The codex version installed (`CLAWRUN_E2E_CODEX_VERSION`).
    pub codex_version: String,
}

impl E2eEnv {
    /// The variables scripts/e2e.sh sets (and only it: `CLAWRUN_E2E_CACHE` alone
    /// may be set by a user to move the cache, so it does not start the suite).
    pub const VARS: [&str; 4] = [
        "CLAWRUN_E2E_CLAUDE",
        "CLAWRUN_E2E_CODEX",
        "CLAWRUN_E2E_NODE24_BIN",
        "CLAWRUN_E2E_OPENCLAW",
    ];

    /// From the environment scripts/e2e.sh sets; `None` when not run by it.
    ///
    /// # Panics
    /// When only some of [`Self::VARS`] are set, or a program is missing: that
    /// is an install problem, never a reason to skip.
    pub fn from_env() -> Option<Self> {
        if Self::VARS.iter().all(|v| std::env::var_os(v).is_none()) {
            return None;
        }
        let program = |var: &str| {
            let p = PathBuf::from(std::env::var_os(var).unwrap_or_else(|| {
                panic!("{var} is not set (but others are): run the suite with scripts/e2e.sh")
            }));
            assert!(
                p.exists(),
                "{var}={} does not exist: run scripts/e2e.sh to install it",
                p.display()
            );
            p
        };
        let version = |var: &str| {
            std::env::var(var).unwrap_or_else(|_| {
                panic!("{var} is not set (but others are): run the suite with scripts/e2e.sh")
            })
        };
        Some(Self {
            claude: program("CLAWRUN_E2E_CLAUDE"),
            codex: program("CLAWRUN_E2E_CODEX"),
            node24_bin: program("CLAWRUN_E2E_NODE24_BIN"),
            openclaw: program("CLAWRUN_E2E_OPENCLAW"),
            claude_version: version("CLAWRUN_E2E_CLAUDE_VERSION"),
            codex_version: version("CLAWRUN_E2E_CODEX_VERSION"),
        })
    }

    /// `PATH` for every process of the suite: `bin` (clawrun, claude, codex), Node 24
    /// (the `openclaw` CLI and the codex wrapper are Node scripts), then the system.
    pub fn path_var(&self, bin: &Path) -> String {
        format!(
            "{}:{}:/usr/local/bin:/usr/bin:/bin",
            bin.display(),
            self.node24_bin.display()
        )
    }
}

// ---------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------

static PIDS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Remember a process the suite started.
pub fn register_pid(pid: i32) {
    PIDS.lock().unwrap().push(pid);
}

/// Forget a process that ended.
pub fn unregister_pid(pid: i32) {
    PIDS.lock().unwrap().retain(|p| *p != pid);
}

/// On SIGTERM/SIGINT (e.g. the script's time limit): stop every process the
/// suite started, by pid, then exit.
pub fn stop_all_on_signal() {
    tokio::spawn(async {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).unwrap();
        let mut int = signal(SignalKind::interrupt()).unwrap();
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        let pids = PIDS.lock().unwrap().clone();
        eprintln!("e2e: interrupted; stopping {pids:?}");
        for pid in &pids {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        std::thread::sleep(Duration::from_secs(5));
        for pid in &pids {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(*pid),
                nix::sys::signal::Signal::SIGKILL,
            );
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        std::process::exit(130);
    });
}

/// Whether a process exists.
pub fn alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The last `n` lines of a file (for failure messages).
pub fn tail_file(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

// ---------------------------------------------------------------------------
// The suite's shared world
// ---------------------------------------------------------------------------

/// Everything the scenarios share.
pub struct Ctx {
    /// The programs.
    pub env: E2eEnv,
    /// Root of every file the suite writes.
    pub root: PathBuf,
    /// Fake Anthropic API.
    pub anthropic: Anthropic,
    /// Fake OpenAI API.
    pub openai: OpenAi,
    /// Fake Telegram Bot API.
    pub telegram: Telegram,
    /// The gateway, when a selected scenario needs it.
    pub gateway: tokio::sync::Mutex<Option<Gateway>>,
    /// Readiness of the gateway (time from spawn), checked once.
    pub gateway_ready: tokio::sync::OnceCell<Result<Duration, String>>,
    /// Values scenarios hand to later ones (session ids).
    pub notes: Mutex<HashMap<&'static str, String>>,
    /// Measured figures for the report.
    pub figures: Mutex<Vec<(String, String)>>,
}

impl Ctx {
    /// HOME of the CLI scenarios (no openclaw.json: console notifications).
    pub fn cli_home(&self) -> PathBuf {
        self.root.join("cli-home")
    }

    /// HOME of the gateway and of the clawrun runs that report through it.
    pub fn gateway_home(&self) -> PathBuf {
        self.root.join("gateway-home")
    }

    /// `CODEX_HOME`.
    pub fn codex_home(&self) -> PathBuf {
        self.root.join("codex-home")
    }

    /// The backends file pointing clawrun at the real CLIs and the fakes.
    pub fn backends_file(&self) -> PathBuf {
        self.root.join("backends.toml")
    }

    /// `PATH` for the suite's processes (see [`E2eEnv::path_var`]).
    pub fn path_var(&self) -> String {
        self.env.path_var(&self.bin_dir())
    }

    /// `clawrun`, `claude` and `codex` as a user has them on `PATH` (for skills
    /// that require them).
    pub fn bin_dir(&self) -> PathBuf {
        let bin = self.root.join("bin");
        if !bin.exists() {
            std::fs::create_dir_all(&bin).unwrap();
            for (name, target) in [
                ("clawrun", PathBuf::from(env!("CARGO_BIN_EXE_clawrun"))),
                ("claude", self.env.claude.clone()),
                ("codex", self.env.codex.clone()),
            ] {
                std::os::unix::fs::symlink(target, bin.join(name)).unwrap();
            }
        }
        bin
    }

    /// A fresh project directory.
    pub fn project(&self, name: &str) -> PathBuf {
        let p = self.root.join("projects").join(name);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    /// Remember `value` under `key` for a later scenario.
    pub fn note(&self, key: &'static str, value: &str) {
        self.notes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key, value.to_owned());
    }

    /// A value an earlier scenario left, or a clear failure. The lock is let
    /// go before failing: a scenario's failure must not poison the notes for
    /// the scenarios after it.
    pub fn noted(&self, key: &'static str, by: &str) -> String {
        let value = self
            .notes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
            .cloned();
        value.unwrap_or_else(|| panic!("needs the {key} of scenario {by}, which did not produce it (did it fail or was it filtered out?)"))
    }

    /// Record a measured figure for the final report.
    pub fn figure(&self, what: impl Into<String>, value: impl Into<String>) {
        self.figures
            .lock()
            .unwrap()
            .push((what.into(), value.into()));
    }

    /// Wait (once) for the gateway; panics with its output when it never got ready.
    pub async fn ready_gateway(&self) -> tokio::sync::MappedMutexGuard<'_, Gateway> {
        let ready = self
            .gateway_ready
            .get_or_init(|| async {
                let mut guard = self.gateway.lock().await;
                let gw = guard.as_mut().expect("no gateway was started");
                let r = gw.wait_ready().await;
                if let Ok(d) = &r {
                    self.figure(
                        "gateway: spawn to /readyz 200 + sessions_list 200",
                        format!("{:.1}s", d.as_secs_f64()),
                    );
                }
                r
            })
            .await;
        if let Err(e) = ready {
            panic!("{e}");
        }
        tokio::sync::MutexGuard::map(self.gateway.lock().await, |g| {
            g.as_mut().expect("no gateway was started")
        })
    }

    /// Run `clawrun ARGS` with `home` as HOME, the suite's PATH and nothing else
    /// from the environment.
    pub async fn clawrun(&self, home: &Path, args: &[&str]) -> Run {
        let started = Instant::now();
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_clawrun"));
        cmd.args(args)
            .env_clear()
            .env("HOME", home)
            .env("PATH", self.path_var())
            .env("RUST_BACKTRACE", "1")
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = cmd.spawn().unwrap();
        let pid = child.id().and_then(|p| i32::try_from(p).ok());
        if let Some(pid) = pid {
            register_pid(pid);
        }
        let out = tokio::time::timeout(CLAWRUN_LIMIT, child.wait_with_output()).await;
        if let Some(pid) = pid {
            unregister_pid(pid);
        }
        let out = out
            .unwrap_or_else(|_| panic!("clawrun {args:?} did not finish within {CLAWRUN_LIMIT:?}"))
            .unwrap();
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            secs: started.elapsed().as_secs_f64(),
        };
        println!(
            "    $ clawrun {} → exit {} in {:.1}s",
            args.join(" "),
            run.code,
            run.secs
        );
        run
    }
}

/// One finished `clawrun` invocation.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Wall time.
    pub secs: f64,
}

impl Run {
    /// Stdout as JSON (`--json`).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "clawrun printed no JSON ({e}).\nstdout:\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Fail with everything clawrun printed unless it exited with `code`.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "clawrun exited {} (expected {code}).\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    /// The run directory of a finished run, from its report.
    pub fn run_dir(&self, home: &Path) -> PathBuf {
        let id = self.json()["run_id"].as_str().unwrap().to_owned();
        home.join(".openclaw/clawrun/runs").join(id)
    }
}

/// A run's `run.json`.
pub fn run_record(run_dir: &Path) -> Value {
    read_json(&run_dir.join("run.json"))
}

/// A run's `request.json`.
pub fn run_request(run_dir: &Path) -> Value {
    read_json(&run_dir.join("request.json"))
}

/// A run's outbox entries (`outbox.jsonl`, folded by key: last state wins).
pub fn outbox_entries(run_dir: &Path) -> Vec<clawrun::runs::OutboxEntry> {
    clawrun::runs::outbox(&clawrun::runs::RunDir::open(run_dir))
        .unwrap_or_else(|e| panic!("reading the outbox of {}: {e}", run_dir.display()))
}

/// Parse a JSON file.
pub fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// The registry entry for `id` in `~/.openclaw/<file>`.
pub fn registry_entry(home: &Path, file: &str, id: &str) -> Value {
    let reg = read_json(&home.join(".openclaw").join(file));
    reg["sessions"][id].clone()
}

/// Every run directory under `root` (a directory holding `run.json` and
/// `stream.jsonl`), in any HOME the suite made.
pub fn run_dirs(root: &Path) -> std::collections::BTreeSet<PathBuf> {
    let mut found = std::collections::BTreeSet::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        if dir.join("run.json").is_file() && dir.join("stream.jsonl").is_file() {
            found.insert(dir.clone());
            continue;
        }
        for e in entries.flatten() {
            let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
            // node_modules and the CLIs' own homes hold no runs.
            if is_dir && e.file_name() != "node_modules" {
                todo.push(e.path());
            }
        }
    }
    found
}

/// The backends of the runs in `dirs`, and the event types their streams held
/// that clawrun's parsers do not know (what `scripts/drift.sh` reports).
pub fn stream_drift<'a>(
    dirs: impl Iterator<Item = &'a PathBuf>,
) -> (
    std::collections::BTreeSet<String>,
    std::collections::BTreeSet<String>,
) {
    use clawrun::backends::{Backend, LineParser};
    let config = clawrun::backends::config::BackendsConfig::builtin().unwrap();
    let mut backends = std::collections::BTreeSet::new();
    let mut unknown = std::collections::BTreeSet::new();
    for dir in dirs {
        let record = read_json(&dir.join("run.json"));
        let Some(name) = record["backend"].as_str() else {
            continue;
        };
        let Ok(backend) = config.backend(name) else {
            continue;
        };
        backends.insert(name.to_owned());
        let mut parser = backend.parser();
        let text = std::fs::read_to_string(dir.join("stream.jsonl")).unwrap_or_default();
        for line in text.lines() {
            for event in parser.parse_line(line) {
                if let clawrun::events::AgentEvent::UnknownEvent { what } = event {
                    unknown.insert(format!("{name}:{what}"));
                }
            }
        }
    }
    (backends, unknown)
}
