//! The checks of the `[acp.<name>]` agents: the program is found (on PATH,
//! or a path that is an executable file), and its version when it answers
//! `--version` within the timeout. An agent that does not answer is still
//! fine (not every ACP agent has a `--version`); a missing one is a warning
//! with its install command, when its table gives one (`install`).

use std::path::Path;

use super::clis::{compare_versions, last_line};
use super::{Check, CheckStatus, DoctorOptions};
use crate::backends::config::BackendsConfig;
use crate::backends::{AnyBackend, Backend, RunRequest};
use crate::core::sys::programs::{self, find_program, find_version};

/// One check per `[acp.<name>]` table, in name order.
pub(super) async fn check_acp_agents(
    backends: &BackendsConfig,
    backends_path: &Path,
    opts: &DoctorOptions,
) -> Vec<Check> {
    let mut checks = Vec::new();
    for name in backends.acp.keys() {
        if let Ok(backend) = backends.backend(name) {
            checks.push(check_agent(&backend, backends_path, opts).await);
        }
    }
    checks
}

async fn check_agent(backend: &AnyBackend, backends_path: &Path, opts: &DoctorOptions) -> Check {
    let name = backend.name();
    let program = backend.command(&RunRequest::default()).program;
    let install = backend.names().install;
    let Some(path) = find_program(&program, std::env::var("PATH").ok().as_deref()) else {
        let how = if install.is_empty() {
            "install it".to_owned()
        } else {
            format!("install it (`{install}`)")
        };
        return Check::new(
            name,
            CheckStatus::Warn,
            format!("`{program}` not found (runs with --backend {name} cannot start)"),
        )
        .fix(format!(
            "{how}, or set `program` under [acp.{name}] in {} to its path",
            backends_path.display()
        ));
    };
    let at = path.display();
    let answer = match programs::run_version(&path, opts.timeout).await {
        Ok(out) if out.code == Some(0) => find_version(&out.stdout)
            .or_else(|| find_version(&out.stderr))
            .ok_or_else(|| {
                format!(
                    "`--version` printed no version: {}",
                    last_line(&out.stdout).unwrap_or_else(|| "nothing".to_owned())
                )
            }),
        Ok(out) => Err(format!(
            "`--version` exited with {}",
            out.code
                .map_or_else(|| "a signal".to_owned(), |c| c.to_string())
        )),
        Err(programs::VersionError::Timeout) => Err(format!(
            "`--version` did not answer within {}s",
            opts.timeout.as_secs_f64()
        )),
        Err(programs::VersionError::Spawn(e)) => Err(format!("`--version` could not run: {e}")),
        Err(programs::VersionError::NotFound) => Err("`--version` could not run".to_owned()),
    };
    let tested = backend.tested_version();
    match answer {
        Ok(version) if tested != "unknown" => {
            let how = if install.is_empty() {
                "reinstall the agent"
            } else {
                install
            };
            let mut check = compare_versions(name, &version, tested, how);
            check.detail = format!("{} ({at})", check.detail);
            check
        }
        Ok(version) => Check::new(name, CheckStatus::Ok, format!("{version} ({at})")),
        Err(why) => Check::new(
            name,
            CheckStatus::Ok,
            format!("found at {at}; version unknown ({why})"),
        ),
    }
}
