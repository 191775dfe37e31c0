//! What `clawrun run` was asked, checked before anything is written: single
//! flags and flags against each other ([`check_flags`]), what the backend can
//! honour by its capabilities ([`check_capabilities`]), the project
//! directory, the backend's program, and the task text ([`read_task`]).

use std::io::Read;
use std::path::Path;

use crate::backends::{AnyBackend, Backend, Capabilities, PermissionStyle, RunRequest};
use crate::core::error::{Error, Result};
use crate::core::model::approval::{ApprovalMode, MAX_APPROVAL_TIMEOUT_SECS};
use crate::core::store::paths::Paths;
use crate::core::sys::programs::find_program;

use super::{MAX_TASK_BYTES, MAX_TIMEOUT_SECS, RunOptions, TaskSource};

pub(super) fn usage(msg: impl Into<String>) -> Error {
    Error::usage(msg)
}

/// A flag value that must not be empty, start with `-` (it would be read as a
/// flag by the CLI), or contain whitespace or control characters.
pub(super) fn check_token(flag: &str, value: &str, max: usize) -> Result<()> {
    if value.is_empty() {
        return Err(usage(format!("{flag} must not be empty")));
    }
    if value.starts_with('-') {
        return Err(usage(format!("{flag} must not start with '-': {value:?}")));
    }
    if value
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || is_format_control(c))
    {
        return Err(usage(format!(
            "{flag} must not contain spaces, control or invisible formatting characters: \
             {value:?}"
        )));
    }
    if value.len() > max {
        return Err(usage(format!("{flag} is longer than {max} characters")));
    }
    Ok(())
}

/// The project directory must be a directory, or be creatable: its nearest
/// existing ancestor is a directory (`-p FILE/sub` is refused here, not when
/// the runner tries to create it).
pub(super) fn check_project(project: &Path) -> Result<()> {
    let bad = |what: &str| Err(usage(format!("--project {}: {what}", project.display())));
    match std::fs::metadata(project) {
        Ok(m) if m.is_dir() => return Ok(()),
        Ok(_) => return bad("exists and is not a directory"),
        Err(e) if !missing(&e) => {
            return bad(&format!("cannot be used as a directory ({e})"));
        }
        Err(_) => {}
    }
    for ancestor in project.ancestors().skip(1) {
        match std::fs::metadata(ancestor) {
            Ok(m) if m.is_dir() => return Ok(()),
            Ok(_) => {
                return bad(&format!(
                    "cannot be created: {} is not a directory",
                    ancestor.display()
                ));
            }
            Err(e) if missing(&e) => continue,
            Err(e) => {
                return bad(&format!("cannot be created: {}: {e}", ancestor.display()));
            }
        }
    }
    Ok(())
}

/// "No such file", or "a parent is not a directory" (`FILE/sub`): look further up.
fn missing(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
    )
}

