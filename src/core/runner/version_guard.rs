//! The version guard: tells the user, once per run, when the CLI may have
//! changed under clawrun.
//!
//! Two signs, each reported once (on the runner's stderr):
//! - the CLI is newer than the newest version this build was tested with
//!   (`tested_version` in `backends.toml`). Claude names its version in
//!   `system/init`; Codex prints none in its stream, so its `--version` is read
//!   once per installed program ([`program_version`], cached on disk);
//! - the stream carried [`UNKNOWN_EVENTS_WARN`] or more event types the parser
//!   does not know ([`AgentEvent::UnknownEvent`](crate::core::model::events::AgentEvent::UnknownEvent)).

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::backends::{AnyBackend, Backend, RunRequest};
use crate::core::model::state::RunState;
use crate::core::runner::reactions::version_warning;
use crate::core::store::fsutil;
use crate::core::store::paths::Paths;
use crate::core::sys::programs::{find_program, find_version, run_version};

/// Distinct unknown event types in one run from which the guard says that the
/// CLI may have changed. One or two are a new event the parser can live
/// without; three are a pattern.
pub const UNKNOWN_EVENTS_WARN: usize = 3;

/// File under the state directory caching `<program> --version` answers.
pub const VERSION_CACHE_FILE_NAME: &str = "cli-versions.json";

/// Longest wait for `<program> --version`.
const VERSION_TIMEOUT: Duration = Duration::from_secs(10);

/// Per-run warnings about the CLI's version and its unknown events.
#[derive(Debug, Clone)]
pub struct VersionGuard {
    backend: String,
    tested: &'static str,
    /// The version last compared (compared again only when it changes).
    checked: Option<String>,
    version_warned: bool,
    unknown_warned: bool,
}

impl VersionGuard {
    /// A guard for a run of `backend`, tested up to version `tested`.
    pub fn new(backend: &str, tested: &'static str) -> Self {
        Self {
            backend: backend.to_owned(),
            tested,
            checked: None,
            version_warned: false,
            unknown_warned: false,
        }
    }

    /// The warning to print now, if any: called after each event is folded
    /// into `state`. Each kind of warning is given once per run.
    pub fn check(&mut self, state: &RunState) -> Option<String> {
        if !self.version_warned && state.cli_version != self.checked {
            self.checked.clone_from(&state.cli_version);
            if let Some(w) =
                version_warning(&self.backend, state.cli_version.as_deref(), self.tested)
            {
                self.version_warned = true;
                return Some(w);
            }
        }
        if !self.unknown_warned && state.unknown_events.len() >= UNKNOWN_EVENTS_WARN {
            self.unknown_warned = true;
            let names: Vec<&str> = state.unknown_events.iter().map(String::as_str).collect();
            let version = state
                .cli_version
                .as_deref()
                .map_or(String::new(), |v| format!(" {v}"));
            return Some(format!(
                "⚠ {}{version} printed {} event types clawrun does not know ({}): the CLI may \
                 have changed since {}, the newest version clawrun was tested with; if results \
                 look wrong, report it",
                self.backend,
                names.len(),
                names.join(", "),
                self.tested
            ));
        }
        None
    }
}

/// One cached `--version` answer, valid while the program file is the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CachedVersion {
    /// Modification time, nanoseconds since the epoch.
    mtime_ns: i128,
    /// Status change time: npm extracts files with a fixed mtime, so a
    /// reinstall may keep the mtime, never the ctime or the inode.
    ctime_ns: i128,
    inode: u64,
    size: u64,
    version: String,
}

/// The program file's identity as far as the cache is concerned.
fn identity(path: &Path) -> Option<(i128, i128, u64, u64)> {
    let m = std::fs::metadata(path).ok()?;
    let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
    Some((
        ns(m.mtime(), m.mtime_nsec()),
        ns(m.ctime(), m.ctime_nsec()),
        m.ino(),
        m.len(),
    ))
}

