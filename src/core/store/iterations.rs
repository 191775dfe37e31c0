//! Iteration counting for `--completion-mode iterate`.
//!
//! A chain is a run and every run that resumes it (or resumes a run that
//! resumed it, …). Its iterations are recorded per requester session key and
//! chain, in `<state dir>/iterations.json`, and the limit is checked against
//! the chain's highest count under *any* key: a resume that leaves out
//! `--session` (or names another key) continues the same count, so a woken
//! agent that keeps launching "one more iteration" is stopped at
//! `--max-iterations` whatever flags it copies.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::core::error::{Error, Result};
use crate::core::store::json_file::JsonFile;

/// File name under the state dir.
pub const ITERATIONS_FILE_NAME: &str = "iterations.json";

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IterFile {
    /// Resume id → the root of its chain.
    chains: BTreeMap<String, String>,
    /// `session key|root` → iterations started (the chain's count is the
    /// highest over its keys).
    counts: BTreeMap<String, u32>,
}

/// The iteration store.
#[derive(Debug, Clone)]
pub struct Iterations {
    path: PathBuf,
}

/// Where a new run stands in its chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The chain's root (the first run's resume id, or the new run's id).
    pub root: String,
    /// The iteration this run would be (1-based).
    pub iteration: u32,
}

fn chain_key(session_key: Option<&str>, root: &str) -> String {
    format!("{}|{root}", session_key.unwrap_or("-"))
}

impl Iterations {
    /// The store in `state_dir`.
    pub fn new(state_dir: &Path) -> Self {
        Self {
            path: state_dir.join(ITERATIONS_FILE_NAME),
        }
    }

    fn read(&self) -> Result<IterFile> {
        JsonFile::new(self.path.clone()).read()
    }

    fn with_lock<T>(&self, f: impl FnOnce(&mut IterFile) -> Result<T>) -> Result<T> {
        JsonFile::new(self.path.clone()).update(|data: &mut IterFile| Ok((f(data)?, true)))
    }

    /// Where a run resuming `resume` (or a new run `run_id`) would stand.
    /// `known_root` is the chain root of the resumed session's last run, used
    /// when the store has no link for `resume`. Reads only.
    ///
    /// # Errors
    /// An unreadable store.
    pub fn plan(
        &self,
        resume: Option<&str>,
        known_root: Option<&str>,
        run_id: &str,
    ) -> Result<Plan> {
        let data = self.read()?;
        Ok(plan_in(&data, resume, known_root, run_id))
    }

    /// Count the run in: fails when another run took this iteration meanwhile
    /// or the limit is passed.
    ///
    /// # Errors
    /// [`Error::Usage`] when the limit is reached; I/O errors.
    pub fn start(
        &self,
        session_key: Option<&str>,
        resume: Option<&str>,
        known_root: Option<&str>,
        run_id: &str,
        max: u32,
    ) -> Result<Plan> {
        self.with_lock(|data| {
            let plan = plan_in(data, resume, known_root, run_id);
            check_limit(&plan, session_key, max)?;
            data.counts
                .insert(chain_key(session_key, &plan.root), plan.iteration);
            if let Some(r) = resume {
                data.chains
                    .entry(r.to_owned())
                    .or_insert_with(|| plan.root.clone());
            }
            Ok(plan)
        })
    }

    /// Record that `resume_id` (a new session id) belongs to the chain `root`.
    ///
    /// # Errors
    /// I/O errors.
    pub fn link(&self, resume_id: &str, root: &str) -> Result<()> {
        self.with_lock(|data| {
            data.chains.insert(resume_id.to_owned(), root.to_owned());
            Ok(())
        })
    }
}

fn plan_in(data: &IterFile, resume: Option<&str>, known_root: Option<&str>, run_id: &str) -> Plan {
    let root = match resume {
        Some(r) => data
            .chains
            .get(r)
            .map(String::as_str)
            .or(known_root)
            .unwrap_or(r)
            .to_owned(),
        None => run_id.to_owned(),
    };
    // The chain's count under any requester key: leaving out or changing
    // `--session` does not start the count again.
    let done = data
        .counts
        .iter()
        .filter(|(k, _)| k.rsplit_once('|').is_some_and(|(_, r)| r == root))
        .map(|(_, n)| *n)
        .max()
        .unwrap_or(0);
    Plan {
        root,
        iteration: done + 1,
    }
}

/// The clear refusal of iteration N+1.
///
/// # Errors
/// [`Error::Usage`] when `plan.iteration > max`.
pub fn check_limit(plan: &Plan, session_key: Option<&str>, max: u32) -> Result<()> {
    if plan.iteration > max {
        return Err(Error::usage(format!(
            "iteration limit reached: this would be iteration {} of {max} of the chain started by \
             run {}{}. Report the outcome to the user instead, or start a new task without --resume.",
            plan.iteration,
            plan.root,
            session_key.map_or(String::new(), |k| format!(" (session {k})"))
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The iterations file clawrun 0.1 wrote (`tests/fixtures/compat-0.1/`):
    /// a resume of the chain's session counts on from it, whatever key the
    /// new run names (issue 13: a resume without `--session` must not start
    /// the count again).
    #[test]
    fn iterations_continue_the_0_1_chain() {
        let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/compat-0.1/state")
            .join(ITERATIONS_FILE_NAME);
        let tmp = tempfile::tempdir().unwrap();
        std::fs::copy(fixture, tmp.path().join(ITERATIONS_FILE_NAME)).unwrap();
        let store = Iterations::new(tmp.path());
        let claude = "b97f592b-6515-4a57-b3bb-0bc3448d4c8a";
        let plan = store
            .plan(Some(claude), None, "20270101-000000-000000")
            .unwrap();
        assert_eq!(
            (plan.root.as_str(), plan.iteration),
            ("20261201-034628-a88754", 3)
        );
        let codex = "01a20060-1a1b-7e03-ae4c-46fb1f209375";
        let plan = store.plan(Some(codex), None, "x").unwrap();
        assert_eq!(plan.root, "20261201-034630-b22208");
    }

    #[test]
    fn counts_along_a_resume_chain_and_refuses_past_the_limit() {
        let tmp = tempfile::tempdir().unwrap();
        let it = Iterations::new(tmp.path());
        let k = Some("agent:main:main");
        let p1 = it.start(k, None, None, "run1", 2).unwrap();
        assert_eq!(
            p1,
            Plan {
                root: "run1".into(),
                iteration: 1
            }
        );
        it.link("sess-a", &p1.root).unwrap();
        let p2 = it.start(k, Some("sess-a"), None, "run2", 2).unwrap();
        assert_eq!(p2.iteration, 2);
        it.link("sess-b", &p2.root).unwrap();
        assert_eq!(it.plan(Some("sess-b"), None, "run3").unwrap().iteration, 3);
        let err = it
            .start(k, Some("sess-b"), None, "run3", 2)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("iteration limit reached: this would be iteration 3 of 2"),
            "{err}"
        );
        // Without a key, or with another one, the chain's count still holds.
        for other in [None, Some("agent:x:main")] {
            let err = it
                .start(other, Some("sess-b"), None, "run3", 2)
                .unwrap_err()
                .to_string();
            assert!(err.contains("iteration 3 of 2"), "{err}");
        }
        // A session the store never linked continues the chain it is known to belong to.
        assert_eq!(
            it.plan(Some("sess-c"), Some("run1"), "run4")
                .unwrap()
                .iteration,
            3
        );
    }
}
