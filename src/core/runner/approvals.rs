//! `--approvals chat`: the runner's approver. Each [`Ask`] a protocol
//! reports is answered off the select loop: a spawned task asks the human
//! through the clawrun plugin's approvals route (the run keeps streaming and
//! sending heartbeats meanwhile), and its decision comes back to the loop,
//! which writes the answer through the protocol's encoder.
//!
//! Rules: `allow-always` allows the same tool (for a shell tool: the same
//! command word) for the rest of the run without asking again; a denial, no
//! answer in time, or any failure to ask (gateway down, plugin missing,
//! 4xx/5xx) is a deny the agent is told about, a chat message, and a line of
//! the result's and the wake's `Denied:` list. Nothing
//! is ever allowed without a human's decision. Every ask and answer is a line
//! of the run's `approvals.jsonl`.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::backends::{LiveInput, Protocol};
use crate::core::context::RunContext;
use crate::core::model::approval::{
    Allowed, Answer, ApprovalMode, Ask, Decision, MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS, clip,
};
use crate::core::model::events::AgentEvent;
use crate::core::model::route::Network;
use crate::core::now_secs;
use crate::core::openclaw::approvals::{ApprovalRequest, ApprovalRoute, request_approval};
use crate::core::openclaw::config as openclaw_config;
use crate::core::openclaw::gateway::GatewayClient;
use crate::core::store::fsutil;
use crate::core::store::paths::ProcessEnv;
use crate::core::store::run::RunSpec;

use super::supervisor::Supervisor;

/// Longest detail of a denied call in the result's `Denied:` line, in
/// characters (as the CLIs' own denials).
const DENIED_DETAIL_MAX: usize = 80;

/// The run file with one JSON line per ask and per answer.
pub const APPROVALS_FILE_NAME: &str = "approvals.jsonl";

/// How an ask was settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Settled {
    /// The human decided.
    Human(Decision),
    /// Allowed earlier with `allow-always`.
    Remembered,
    /// Nobody answered before the timeout.
    TimedOut,
    /// The approval could not be asked (why, for the chat and the agent).
    Failed(String),
    /// `--approvals off`: the agent asked anyway.
    Off,
}

/// An ask and how it was settled, from the approver task to the loop.
#[derive(Debug)]
pub(crate) struct Decided {
    ask: Ask,
    settled: Settled,
}

/// The approver's state for one run.
#[derive(Debug)]
pub(crate) struct Approvals {
    mode: ApprovalMode,
    allowed: Allowed,
    /// Asks sent to the human so far (request ids without a tool call id).
    asked: u64,
    tx: mpsc::UnboundedSender<Decided>,
    /// Decisions for the select loop.
    pub(crate) rx: mpsc::UnboundedReceiver<Decided>,
    client: Option<GatewayClient>,
}

impl Approvals {
    /// The approver of a run in `mode`; `configs` give the gateway (none: every
    /// ask fails, and is denied).
    pub(crate) fn new(mode: ApprovalMode, configs: Option<&RunContext>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let client = match mode {
            ApprovalMode::Off => None,
            ApprovalMode::Chat => configs.and_then(|c| {
                openclaw_config::gateway_client(&c.config, &c.openclaw, &ProcessEnv)
                    .inspect_err(|e| tracing::warn!("approvals: no gateway client: {e}"))
                    .ok()
            }),
        };
        Self {
            mode,
            allowed: Allowed::default(),
            asked: 0,
            tx,
            rx,
            client,
        }
    }
}

/// The approver of the run `spec` (the gateway of `ctx`'s config files).
pub(crate) fn for_run(spec: &RunSpec, ctx: &RunContext) -> Approvals {
    let mode = spec.request.approvals;
    Approvals::new(mode, (mode == ApprovalMode::Chat).then_some(ctx))
}

impl Approvals {
    /// Whether the run's agent keeps stdin open: multi-turn, or answering
    /// permission requests.
    pub(crate) fn live(&self, spec: &RunSpec) -> bool {
        spec.limits.multi_turn || self.mode == ApprovalMode::Chat
    }
}

