//! Leaving a systemd service's cgroup: the detached runner in its own scope.
//!
//! A detached runner is a `setsid` child, so a closing terminal, a
//! cancelled exec or a gateway restart does not reach it. A systemd service
//! is another matter: OpenClaw's unit uses `KillMode=mixed`, so stopping or
//! restarting the gateway's unit kills every process still in the unit's
//! cgroup, sessions or not. So when clawrun itself runs inside a service's
//! cgroup, and `systemd-run` is there and a systemd user manager answers,
//! the runner is started as `systemd-run --user --scope … -- clawrun
//! __runner …`: `systemd-run` moves itself into a new transient scope of the
//! user manager and execs the runner in place (same pid, session, environment,
//! descriptors). Anywhere else — no systemd, no user manager (a system unit
//! without lingering, a container), or not in a service at all (a terminal's
//! session scope) — the runner starts as before, and a stop of the service
//! kills it like the rest of the unit; the crash watcher of a later clawrun
//! command then closes the run as crashed.
//!
//! The choice is [`scope_prefix`], pure (the facts in, the argv out); the
//! facts are read by [`ScopeHost::probe`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::core::store::paths::{Env, Paths, ProcessEnv};
use crate::core::sys::programs::find_program;

/// What the choice depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeHost {
    /// The systemd service whose cgroup this process is in (its name), if any.
    pub service: Option<String>,
    /// `systemd-run`, when found on `PATH`.
    pub systemd_run: Option<PathBuf>,
    /// Whether the user's systemd manager accepted a connection.
    pub user_manager: bool,
}

impl ScopeHost {
    /// Read the facts: `/proc/self/cgroup`, `PATH`, and the user manager's
    /// sockets under `XDG_RUNTIME_DIR` (a connection is tried, nothing sent).
    pub fn probe(env: &dyn Env) -> Self {
        let cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let service = service_unit(&cgroup);
        if service.is_none() {
            // Not in a service: nothing to leave, nothing more to ask.
            return Self::default();
        }
        Self {
            service,
            systemd_run: find_program("systemd-run", env.var("PATH").as_deref()),
            user_manager: user_manager_answers(env),
        }
    }
}

/// The service unit (`….service`) at the leaf of this process's systemd
/// cgroup (the v2 `0::` line, or v1's `name=systemd` hierarchy), if any.
pub fn service_unit(cgroup: &str) -> Option<String> {
    let lines: Vec<&str> = cgroup.lines().collect();
    let line = lines
        .iter()
        .find(|l| {
            l.split(':')
                .nth(1)
                .is_some_and(|c| c.split(',').any(|c| c == "name=systemd"))
        })
        .or_else(|| lines.iter().find(|l| l.starts_with("0::")))?;
    let path = line.splitn(3, ':').nth(2)?;
    let leaf = path.rsplit('/').find(|p| !p.is_empty())?;
    leaf.ends_with(".service").then(|| leaf.to_owned())
}

/// The argv to put before the runner's own (`systemd-run --user --scope …
/// --`), or `None` to start it as is: when not in a service, without
/// `systemd-run` or a user manager, or when an argument the runner gets has a
/// `$` (`systemd-run` 254+ expands `${NAME}` in a scope's command line).
pub fn scope_prefix(host: &ScopeHost, run_id: &str, argv: &[&Path]) -> Option<Vec<OsString>> {
    host.service.as_ref()?;
    let program = host.systemd_run.as_ref()?;
    if !host.user_manager
        || argv
            .iter()
            .any(|a| a.as_os_str().to_string_lossy().contains('$'))
    {
        return None;
    }
    let unit: String = run_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    Some(vec![
        program.clone().into_os_string(),
        "--user".into(),
        "--scope".into(),
        "--quiet".into(),
        "--collect".into(),
        format!("--unit=clawrun-run-{unit}").into(),
        format!("--description=clawrun run {unit}").into(),
        "--".into(),
    ])
}

/// The command that starts the detached runner `exe` for the run in
/// `run_dir`: in its own scope where [`scope_prefix`] says so, else `exe`
/// itself. The runner's arguments are added by the caller.
pub fn runner_command(exe: &Path, paths: &Paths, run_dir: &Path) -> Command {
    let run_id = run_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let host = ScopeHost::probe(&ProcessEnv);
    let argv = [exe, &paths.state_dir, &paths.config_file, run_dir];
    match scope_prefix(&host, &run_id, &argv) {
        Some(prefix) => {
            tracing::info!(
                "the runner starts in its own systemd scope (leaving {})",
                host.service.as_deref().unwrap_or_default()
            );
            let mut cmd = Command::new(&prefix[0]);
            cmd.args(&prefix[1..]).arg(exe);
            cmd
        }
        None => {
            if let Some(service) = &host.service {
                tracing::info!(
                    "in systemd service {service} but no user scope is available \
                     (systemd-run: {}, user manager: {}): the runner stays in the unit",
                    host.systemd_run.is_some(),
                    host.user_manager
                );
            }
            Command::new(exe)
        }
    }
}

