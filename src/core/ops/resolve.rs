//! Naming a run: what a name given on the command line refers to (a run with
//! a run directory, or a session known only from a registry), and whether a
//! run's processes are still alive.
//!
//! A run is named by its run id, a unique run-id prefix, its resume id
//! (Claude session id / Codex thread id), or its label (case-insensitive:
//! exact matches first, then substring matches; newest first). A name that
//! fits several runs is refused with the candidates listed, never guessed
//! (the seed's label search silently took the oldest match, E.2). See
//! [`resolve`].

use crate::backends::config::{self as backends_config, BACKEND_NAMES};
use crate::core::error::{Error, Result};
use crate::core::runner;
use crate::core::store::paths::Paths;
use crate::core::store::registry::{Entry, Registry};
use crate::core::store::run::{self, RunDir, RunRecord, files};
use crate::core::sys::group;

/// At most this many candidates are listed in an "ambiguous" error.
const MAX_CANDIDATES_SHOWN: usize = 10;

/// Whether the runner of `record` is alive and is still a clawrun process (a
/// reused pid is not our runner; a zombie is dead). Without /proc, the pid
/// alone decides.
pub fn runner_alive(record: &RunRecord) -> bool {
    group::runner_alive(record.runner_pid)
}

/// Whether any process of the agent's process group is alive.
pub fn agent_alive(record: &RunRecord) -> bool {
    record.agent_pid.is_some_and(group::group_alive)
}

/// The runs that are active now (`starting` or `running`), after reaping stale
/// ones: a record whose runner is gone is marked `crashed`, what is left of
/// its agent's process group is stopped, its registry entry made final, and
/// the crash message and wake queued in its outbox (see
/// [`runner::close_reaped`]; the runner's watcher usually got there first).
pub fn active_runs(paths: &Paths) -> Vec<(RunDir, RunRecord)> {
    run::active_runs_with(&paths.runs_dir(), group::runner_alive, |dir, rec| {
        if let Some(pgid) = rec.agent_pid {
            group::kill_group(pgid);
        }
        runner::close_reaped(dir, rec, paths);
    })
}

/// Every run with a readable record, newest first. Run ids sort by their
/// creation second only (the suffix is random), so runs created in the same
/// second are ordered by when their `request.json` was written.
pub fn runs_newest_first(paths: &Paths) -> Vec<(RunDir, RunRecord)> {
    let mut runs: Vec<_> = run::list_runs(&paths.runs_dir())
        .into_iter()
        .map(|(dir, rec)| {
            let written = std::fs::metadata(dir.file(files::REQUEST))
                .and_then(|m| m.modified())
                .ok();
            ((rec.created_at, rec.created_ms), written, dir, rec)
        })
        .collect();
    // Milliseconds order runs made in the same second (records of 0.1 have
    // none: 0, and the request file's time decides).
    runs.sort_by_key(|r| std::cmp::Reverse((r.0, r.1)));
    runs.into_iter().map(|(_, _, d, r)| (d, r)).collect()
}

/// A run on disk: its directory and its record as last read.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// The run directory.
    pub dir: RunDir,
    /// Its record.
    pub record: RunRecord,
}

/// What a name given on the command line refers to.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A run with a run directory.
    Run(Box<Run>),
    /// A session known only from a registry (its run directories are gone,
    /// or a seed script made it).
    Session {
        /// Backend whose registry holds it.
        backend: String,
        /// The registry entry.
        entry: Box<Entry>,
    },
}

/// The registries of every backend, with their backend names.
pub(crate) fn registries(paths: &Paths) -> Result<Vec<(&'static str, Registry)>> {
    // Registry file names and id fields are fixed per backend; a user's
    // backends.toml cannot change them, so the built-in definitions suffice.
    let config = backends_config::load(/*user file*/ None)?;
    BACKEND_NAMES
        .iter()
        .map(|name| {
            let backend = config.backend(name)?;
            Ok((*name, Registry::for_backend(paths, &backend)))
        })
        .collect()
}

pub(crate) fn norm_label(label: &str) -> String {
    label.trim().to_lowercase()
}

fn ambiguous(query: &str, what: &str, candidates: &[String]) -> Error {
    let mut msg = format!(
        "{query:?} is ambiguous: it matches {} {what} (newest first):",
        candidates.len()
    );
    for c in candidates.iter().take(MAX_CANDIDATES_SHOWN) {
        msg.push_str("\n  ");
        msg.push_str(c);
    }
    if candidates.len() > MAX_CANDIDATES_SHOWN {
        msg.push_str(&format!(
            "\n  … and {} more",
            candidates.len() - MAX_CANDIDATES_SHOWN
        ));
    }
    msg.push_str("\nName one by its full run id (or a longer prefix of it).");
    Error::usage(msg)
}

fn describe_run(r: &RunRecord) -> String {
    format!(
        "{}  {:<9} {:<6} {}",
        r.run_id,
        r.shown_status(),
        r.backend,
        r.label.as_deref().unwrap_or("-")
    )
}

fn describe_entry(backend: &str, e: &Entry) -> String {
    format!(
        "{}  {:<9} {:<6} {}  (registry only)",
        e.id,
        e.status.as_ref().map_or("-", |s| s.as_str()),
        backend,
        e.label.as_deref().unwrap_or("-")
    )
}