/// The contract's request for `ask` in the run `spec`.
fn approval_request(spec: &RunSpec, ask: &Ask, counter: u64) -> ApprovalRequest {
    let subject = ask.subject().replace(['\n', '\r'], " ");
    let label = spec.label.clone().unwrap_or_else(|| spec.run_id.clone());
    let title = clip(&format!("{label}: {} {subject}", ask.tool), MAX_TITLE_CHARS);
    let named = match &spec.label {
        Some(l) => format!("{} ({l})", spec.run_id),
        None => spec.run_id.clone(),
    };
    let mut description = format!(
        "The agent of run {named} asks to use {}:\n{}",
        ask.tool,
        ask.subject()
    );
    if let Some(d) = ask.description.as_deref().filter(|d| *d != ask.subject()) {
        description.push_str(&format!("\n({d})"));
    }
    description.push_str(&format!("\nProject: {}", spec.request.project.display()));
    let route = &spec.route;
    let session_key = route
        .session_key
        .clone()
        .or_else(|| spec.session_key.clone());
    // A session key routes the prompt by the session's own chat; a route sent
    // beside it must name that chat exactly the way the gateway stored it, or
    // the gateway drops the chat and asks the approvers privately (measured
    // with OpenClaw 2026.9.6 and a Telegram topic). So: one or the other.
    let chat =
        (session_key.is_none() && route.channel != Network::Console).then(|| ApprovalRoute {
            channel: route.channel.as_str().to_owned(),
            to: route.target.clone(),
            thread_id: route.thread_id.clone(),
            account_id: route.account.clone(),
        });
    let id = ask
        .call_id
        .clone()
        .unwrap_or_else(|| format!("ask-{counter}"));
    ApprovalRequest {
        run_id: spec.run_id.clone(),
        request_id: format!("{}:{id}", spec.run_id),
        title,
        description: clip(&description, MAX_DESCRIPTION_CHARS),
        severity: ask.severity(),
        allowed_decisions: vec![Decision::AllowOnce, Decision::AllowAlways, Decision::Deny],
        timeout_ms: spec.limits.approval_timeout_secs.saturating_mul(1000),
        session_key,
        route: chat,
    }
}

/// Ask the human and wait (bounded: the HTTP timeout, and this outer one).
async fn decide(client: Option<GatewayClient>, req: ApprovalRequest) -> Settled {
    let Some(client) = client else {
        return Settled::Failed("no OpenClaw gateway is configured".to_owned());
    };
    let req = ApprovalRequest {
        title: client.redact(&req.title),
        description: client.redact(&req.description),
        ..req
    };
    let bound = Duration::from_millis(req.timeout_ms)
        + crate::core::openclaw::approvals::HTTP_MARGIN
        + Duration::from_secs(5);
    match tokio::time::timeout(bound, request_approval(&client, &req)).await {
        Ok(Ok(Some(d))) => Settled::Human(d),
        Ok(Ok(None)) => Settled::TimedOut,
        Ok(Err(e)) => Settled::Failed(e.to_string()),
        Err(_) => Settled::Failed("the gateway did not answer in time".to_owned()),
    }
}

