//! The Codex backend (stub, to be implemented).

use crate::backends::{AnyParser, Backend, CommandSpec, LineParser, Names, RunRequest};
use crate::core::events::AgentEvent;

/// The Codex backend.
#[derive(Debug, Clone, Default)]
pub struct CodexBackend;

/// Per-run parser for Codex output.
#[derive(Debug, Clone, Default)]
pub struct CodexParser;

impl LineParser for CodexParser {
    fn parse_line(&mut self, _line: &str) -> Vec<AgentEvent> {
        Vec::new()
    }
    fn finish(&mut self, _exit_code: Option<i32>, _stderr_tail: &str) -> Vec<AgentEvent> {
        Vec::new()
    }
}

impl Backend for CodexBackend {
    fn name(&self) -> &'static str {
        "codex"
    }
    fn names(&self) -> Names {
        Names {
            display: "Codex",
            tag: "Codex",
            result_marker: "",
        }
    }
    fn command(&self, _req: &RunRequest) -> CommandSpec {
        CommandSpec::default()
    }
    fn parser(&self) -> AnyParser {
        CodexParser.into()
    }
    fn registry_file(&self) -> &'static str {
        "codex_sessions.json"
    }
    fn id_field(&self) -> &'static str {
        "session_id"
    }
    fn needs_git_repo(&self) -> bool {
        true
    }
    fn tested_version(&self) -> &'static str {
        ""
    }
}