/// Find what `query` names, in this order:
/// 1. a run id;
/// 2. a resume id (session/thread id) of a run (the newest run of it);
/// 3. a session id in a registry (a session without a run directory);
/// 4. a unique run-id prefix;
/// 5. a run label, case-insensitive exact (the newest such run: a resumed
///    session's runs share their label);
/// 6. a run label substring, when every match carries the same label (else
///    ambiguous);
/// 7. the same two label steps over the registries.
///
/// # Errors
/// [`Error::Usage`] when nothing matches, or when the name is ambiguous (the
/// message lists the candidates, newest first).
pub fn resolve(paths: &Paths, query: &str) -> Result<Target> {
    let q = query.trim();
    if q.is_empty() {
        return Err(Error::usage(
            "empty run name: give a run id, a run-id prefix, a label or a session id".to_owned(),
        ));
    }
    let runs = runs_newest_first(paths);
    let found = |i: usize| {
        let (dir, record) = runs[i].clone();
        Ok(Target::Run(Box::new(Run { dir, record })))
    };
    if let Some(i) = runs.iter().position(|(_, r)| r.run_id == q) {
        return found(i);
    }
    if let Some(i) = runs
        .iter()
        .position(|(_, r)| r.resume_id.as_deref() == Some(q))
    {
        return found(i);
    }
    // Registries are a fallback: one that cannot be read must not hide runs.
    let regs = registries(paths)?;
    for (backend, reg) in &regs {
        match reg.get(q) {
            Ok(Some(entry)) => {
                return Ok(Target::Session {
                    backend: (*backend).to_owned(),
                    entry: Box::new(entry),
                });
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("{e}"),
        }
    }
    let prefixed: Vec<usize> = (0..runs.len())
        .filter(|&i| runs[i].1.run_id.starts_with(q))
        .collect();
    if prefixed.len() == 1 {
        return found(prefixed[0]);
    }
    let ql = norm_label(q);
    let label_of = |i: usize| runs[i].1.label.as_deref().map(norm_label);
    if let Some(i) = (0..runs.len()).find(|&i| label_of(i).as_deref() == Some(ql.as_str())) {
        return found(i);
    }
    if prefixed.len() > 1 {
        let c: Vec<String> = prefixed.iter().map(|&i| describe_run(&runs[i].1)).collect();
        return Err(ambiguous(q, "runs by run-id prefix", &c));
    }
    let partial: Vec<usize> = (0..runs.len())
        .filter(|&i| label_of(i).is_some_and(|l| l.contains(&ql)))
        .collect();
    if let Some(&first) = partial.first() {
        if partial.iter().all(|&i| label_of(i) == label_of(first)) {
            return found(first);
        }
        let c: Vec<String> = partial.iter().map(|&i| describe_run(&runs[i].1)).collect();
        return Err(ambiguous(q, "runs by label", &c));
    }
    // Sessions whose runs are gone, by label.
    if let Some(target) = session_by_label(&regs, q, &ql)? {
        return Ok(target);
    }
    // A run whose record cannot be read is named, not reported as missing.
    if let Some(bad) = run::unreadable_runs(&paths.runs_dir())
        .into_iter()
        .find(|u| {
            u.dir
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(q))
        })
    {
        return Err(Error::io(
            format!("run {q:?} exists but its record is unreadable"),
            std::io::Error::new(std::io::ErrorKind::InvalidData, bad.error),
        ));
    }
    Err(Error::usage(format!(
        "no run or session matches {q:?} (tried run ids, run-id prefixes, session ids and \
         labels); see `clawrun list --all`"
    )))
}

/// Step 7 of [`resolve`]: a session known only from a registry, by its label
/// (exact, case-insensitive, first; then a substring all matches share).
fn session_by_label(
    regs: &[(&'static str, Registry)],
    q: &str,
    ql: &str,
) -> Result<Option<Target>> {
    let mut exact: Vec<(&str, Entry)> = Vec::new();
    let mut part: Vec<(&str, Entry)> = Vec::new();
    for (backend, reg) in regs {
        match reg.find_by_label(q) {
            Ok(entries) => {
                for e in entries {
                    if e.label.as_deref().map(norm_label).as_deref() == Some(ql) {
                        exact.push((backend, e));
                    } else {
                        part.push((backend, e));
                    }
                }
            }
            Err(e) => tracing::warn!("{e}"),
        }
    }
    let newest_first = |v: &mut Vec<(&str, Entry)>| {
        v.sort_by_key(|(_, e)| std::cmp::Reverse(e.last_accessed_micros().unwrap_or(i64::MIN)));
    };
    newest_first(&mut exact);
    newest_first(&mut part);
    let pick = |(backend, entry): (&str, Entry)| Target::Session {
        backend: backend.to_owned(),
        entry: Box::new(entry),
    };
    if let Some(first) = exact.into_iter().next() {
        return Ok(Some(pick(first)));
    }
    if let Some(first) = part.first() {
        let first_label = first.1.label.as_deref().map(norm_label);
        if part
            .iter()
            .all(|(_, e)| e.label.as_deref().map(norm_label) == first_label)
        {
            let first = part.swap_remove(0);
            return Ok(Some(pick(first)));
        }
        let c: Vec<String> = part.iter().map(|(b, e)| describe_entry(b, e)).collect();
        return Err(ambiguous(q, "sessions by label", &c));
    }
    Ok(None)
}

/// Like [`resolve`], but the name must be a run with a run directory.
///
/// # Errors
/// As [`resolve`]; also [`Error::Usage`] for a session known only from a
/// registry.
pub fn resolve_run(paths: &Paths, query: &str) -> Result<Run> {
    match resolve(paths, query)? {
        Target::Run(run) => Ok(*run),
        Target::Session { backend, entry } => Err(Error::usage(format!(
            "{:?} is a {backend} session in the registry without a run directory (deleted, or \
             started by another tool): see `clawrun sessions show {}`, or continue it with \
             `clawrun resume {}`",
            entry.id, entry.id, entry.id
        ))),
    }
}