impl Supervisor<'_> {
    /// Whether the agent runs with its stdin open: multi-turn, or answering
    /// permission requests.
    pub(crate) fn live(&self) -> bool {
        self.approvals.live(&self.spec)
    }

    /// New asks from the agent: settle each at once (off, allowed always) or
    /// hand it to an approver task.
    pub(crate) fn on_asks(&mut self, asks: &mut Vec<Ask>) {
        for ask in asks.drain(..) {
            self.log_approval("asked", &ask, None);
            let ap = &mut self.approvals;
            let now = match ap.mode {
                ApprovalMode::Off => Some(Settled::Off),
                ApprovalMode::Chat if ap.allowed.covers(&ask) => Some(Settled::Remembered),
                ApprovalMode::Chat => None,
            };
            if let Some(settled) = now {
                self.on_decided(Decided { ask, settled });
                continue;
            }
            ap.asked += 1;
            let req = approval_request(&self.spec, &ask, ap.asked);
            let (client, tx) = (ap.client.clone(), ap.tx.clone());
            tokio::spawn(async move {
                let settled = decide(client, req).await;
                let _ = tx.send(Decided { ask, settled });
            });
        }
    }

    /// A settled ask: remember `allow-always`, answer the agent, tell the
    /// chat about a denial.
    pub(crate) fn on_decided(&mut self, d: Decided) {
        let Decided { ask, settled } = d;
        let subject = clip(&ask.subject(), 200);
        let secs = self.spec.limits.approval_timeout_secs;
        let (answer, chat) = match &settled {
            Settled::Human(Decision::AllowOnce) | Settled::Remembered => (Answer::Allow, None),
            Settled::Human(Decision::AllowAlways) => {
                self.approvals.allowed.remember(&ask);
                (Answer::Allow, None)
            }
            Settled::Human(Decision::Deny) => (
                deny("The human denied this tool call in the chat."),
                Some(format!("🚫 Denied: {} `{subject}`", ask.tool)),
            ),
            Settled::TimedOut => (
                deny(&format!(
                    "Nobody answered the approval request within {secs}s, so it was denied."
                )),
                Some(format!(
                    "⌛ No answer within {secs}s: denied {} `{subject}`",
                    ask.tool
                )),
            ),
            Settled::Failed(why) => (
                deny(&format!(
                    "clawrun could not ask the human ({why}), so it was denied."
                )),
                Some(format!(
                    "⚠️ Could not ask for approval ({why}): denied {} `{subject}`",
                    ask.tool
                )),
            ),
            Settled::Off => (deny("Tool approvals are off for this run."), None),
        };
        self.log_approval("answered", &ask, Some((&settled, &answer)));
        if let Some(text) = chat {
            // Denied in the chat, unanswered, or not asked: the result and the
            // wake list it like a preset's denial (the same shape as the CLI's own).
            let mut denied = vec![AgentEvent::ToolDenied {
                tool: ask.tool.clone(),
                detail: clip(&ask.subject(), DENIED_DETAIL_MAX),
            }];
            self.apply_events(&mut denied, Instant::now());
            self.notifier.notice(&text);
        }
        let input = LiveInput::Answer {
            request_id: &ask.request_id,
            answer: &answer,
        };
        let sent = match (self.protocol.encode(input), &self.turns.input) {
            (Some(bytes), Some(tx)) => tx.send(bytes).is_ok(),
            _ => false,
        };
        if !sent {
            tracing::warn!("the agent's input is closed; the approval answer was dropped");
        }
        // Waiting for the human is not the agent being silent.
        self.state.touch(Instant::now());
    }

    /// One line of `approvals.jsonl`.
    fn log_approval(&self, event: &str, ask: &Ask, answer: Option<(&Settled, &Answer)>) {
        let mut v = serde_json::json!({
            "at": now_secs(),
            "event": event,
            "request_id": ask.request_id,
            "call_id": ask.call_id,
            "tool": ask.tool,
            "subject": clip(&ask.subject(), MAX_DESCRIPTION_CHARS),
        });
        if let (Some((settled, answer)), Some(obj)) = (answer, v.as_object_mut()) {
            obj.insert("settled".into(), format!("{settled:?}").into());
            obj.insert(
                "answer".into(),
                serde_json::to_value(answer).unwrap_or_default(),
            );
        }
        tracing::info!(
            "approval {event}: {} {}",
            ask.tool,
            clip(&ask.subject(), 80)
        );
        let _ = fsutil::append_line(&self.dir.file(APPROVALS_FILE_NAME), &v.to_string());
    }
}

fn deny(message: &str) -> Answer {
    Answer::Deny {
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn request_titles_are_capped_and_ids_stable() {
        let spec: RunSpec = serde_json::from_str(include_str!(
            "../../../tests/fixtures/runner/request-v1.json"
        ))
        .unwrap();
        let ask = Ask {
            request_id: "q".into(),
            call_id: Some("toolu_1".into()),
            tool: "Bash".into(),
            input: json!({"command": "x".repeat(300)}),
            description: None,
        };
        let req = approval_request(&spec, &ask, 1);
        assert_eq!(req.request_id, "20261201-034912-e7089f:toolu_1");
        assert_eq!(req.title.chars().count(), MAX_TITLE_CHARS);
        assert!(req.description.chars().count() <= MAX_DESCRIPTION_CHARS);
        assert_eq!(req.timeout_ms, 120_000);
        assert!(req.route.is_none());
    }
}