/// Whether `c` is an invisible formatting character: bidirectional controls
/// (U+202E turns the rest of a line around), zero-width characters, the BOM.
/// `char::is_control` covers only the C0/C1 controls.
pub(crate) fn is_format_control(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// The task text, from where `task` says: at most [`MAX_TASK_BYTES`] (never
/// more than that is read: `--task-file /dev/zero` is refused, not read to
/// the end), UTF-8, without NUL bytes, not empty.
pub fn read_task(task: &TaskSource, stdin: &mut dyn Read) -> Result<String> {
    let prompt = match task {
        TaskSource::Inline(t) => t.clone(),
        TaskSource::File(p) => {
            let file = std::fs::File::open(p)
                .map_err(|e| usage(format!("--task-file {}: {e}", p.display())))?;
            read_capped(file, &format!("--task-file {}", p.display()))?
        }
        TaskSource::Stdin => read_capped(stdin, "the task on stdin (--task-file -)")?,
    };
    if prompt.contains('\0') {
        return Err(usage(
            "the task contains NUL bytes (a binary file?): give it as text",
        ));
    }
    if prompt.trim().is_empty() {
        return Err(usage(
            "the task is empty: give it with -t TEXT or --task-file PATH",
        ));
    }
    Ok(prompt)
}

/// Read at most [`MAX_TASK_BYTES`] + 1 bytes of `what` as UTF-8 text.
fn read_capped(input: impl Read, what: &str) -> Result<String> {
    let mut bytes = Vec::new();
    input
        .take(MAX_TASK_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| usage(format!("{what}: {e}")))?;
    if bytes.len() > MAX_TASK_BYTES {
        return Err(usage(format!(
            "{what} is larger than {MAX_TASK_BYTES} bytes (16 MiB)"
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        usage(format!(
            "{what} is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// The checks of single flags and of flags against each other, whatever the backend.
pub(super) fn check_flags(opts: &RunOptions) -> Result<()> {
    if opts.limits.timeout_secs == 0 || opts.limits.timeout_secs > MAX_TIMEOUT_SECS {
        return Err(usage(format!(
            "--timeout must be between 1 and {MAX_TIMEOUT_SECS} seconds, got {}",
            opts.limits.timeout_secs
        )));
    }
    if opts.limits.grace_secs > 600 {
        return Err(usage("--grace must be at most 600 seconds"));
    }
    if let Some(r) = &opts.request.resume {
        check_token("--resume", r, 200)?;
        check_resume_value(r)?;
    }
    if opts.request.fork && opts.request.resume.is_none() {
        return Err(usage("--fork needs --resume ID (the session to fork from)"));
    }
    if let Some(m) = &opts.request.model {
        check_token("--model", m, 200)?;
    }
    if let Some(k) = &opts.session_key {
        check_token("--session", k, 1000)?;
    }
    if let Some(l) = &opts.label {
        if l.trim().is_empty() {
            return Err(usage("--label must not be empty"));
        }
        if l.chars().count() > 200 || l.chars().any(char::is_control) {
            return Err(usage(
                "--label must be at most 200 characters, without control characters",
            ));
        }
    }
    if opts.limits.max_auto_responds > 1000 {
        return Err(usage("--max-auto-responds must be at most 1000"));
    }
    if opts.chain.max_iterations.is_some_and(|n| n == 0 || n > 100) {
        return Err(usage("--max-iterations must be between 1 and 100"));
    }
    if opts.notify.heartbeat_secs.is_some_and(|h| h != 0 && h < 10) {
        return Err(usage("--heartbeat must be 0 (off) or at least 10 seconds"));
    }
    Ok(())
}

/// A `--resume` value names a session (or a run, or a wake: `RUN:wake:N`),
/// never a path: the same check as a session id read from a stream.
fn check_resume_value(value: &str) -> Result<()> {
    use crate::core::model::events::{check_resume_id, shown_resume_id};
    check_resume_id(value).map_err(|why| {
        usage(format!(
            "--resume {} is not a session id or run id: {why} (give the resume id of a result \
             message, or a run id from `clawrun list`)",
            shown_resume_id(value)
        ))
    })
}

/// The flags a backend must be able to honour, by its capabilities (`name`
/// only names it in the messages).
pub(super) fn check_capabilities(opts: &RunOptions, name: &str, caps: Capabilities) -> Result<()> {
    if opts.request.fork && !caps.fork {
        return Err(usage(format!(
            "--fork is not supported by the {name} backend (it cannot fork a session)"
        )));
    }
    let other_flag = |style: Option<PermissionStyle>| match style {
        Some(PermissionStyle::Mode) => format!("; for {name} use --permission-mode MODE"),
        Some(PermissionStyle::Sandbox) => format!("; for {name} use --sandbox MODE"),
        None => String::new(),
    };
    if opts.request.permission_mode.is_some()
        && opts.request.sandbox.is_none()
        && caps.permission != Some(PermissionStyle::Mode)
    {
        return Err(usage(format!(
            "--permission-mode is not an option of the {name} backend{}",
            other_flag(caps.permission)
        )));
    }
    if opts.request.sandbox.is_some()
        && opts.request.permission_mode.is_none()
        && caps.permission != Some(PermissionStyle::Sandbox)
    {
        return Err(usage(format!(
            "--sandbox is not an option of the {name} backend{}",
            other_flag(caps.permission)
        )));
    }
    if opts.request.no_search && !caps.search_toggle {
        return Err(usage(format!(
            "--no-search is not an option of the {name} backend (its web search has no switch)"
        )));
    }
    check_approvals(opts, name, caps)?;
    if opts.limits.multi_turn && !caps.live_input {
        return Err(usage(format!(
            "--multi-turn is not supported by the {name} backend ({name} takes no input while it \
             runs); continue a finished {name} run with `clawrun resume RUN \"message\"`"
        )));
    }
    Ok(())
}

/// `--approvals chat` needs a backend that asks over its live protocol; the
/// timeout is bounded. (A permission mode that bypasses every prompt is the
/// backend's to refuse, in `validate`.)
fn check_approvals(opts: &RunOptions, name: &str, caps: Capabilities) -> Result<()> {
    if opts.request.approvals != Some(ApprovalMode::Chat) {
        return Ok(());
    }
    if !caps.approvals {
        return Err(usage(format!(
            "--approvals chat is not supported by the {name} backend: it cannot ask before a \
             tool call while it runs (`codex exec` reads nothing while it runs and has no \
             approval request in its stream; use --sandbox to bound what it may do)"
        )));
    }
    let secs = opts.limits.approval_timeout_secs;
    if secs == 0 || secs > MAX_APPROVAL_TIMEOUT_SECS {
        return Err(usage(format!(
            "--approval-timeout must be between 1s and {MAX_APPROVAL_TIMEOUT_SECS}s, not {secs}s"
        )));
    }
    Ok(())
}

/// The backend's program must be there (found on `PATH`, or a path).
pub(super) fn check_program(backend: &AnyBackend, paths: &Paths) -> Result<()> {
    let program = backend.command(&RunRequest::default()).program;
    if find_program(&program, std::env::var("PATH").ok().as_deref()).is_none() {
        return Err(usage(format!(
            "{program} not found (PATH={}); install it, or set `program` under [{}] in {} or --backends FILE to its full path",
            std::env::var("PATH").unwrap_or_default(),
            backend.name(),
            paths.backends_file().display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn capabilities_decide_the_backend_flags() {
        let mut opts = RunOptions::new("x", TaskSource::Inline("t".into()));
        opts.request.fork = true;
        opts.request.resume = Some("r".into());
        let none = Capabilities::default();
        let err = check_capabilities(&opts, "x", none)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--fork is not supported by the x backend"),
            "{err}"
        );
        let fork = Capabilities {
            fork: true,
            ..Capabilities::default()
        };
        assert!(check_capabilities(&opts, "x", fork).is_ok());
        opts.request.fork = false;
        opts.request.sandbox = Some("read-only".into());
        let mode = Capabilities {
            permission: Some(PermissionStyle::Mode),
            ..Capabilities::default()
        };
        let err = check_capabilities(&opts, "x", mode)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "--sandbox is not an option of the x backend; for x use --permission-mode"
            ),
            "{err}"
        );
    }
}
