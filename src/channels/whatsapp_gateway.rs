//! The `whatsapp-gateway` channel: WhatsApp through the OpenClaw gateway.
//!
//! - send: the gateway's `message` tool, `{"action":"send","channel":"whatsapp",
//!   "target":<group JID>,"message":<markdown or plain>}`, with the outgoing
//!   message's idempotency key as the envelope's `idempotencyKey`;
//! - wake: `sessions_send` `{"sessionKey","message","timeoutSeconds":0}`, which
//!   queues the text for the agent and returns at once (`details.status: accepted`);
//!   under OpenClaw's agent `exec`, `openclaw system event` as every channel's wake.
//!
//! WhatsApp has no threads, silent flag or edits: `silent` and `edit_of` are ignored
//! (an edit is posted as a new message), and attachments are not uploaded (the body
//! names the output file).

use serde_json::json;

use crate::channels::{Channel, ChannelError, Delivery, Outgoing, Wake, WakeAck};
use crate::core::openclaw::gateway::GatewayClient;

/// Sends WhatsApp messages and wakes through the OpenClaw gateway.
#[derive(Debug, Clone)]
pub struct WhatsappGateway {
    gateway: GatewayClient,
    /// The OpenClaw CLI for `openclaw system event`, the wake under
    /// OpenClaw's agent `exec`.
    exec_wake: Option<std::path::PathBuf>,
}

impl WhatsappGateway {
    /// A channel using `gateway`.
    pub fn new(gateway: GatewayClient) -> Self {
        Self {
            gateway,
            exec_wake: None,
        }
    }

    /// Wake through `program system event` (under OpenClaw's agent `exec`).
    pub fn with_exec_wake(mut self, program: std::path::PathBuf) -> Self {
        self.exec_wake = Some(program);
        self
    }
}

impl Channel for WhatsappGateway {
    fn id(&self) -> &str {
        "whatsapp-gateway"
    }

    async fn send(&self, msg: &Outgoing) -> Result<Delivery, ChannelError> {
        let target = msg
            .destination
            .target
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| {
                ChannelError::Permanent(
                    "whatsapp-gateway needs a target (the group JID, e.g. 1203630…@g.us) in the route"
                        .to_owned(),
                )
            })?;
        let text = msg.body.markdown.as_deref().unwrap_or(&msg.body.plain);
        let args = json!({
            "action": "send",
            "channel": "whatsapp",
            "target": target,
            "message": text,
        });
        let result = self
            .gateway
            .invoke("message", args, Some(&msg.idempotency_key))
            .await?;
        Ok(Delivery {
            message_id: super::message_tool::message_id_of(&result),
        })
    }

    async fn wake(&self, wake: &Wake) -> Result<WakeAck, ChannelError> {
        if let Some(program) = &self.exec_wake {
            return super::openclaw_system_event_wake(program, wake, &|s: &str| s.to_owned(), &[])
                .await;
        }
        super::message_tool::sessions_send(&self.gateway, wake).await
    }
}
