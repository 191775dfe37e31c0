//! `resume`: continue a run's session with a new task. The plan is a new
//! run's [`RunOptions`] — what `clawrun run --resume …` would be asked —
//! with the backend, session id and project of the run (or of the registry
//! entry when the run directory is gone), the label and session key carried
//! over; it is launched like any run ([`crate::core::ops::launch`]).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::resolve::Target;
use super::stats::Source;
use crate::core::error::{Error, Result};
use crate::core::ops::launch::LaunchOptions;
use crate::core::runner::{RunOptions, TaskSource};

/// The task of `resume` when none is given (the plugin's `/claude_resume`).
pub const DEFAULT_RESUME_TASK: &str = "Continue where you left off.";

/// What `resume` was asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResumeRequest {
    /// The task text (default [`DEFAULT_RESUME_TASK`]).
    pub task: Option<String>,
    /// Or a file with the task (`-` = standard input).
    pub task_file: Option<PathBuf>,
    /// Fork into a new session.
    pub fork: bool,
    /// Return once the agent started.
    pub detach: bool,
    /// JSON output.
    pub json: bool,
    /// `--timeout`.
    pub timeout_secs: Option<u64>,
    /// `--model`.
    pub model: Option<String>,
    /// `--session` (default: the resumed run's session key).
    pub session: Option<String>,
}

/// The run a resume becomes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResumePlan {
    /// Where the session was found.
    pub source: Source,
    /// The run it continues, when it came from a run.
    pub from_run: Option<String>,
    /// Backend.
    pub backend: String,
    /// Session / thread id passed to `--resume`.
    pub resume_id: String,
    /// Project directory.
    pub project: PathBuf,
    /// Label carried over.
    pub label: Option<String>,
    /// OpenClaw session key the new run reports to.
    pub session_key: Option<String>,
    /// The new run (`clawrun run --resume …`'s options; what it leaves
    /// unset takes `clawrun.toml`'s defaults when it is launched).
    #[serde(skip)]
    pub options: RunOptions,
}

/// Work out the run that continues `target`'s session: its backend, resume
/// id and project come from the run (or from the registry entry), the label
/// and session key are carried over (`--session` wins), with the task (default
/// [`DEFAULT_RESUME_TASK`]) and the flags of `req`; `backends_file` is the
/// user's `backends.toml`.
///
/// # Errors
/// [`Error::Usage`] when the run never announced a session (nothing to
/// resume), or a registry entry lacks its project.
pub fn plan_resume(
    backends_file: Option<&Path>,
    target: &Target,
    req: &ResumeRequest,
) -> Result<ResumePlan> {
    let origin = Origin::of(target)?;
    let session_key = req.session.clone().or(origin.session_key);
    let task = match &req.task_file {
        Some(path) if path.as_os_str() == "-" => TaskSource::Stdin,
        Some(path) => TaskSource::File(path.clone()),
        None => TaskSource::Inline(
            req.task
                .clone()
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_RESUME_TASK.to_owned()),
        ),
    };
    let mut options = RunOptions::new(origin.backend.clone(), task);
    options.backends_file = backends_file.map(Path::to_path_buf);
    options.request.project = Some(origin.project.clone());
    options.request.resume = Some(origin.resume_id.clone());
    options.request.fork = req.fork;
    options.request.model.clone_from(&req.model);
    options.label.clone_from(&origin.label);
    options.session_key.clone_from(&session_key);
    if let Some(t) = req.timeout_secs {
        options.limits.timeout_secs = t;
    }
    Ok(ResumePlan {
        source: origin.source,
        from_run: origin.from_run,
        backend: origin.backend,
        resume_id: origin.resume_id,
        project: origin.project,
        label: origin.label,
        session_key,
        options,
    })
}

impl ResumePlan {
    /// The launch of the new run: as `clawrun run --resume …` (in the
    /// foreground until the caller sets the mode), for
    /// [`crate::core::ops::launch::launch`].
    pub fn launch_options(&self) -> LaunchOptions {
        LaunchOptions::new(self.options.clone())
    }
}

/// What a resume continues: the session of a run, or of a registry entry.
struct Origin {
    source: Source,
    from_run: Option<String>,
    backend: String,
    resume_id: String,
    project: PathBuf,
    label: Option<String>,
    session_key: Option<String>,
}

impl Origin {
    fn of(target: &Target) -> Result<Self> {
        match target {
            Target::Run(run) => {
                let r = &run.record;
                let Some(id) = r.resume_id.clone().or_else(|| r.resumed_from.clone()) else {
                    return Err(Error::usage(format!(
                        "run {} has no session id ({}: the agent never announced one), so there \
                         is nothing to resume; start a new run instead",
                        r.run_id,
                        r.status.as_str()
                    )));
                };
                Ok(Origin {
                    source: Source::Run,
                    from_run: Some(r.run_id.clone()),
                    backend: r.backend.clone(),
                    resume_id: id,
                    project: r.project.clone(),
                    label: r.label.clone(),
                    session_key: r.session_key.clone(),
                })
            }
            Target::Session { backend, entry } => {
                let Some(project) = entry.project_dir.clone().filter(|p| !p.is_empty()) else {
                    return Err(Error::usage(format!(
                        "session {} has no project_dir in the {backend} registry; resume it with \
                         `clawrun run --backend {backend} -p <project> --resume {}`",
                        entry.id, entry.id
                    )));
                };
                Ok(Origin {
                    source: Source::Registry,
                    from_run: entry.run_id.clone(),
                    backend: backend.clone(),
                    resume_id: entry.id.clone(),
                    project: PathBuf::from(project),
                    label: entry.label.clone(),
                    session_key: entry.openclaw_session.clone(),
                })
            }
        }
    }
}
