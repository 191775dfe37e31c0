//! `openclaw system event --session-key <key> --mode now --text <text>` as
//! the wake of a run that OpenClaw's agent `exec` started and whose follower
//! is gone (the gateway stopped or restarted): under `OPENCLAW_SHELL=exec`
//! the CLI refuses `openclaw agent`, and the gateway's `sessions_send`
//! refuses thread sessions (Telegram topics). A system event on the session
//! with an immediate heartbeat is what OpenClaw's own exit event of a
//! background exec does, and OpenClaw documents it for relaying "an
//! async-task completion back to the channel that started it".
//!
//! The text travels in argv, where every local user can read it in `ps`: so
//! it carries no result content, only what `clawrun list` shows anyway (the
//! status line, where the output file is) and how to read the result
//! ([`crate::core::notify::compact::render_argv_wake`]). The CLI runs with the
//! same cleaned environment, in its own process group, for a bounded time,
//! its output capped, as the `openclaw agent` wake ([`super::agent`]).

use std::path::Path;
use std::time::Duration;

use super::agent::{AgentWakeError, cli_command, run_bounded, tail};

/// How long the gateway may take to accept the event (the CLI's own RPC
/// timeout, passed as `--timeout`); the process gets [`SYSTEM_EVENT_GRACE`]
/// more.
pub const SYSTEM_EVENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Extra time the process gets beyond [`SYSTEM_EVENT_TIMEOUT`].
pub const SYSTEM_EVENT_GRACE: Duration = Duration::from_secs(15);

/// Wake the session `session_key` through `program` (`openclaw`) with
/// `text`, which must hold nothing secret or private (it is in argv). No
/// variable of the CLI's environment holds one of `hidden`; `clean` redacts
/// secrets from its output quoted in errors. Returns a short detail.
///
/// # Errors
/// [`AgentWakeError::Permanent`] when there is no key or the program cannot
/// start; transient when the gateway did not accept the event (the CLI
/// exits non-zero before anything is queued) or the CLI timed out.
pub async fn wake(
    program: &Path,
    session_key: Option<&str>,
    text: &str,
    hidden: &[&str],
    clean: &(dyn Fn(&str) -> String + Sync),
) -> Result<String, AgentWakeError> {
    let key = session_key
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            AgentWakeError::Permanent(
                "cannot wake the agent with `openclaw system event`: the route has no session key"
                    .to_owned(),
            )
        })?;
    let mut cmd = cli_command(program, hidden);
    cmd.args(["system", "event", "--session-key", key, "--mode", "now"])
        .arg("--timeout")
        .arg(SYSTEM_EVENT_TIMEOUT.as_millis().to_string())
        .arg("--text")
        .arg(text);
    let limit = SYSTEM_EVENT_TIMEOUT + SYSTEM_EVENT_GRACE;
    let output = run_bounded(cmd, program, limit, "system event").await?;
    if output.status.success() {
        return Ok("system event queued, immediate wake".to_owned());
    }
    let code = output
        .status
        .code()
        .map_or_else(|| "a signal".to_owned(), |c| format!("exit {c}"));
    let stderr = clean(&tail(&String::from_utf8_lossy(&output.stderr)));
    let reason = if stderr.is_empty() {
        clean(&tail(&String::from_utf8_lossy(&output.stdout)))
    } else {
        stderr
    };
    Err(AgentWakeError::Transient(format!(
        "`openclaw system event` wake failed ({code}): {reason}"
    )))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn script(dir: &Path, body: &str) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join("openclaw");
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[tokio::test]
    async fn a_refused_event_is_transient_and_a_missing_key_permanent() {
        let dir = tempfile::tempdir().unwrap();
        let fails = script(
            dir.path(),
            "echo 'gateway closed (1006) SECRET' >&2; exit 1",
        );
        let clean = |s: &str| s.replace("SECRET", "***");
        let e = wake(&fails, Some("agent:main:main"), "t", &[], &clean).await;
        assert!(
            matches!(e, Err(AgentWakeError::Transient(ref m)) if m.contains("gateway closed") && !m.contains("SECRET")),
            "{e:?}"
        );
        let ok = script(dir.path(), "echo ok");
        let e = wake(&ok, Some("  "), "t", &[], &clean).await;
        assert!(matches!(e, Err(AgentWakeError::Permanent(_))), "{e:?}");
        assert!(
            wake(&ok, Some("agent:main:main"), "t", &[], &clean)
                .await
                .is_ok()
        );
    }
}
