//! The `openclaw agent` CLI as a way to wake an agent: `openclaw agent
//! --session-id <uuid> --message-file <file> --deliver --json` (or
//! `--session-key`), and the judgement of what it printed. Used by the
//! telegram-direct channel, and by message-tool for thread sessions, which
//! the gateway's `sessions_send` refuses.
//!
//! The wake text never goes in argv (every local user can read it in `ps`):
//! it goes in a 0600 file in a 0700 directory, removed when the wake returns.
//! The CLI runs in its own process group; on timeout the whole group is
//! killed. It runs with a cleaned environment ([`wake_env`]): what OpenClaw
//! needs to find its config and reach the gateway, never the Telegram bot
//! token or another secret of the runner's environment.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::core::sys::child_output::CappedOutput;
use crate::core::sys::programs::{Bounded, output_within};

/// The variable OpenClaw's agent `exec` tool sets in its child's environment
/// (with the value [`OPENCLAW_SHELL_EXEC`]). With it the `openclaw` CLI
/// refuses `agent` (and `sessions.send`, `chat.send`) before connecting, and
/// says not to work around it ("Do not retry through another CLI route or
/// remove the exec marker"). `openclaw system event --session-key` is not
/// refused: it is what a run there wakes with ([`super::system_event`]).
pub const OPENCLAW_SHELL_ENV: &str = "OPENCLAW_SHELL";
/// The value of [`OPENCLAW_SHELL_ENV`] under the agent's `exec` tool.
pub const OPENCLAW_SHELL_EXEC: &str = "exec";

/// Whether this environment is under OpenClaw's agent `exec` tool (where
/// `openclaw agent` is refused).
pub fn in_openclaw_exec(env: &dyn crate::core::store::paths::Env) -> bool {
    env.var(OPENCLAW_SHELL_ENV).as_deref() == Some(OPENCLAW_SHELL_EXEC)
}

/// Most extra time the wake process gets beyond its own `--timeout` (at most
/// the timeout itself again).
pub const WAKE_GRACE: Duration = Duration::from_secs(15);

/// Bytes kept of each of the CLI's output streams (its JSON answer is a few
/// kilobytes; the rest of a flood is read and dropped).
const WAKE_OUTPUT_CAP: usize = 1024 * 1024;

/// Characters of the CLI's output quoted in an error.
const WAKE_OUTPUT_TAIL: usize = 400;

/// How a failed wake starts when the agent ran but its reply was not
/// delivered (the human is told in those words).
pub const WOKEN_BUT_UNDELIVERED: &str = "the agent was woken and answered, but";

/// Why a wake through `openclaw agent` failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentWakeError {
    /// Retrying cannot help (no chat for the session, a turn that ran but
    /// was not delivered: retrying would run the agent again).
    #[error("{0}")]
    Permanent(String),
    /// It may work later (the gateway is down, the CLI timed out).
    #[error("{0}")]
    Transient(String),
}

/// Who to wake and with what.
#[derive(Debug, Clone, Copy)]
pub struct AgentWake<'a> {
    /// The session's uuid (preferred: thread sessions need it).
    pub session_id: Option<&'a str>,
    /// The session key, when no uuid is known.
    pub session_key: Option<&'a str>,
    /// The message for the agent.
    pub text: &'a str,
    /// Secret values no variable of the wake's environment may hold (the
    /// bot token, whatever variable it came from).
    pub hidden: &'a [&'a str],
}

/// Variables passed to the wake as they are: finding programs and the home
/// directory, locale and time zone, temporary files, proxies and CA
/// certificates, Node's own settings. With every `OPENCLAW_*` variable
/// (OpenClaw's config and state paths, profile, gateway URL and credentials:
/// `OPENCLAW_GATEWAY_TOKEN` is how the CLI may authenticate), these are the
/// whole environment.
const WAKE_ENV_NAMES: [&str; 30] = [
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "TZ",
    "TMPDIR",
    "TERM",
    "NO_COLOR",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "XDG_CACHE_HOME",
    "XDG_RUNTIME_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NODE_OPTIONS",
    "NODE_EXTRA_CA_CERTS",
    "NODE_PATH",
];

