//! The lines Codex prints in a fixed layout, read by their head: the line's
//! type, and what follows it, are matched as the text Codex writes, and only
//! the fields the line maps from are read. Most of a run's lines are these;
//! each then costs a few compares where the general reader ([`Line`](super::Line)) looks
//! every key up. The layouts (0.169.0 and 0.171.0 alike):
//!
//! - `{"type":"turn.started"…}`, mapped to nothing;
//! - `{"type":"thread.started","thread_id":"…"}`;
//! - `{"type":"item.<phase>","item":{"id":"…","type":"…",…}}`: the item's
//!   fields after its type are read only for a command (`command`, and
//!   `exit_code`, in the order Codex writes them) and a finished message
//!   (`text`);
//! - `{"type":"turn.completed","usage":{…}}`;
//! - `{"type":"turn.failed","error":{"message":"…"}}` and
//!   `{"type":"error","message":"…"}`.
//!
//! Any other layout (keys in another order, an escaped string in the head, an
//! entry the general reader would read after the one read here) is left to
//! the general reader, which maps every line the same way; so is a line whose
//! rest is broken, for it to report. (`tests.rs` checks that both readers map
//! every line of the transcripts alike, and lines near these layouts.)

use std::borrow::Cow;

use super::{CodexParser, Phase, WireUsage};
use crate::backends::wire;
use crate::core::model::events::AgentEvent;

wire::record! {
    /// The rest of a `command_execution` item after its head: what a tool's
    /// start and end need.
    struct CommandRest<'a> {
        "command" => command: Option<wire::RawStr<'a>>,
        "exit_code" => exit_code: Option<i64>,
    }
}

wire::record! {
    /// The rest of a completed `agent_message` item after its head.
    struct TextRest<'a> {
        "text" => text: Option<Cow<'a, str>>,
    }
}

/// The head of an item line: `{"type":"item.<phase>","item":{"id":"…",
/// "type":"…"`, no string escaped (as 0.169.0 and 0.171.0 print it). Its
/// phase, the item's id and type, and the byte after the type.
fn item_head<'a>(
    kind: &str,
    rest: &'a str,
    line: &str,
) -> Option<(Phase, &'a str, &'a str, usize)> {
    let phase = match kind {
        "item.started" => Phase::Started,
        "item.updated" => Phase::Updated,
        "item.completed" => Phase::Completed,
        _ => return None,
    };
    let rest = rest.strip_prefix(",\"item\":{")?;
    let (id, rest) = wire::leading_str(rest, "\"id\"")?;
    let (kind, rest) = wire::leading_str(rest, ",\"type\"")?;
    Some((phase, id, kind, line.len() - rest.len()))
}

/// The rest of a `command_execution` item in the order Codex writes it
/// (`,"command":…,"aggregated_output":…,"exit_code":…`, then its status):
/// read key after key, with a compare each instead of a look-up. `false`
/// when it is written otherwise (or broken), `rest` then as it was.
fn command_in_order<'a>(line: &'a str, at: usize, rest: &mut CommandRest<'a>) -> bool {
    let mut sc = wire::Scanner::at(line, at);
    let (mut command, mut exit_code) = (None, None);
    if !(line.ends_with("}}") && sc.compact_key("command")) {
        return false;
    }
    wire::Field::read(&mut command, &mut sc);
    if !sc.compact_key("aggregated_output") {
        return false;
    }
    sc.skip();
    if !sc.compact_key("exit_code") {
        return false;
    }
    wire::Field::read(&mut exit_code, &mut sc);
    // The status and the closing braces: taken as read, as the general
    // reader takes them once it has both fields.
    sc.skip_line_rest();
    if sc.end().is_err() {
        return false;
    }
    (rest.command, rest.exit_code) = (command, exit_code);
    true
}

impl CodexParser {
    /// `line` (trimmed, an object) read by its head when it has one of the
    /// layouts above, mapped into `out`: `true`. `false`: not read, for the
    /// general reader.
    pub(super) fn by_head(&mut self, line: &str, out: &mut Vec<AgentEvent>) -> bool {
        let Some((kind, rest)) = wire::leading_str(line, "{\"type\"") else {
            return false;
        };
        match kind {
            // A turn's start maps to nothing.
            "turn.started" => line.ends_with('}'),
            "thread.started" => match wire::leading_str(rest, ",\"thread_id\"") {
                Some((id, "}")) => {
                    out.push(AgentEvent::SessionStarted {
                        resume_id: id.to_owned(),
                        model: None,
                        cli_version: None,
                    });
                    true
                }
                _ => false,
            },
            "turn.completed" => self.usage_by_head(rest, line, out),
            "turn.failed" => match rest.strip_prefix(",\"error\":{") {
                Some(error) => match wire::leading_str(error, "\"message\"") {
                    Some((message, "}}")) => {
                        self.turn_failed(Some(Cow::Borrowed(message)), out);
                        true
                    }
                    _ => false,
                },
                None => false,
            },
            "error" => match wire::leading_str(rest, ",\"message\"") {
                Some((message, "}")) => {
                    self.error(message.to_owned(), out);
                    true
                }
                _ => false,
            },
            _ => match item_head(kind, rest, line) {
                Some((phase, id, kind, at)) => self.item_by_head(phase, id, kind, line, at, out),
                None => false,
            },
        }
    }

    /// `{"type":"turn.completed","usage":{…}}`: a turn that ended well.
    fn usage_by_head(&mut self, rest: &str, line: &str, out: &mut Vec<AgentEvent>) -> bool {
        let Some(usage) = rest.strip_prefix(",\"usage\":{") else {
            return false;
        };
        let mut wire = WireUsage::default();
        if wire::parse_nested_rest(line, line.len() - usage.len(), true, false, &mut wire).is_err()
        {
            return false;
        }
        self.turn_completed(Some(wire), out);
        true
    }

    /// An item, from its head and the fields its type maps from (as
    /// [`CodexParser::item`] maps them).
    fn item_by_head(
        &mut self,
        phase: Phase,
        id: &str,
        kind: &str,
        line: &str,
        at: usize,
        out: &mut Vec<AgentEvent>,
    ) -> bool {
        match kind {
            "command_execution" => {
                let mut rest = CommandRest::default();
                let read = command_in_order(line, at, &mut rest)
                    || wire::parse_nested_rest(line, at, false, true, &mut rest).is_ok();
                if !read {
                    return false;
                }
                self.command(phase, id, rest.command, rest.exit_code, out);
            }
            "agent_message" if phase == Phase::Completed => {
                let mut rest = TextRest::default();
                if wire::parse_nested_rest(line, at, false, true, &mut rest).is_err() {
                    return false;
                }
                self.message(rest.text, out);
            }
            // Mapped from their id and type alone: the rest is taken as
            // read when the line ends as an item line does.
            "agent_message" | "todo_list" if line.ends_with("}}") => {}
            "reasoning" if line.ends_with("}}") => self.reasoning(phase, id, out),
            _ => return false,
        }
        true
    }
}
