//! The result's `permission_denials`: the tool calls the permission mode
//! refused (`--permission-mode plan`, `acceptEdits` outside the project, …),
//! as [`AgentEvent::ToolDenied`].
//!
//! Shape (2.1.197 and 2.1.332, `tests/fixtures/claude-safety/`):
//! `[{"tool_name":"Write","tool_use_id":"toolu_…","tool_input":{"file_path":"/p/x.rs","content":"…"}}]`.

use super::Denial;
use crate::backends::wire;
use crate::core::model::events::AgentEvent;

/// Longest detail of a denied call, in characters.
const DETAIL_MAX: usize = 80;

/// One [`AgentEvent::ToolDenied`] per denial, appended to `out`.
pub(super) fn events(denials: &[Denial<'_>], out: &mut Vec<AgentEvent>) {
    for d in denials {
        let tool = d.tool_name.as_deref().unwrap_or("a tool").to_owned();
        let detail = d
            .tool_input
            .as_ref()
            .and_then(|i| {
                [
                    &i.file_path,
                    &i.notebook_path,
                    &i.path,
                    &i.command,
                    &i.url,
                    &i.pattern,
                ]
                .into_iter()
                .find_map(|v| v.as_deref())
            })
            .map(|v| wire::short(v, DETAIL_MAX))
            .unwrap_or_default();
        out.push(AgentEvent::ToolDenied { tool, detail });
    }
}