/// The variable the `openclaw` CLI reads for its gateway's WebSocket URL
/// (instead of `ws://127.0.0.1:<port of its own config>`).
pub const OPENCLAW_GATEWAY_URL_ENV: &str = "OPENCLAW_GATEWAY_URL";

/// The gateway's WebSocket URL for `openclaw` from clawrun's HTTP gateway
/// URL (`http://H:P` → `ws://H:P`, `https` → `wss`); `None` for another
/// scheme. Pure.
pub fn gateway_ws_url(http_url: &str) -> Option<String> {
    let url = http_url.trim().trim_end_matches('/');
    let (scheme, rest) = url.split_once("://")?;
    let ws = match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => "ws",
        "https" | "wss" => "wss",
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    (!authority.is_empty()).then(|| format!("{ws}://{authority}"))
}

/// The wake's environment, from the runner's `vars`: the variables named in
/// `WAKE_ENV_NAMES` (PATH, HOME, locale, proxies…), `LC_*` and `OPENCLAW_*`,
/// except any whose value holds one of `hidden`. Everything else (`TELEGRAM_BOT_TOKEN`, a configured
/// `bot_token_env`, model API keys, other tokens) is left out. A run that
/// `run --node` started on a node (`CLAWRUN_GATEWAY_URL` set) wakes through
/// the gateway it was given: `OPENCLAW_GATEWAY_URL` is set from it, unless
/// the environment sets it already (the node's own OpenClaw config points
/// at its own loopback port, where no gateway listens). Pure.
pub fn wake_env(
    vars: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
    hidden: &[&str],
) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
    let mut node_gateway = None;
    let mut env: Vec<_> = vars
        .into_iter()
        .inspect(|(name, value)| {
            if name == crate::core::openclaw::config::GATEWAY_URL_ENV_NAME {
                node_gateway = gateway_ws_url(&value.to_string_lossy());
            }
        })
        .filter(|(name, value)| {
            let name = name.to_string_lossy();
            let wanted = WAKE_ENV_NAMES.contains(&name.as_ref())
                || name.starts_with("LC_")
                || name.starts_with("OPENCLAW_");
            let secret = hidden
                .iter()
                .any(|h| !h.is_empty() && value.to_string_lossy().contains(h));
            wanted && !secret
        })
        .collect();
    let has_url = env.iter().any(|(n, _)| n == OPENCLAW_GATEWAY_URL_ENV);
    if let Some(url) = node_gateway.filter(|_| !has_url) {
        env.push((OPENCLAW_GATEWAY_URL_ENV.into(), url.into()));
    }
    env
}

/// Wake the agent through `program` (`openclaw`), allowing `turn_timeout`
/// for its turn. `clean` redacts secrets from the CLI output quoted in
/// errors. Returns a short detail of the delivered turn.
///
/// # Errors
/// [`AgentWakeError`], permanent or transient.
pub async fn wake(
    program: &Path,
    turn_timeout: Duration,
    wake: AgentWake<'_>,
    clean: &(dyn Fn(&str) -> String + Sync),
) -> Result<String, AgentWakeError> {
    let mut cmd = cli_command(program, wake.hidden);
    cmd.arg("agent");
    match (
        wake.session_id.filter(|s| !s.is_empty()),
        wake.session_key.filter(|s| !s.is_empty()),
    ) {
        (Some(id), _) => cmd.args(["--session-id", id]),
        (None, Some(key)) => cmd.args(["--session-key", key]),
        (None, None) => {
            return Err(AgentWakeError::Permanent(
                "cannot wake the agent with `openclaw agent`: no session id or session key"
                    .to_owned(),
            ));
        }
    };
    // Removed when this returns (the `TempDir` guard).
    let message = write_message_file(wake.text)?;
    cmd.arg("--message-file")
        .arg(message.path().join(WAKE_MESSAGE_FILE_NAME))
        .args(["--deliver", "--json", "--timeout"])
        .arg(turn_timeout.as_secs().max(1).to_string());
    let limit = turn_timeout + WAKE_GRACE.min(turn_timeout);
    let output = run_bounded(cmd, program, limit, "agent").await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let json = parse_json_object(&stdout);
    judge_wake(
        output.status.code(),
        json.as_ref(),
        &clean(&tail(&stdout)),
        &clean(&tail(&stderr)),
    )
}

