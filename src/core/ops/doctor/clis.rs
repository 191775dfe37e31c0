//! The checks of the coding-agent CLIs: `<program> --version` within the
//! timeout, compared with the version this build was tested with.

use std::path::Path;

use super::{Check, CheckStatus, DoctorOptions};
use crate::backends::config::{BACKEND_NAMES, BackendsConfig};
use crate::backends::{AnyBackend, Backend, RunRequest};
use crate::core::store::paths::Paths;
use crate::core::sys::programs::{self, find_version};

/// Check every CLI. One CLI missing is fine (use the other); none at all
/// means no run can start, so each is then a failure.
pub(super) async fn check_clis(
    paths: &Paths,
    backends: &BackendsConfig,
    opts: &DoctorOptions,
) -> Vec<Check> {
    let backends_path = opts
        .backends_file
        .clone()
        .unwrap_or_else(|| paths.backends_file());
    let mut cli_checks = Vec::new();
    for name in BACKEND_NAMES {
        let Ok(backend) = backends.backend(name) else {
            continue;
        };
        cli_checks.push(check_cli(&backend, &backends_path, opts).await);
    }
    let none_found = cli_checks.iter().all(|(found, _)| !found);
    cli_checks
        .into_iter()
        .map(|(_, mut check)| {
            if none_found {
                check.status = CheckStatus::Fail;
            }
            check
        })
        .collect()
}

/// `(found, check)`: `found` is false when the program does not exist.
async fn check_cli(
    backend: &AnyBackend,
    backends_path: &Path,
    opts: &DoctorOptions,
) -> (bool, Check) {
    let name = backend.name();
    let program = &backend.command(&RunRequest::default()).program;
    let tested = backend.tested_version();
    let names = backend.names();
    let install = format!("install {} (`{}`)", names.display, names.install);
    let where_set = format!("`program` under [{name}] in {}", backends_path.display());
    let output = match programs::run_version(Path::new(program), opts.timeout).await {
        Ok(o) => o,
        Err(programs::VersionError::NotFound) => {
            return (
                false,
                Check::new(
                    name,
                    CheckStatus::Warn,
                    format!("`{program}` not found (runs with --backend {name} cannot start)"),
                )
                .fix(format!("{install}, or set {where_set} to its path")),
            );
        }
        Err(programs::VersionError::Timeout) => {
            return (
                true,
                Check::new(
                    name,
                    CheckStatus::Fail,
                    format!(
                        "`{program} --version` did not answer within {}s",
                        opts.timeout.as_secs_f64()
                    ),
                )
                .fix(format!(
                    "run `{program} --version` by hand to see what it waits for (a login or update prompt?)"
                )),
            );
        }
        Err(programs::VersionError::Spawn(e)) => {
            return (
                true,
                Check::new(
                    name,
                    CheckStatus::Fail,
                    format!("cannot start `{program}`: {e}"),
                )
                .fix(format!(
                    "{install}, or set {where_set} to a working program"
                )),
            );
        }
    };
    let programs::VersionOutput {
        code,
        stdout,
        stderr,
    } = output;
    if code != Some(0) {
        let tail = last_line(&stderr).or_else(|| last_line(&stdout));
        return (
            true,
            Check::new(
                name,
                CheckStatus::Fail,
                format!(
                    "`{program} --version` exited with {}{}",
                    code.map_or_else(|| "a signal".to_owned(), |c| c.to_string()),
                    tail.map(|t| format!(": {t}")).unwrap_or_default()
                ),
            )
            .fix(format!("reinstall: {install}")),
        );
    }
    let Some(version) = find_version(&stdout) else {
        return (
            true,
            Check::new(
                name,
                CheckStatus::Warn,
                format!(
                    "`{program} --version` printed no version number ({})",
                    last_line(&stdout).unwrap_or_else(|| "nothing".to_owned())
                ),
            )
            .fix(format!(
                "check that {where_set} points at the real {name} CLI"
            )),
        );
    };
    (true, compare_versions(name, &version, tested, &install))
}

/// How the version found compares with the tested one.
pub(super) fn compare_versions(name: &str, version: &str, tested: &str, install: &str) -> Check {
    match (parse_version(version), parse_version(tested)) {
        (Some(have), Some(want)) if have == want => Check::new(
            name,
            CheckStatus::Ok,
            format!("{version} (the version this clawrun was tested with)"),
        ),
        (Some(have), Some(want)) if have < want => Check::new(
            name,
            CheckStatus::Warn,
            format!("{version} is older than the tested {tested}"),
        )
        .fix(format!("update: {install}")),
        (Some(have), Some(want)) if have.first() != want.first() => Check::new(
            name,
            CheckStatus::Warn,
            format!(
                "{version} is a newer major version than the tested {tested}; its event format may have changed"
            ),
        )
        .fix("if runs report unknown events, pin the tested version or update clawrun"),
        (Some(_), Some(_)) => Check::new(
            name,
            CheckStatus::Ok,
            format!("{version} (newer than the tested {tested})"),
        ),
        _ => Check::new(name, CheckStatus::Ok, format!("{version} (tested: {tested})")),
    }
}

pub(super) fn last_line(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .map(|l| l.chars().take(200).collect())
}

fn parse_version(v: &str) -> Option<Vec<u64>> {
    v.split('.').map(|p| p.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_number() {
        assert!(parse_version("0.169.0") < parse_version("0.170.0"));
        assert!(parse_version("2.1.197") > parse_version("2.1.9"));
    }
}
