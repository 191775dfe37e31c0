//! The Claude backend (stub, to be implemented).

use crate::backends::{AnyParser, Backend, CommandSpec, LineParser, Names, RunRequest};
use crate::core::events::AgentEvent;

/// The Claude backend.
#[derive(Debug, Clone, Default)]
pub struct ClaudeBackend;

/// Per-run parser for Claude output.
#[derive(Debug, Clone, Default)]
pub struct ClaudeParser;

impl LineParser for ClaudeParser {
    fn parse_line(&mut self, _line: &str) -> Vec<AgentEvent> {
        Vec::new()
    }
    fn finish(&mut self, _exit_code: Option<i32>, _stderr_tail: &str) -> Vec<AgentEvent> {
        Vec::new()
    }
}

impl Backend for ClaudeBackend {
    fn name(&self) -> &'static str {
        "claude"
    }
    fn names(&self) -> Names {
        Names {
            display: "Claude",
            tag: "Claude",
            result_marker: "",
        }
    }
    fn command(&self, _req: &RunRequest) -> CommandSpec {
        CommandSpec::default()
    }
    fn parser(&self) -> AnyParser {
        ClaudeParser.into()
    }
    fn registry_file(&self) -> &'static str {
        "claude_sessions.json"
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