/// The CLI version of a backend whose stream names none (Codex): its
/// program's `--version`, asked once per installed program (path, modification
/// time, inode, size) and cached in the state directory, not once per run.
/// `None` for a backend that names its version in its stream, or when the
/// program cannot be found or answer.
pub async fn program_version(backend: &AnyBackend, paths: &Paths) -> Option<String> {
    if backend.capabilities().version_in_stream {
        return None;
    }
    let program = backend.command(&RunRequest::default()).program;
    let path_var = std::env::var("PATH").ok();
    let path = find_program(&program, path_var.as_deref())?;
    let key = path.display().to_string();
    let (mtime_ns, ctime_ns, inode, size) = identity(&path)?;
    let cache_file = paths.state_dir.join(VERSION_CACHE_FILE_NAME);
    let mut cache: BTreeMap<String, CachedVersion> = std::fs::read(&cache_file)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    if let Some(c) = cache.get(&key) {
        if (c.mtime_ns, c.ctime_ns, c.inode, c.size) == (mtime_ns, ctime_ns, inode, size) {
            return Some(c.version.clone());
        }
    }
    let version = ask_version(&path).await?;
    let entry = CachedVersion {
        mtime_ns,
        ctime_ns,
        inode,
        size,
        version: version.clone(),
    };
    cache.insert(key, entry);
    if let Ok(json) = serde_json::to_vec_pretty(&cache) {
        if let Err(e) = fsutil::write_atomic_through_links(&cache_file, &json) {
            tracing::warn!("writing {}: {e}", cache_file.display());
        }
    }
    Some(version)
}

/// Run `<path> --version` (killed after [`VERSION_TIMEOUT`]) and read the
/// version number it prints (`codex-cli 0.171.0` → `0.171.0`).
async fn ask_version(path: &Path) -> Option<String> {
    let out = run_version(path, VERSION_TIMEOUT).await.ok()?;
    if out.code != Some(0) {
        return None;
    }
    find_version(&out.stdout)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::core::model::events::AgentEvent;

    #[test]
    fn warns_once_for_a_newer_version_and_once_for_unknown_events() {
        let mut guard = VersionGuard::new("codex", "0.171.0");
        let mut state = RunState::new();
        assert_eq!(guard.check(&state), None);
        state.cli_version = Some("0.171.0".into());
        assert_eq!(guard.check(&state), None);
        state.cli_version = Some("0.172.1".into());
        let w = guard.check(&state).unwrap();
        assert!(w.contains("codex 0.172.1 is newer"), "{w}");
        assert_eq!(guard.check(&state), None);
        for what in ["a", "b"] {
            state.apply(&AgentEvent::UnknownEvent { what: what.into() });
            assert_eq!(guard.check(&state), None);
        }
        state.apply(&AgentEvent::UnknownEvent { what: "b".into() });
        assert_eq!(guard.check(&state), None, "the same type twice counts once");
        state.apply(&AgentEvent::UnknownEvent { what: "c".into() });
        let w = guard.check(&state).unwrap();
        assert!(
            w.starts_with("⚠ codex 0.172.1 printed 3 event types clawrun does not know (a, b, c)"),
            "{w}"
        );
        state.apply(&AgentEvent::UnknownEvent { what: "d".into() });
        assert_eq!(guard.check(&state), None);
    }

    #[tokio::test]
    async fn codex_version_is_asked_once_per_program_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(&dir.path().join("openclaw"));
        let state_dir = paths.state_dir.clone();
        std::fs::create_dir_all(&state_dir).unwrap();
        let counter = dir.path().join("count");
        let program = dir.path().join("codex");
        let write = |version: &str| {
            let script = format!(
                "#!/bin/sh\necho x >> '{}'\necho 'codex-cli {version}'\n",
                counter.display()
            );
            // A new file, as a reinstall makes (new inode).
            let tmp = dir.path().join("codex.new");
            std::fs::write(&tmp, script).unwrap();
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
            std::fs::rename(&tmp, &program).unwrap();
        };
        let mut config = crate::backends::config::BackendsConfig::builtin().unwrap();
        config.codex.program = program.display().to_string();
        let backend = config.backend("codex").unwrap();
        let calls = || {
            std::fs::read_to_string(&counter)
                .map(|t| t.lines().count())
                .unwrap_or(0)
        };
        write("0.171.0");
        assert_eq!(
            program_version(&backend, &paths).await.as_deref(),
            Some("0.171.0")
        );
        assert_eq!(
            program_version(&backend, &paths).await.as_deref(),
            Some("0.171.0")
        );
        assert_eq!(calls(), 1, "asked once, then cached");
        assert!(state_dir.join(VERSION_CACHE_FILE_NAME).is_file());
        write("0.172.0");
        assert_eq!(
            program_version(&backend, &paths).await.as_deref(),
            Some("0.172.0")
        );
        assert_eq!(calls(), 2, "a reinstalled program is asked again");
        // Claude names its version in the stream: nothing is asked.
        let claude = config.backend("claude").unwrap();
        assert_eq!(program_version(&claude, &paths).await, None);
    }
}
