//! Where clawrun keeps its files.
//!
//! - OpenClaw home: `$OPENCLAW_STATE_DIR`, else `$OPENCLAW_HOME`, else `~/.openclaw`.
//!   The session registries (`claude_sessions.json`, `codex_sessions.json`) live
//!   here, where the seed scripts kept them, so existing tools keep reading them.
//! - OpenClaw config: `$OPENCLAW_CONFIG_PATH`, else `<openclaw home>/openclaw.json`.
//! - State dir: `--state-dir`, else `<openclaw home>/clawrun` (0700): run
//!   directories, `backends.toml`, locks.
//! - clawrun config: `--config`, else `<openclaw home>/clawrun.toml`.

use std::path::{Path, PathBuf};

/// Name of the state directory under the OpenClaw home.
pub const STATE_DIR_NAME: &str = "clawrun";
/// Name of the directory holding run directories, under the state dir.
pub const RUNS_DIR_NAME: &str = "runs";

/// Resolved locations of every file clawrun reads or writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The OpenClaw home (`~/.openclaw`).
    pub openclaw_home: PathBuf,
    /// The OpenClaw gateway config (`openclaw.json`).
    pub openclaw_config: PathBuf,
    /// clawrun's own state directory.
    pub state_dir: PathBuf,
    /// clawrun's config file (`clawrun.toml`).
    pub config_file: PathBuf,
}

/// Environment lookups, injectable so tests never touch the process environment.
pub trait Env {
    /// The value of a variable, if set and not empty.
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl Paths {
    /// Resolve paths from the environment and the optional `--state-dir` and
    /// `--config` flags.
    pub fn resolve(env: &impl Env, state_dir: Option<&Path>, config: Option<&Path>) -> Self {
        let home = env
            .var("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/"));
        let openclaw_home = env
            .var("OPENCLAW_STATE_DIR")
            .or_else(|| env.var("OPENCLAW_HOME"))
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".openclaw"));
        let openclaw_config = env
            .var("OPENCLAW_CONFIG_PATH")
            .map(PathBuf::from)
            .unwrap_or_else(|| openclaw_home.join("openclaw.json"));
        let state_dir = state_dir
            .map(Path::to_path_buf)
            .unwrap_or_else(|| openclaw_home.join(STATE_DIR_NAME));
        let config_file = config
            .map(Path::to_path_buf)
            .unwrap_or_else(|| openclaw_home.join("clawrun.toml"));
        Self {
            openclaw_home,
            openclaw_config,
            state_dir,
            config_file,
        }
    }

    /// The default layout under the OpenClaw home `openclaw_home`, as
    /// [`Paths::resolve`] makes it with no flags (unit tests' state).
    #[cfg(test)]
    pub(crate) fn under(openclaw_home: &Path) -> Self {
        struct Home<'a>(&'a Path);
        impl Env for Home<'_> {
            fn var(&self, name: &str) -> Option<String> {
                (name == "OPENCLAW_STATE_DIR").then(|| self.0.display().to_string())
            }
        }
        Self::resolve(&Home(openclaw_home), None, None)
    }

    /// Directory of all run directories.
    pub fn runs_dir(&self) -> PathBuf {
        self.state_dir.join(RUNS_DIR_NAME)
    }

    /// Directory of the runs' git worktrees (`--worktree`): one per run, named
    /// by its run id, outside every repository.
    pub fn worktrees_dir(&self) -> PathBuf {
        self.state_dir.join("worktrees")
    }

    /// A registry file by name.
    pub fn registry(&self, file_name: &str) -> PathBuf {
        self.openclaw_home.join(file_name)
    }

    /// The user's backend overrides.
    pub fn backends_file(&self) -> PathBuf {
        self.state_dir.join("backends.toml")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct MapEnv(HashMap<&'static str, &'static str>);
    impl Env for MapEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| (*v).to_owned())
        }
    }

    #[test]
    fn defaults_follow_home() {
        let env = MapEnv(HashMap::from([("HOME", "/h")]));
        let p = Paths::resolve(&env, None, None);
        assert_eq!(p.openclaw_home, PathBuf::from("/h/.openclaw"));
        assert_eq!(p.state_dir, PathBuf::from("/h/.openclaw/clawrun"));
        assert_eq!(
            p.openclaw_config,
            PathBuf::from("/h/.openclaw/openclaw.json")
        );
        assert_eq!(
            p.registry("claude_sessions.json"),
            PathBuf::from("/h/.openclaw/claude_sessions.json")
        );
    }

    #[test]
    fn openclaw_variables_and_flags_override() {
        let env = MapEnv(HashMap::from([
            ("HOME", "/h"),
            ("OPENCLAW_HOME", "/oc"),
            ("OPENCLAW_CONFIG_PATH", "/etc/oc.json"),
        ]));
        let p = Paths::resolve(&env, Some(Path::new("/s")), None);
        assert_eq!(p.openclaw_home, PathBuf::from("/oc"));
        assert_eq!(p.openclaw_config, PathBuf::from("/etc/oc.json"));
        assert_eq!(p.state_dir, PathBuf::from("/s"));
        let env = MapEnv(HashMap::from([
            ("HOME", "/h"),
            ("OPENCLAW_STATE_DIR", "/st"),
            ("OPENCLAW_HOME", "/oc"),
        ]));
        assert_eq!(
            Paths::resolve(&env, None, None).openclaw_home,
            PathBuf::from("/st")
        );
    }
}
