//! `.worktreeinclude` (Claude Code's convention, also read by Codex and other
//! worktree tools): a file at the repository root in `.gitignore` syntax
//! listing local files to copy into each new worktree, typically `.env`.
//!
//! A file is copied only when it matches a pattern *and* git ignores it in
//! the source checkout, so a tracked file is never duplicated and an
//! untracked-but-not-ignored file (work in progress) is not carried over.
//! Only regular files are copied: never a symlink, never through a symlinked
//! directory out of the source checkout, never to a path outside the new
//! worktree, never over a file that is already there.

use std::path::{Path, PathBuf};

use super::GitError;
use super::cmd::{self, nul_fields};

/// The pattern file's name, at the top level of the repository.
pub const WORKTREE_INCLUDE: &str = ".worktreeinclude";

/// Copies the files `<src>/.worktreeinclude` selects from the checkout `src`
/// into the worktree `dest` (same relative paths); returns the copied paths.
/// No `.worktreeinclude` copies nothing.
///
/// # Errors
/// [`GitError::Command`] when git cannot list or check the files,
/// [`GitError::Io`] when a copy fails.
pub fn copy_included(src: &Path, dest: &Path) -> Result<Vec<String>, GitError> {
    let patterns = src.join(WORKTREE_INCLUDE);
    if !patterns.is_file() {
        return Ok(Vec::new());
    }
    let candidates = matching_untracked(src, &patterns)?;
    let ignored = really_ignored(src, &candidates)?;
    let src_root = canonical(src)?;
    let dest_root = canonical(dest)?;
    let mut copied = Vec::new();
    for rel in ignored {
        if copy_one(&src_root, &dest_root, &rel)? {
            copied.push(rel);
        }
    }
    Ok(copied)
}

/// Untracked files (ignored or not) matching the `.worktreeinclude` patterns.
fn matching_untracked(src: &Path, patterns: &Path) -> Result<Vec<String>, GitError> {
    let mut exclude_from = std::ffi::OsString::from("--exclude-from=");
    exclude_from.push(patterns);
    let out = cmd::run::<_, &std::ffi::OsStr>(
        src,
        [
            "ls-files".as_ref(),
            "-z".as_ref(),
            "--others".as_ref(),
            "--ignored".as_ref(),
            exclude_from.as_os_str(),
        ],
    )?;
    Ok(nul_fields(&out).map(str::to_owned).collect())
}

/// Of `paths`, those the repository's own ignore rules ignore.
fn really_ignored(src: &Path, paths: &[String]) -> Result<Vec<String>, GitError> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let mut child = cmd::command(src, ["check-ignore", "-z", "--stdin"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .map_err(|source| GitError::Spawn { source })?;
    let input: Vec<u8> = paths.iter().flat_map(|p| p.bytes().chain([0])).collect();
    // check-ignore answers as it reads; write from a thread so a long list
    // cannot deadlock on a full stdout pipe.
    let stdin = child.stdin.take();
    let writer = std::thread::spawn(move || {
        if let Some(mut stdin) = stdin {
            use std::io::Write;
            let _ = stdin.write_all(&input);
        }
    });
    let out = child
        .wait_with_output()
        .map_err(|source| GitError::Spawn { source })?;
    let _ = writer.join();
    // Exit 1 means "none ignored"; anything else but 0 is an error.
    if !matches!(out.status.code(), Some(0 | 1)) {
        return Err(cmd::failure(
            src,
            "check-ignore -z --stdin".to_owned(),
            &out,
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(nul_fields(&text).map(str::to_owned).collect())
}

/// Copies one relative path if it is a regular file inside `src_root` and
/// the destination is free and inside `dest_root`; true when copied.
fn copy_one(src_root: &Path, dest_root: &Path, rel: &str) -> Result<bool, GitError> {
    let from = src_root.join(rel);
    let meta = std::fs::symlink_metadata(&from).map_err(|source| io(&from, source))?;
    if !meta.file_type().is_file() || !canonical(&from)?.starts_with(src_root) {
        tracing::debug!(
            path = rel,
            "worktreeinclude: not a regular file in the checkout; skipped"
        );
        return Ok(false);
    }
    let to = dest_root.join(rel);
    if std::fs::symlink_metadata(&to).is_ok() {
        tracing::debug!(
            path = rel,
            "worktreeinclude: already in the worktree; skipped"
        );
        return Ok(false);
    }
    let Some(parent) = to.parent() else {
        return Ok(false);
    };
    // Check the deepest existing ancestor before creating anything, so a
    // symlinked directory in the worktree cannot send us (or mkdir) outside.
    let existing = parent.ancestors().find(|a| a.exists()).unwrap_or(dest_root);
    if !canonical(existing)?.starts_with(dest_root) {
        tracing::warn!(
            path = rel,
            "worktreeinclude: destination leaves the worktree; skipped"
        );
        return Ok(false);
    }
    std::fs::create_dir_all(parent).map_err(|source| io(parent, source))?;
    std::fs::copy(&from, &to).map_err(|source| io(&to, source))?;
    Ok(true)
}

fn canonical(path: &Path) -> Result<PathBuf, GitError> {
    std::fs::canonicalize(path).map_err(|source| io(path, source))
}

fn io(path: &Path, source: std::io::Error) -> GitError {
    GitError::Io {
        path: path.to_path_buf(),
        source,
    }
}
