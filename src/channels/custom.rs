//! Channels defined outside this crate.
//!
//! [`AnyChannel`](crate::channels::AnyChannel) is a closed enum, dispatched
//! statically; a library user plugs a channel of their own into it through
//! [`AnyChannel::Custom`](crate::channels::AnyChannel::Custom): implement
//! [`DynChannel`] (object safe, so it can live behind an `Arc`), wrap it in a
//! [`CustomChannel`], and hand that to the runner (`core::runner::execute`).
//! The trait is written with [`macro@async_trait`] (re-exported here): put
//! `#[async_trait]` on the `impl` too, and write the methods as `async fn`.
//!
//! The contract is that of every channel: deliver one message or wake, and
//! report a typed [`ChannelError`]; never sleep, retry or write state. The
//! run's outbox owns retries (it honours [`ChannelError::RetryAfter`], retries
//! [`ChannelError::Transient`] with back-off, and gives up on
//! [`ChannelError::Permanent`]) and de-duplication: pass
//! [`Outgoing::idempotency_key`] on to the receiving side when it can use one.
//!
//! ```
//! use clawrun::channels::custom::{CustomChannel, DynChannel, async_trait};
//! use clawrun::channels::{AnyChannel, ChannelError, Delivery, Outgoing};
//!
//! /// Collects messages in memory.
//! #[derive(Default)]
//! struct Memory(std::sync::Mutex<Vec<String>>);
//!
//! #[async_trait]
//! impl DynChannel for Memory {
//!     fn id(&self) -> &str {
//!         "memory"
//!     }
//!     async fn send(&self, msg: &Outgoing) -> Result<Delivery, ChannelError> {
//!         self.0.lock().map_err(|_| ChannelError::Permanent("poisoned".into()))?
//!             .push(msg.body.plain.clone());
//!         Ok(Delivery::default())
//!     }
//! }
//!
//! let channel: AnyChannel = CustomChannel::new(Memory::default()).into();
//! # let _ = channel;
//! ```

use std::sync::Arc;

use crate::channels::{Channel, ChannelError, Delivery, Outgoing, Wake, WakeAck};

pub use async_trait::async_trait;

/// A channel implemented outside this crate. Object safe (through
/// [`macro@async_trait`], which boxes the futures), so a `dyn DynChannel` can be
/// shared by the run's courier task.
#[async_trait]
pub trait DynChannel: Send + Sync {
    /// A short name for logs and the outbox (`"webhook"`).
    fn id(&self) -> &str;

    /// Deliver one message.
    ///
    /// # Errors
    /// [`ChannelError`]: `RetryAfter` and `Transient` are retried by the outbox,
    /// `Permanent` and `Unsupported` are not.
    async fn send(&self, msg: &Outgoing) -> Result<Delivery, ChannelError>;

    /// Wake the orchestrating agent. By default this channel cannot: the wake
    /// is recorded as not delivered, and the human is told so.
    ///
    /// # Errors
    /// As [`DynChannel::send`].
    async fn wake(&self, wake: &Wake) -> Result<WakeAck, ChannelError> {
        let _ = wake;
        Err(ChannelError::Unsupported("wake"))
    }
}

/// A [`DynChannel`] as a member of [`AnyChannel`](crate::channels::AnyChannel).
/// Cloning shares the one channel.
#[derive(Clone)]
pub struct CustomChannel {
    inner: Arc<dyn DynChannel>,
}

impl CustomChannel {
    /// Wrap `channel`.
    pub fn new(channel: impl DynChannel + 'static) -> Self {
        Self {
            inner: Arc::new(channel),
        }
    }

    /// Wrap a channel that is already shared.
    pub fn from_arc(channel: Arc<dyn DynChannel>) -> Self {
        Self { inner: channel }
    }

    /// The wrapped channel.
    pub fn inner(&self) -> &Arc<dyn DynChannel> {
        &self.inner
    }
}

impl std::fmt::Debug for CustomChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomChannel")
            .field("id", &self.inner.id())
            .finish_non_exhaustive()
    }
}

impl Channel for CustomChannel {
    fn id(&self) -> &str {
        self.inner.id()
    }

    async fn send(&self, msg: &Outgoing) -> Result<Delivery, ChannelError> {
        self.inner.send(msg).await
    }

    async fn wake(&self, wake: &Wake) -> Result<WakeAck, ChannelError> {
        self.inner.wake(wake).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::Mutex;

    use super::*;
    use crate::channels::{AnyChannel, Body, Destination, MessageKind};

    #[derive(Default)]
    struct Recorder {
        seen: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl DynChannel for Recorder {
        fn id(&self) -> &str {
            "recorder"
        }

        async fn send(&self, msg: &Outgoing) -> Result<Delivery, ChannelError> {
            if msg.body.plain == "fail" {
                return Err(ChannelError::Transient("down".into()));
            }
            self.seen.lock().unwrap().push(msg.idempotency_key.clone());
            Ok(Delivery {
                message_id: Some(format!("m{}", self.seen.lock().unwrap().len())),
            })
        }
    }

    fn msg(key: &str, text: &str) -> Outgoing {
        Outgoing {
            idempotency_key: key.into(),
            kind: MessageKind::Launch,
            destination: Destination::default(),
            body: Body::plain(text),
            silent: false,
            reply_to: None,
            edit_of: None,
            attachment: None,
        }
    }

    #[tokio::test]
    async fn dispatches_through_any_channel_and_shares_state_across_clones() {
        let shared: Arc<Recorder> = Arc::new(Recorder::default());
        let channel: AnyChannel = CustomChannel::from_arc(shared.clone()).into();
        let copy = channel.clone();
        assert_eq!(channel.id(), "recorder");
        let d = channel.send(&msg("r:launch:1", "hi")).await.unwrap();
        assert_eq!(d.message_id.as_deref(), Some("m1"));
        copy.send(&msg("r:result:2", "done")).await.unwrap();
        assert_eq!(
            *shared.seen.lock().unwrap(),
            vec!["r:launch:1", "r:result:2"]
        );
        assert_eq!(
            channel.send(&msg("r:x:3", "fail")).await.unwrap_err(),
            ChannelError::Transient("down".into())
        );
        let wake = Wake {
            idempotency_key: "r:wake:4".into(),
            session_key: None,
            session_id: None,
            destination: Destination::default(),
            text: "wake".into(),
            argv_text: None,
        };
        assert_eq!(
            channel.wake(&wake).await.unwrap_err(),
            ChannelError::Unsupported("wake")
        );
        assert!(format!("{channel:?}").contains("recorder"));
    }
}
