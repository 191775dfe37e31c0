//! Running `git`: explicit arguments, `-C dir`, no shell, a sanitized
//! environment and the C locale, so output is parseable and the repository is
//! the one we name (never one inherited from `GIT_DIR` or `GIT_WORK_TREE`).
//! Output-shaping flags are explicit (`-z`, `--porcelain`, `--no-show-signature`,
//! `color.ui=false`) so user config such as `log.showSignature` cannot change it.

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::GitError;

/// Inherited `GIT_*` variables that survive: identity and config-file choice
/// (the user's own policy), and ssh/askpass helpers. Every other `GIT_*`
/// (`GIT_DIR`, `GIT_WORK_TREE`, `GIT_INDEX_FILE`, `GIT_CONFIG_PARAMETERS`, …)
/// is removed: set by a hook or a parent git, it would point our commands at
/// another repository.
const KEEP_GIT_ENV: &[&str] = &[
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "GIT_CONFIG_NOSYSTEM",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_ASKPASS",
];

/// A `git` command ready to run in one directory.
pub(crate) fn command<I, S>(dir: &Path, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new("git");
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if name.starts_with("GIT_") && !KEEP_GIT_ENV.contains(&name.as_ref()) {
            cmd.env_remove(&key);
        }
    }
    cmd.env("LC_ALL", "C")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_EDITOR", ":")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .arg("--no-pager")
        .args(["-c", "color.ui=false"])
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs git and returns its raw output whatever the exit status (for the
/// commands whose exit code is the answer, e.g. `merge-base --is-ancestor`).
pub(crate) fn output<I, S>(dir: &Path, args: I) -> Result<(Output, String), GitError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let shown = show_args(&args);
    let out = command(dir, &args)
        .output()
        .map_err(|source| GitError::Spawn { source })?;
    Ok((out, shown))
}

/// Runs git and returns its stdout; a non-zero exit is a [`GitError::Command`]
/// (or [`GitError::NotARepository`] when git says so).
pub(crate) fn run<I, S>(dir: &Path, args: I) -> Result<String, GitError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let (out, shown) = output(dir, args)?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    Err(failure(dir, shown, &out))
}

/// The error for a failed command.
pub(crate) fn failure(dir: &Path, args: String, out: &Output) -> GitError {
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    if stderr.contains("not a git repository") || stderr.starts_with("fatal: cannot change to") {
        return GitError::NotARepository {
            dir: dir.to_path_buf(),
        };
    }
    GitError::Command {
        args,
        dir: dir.to_path_buf(),
        code: out.status.code(),
        stderr,
    }
}

fn show_args(args: &[OsString]) -> String {
    let joined: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    joined.join(" ")
}

/// Splits NUL-separated output (`-z`) into its non-empty fields.
pub(crate) fn nul_fields(text: &str) -> impl Iterator<Item = &str> {
    text.split('\0').filter(|f| !f.is_empty())
}
