//! The tool calls a limited run's sandbox refused that the agent's stream left
//! out, read after the run from the CLI's own session log
//! ([`Backend::session_log`], [`Backend::denials_from_log`]): finding the file,
//! a bounded read of its tail, off the async runtime. Whatever goes wrong is
//! a warning: the run's outcome never depends on it.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::backends::{AnyBackend, Backend, SessionLogFile};
use crate::core::model::events::AgentEvent;

use super::supervisor::Job;

/// Most bytes read from the end of a session log: a run's own calls are at
/// its end, and a log of a long-lived session grows past any run.
const MAX_LOG_BYTES: u64 = 8 * 1024 * 1024;
/// Most directory entries looked at while searching for the log.
const MAX_ENTRIES: usize = 200_000;

/// After a run of `job` limited by a preset or an explicit `--sandbox`: the
/// calls its sandbox refused, read from the log of session `resume_id` (its
/// calls since `since`, Unix time), as events for the result and the wake.
/// `None` when there is nothing to read (not limited, no session, no log);
/// an error is the warning to give (the agent is told too).
pub(crate) async fn denials_from_session_log(
    job: &Job,
    resume_id: Option<&str>,
    since: i64,
) -> Option<Result<Vec<AgentEvent>, String>> {
    job.spec.request.limited_safety()?;
    let id = resume_id?;
    let command_env = job.backend.command(&job.request).env;
    let agent_env = &job.agent_env;
    let lookup = |name: &str| -> Option<String> {
        if agent_env.remove.iter().any(|r| r == name) {
            return None;
        }
        agent_env
            .set
            .iter()
            .rev()
            .chain(command_env.iter().rev())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(name).ok())
    };
    let mut log = job.backend.session_log(id, &lookup)?;
    if log.dir.is_relative() {
        log.dir = job.request.project.join(&log.dir);
    }
    let backend = job.backend.clone();
    let read = tokio::task::spawn_blocking(move || read_denials(&backend, &log, since)).await;
    Some(
        read.map_err(|e| e.to_string())
            .and_then(|r| r)
            .map_err(|e| {
                format!(
                    "the calls the sandbox refused are not reported: the session log of {id} \
             was not read ({e})"
                )
            }),
    )
}

/// The denials in the tail of the session log `log`.
fn read_denials(
    backend: &AnyBackend,
    log: &SessionLogFile,
    since: i64,
) -> Result<Vec<AgentEvent>, String> {
    let mut budget = MAX_ENTRIES;
    let path = find(&log.dir, &log.name_suffix, log.max_depth, &mut budget).ok_or_else(|| {
        format!(
            "no file ending in {} under {}",
            log.name_suffix,
            log.dir.display()
        )
    })?;
    let text = read_tail(&path, MAX_LOG_BYTES).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(backend.denials_from_log(&text, since))
}

/// The file under `dir` (at most `depth` levels down) whose name ends with
/// `suffix`, newest-named directories first (the logs are in dated ones).
fn find(dir: &Path, suffix: &str, depth: usize, budget: &mut usize) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        if *budget == 0 {
            break;
        }
        *budget -= 1;
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let path = entry.path();
        let named = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(suffix));
        if named && !is_dir {
            return Some(path);
        }
        if is_dir {
            dirs.push(path);
        }
    }
    if depth == 0 {
        return None;
    }
    dirs.sort_by(|a, b| b.cmp(a));
    dirs.into_iter()
        .find_map(|sub| find(&sub, suffix, depth - 1, budget))
}

/// The last `max` bytes of `path`, from the first whole line on.
fn read_tail(path: &Path, max: u64) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let start = len.saturating_sub(max);
    f.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    f.take(max).read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    let text = if start > 0 {
        text.split_once('\n').map_or("", |(_, rest)| rest)
    } else {
        &text
    };
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn finds_the_log_in_dated_directories_and_reads_whole_lines_of_its_tail() {
        let home = tempfile::tempdir().unwrap();
        let day = home.path().join("2026/01/02");
        std::fs::create_dir_all(&day).unwrap();
        std::fs::create_dir_all(home.path().join("2025/12/31")).unwrap();
        let file = day.join("rollout-2026-01-02T00-00-00-abc.jsonl");
        std::fs::write(&file, "first line\nsecond\nthird\n").unwrap();
        let mut budget = MAX_ENTRIES;
        let found = find(home.path(), "-abc.jsonl", 3, &mut budget);
        assert_eq!(found.as_deref(), Some(file.as_path()));
        let mut budget = MAX_ENTRIES;
        assert_eq!(find(home.path(), "-abc.jsonl", 2, &mut budget), None);
        assert_eq!(
            read_tail(&file, 100).unwrap(),
            "first line\nsecond\nthird\n"
        );
        assert_eq!(read_tail(&file, 10).unwrap(), "third\n");
    }
}
