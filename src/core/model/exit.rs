//! [`ExitStatus`]: what `clawrun` exits with, named. The numbers are a
//! promise to the scripts and agents that read them (README "Exit codes",
//! the skills' "Outcomes and exit codes"): [`ExitStatus::code`] is the one
//! place that spells them.

use serde::{Deserialize, Serialize};

use crate::core::model::state::Outcome;

/// How a `clawrun` command (or a run, [`crate::RunReport::exit_code`]) ended,
/// as its process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "u8", from = "u8")]
pub enum ExitStatus {
    /// 0: the task succeeded, the agent started (`--detach`), the input is
    /// valid (`--validate-only`), or the command did what it was asked.
    Success,
    /// 1: clawrun itself failed (the run is marked `crashed`), a run that
    /// succeeded could not save its output, or a command's check failed
    /// (`doctor`, `outbox flush`, …).
    Failure,
    /// 2: bad input; nothing was spawned and nothing was written.
    Usage,
    /// 3: the agent failed (API error, failed turn, no result).
    AgentFailed,
    /// 4: the run hit its time limit.
    Timeout,
    /// 5: the run was killed (SIGTERM/SIGINT/SIGHUP to the runner).
    Killed,
    /// 6: the session to resume was not found.
    ResumeFailed,
    /// 7: exec mode's follower left on a gateway stop or restart; the run
    /// goes on and wakes the agent itself.
    FollowerLeft,
    /// Another program's code, passed on as it is (a paired node's
    /// `clawrun`, which may be another version, or its shell's 127).
    External(u8),
}

impl ExitStatus {
    /// Every named status, in code order.
    pub const NAMED: [ExitStatus; 8] = [
        ExitStatus::Success,
        ExitStatus::Failure,
        ExitStatus::Usage,
        ExitStatus::AgentFailed,
        ExitStatus::Timeout,
        ExitStatus::Killed,
        ExitStatus::ResumeFailed,
        ExitStatus::FollowerLeft,
    ];

    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Usage => 2,
            ExitStatus::AgentFailed => 3,
            ExitStatus::Timeout => 4,
            ExitStatus::Killed => 5,
            ExitStatus::ResumeFailed => 6,
            ExitStatus::FollowerLeft => 7,
            ExitStatus::External(code) => code,
        }
    }

    /// The status for `code`: a named one when clawrun gives the code a
    /// meaning, else [`ExitStatus::External`].
    pub fn from_code(code: u8) -> ExitStatus {
        Self::NAMED
            .into_iter()
            .find(|s| s.code() == code)
            .unwrap_or(ExitStatus::External(code))
    }

    /// The status another program's exit code (a node's `clawrun`) is passed
    /// on as; `None` (a signal, no answer) or a code out of range is a
    /// [`ExitStatus::Failure`].
    pub fn from_external(code: Option<i32>) -> ExitStatus {
        code.and_then(|c| u8::try_from(c).ok())
            .map_or(ExitStatus::Failure, ExitStatus::from_code)
    }

    /// Whether this is [`ExitStatus::Success`].
    pub fn is_success(self) -> bool {
        self == ExitStatus::Success
    }
}

impl From<Outcome> for ExitStatus {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Completed => ExitStatus::Success,
            Outcome::Failed => ExitStatus::AgentFailed,
            Outcome::Timeout => ExitStatus::Timeout,
            Outcome::Killed => ExitStatus::Killed,
            Outcome::ResumeFailed => ExitStatus::ResumeFailed,
            Outcome::Crashed => ExitStatus::Failure,
        }
    }
}

impl From<ExitStatus> for u8 {
    fn from(status: ExitStatus) -> u8 {
        status.code()
    }
}

impl From<u8> for ExitStatus {
    fn from(code: u8) -> Self {
        ExitStatus::from_code(code)
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        std::process::ExitCode::from(status.code())
    }
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.code())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// The rows of README's "Exit codes" table: code → meaning.
    fn readme_rows() -> Vec<(u8, String)> {
        let readme = include_str!("../../../README.md");
        let table = readme
            .split("### Exit codes")
            .nth(1)
            .expect("README has an Exit codes section");
        table
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .filter_map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                Some((cells.get(1)?.parse().ok()?, cells.get(2)?.to_string()))
            })
            .collect()
    }

    #[test]
    fn the_named_statuses_are_readme_s_exit_code_table() {
        let rows = readme_rows();
        let codes: Vec<u8> = rows.iter().map(|(c, _)| *c).collect();
        let named: Vec<u8> = ExitStatus::NAMED.iter().map(|s| s.code()).collect();
        assert_eq!(codes, named, "README's codes vs ExitStatus::NAMED");
        // Each row says what its variant means.
        let says = |status: ExitStatus, words: &str| {
            let (_, meaning) = rows.iter().find(|(c, _)| *c == status.code()).unwrap();
            assert!(
                meaning.contains(words),
                "{status:?}: {meaning:?} lacks {words:?}"
            );
        };
        says(ExitStatus::Success, "succeeded");
        says(ExitStatus::Failure, "clawrun itself failed");
        says(ExitStatus::Usage, "bad input");
        says(ExitStatus::AgentFailed, "the agent failed");
        says(ExitStatus::Timeout, "timed out");
        says(ExitStatus::Killed, "killed");
        says(ExitStatus::ResumeFailed, "resume was not found");
        says(ExitStatus::FollowerLeft, "the follower left");
    }

    #[test]
    fn codes_go_both_ways_and_other_codes_pass_through() {
        for status in ExitStatus::NAMED {
            assert_eq!(ExitStatus::from_code(status.code()), status);
        }
        assert_eq!(ExitStatus::from_code(127), ExitStatus::External(127));
        assert_eq!(ExitStatus::from_code(127).code(), 127);
        assert_eq!(ExitStatus::from_external(Some(3)), ExitStatus::AgentFailed);
        assert_eq!(ExitStatus::from_external(Some(300)), ExitStatus::Failure);
        assert_eq!(ExitStatus::from_external(Some(-1)), ExitStatus::Failure);
        assert_eq!(ExitStatus::from_external(None), ExitStatus::Failure);
    }

    #[test]
    fn an_outcome_exits_with_its_documented_code() {
        let expect = [
            (Outcome::Completed, 0),
            (Outcome::Failed, 3),
            (Outcome::Timeout, 4),
            (Outcome::Killed, 5),
            (Outcome::ResumeFailed, 6),
            (Outcome::Crashed, 1),
        ];
        for (outcome, code) in expect {
            assert_eq!(outcome.exit_code().code(), code, "{outcome:?}");
        }
    }

    #[test]
    fn a_status_is_written_as_its_number() {
        assert_eq!(serde_json::to_string(&ExitStatus::Timeout).unwrap(), "4");
        assert_eq!(
            serde_json::from_str::<ExitStatus>("7").unwrap(),
            ExitStatus::FollowerLeft
        );
    }
}
