//! Programs on this machine: finding one the way `execvp` would
//! ([`find_program`]), running one for a bounded time with a bound on what
//! it prints ([`output_within`]: the `--version` probes of the runner and
//! `doctor`, the OpenClaw wake's `openclaw agent`), and the version number a
//! `--version` answer names ([`find_version`]).

use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use super::child_output::{CappedOutput, VERSION_OUTPUT_CAP, wait_capped};
use super::group::kill_group;

/// Find `program` the way `execvp` would: a path is checked as is, a bare name
/// is looked up on `path_var` (`PATH`).
pub fn find_program(program: &str, path_var: Option<&str>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if program.contains('/') {
        let p = PathBuf::from(program);
        return executable(&p).then_some(p);
    }
    path_var?
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(program))
        .find(|p| executable(p))
}

/// Why [`output_within`] has no output.
#[derive(Debug)]
pub enum Bounded {
    /// The program could not be started.
    Spawn(io::Error),
    /// Reading its output or waiting for it failed.
    Wait(io::Error),
    /// It did not end within the limit; its process group was killed.
    Timeout,
}

/// Run `cmd` (its stdout and stderr piped, in a process group of its own,
/// killed when dropped) for at most `limit`, keeping the first `cap` bytes of
/// each stream; on timeout its whole process group is killed (the child may
/// have started helpers).
///
/// # Errors
/// [`Bounded`]: it could not start, its output could not be read, or it
/// outlived `limit`.
pub async fn output_within(
    mut cmd: tokio::process::Command,
    limit: Duration,
    cap: usize,
) -> Result<CappedOutput, Bounded> {
    let child = cmd.spawn().map_err(Bounded::Spawn)?;
    let pid = child.id();
    match tokio::time::timeout(limit, wait_capped(child, cap)).await {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(e)) => Err(Bounded::Wait(e)),
        Err(_) => {
            if let Some(pid) = pid {
                kill_group(pid);
            }
            Err(Bounded::Timeout)
        }
    }
}

/// What `<program> --version` answered.
#[derive(Debug)]
pub struct VersionOutput {
    /// Exit code (`None` after a signal).
    pub code: Option<i32>,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

/// Why `<program> --version` gave no answer.
#[derive(Debug)]
pub enum VersionError {
    /// No such program.
    NotFound,
    /// It did not answer within the time given; its process group was killed.
    Timeout,
    /// It could not be started or read.
    Spawn(io::Error),
}

/// Run `program --version` in its own process group (stdin closed); on
/// timeout the whole group is killed. At most [`VERSION_OUTPUT_CAP`] bytes of
/// each stream are kept (the program is untrusted: a wrapper may flood).
///
/// # Errors
/// [`VersionError`] when it cannot be started, or does not end in `timeout`.
pub async fn run_version(program: &Path, timeout: Duration) -> Result<VersionOutput, VersionError> {
    let mut cmd = tokio::process::Command::new(program);
    cmd.arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    match output_within(cmd, timeout, VERSION_OUTPUT_CAP).await {
        Ok(out) => Ok(VersionOutput {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }),
        Err(Bounded::Spawn(e)) if e.kind() == io::ErrorKind::NotFound => {
            Err(VersionError::NotFound)
        }
        Err(Bounded::Spawn(e) | Bounded::Wait(e)) => Err(VersionError::Spawn(e)),
        Err(Bounded::Timeout) => Err(VersionError::Timeout),
    }
}

/// The first version number in a `--version` answer (`codex-cli 0.171.0`,
/// `2.1.197 (Claude Code)` → `0.171.0`, `2.1.197`).
pub fn find_version(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',')
        .map(|t| t.trim_start_matches('v'))
        .find(|t| {
            let parts: Vec<&str> = t.split('.').collect();
            parts.len() >= 2
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn versions_are_found_in_cli_output() {
        assert_eq!(
            find_version("2.1.197 (Claude Code)\n").as_deref(),
            Some("2.1.197")
        );
        assert_eq!(
            find_version("codex-cli 0.169.0\n").as_deref(),
            Some("0.169.0")
        );
        assert_eq!(find_version("v1.2").as_deref(), Some("1.2"));
        assert_eq!(find_version("no version here 1."), None);
    }

    #[test]
    fn find_program_searches_path_like_execvp() {
        assert!(find_program("sh", Some("/nonexistent:/bin:/usr/bin")).is_some());
        assert!(find_program("definitely-not-a-program-xyz", Some("/bin:/usr/bin")).is_none());
        assert!(find_program("/bin/sh", None).is_some());
        assert!(find_program("sh", None).is_none());
    }

    #[tokio::test]
    async fn a_version_probe_names_a_missing_program_and_kills_one_that_hangs() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            run_version(&dir.path().join("none"), Duration::from_secs(5)).await,
            Err(VersionError::NotFound)
        ));
        let hang = dir.path().join("hang");
        std::fs::write(&hang, "#!/bin/sh\nsleep 30\n").unwrap();
        std::fs::set_permissions(&hang, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        assert!(matches!(
            run_version(&hang, Duration::from_millis(200)).await,
            Err(VersionError::Timeout)
        ));
        let ok = dir.path().join("ok");
        std::fs::write(&ok, "#!/bin/sh\necho \"tool v1.2.3 ($1)\"\n").unwrap();
        std::fs::set_permissions(&ok, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let out = run_version(&ok, Duration::from_secs(5)).await.unwrap();
        assert_eq!(out.code, Some(0));
        assert_eq!(find_version(&out.stdout).as_deref(), Some("1.2.3"));
        assert!(out.stdout.contains("--version"), "{}", out.stdout);
    }
}
