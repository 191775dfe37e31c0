//! Shared helpers for integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

pub mod acp;
pub mod gateway;
pub mod telegram;

/// Path of a fixture under `tests/fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Path of the clawrun binary under test.
pub fn clawrun_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_clawrun"))
}

/// A private world for one test: a HOME, a PATH whose `claude` and `codex` are
/// the fake agent, and nothing from the real environment.
pub struct Sandbox {
    /// Keeps the directory alive.
    pub tmp: tempfile::TempDir,
    /// Its root.
    pub root: PathBuf,
    /// Directory with the fake programs.
    pub bin: PathBuf,
}

impl Sandbox {
    /// A new sandbox.
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let bin = root.join("bin");
        std::fs::create_dir_all(root.join("home")).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        for name in ["claude", "codex"] {
            std::os::unix::fs::symlink(fixture("fake-agent.sh"), bin.join(name)).unwrap();
        }
        Self { tmp, root, bin }
    }

    /// The HOME.
    pub fn home(&self) -> PathBuf {
        self.root.join("home")
    }

    /// `~/.openclaw`.
    pub fn openclaw_home(&self) -> PathBuf {
        self.home().join(".openclaw")
    }

    /// `~/.openclaw/clawrun`.
    pub fn state_dir(&self) -> PathBuf {
        self.openclaw_home().join("clawrun")
    }

    fn path_var(&self, first: &Path) -> String {
        format!("{}:/usr/local/bin:/usr/bin:/bin", first.display())
    }

    /// `clawrun` with the sandbox environment.
    pub fn cmd(&self) -> assert_cmd::Command {
        self.cmd_with_path(&self.bin)
    }

    /// `clawrun` with `dir` first on PATH instead of the fake bin dir.
    pub fn cmd_with_path(&self, dir: impl AsRef<Path>) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::new(clawrun_bin());
        c.env_clear()
            .env("HOME", self.home())
            .env("PATH", self.path_var(dir.as_ref()))
            .current_dir(&self.root)
            .timeout(std::time::Duration::from_secs(120));
        c
    }

    /// `clawrun run ARGS…`.
    pub fn run(&self, args: &[&str]) -> assert_cmd::Command {
        let mut c = self.cmd();
        c.arg("run").args(args);
        c
    }

    /// `clawrun run ARGS…` as a std Command (to spawn and signal it).
    pub fn run_std(&self, args: &[&str]) -> std::process::Command {
        let mut c = std::process::Command::new(clawrun_bin());
        c.env_clear()
            .env("HOME", self.home())
            .env("PATH", self.path_var(&self.bin))
            .current_dir(&self.root)
            .arg("run")
            .args(args);
        c
    }
}

/// The run ids of a sandbox, oldest first.
pub fn run_ids(sb: &Sandbox) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(sb.state_dir().join("runs"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// Run `clawrun ARGS…` in the sandbox environment, asynchronously.
pub async fn clawrun_in(sb: &Sandbox, args: &[&str]) -> std::process::Output {
    let mut c = std::process::Command::new(clawrun_bin());
    c.env_clear()
        .env("HOME", sb.home())
        .env("PATH", format!("{}:/usr/bin:/bin", sb.bin.display()))
        .current_dir(&sb.root)
        .args(args);
    tokio::process::Command::from(c).output().await.unwrap()
}
