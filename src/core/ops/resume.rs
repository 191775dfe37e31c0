//! `resume`: continue a run's session with a new task. The plan is a new
//! `clawrun run --resume …` (the same binary, exec'd), with the backend,
//! session id and project of the run (or of the registry entry when the run
//! directory is gone), the label and session key carried over, and the task
//! on standard input.

use crate::core::sys::session;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::resolve::Target;
use super::stats::Source;
use crate::core::error::{Error, Result};
use crate::core::store::paths::Paths;

/// The task of `resume` when none is given (the plugin's `/claude_resume`).
pub const DEFAULT_RESUME_TASK: &str = "Continue where you left off.";

/// What `resume` was asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResumeRequest {
    /// The task text (default [`DEFAULT_RESUME_TASK`]).
    pub task: Option<String>,
    /// Or a file with the task (`-` = standard input), passed through.
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

/// The `clawrun run` a resume becomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    /// Arguments of the clawrun executable (global flags, then `run …`).
    #[serde(skip)]
    pub args: Vec<OsString>,
    /// The task, given to the new run on standard input (never argv).
    #[serde(skip)]
    pub stdin_task: Option<String>,
}

/// Work out the `clawrun run` that continues `target`'s session: its backend,
/// resume id and project come from the run (or from the registry entry),
/// `--label` and `--session` are carried over, the task goes on stdin.
///
/// # Errors
/// [`Error::Usage`] when the run never announced a session (nothing to
/// resume), or a registry entry lacks its project.
pub fn plan_resume(
    paths: &Paths,
    backends_file: Option<&Path>,
    target: &Target,
    req: &ResumeRequest,
) -> Result<ResumePlan> {
    let origin = Origin::of(target)?;
    let session_key = req.session.clone().or(origin.session_key);
    let mut args: Vec<OsString> = vec!["--state-dir".into(), paths.state_dir.clone().into()];
    if paths.config_file.is_file() {
        // A `--config` that names no file is refused: pass it only when it exists.
        args.push("--config".into());
        args.push(paths.config_file.clone().into());
    }
    if let Some(f) = backends_file {
        args.push("--backends".into());
        args.push(f.into());
    }
    args.extend(["run", "--backend", origin.backend.as_str(), "-p"].map(OsString::from));
    args.push(origin.project.clone().into());
    args.push("--resume".into());
    args.push(origin.resume_id.clone().into());
    push_flags(
        &mut args,
        req,
        origin.label.as_deref(),
        session_key.as_deref(),
    );
    args.push("--task-file".into());
    let stdin_task = match &req.task_file {
        Some(path) => {
            args.push(path.clone().into());
            None
        }
        None => {
            args.push("-".into());
            Some(
                req.task
                    .clone()
                    .filter(|t| !t.trim().is_empty())
                    .unwrap_or_else(|| DEFAULT_RESUME_TASK.to_owned()),
            )
        }
    };
    Ok(ResumePlan {
        source: origin.source,
        from_run: origin.from_run,
        backend: origin.backend,
        resume_id: origin.resume_id,
        project: origin.project,
        label: origin.label,
        session_key,
        args,
        stdin_task,
    })
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

/// The optional flags of the new run, in the order the CLI lists them.
fn push_flags(
    args: &mut Vec<OsString>,
    req: &ResumeRequest,
    label: Option<&str>,
    session_key: Option<&str>,
) {
    if req.fork {
        args.push("--fork".into());
    }
    if let Some(l) = label {
        args.push("--label".into());
        args.push(l.into());
    }
    if let Some(k) = session_key {
        args.push("--session".into());
        args.push(k.into());
    }
    if let Some(m) = &req.model {
        args.push("--model".into());
        args.push(m.into());
    }
    if let Some(t) = req.timeout_secs {
        args.push("--timeout".into());
        args.push(t.to_string().into());
    }
    if req.detach {
        args.push("--detach".into());
    }
    if req.json {
        args.push("--json".into());
    }
}

/// Become `exe run …` (exec, so signals, output and the exit code are the
/// run's own). The task is handed over on standard input through an unlinked
/// private temporary file, so it never appears in argv (`ps`) and has no size
/// limit. Returns only on failure.
pub fn exec_resume(plan: &ResumePlan, exe: &Path) -> Error {
    let e = session::exec_with_stdin(exe, &plan.args, plan.stdin_task.as_deref());
    Error::io(format!("starting {}", exe.display()), e)
}