/// `program` ready to run as a wake: the cleaned environment ([`wake_env`]
/// without `hidden`), no stdin, piped output, its own process group, killed
/// when dropped.
pub(crate) fn cli_command(program: &Path, hidden: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(program);
    cmd.env_clear()
        .envs(wake_env(std::env::vars_os(), hidden))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    cmd
}

/// Run `cmd` (from [`cli_command`]; `program` its program, `what` its
/// subcommand, for errors) for at most `limit`, keeping the first
/// [`WAKE_OUTPUT_CAP`] bytes of each stream; on timeout its whole process
/// group is killed.
///
/// # Errors
/// Permanent when it cannot start, transient when waiting fails or it
/// outlives `limit`.
pub(crate) async fn run_bounded(
    cmd: tokio::process::Command,
    program: &Path,
    limit: Duration,
    what: &str,
) -> Result<CappedOutput, AgentWakeError> {
    match output_within(cmd, limit, WAKE_OUTPUT_CAP).await {
        Ok(out) => Ok(out),
        Err(Bounded::Spawn(e)) => Err(AgentWakeError::Permanent(format!(
            "cannot run {} for the wake ({e}); set telegram.openclaw_program in clawrun.toml",
            program.display()
        ))),
        Err(Bounded::Wait(e)) => Err(AgentWakeError::Transient(format!(
            "waiting for {}: {e}",
            program.display()
        ))),
        Err(Bounded::Timeout) => Err(AgentWakeError::Transient(format!(
            "`{} {what}` did not finish within {}s",
            program.display(),
            limit.as_secs()
        ))),
    }
}

/// Name of the wake text's file inside its private temp directory.
const WAKE_MESSAGE_FILE_NAME: &str = "wake.txt";

/// A private temp directory (0700) holding the wake text in a 0600 file, for
/// `openclaw agent --message-file`.
fn write_message_file(text: &str) -> Result<tempfile::TempDir, AgentWakeError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let failed = |e: std::io::Error| {
        AgentWakeError::Transient(format!("writing the wake text to a private file: {e}"))
    };
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("clawrun-wake-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
        .map_err(failed)?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dir.path().join(WAKE_MESSAGE_FILE_NAME))
        .map_err(failed)?;
    file.write_all(text.as_bytes()).map_err(failed)?;
    Ok(dir)
}

/// The last characters of `s`, trimmed, for an error.
pub(crate) fn tail(s: &str) -> String {
    let s = s.trim();
    let start = s
        .char_indices()
        .rev()
        .nth(WAKE_OUTPUT_TAIL)
        .map_or(0, |(i, _)| i);
    s[start..].to_owned()
}

/// The JSON object in the CLI's stdout (which may have log lines before it).
fn parse_json_object(stdout: &str) -> Option<Value> {
    if let Ok(v) = serde_json::from_str::<Value>(stdout.trim()) {
        return Some(v);
    }
    let start = stdout.find('{')?;
    let mut stream = serde_json::Deserializer::from_str(&stdout[start..]).into_iter::<Value>();
    stream.next()?.ok()
}

