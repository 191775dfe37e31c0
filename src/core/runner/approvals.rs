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

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::core::context::RunContext;
use crate::core::model::approval::{
    Allowed, Answer, ApprovalMode, Ask, Decision, LogEvent, LogLine, MAX_DESCRIPTION_CHARS,
    MAX_TITLE_CHARS, Settled, clip,
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

/// Longest detail of a denied call in the result's `Denied:` line, in
/// characters (as the CLIs' own denials).
const DENIED_DETAIL_MAX: usize = 80;

/// The run file with one JSON line per ask and per answer.
pub const APPROVALS_FILE_NAME: &str = "approvals.jsonl";

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
    /// The run's `approvals.jsonl` (`None`: not logged).
    log: Option<PathBuf>,
    /// How long the human has to answer (`--approval-timeout`), for the messages.
    timeout_secs: u64,
}

/// What the loop does with a settled ask: answer the agent and, for a
/// denial, count it with the run's denials and tell the chat.
#[derive(Debug)]
pub(crate) struct Settlement {
    /// The protocol's id of the request.
    pub(crate) request_id: String,
    /// The answer, for the protocol to encode.
    pub(crate) answer: Answer,
    /// A call denied in the chat, unanswered, or not asked: the event for
    /// the result's and the wake's `Denied:` line, and the chat message.
    pub(crate) denied: Option<(AgentEvent, String)>,
}

impl Approvals {
    /// The approver of a run in `mode`; `configs` give the gateway (none: every
    /// ask fails, and is denied).
    pub(crate) fn new(mode: ApprovalMode, configs: Option<&RunContext>, timeout_secs: u64) -> Self {
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
            log: None,
            timeout_secs,
        }
    }
}

/// The approver of the run `spec` in `run_dir` (the gateway of `ctx`'s
/// config files).
pub(crate) fn for_run(spec: &RunSpec, run_dir: &Path, ctx: &RunContext) -> Approvals {
    let mode = spec.request.approvals;
    let configs = (mode == ApprovalMode::Chat).then_some(ctx);
    Approvals {
        log: Some(run_dir.join(APPROVALS_FILE_NAME)),
        ..Approvals::new(mode, configs, spec.limits.approval_timeout_secs)
    }
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
    let label = spec.name();
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

impl Approvals {
    /// New asks from the agent: each is logged, then settled at once (off,
    /// allowed always: returned) or handed to an approver task, whose
    /// decision comes back on [`Approvals::rx`].
    pub(crate) fn on_asks(&mut self, asks: &mut Vec<Ask>, spec: &RunSpec) -> Vec<Decided> {
        let mut now = Vec::new();
        for ask in asks.drain(..) {
            self.log(LogEvent::Asked, &ask, None);
            let settled = match self.mode {
                ApprovalMode::Off => Some(Settled::Off),
                ApprovalMode::Chat if self.allowed.covers(&ask) => Some(Settled::Remembered),
                ApprovalMode::Chat => None,
            };
            if let Some(settled) = settled {
                now.push(Decided { ask, settled });
                continue;
            }
            self.asked += 1;
            let req = approval_request(spec, &ask, self.asked);
            let (client, tx) = (self.client.clone(), self.tx.clone());
            tokio::spawn(async move {
                let settled = decide(client, req).await;
                let _ = tx.send(Decided { ask, settled });
            });
        }
        now
    }

    /// A settled ask: remember `allow-always`, log the answer, and say what
    /// the agent and the chat are told.
    pub(crate) fn settle(&mut self, d: Decided) -> Settlement {
        let Decided { ask, settled } = d;
        let subject = clip(&ask.subject(), 200);
        let secs = self.timeout_secs;
        let (answer, chat) = match &settled {
            Settled::Human(Decision::AllowOnce) | Settled::Remembered => (Answer::Allow, None),
            Settled::Human(Decision::AllowAlways) => {
                self.allowed.remember(&ask);
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
        self.log(LogEvent::Answered, &ask, Some((settled, answer.clone())));
        // Listed in the result and the wake like a preset's denial (the same
        // shape as the CLI's own).
        let denied = chat.map(|text| {
            let event = AgentEvent::ToolDenied {
                tool: ask.tool.clone(),
                detail: clip(&ask.subject(), DENIED_DETAIL_MAX),
            };
            (event, text)
        });
        Settlement {
            request_id: ask.request_id,
            answer,
            denied,
        }
    }

    /// One line of `approvals.jsonl`.
    fn log(&self, event: LogEvent, ask: &Ask, answer: Option<(Settled, Answer)>) {
        let (settled, answer) = answer.unzip();
        let line = LogLine {
            at: now_secs(),
            event,
            request_id: ask.request_id.clone(),
            call_id: ask.call_id.clone(),
            tool: ask.tool.clone(),
            subject: clip(&ask.subject(), MAX_DESCRIPTION_CHARS),
            settled,
            answer,
        };
        tracing::info!(
            "approval {}: {} {}",
            match event {
                LogEvent::Asked => "asked",
                LogEvent::Answered => "answered",
            },
            ask.tool,
            clip(&ask.subject(), 80)
        );
        let Some(path) = &self.log else {
            return;
        };
        match serde_json::to_string(&line) {
            Ok(text) => {
                let _ = fsutil::append_line(path, &text);
            }
            Err(e) => tracing::warn!("approvals log: {e}"),
        }
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
