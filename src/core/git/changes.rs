//! "What changed" in any work tree since a base commit: the commits made, a
//! diffstat of base → working tree (committed and uncommitted alike), the
//! first changed paths and what was left uncommitted; bounded, serializable
//! (for the wake payload) and renderable in one or two chat lines.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::GitError;
use super::cmd::{self, nul_fields};
use super::repo::{self, StatusEntry, Uncommitted, count, count_between, resolve_commit};

/// Longest commit subject kept, in characters.
const MAX_SUBJECT: usize = 120;
/// Longest path kept, in characters.
const MAX_PATH: usize = 240;
/// Longest branch name shown by [`ChangeSummary::render_compact`].
const MAX_SHOWN_BRANCH: usize = 60;
/// Budget of the paths line of [`ChangeSummary::render_compact`], in characters.
const MAX_SHOWN_PATHS: usize = 200;
/// Untracked files whose lines are counted (larger sets count files only).
const MAX_COUNTED_UNTRACKED: usize = 200;
/// Untracked files larger than this count as a file with no lines.
const MAX_COUNTED_BYTES: u64 = 1 << 20;

/// How much a [`ChangeSummary`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeLimits {
    /// Commits listed (newest first); the count is always exact.
    pub commits: usize,
    /// Paths listed; the file count is always exact.
    pub paths: usize,
}

impl Default for ChangeLimits {
    fn default() -> Self {
        Self {
            commits: 10,
            paths: 20,
        }
    }
}

/// One commit: short id and subject (bounded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitLine {
    /// Abbreviated commit id.
    pub sha: String,
    /// First line of the message, at most 120 characters.
    pub subject: String,
}

/// What changed in a work tree since a base commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeSummary {
    /// The branch checked out now, `None` when detached.
    pub branch: Option<String>,
    /// The base commit (abbreviated).
    pub base: String,
    /// The `HEAD` commit now (abbreviated).
    pub head: String,
    /// Commits in `base..HEAD`, exact.
    pub commit_count: usize,
    /// The newest of those commits, newest first (capped).
    pub commits: Vec<CommitLine>,
    /// Files differing between base and the working tree, untracked ones included.
    pub files_changed: usize,
    /// Lines added (untracked text files count whole).
    pub insertions: u64,
    /// Lines removed.
    pub deletions: u64,
    /// The first changed paths (capped, each bounded).
    pub paths: Vec<String>,
    /// What is left uncommitted now.
    pub uncommitted: Uncommitted,
}

impl ChangeSummary {
    /// True when there are no commits, no changed files, nothing uncommitted.
    pub fn is_empty(&self) -> bool {
        self.commit_count == 0 && self.files_changed == 0 && self.uncommitted.is_empty()
    }

    /// One or two short lines for a chat message, e.g.
    /// `🌿 clawrun/fix-login · 2 commits · 3 files +40 −7 · uncommitted changes left`
    /// and then the first paths. At most about 400 characters whatever the input.
    pub fn render_compact(&self) -> String {
        let at = bounded(
            self.branch.as_deref().unwrap_or(&self.head),
            MAX_SHOWN_BRANCH,
        );
        if self.is_empty() {
            return format!("🌿 {at} · no changes");
        }
        let commits = match self.commit_count {
            0 => "no commits".to_owned(),
            1 => "1 commit".to_owned(),
            n => format!("{n} commits"),
        };
        let files = match self.files_changed {
            1 => "1 file".to_owned(),
            n => format!("{n} files"),
        };
        let mut line = format!(
            "🌿 {at} · {commits} · {files} +{} −{}",
            self.insertions, self.deletions
        );
        if !self.uncommitted.is_empty() {
            line.push_str(" · uncommitted changes left");
        }
        let paths = self.paths_line();
        if !paths.is_empty() {
            line.push('\n');
            line.push_str(&paths);
        }
        line
    }

    /// The listed paths, comma-separated within a budget, then `+N more`.
    fn paths_line(&self) -> String {
        let mut out = String::new();
        let mut shown = 0;
        for p in &self.paths {
            let extra = p.chars().count() + if out.is_empty() { 0 } else { 2 };
            if out.chars().count() + extra > MAX_SHOWN_PATHS {
                break;
            }
            if !out.is_empty() {
                out.push_str(", ");
            }
            out.push_str(p);
            shown += 1;
        }
        let rest = self.files_changed.saturating_sub(shown);
        if rest > 0 && shown > 0 {
            out.push_str(&format!(" +{rest} more"));
        }
        out
    }
}

