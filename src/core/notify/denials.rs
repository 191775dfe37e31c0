//! Tool calls the run's permission mode or sandbox refused, as one line for
//! the result message and the wake.

use std::path::Path;

/// What refused a run's denied tool calls: its preset, or the explicit flag.
pub(crate) fn denial_cause(req: &crate::backends::RunRequest) -> String {
    use crate::core::model::approval::ApprovalMode;
    if req.approvals == ApprovalMode::Chat {
        // The CLI asked; a denial is the human's (or a timeout's, or an
        // unreachable gateway's), each already told in the chat.
        return "the approvals in the chat".to_owned();
    }
    match req.permission.flag() {
        Some(flag) if req.permission_given => flag,
        _ => format!("the {} preset", req.safety),
    }
}

/// Most denied calls named in a result; the rest are counted.
const DENIALS_SHOWN: usize = 3;

/// `1 tool call denied by the read-only preset: Write src/x.rs` (paths inside
/// `project` made relative), or `None` when nothing was denied.
pub fn denials_line(denied: &[(String, String)], cause: &str, project: &Path) -> Option<String> {
    if denied.is_empty() {
        return None;
    }
    let prefix = format!("{}/", project.display());
    let named: Vec<String> = denied
        .iter()
        .take(DENIALS_SHOWN)
        .map(|(tool, detail)| {
            let detail = detail.strip_prefix(&prefix).unwrap_or(detail);
            if detail.is_empty() {
                tool.clone()
            } else {
                format!("{tool} {detail}")
            }
        })
        .collect();
    let n = denied.len();
    let more = if n > DENIALS_SHOWN {
        format!(", +{} more", n - DENIALS_SHOWN)
    } else {
        String::new()
    };
    let calls = if n == 1 { "tool call" } else { "tool calls" };
    Some(format!(
        "{n} {calls} denied by {cause}: {}{more}",
        named.join(", ")
    ))
}