/// Reasons of a failed `openclaw agent` that retrying cannot fix: the session
/// has no chat to deliver to (an unknown `--session-id` makes the CLI create
/// an empty session, which then "requires target"), or it does not exist.
const PERMANENT_WAKE_ERRORS: [&str; 3] =
    ["requires target", "unknown session", "session not found"];

/// Decide whether `openclaw agent --deliver --json` succeeded.
///
/// A non-zero exit is transient (the CLI fails fast before running a turn when the
/// gateway is down, so retrying cannot wake twice), unless its reason is one of
/// [`PERMANENT_WAKE_ERRORS`]; a completed turn whose reply was not delivered is
/// permanent (retrying would run the agent again). The messages are for the
/// human who is told the agent was not woken.
fn judge_wake(
    code: Option<i32>,
    json: Option<&Value>,
    stdout_tail: &str,
    stderr_tail: &str,
) -> Result<String, AgentWakeError> {
    let error_message = json
        .and_then(|v| v.pointer("/error/message"))
        .and_then(Value::as_str);
    if code != Some(0) {
        let reason = error_message
            .map(str::to_owned)
            .or_else(|| (!stderr_tail.is_empty()).then(|| stderr_tail.to_owned()))
            .unwrap_or_else(|| stdout_tail.to_owned());
        let code = code.map_or_else(|| "a signal".to_owned(), |c| format!("exit {c}"));
        let lower = reason.to_lowercase();
        if PERMANENT_WAKE_ERRORS.iter().any(|p| lower.contains(p)) {
            return Err(AgentWakeError::Permanent(format!(
                "OpenClaw has no chat to deliver this session's reply to; check the run's \
                 --session / --notify-session-id (`openclaw agent`, {code}: {reason})"
            )));
        }
        return Err(AgentWakeError::Transient(format!(
            "`openclaw agent` wake failed ({code}): {reason}"
        )));
    }
    let Some(v) = json else {
        return Err(AgentWakeError::Permanent(format!(
            "`openclaw agent --json` printed no JSON: {stdout_tail}"
        )));
    };
    if let Some(m) = error_message {
        return Err(AgentWakeError::Permanent(format!(
            "`openclaw agent` wake failed: {m}"
        )));
    }
    let status = v.get("status").and_then(Value::as_str).unwrap_or("missing");
    let summary = v.get("summary").and_then(Value::as_str);
    if status != "ok" || summary.is_some_and(|s| s != "completed") {
        return Err(AgentWakeError::Permanent(format!(
            "the woken agent's turn did not complete (status {status}, summary {})",
            summary.unwrap_or("none")
        )));
    }
    let delivery = v
        .get("deliveryStatus")
        .or_else(|| v.pointer("/result/deliveryStatus"));
    let succeeded = delivery
        .and_then(|d| d.get("succeeded"))
        .and_then(Value::as_bool);
    if succeeded != Some(true) {
        let d_status = delivery
            .and_then(|d| d.get("status"))
            .and_then(Value::as_str);
        return Err(AgentWakeError::Permanent(match d_status {
            Some(s) => format!(
                "{WOKEN_BUT_UNDELIVERED} its reply was not delivered to the chat \
                 (OpenClaw reported \"{s}\")"
            ),
            None => format!(
                "{WOKEN_BUT_UNDELIVERED} OpenClaw did not confirm that its reply reached the chat"
            ),
        }));
    }
    let run = v.get("runId").and_then(Value::as_str).unwrap_or("?");
    Ok(format!("completed and delivered runId={run}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn wake_json_is_judged() {
        let ok = json!({"runId":"r1","status":"ok","summary":"completed",
            "deliveryStatus":{"requested":true,"attempted":true,"status":"sent","succeeded":true}});
        assert!(judge_wake(Some(0), Some(&ok), "", "").is_ok());
        let undelivered = json!({"status":"ok","summary":"completed",
            "result":{"deliveryStatus":{"status":"failed","succeeded":false}}});
        let e = judge_wake(Some(0), Some(&undelivered), "", "");
        assert!(
            matches!(e, Err(AgentWakeError::Permanent(ref m)) if m.contains("failed")),
            "{e:?}"
        );
        let failed = json!({"ok":false,"error":{"type":"cli_error","message":"Delivering to Telegram requires target <chatId>"}});
        let e = judge_wake(Some(1), Some(&failed), "", "");
        assert!(
            matches!(e, Err(AgentWakeError::Permanent(ref m)) if m.contains("requires target")),
            "{e:?}"
        );
        let down =
            json!({"ok":false,"error":{"type":"cli_error","message":"gateway closed (1006)"}});
        let e = judge_wake(Some(1), Some(&down), "", "");
        assert!(matches!(e, Err(AgentWakeError::Transient(_))), "{e:?}");
        let unconfirmed = json!({"status":"ok","summary":"completed"});
        let e = judge_wake(Some(0), Some(&unconfirmed), "", "");
        assert!(
            matches!(e, Err(AgentWakeError::Permanent(ref m)) if !m.contains("deliveryStatus") && m.contains("did not confirm")),
            "{e:?}"
        );
    }

    #[test]
    fn the_wake_environment_keeps_what_openclaw_needs_and_no_secret() {
        let vars = [
            ("PATH", "/usr/bin"),
            ("HOME", "/home/u"),
            ("LC_TIME", "C"),
            ("OPENCLAW_STATE_DIR", "/s"),
            ("OPENCLAW_GATEWAY_TOKEN", "gw"),
            ("OPENCLAW_MY_BOT", "123:bot"),
            ("TELEGRAM_BOT_TOKEN", "123:bot"),
            ("ANTHROPIC_API_KEY", "sk"),
            ("NODE_AUTH_TOKEN", "npm"),
        ]
        .map(|(n, v)| (n.into(), v.into()));
        let env = wake_env(vars, &["123:bot"]);
        let names: Vec<String> = env
            .iter()
            .map(|(n, _)| n.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "PATH",
                "HOME",
                "LC_TIME",
                "OPENCLAW_STATE_DIR",
                "OPENCLAW_GATEWAY_TOKEN"
            ]
        );
    }

    #[test]
    fn a_node_run_s_wake_goes_to_the_gateway_it_was_given() {
        let vars = |extra: &[(&str, &str)]| {
            let mut v: Vec<(std::ffi::OsString, std::ffi::OsString)> = vec![(
                "CLAWRUN_GATEWAY_URL".into(),
                "http://10.0.0.5:18999/".into(),
            )];
            v.extend(extra.iter().map(|(n, v)| ((*n).into(), (*v).into())));
            v
        };
        let url = |env: Vec<(std::ffi::OsString, std::ffi::OsString)>| {
            env.into_iter()
                .find(|(n, _)| n == OPENCLAW_GATEWAY_URL_ENV)
                .map(|(_, v)| v.to_string_lossy().into_owned())
        };
        assert_eq!(
            url(wake_env(vars(&[]), &[])).as_deref(),
            Some("ws://10.0.0.5:18999")
        );
        let own = vars(&[(OPENCLAW_GATEWAY_URL_ENV, "wss://gw.example:443")]);
        assert_eq!(
            url(wake_env(own, &[])).as_deref(),
            Some("wss://gw.example:443")
        );
        let local = [("PATH".into(), "/usr/bin".into())];
        assert_eq!(url(wake_env(local, &[])), None);
        assert_eq!(
            gateway_ws_url("https://gw.example/base").as_deref(),
            Some("wss://gw.example")
        );
        assert_eq!(gateway_ws_url("ftp://x"), None);
    }

    #[test]
    fn json_after_log_lines_is_found() {
        let v = parse_json_object("warn: something\n{\"status\":\"ok\"}\n");
        assert_eq!(v, Some(json!({"status":"ok"})));
    }
}