/// What changed in the work tree containing `dir` since `base` (a commit or
/// any revision): commits in `base..HEAD`, the diffstat of `base` against the
/// working tree plus untracked files, and what is uncommitted.
///
/// # Errors
/// [`GitError::NotARepository`] outside a work tree,
/// [`GitError::UnknownRevision`] when `base` names no commit,
/// [`GitError::Command`] / [`GitError::Parse`] when git fails or surprises.
pub fn changes_since(
    dir: &Path,
    base: &str,
    limits: ChangeLimits,
) -> Result<ChangeSummary, GitError> {
    let top = repo::toplevel(dir)?;
    let head = repo::head(&top)?;
    let base_full = resolve_commit(&top, base)?;
    let commit_count = count_between(&top, &base_full, &head.commit)?;
    let commits = commit_lines(&top, &base_full, limits.commits)?;
    let mut stat = diff_stat(&top, &base_full)?;
    let status = repo::status_entries(&top)?;
    add_untracked(&top, &status, &mut stat);
    let paths = stat
        .paths
        .iter()
        .take(limits.paths)
        .map(|p| bounded(p, MAX_PATH))
        .collect();
    Ok(ChangeSummary {
        branch: head.branch,
        base: short(&top, &base_full)?,
        head: short(&top, &head.commit)?,
        commit_count,
        commits,
        files_changed: stat.paths.len(),
        insertions: stat.insertions,
        deletions: stat.deletions,
        paths,
        uncommitted: count(&status),
    })
}

/// Totals and paths of a diff.
#[derive(Debug, Default)]
struct Stat {
    paths: Vec<String>,
    insertions: u64,
    deletions: u64,
}

fn commit_lines(top: &Path, base: &str, cap: usize) -> Result<Vec<CommitLine>, GitError> {
    if cap == 0 {
        return Ok(Vec::new());
    }
    let range = format!("{base}..HEAD");
    let max = format!("--max-count={cap}");
    let out = cmd::run(
        top,
        [
            "log",
            "--no-show-signature",
            "--format=%h%x00%s%x00",
            &max,
            &range,
            "--",
        ],
    )?;
    let fields: Vec<&str> = out
        .split('\0')
        .map(|f| f.trim_start_matches('\n'))
        .collect();
    Ok(fields
        .chunks(2)
        .filter(|c| c.len() == 2 && !c[0].is_empty())
        .map(|c| CommitLine {
            sha: c[0].to_owned(),
            subject: bounded(c[1], MAX_SUBJECT),
        })
        .collect())
}

/// `git diff --numstat -z base` (base against the working tree), parsed.
fn diff_stat(top: &Path, base: &str) -> Result<Stat, GitError> {
    let out = cmd::run(
        top,
        [
            "diff",
            "--numstat",
            "-z",
            "-M",
            "--no-ext-diff",
            "--no-textconv",
            base,
            "--",
        ],
    )?;
    let mut stat = Stat::default();
    let mut fields = nul_fields(&out);
    while let Some(field) = fields.next() {
        let mut parts = field.splitn(3, '\t');
        let (Some(added), Some(removed), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(GitError::Parse {
                args: format!("diff --numstat -z {base}"),
                message: format!("bad numstat record {field:?}"),
            });
        };
        // A rename's record has an empty path, then the old and new paths.
        let path = match path {
            "" => fields.nth(1).unwrap_or_default(),
            p => p,
        };
        // Binary files show `-` for both counts.
        stat.insertions += added.parse::<u64>().unwrap_or(0);
        stat.deletions += removed.parse::<u64>().unwrap_or(0);
        stat.paths.push(path.to_owned());
    }
    Ok(stat)
}

/// Adds untracked files to the stat: each as a changed path, its lines as
/// insertions when it is a small text file.
fn add_untracked(top: &Path, status: &[StatusEntry], stat: &mut Stat) {
    let untracked = status.iter().filter(|e| e.index == '?');
    for (i, e) in untracked.enumerate() {
        if i < MAX_COUNTED_UNTRACKED {
            stat.insertions += text_lines(&top.join(&e.path));
        }
        stat.paths.push(e.path.clone());
    }
}

/// Lines in a small regular text file; 0 for binary, large or unreadable ones.
fn text_lines(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_file() || meta.len() > MAX_COUNTED_BYTES {
        return 0;
    }
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes));
    if read.is_err() || bytes.contains(&0) {
        return 0;
    }
    let newlines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
    newlines + u64::from(!bytes.is_empty() && !bytes.ends_with(b"\n"))
}

fn short(top: &Path, commit: &str) -> Result<String, GitError> {
    Ok(cmd::run(top, ["rev-parse", "--short", commit])?
        .trim()
        .to_owned())
}

/// `s` cut to at most `max` characters, ending in `…` when cut.
pub(super) fn bounded(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}