/// Whether the user's systemd manager takes a connection: its private
/// socket, or the user bus, under `XDG_RUNTIME_DIR`.
fn user_manager_answers(env: &dyn Env) -> bool {
    let Some(runtime) = env.var("XDG_RUNTIME_DIR") else {
        return false;
    };
    let runtime = Path::new(&runtime);
    [runtime.join("systemd/private"), runtime.join("bus")]
        .iter()
        .any(|s| std::os::unix::net::UnixStream::connect(s).is_ok())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const IN_GATEWAY_UNIT: &str =
        "0::/user.slice/user-1000.slice/user@1000.service/app.slice/openclaw-gateway.service\n";

    fn host() -> ScopeHost {
        ScopeHost {
            service: Some("openclaw-gateway.service".into()),
            systemd_run: Some("/usr/bin/systemd-run".into()),
            user_manager: true,
        }
    }

    #[test]
    fn the_service_is_read_from_the_cgroup() {
        assert_eq!(
            service_unit(IN_GATEWAY_UNIT).as_deref(),
            Some("openclaw-gateway.service")
        );
        let v1 = "12:pids:/\n1:name=systemd:/system.slice/openclaw.service\n0::/\n";
        assert_eq!(service_unit(v1).as_deref(), Some("openclaw.service"));
        // A terminal's session scope, a container's root, nothing readable.
        let session = "0::/user.slice/user-1000.slice/session-2.scope\n";
        assert_eq!(service_unit(session), None);
        assert_eq!(service_unit("0::/\n"), None);
        assert_eq!(service_unit(""), None);
        // The user manager itself is a service, but not the leaf here.
        let app = "0::/user.slice/user-1000.slice/user@1000.service/app.slice/run-r1.scope\n";
        assert_eq!(service_unit(app), None);
    }

    #[test]
    fn in_a_service_with_a_user_manager_the_runner_gets_its_own_scope() {
        let exe = Path::new("/usr/bin/clawrun");
        let prefix = scope_prefix(&host(), "20261206-ab/c", &[exe]).unwrap();
        let prefix: Vec<String> = prefix
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            prefix,
            [
                "/usr/bin/systemd-run",
                "--user",
                "--scope",
                "--quiet",
                "--collect",
                "--unit=clawrun-run-20261206-ab_c",
                "--description=clawrun run 20261206-ab_c",
                "--",
            ]
        );
    }

    #[test]
    fn without_any_one_fact_the_runner_starts_as_before() {
        let exe = Path::new("/usr/bin/clawrun");
        let cases = [
            ScopeHost {
                service: None,
                ..host()
            },
            ScopeHost {
                systemd_run: None,
                ..host()
            },
            ScopeHost {
                user_manager: false,
                ..host()
            },
        ];
        for h in cases {
            assert_eq!(scope_prefix(&h, "r1", &[exe]), None, "{h:?}");
        }
        let odd = Path::new("/home/u/$HOME/state");
        assert_eq!(scope_prefix(&host(), "r1", &[exe, odd]), None);
    }

    #[test]
    fn the_command_is_the_runner_itself_unless_a_scope_is_chosen() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = Paths::under(&tmp.path().join(".openclaw"));
        let exe = Path::new("/usr/bin/clawrun");
        let run_dir = paths.state_dir.join("runs/r1");
        let cmd = runner_command(exe, &paths, &run_dir);
        let argv = [exe, &paths.state_dir, &paths.config_file, &run_dir];
        // On this machine: whatever the probe finds decides (most test hosts
        // are not in a service with a user manager: the runner as is).
        match scope_prefix(&ScopeHost::probe(&ProcessEnv), "r1", &argv) {
            None => {
                assert_eq!(cmd.get_program(), exe);
                assert_eq!(cmd.get_args().count(), 0);
            }
            Some(prefix) => {
                assert_eq!(cmd.get_program(), prefix[0]);
                assert_eq!(cmd.get_args().last().unwrap(), exe);
            }
        }
    }

    #[test]
    fn the_probe_falls_back_where_no_user_manager_answers() {
        struct NoRuntime;
        impl Env for NoRuntime {
            fn var(&self, name: &str) -> Option<String> {
                (name == "PATH").then(|| "/usr/bin:/bin".to_owned())
            }
        }
        assert!(!user_manager_answers(&NoRuntime));
        let tmp = tempfile::tempdir().unwrap();
        struct Runtime(String);
        impl Env for Runtime {
            fn var(&self, name: &str) -> Option<String> {
                (name == "XDG_RUNTIME_DIR").then(|| self.0.clone())
            }
        }
        let env = Runtime(tmp.path().display().to_string());
        // No socket there: no manager.
        assert!(!user_manager_answers(&env));
        // A listening socket where the manager's private one lives answers.
        std::fs::create_dir(tmp.path().join("systemd")).unwrap();
        let _l =
            std::os::unix::net::UnixListener::bind(tmp.path().join("systemd/private")).unwrap();
        assert!(user_manager_answers(&env));
    }
}
