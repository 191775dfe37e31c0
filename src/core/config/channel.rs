//! The one name of a channel type: [`ChannelKind`], as written in
//! `clawrun.toml` (`[notify] channel`), recorded in a run's `request.json`
//! (`channel`) and in the outbox, and matched by the channel factory
//! ([`crate::channels::build_channel`]). [`NotifyChannel`] is the config choice:
//! one kind, or `auto`.
//!
//! Both serialize as today's strings (`console`, `telegram-direct`,
//! `whatsapp-gateway`, `message-tool`, `auto`), so existing config files, run
//! directories and outboxes keep loading.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A concrete channel type, by its config name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChannelKind {
    /// stderr + `notifications.jsonl` in the run directory.
    Console,
    /// Telegram Bot API directly; wakes through `openclaw agent`.
    TelegramDirect,
    /// WhatsApp through the gateway's `message` tool.
    WhatsappGateway,
    /// Any network through the gateway's `message` tool.
    MessageTool,
}

impl ChannelKind {
    /// Every kind, in config order.
    pub const ALL: [ChannelKind; 4] = [
        ChannelKind::Console,
        ChannelKind::TelegramDirect,
        ChannelKind::WhatsappGateway,
        ChannelKind::MessageTool,
    ];

    /// The kind with config name `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The config name (`telegram-direct`, …).
    pub fn name(self) -> &'static str {
        match self {
            ChannelKind::Console => "console",
            ChannelKind::TelegramDirect => "telegram-direct",
            ChannelKind::WhatsappGateway => "whatsapp-gateway",
            ChannelKind::MessageTool => "message-tool",
        }
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl AsRef<str> for ChannelKind {
    fn as_ref(&self) -> &str {
        self.name()
    }
}

/// A name that is not a [`ChannelKind`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown channel type {0:?}")]
pub struct UnknownChannelKind(pub String);

impl FromStr for ChannelKind {
    type Err = UnknownChannelKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s).ok_or_else(|| UnknownChannelKind(s.to_owned()))
    }
}

/// Which channel notifications use (`[notify] channel`): `auto`, or one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NotifyChannel {
    /// Pick from the route and the tokens available (see
    /// [`crate::channels::auto_channel_kind`]).
    #[default]
    Auto,
    /// Always this kind.
    Kind(ChannelKind),
}

// The variant names `NotifyChannel` had before it wrapped `ChannelKind`, so
// code written against them keeps compiling (also in patterns).
#[allow(non_upper_case_globals)]
impl NotifyChannel {
    /// `Kind(ChannelKind::Console)`.
    pub const Console: NotifyChannel = NotifyChannel::Kind(ChannelKind::Console);
    /// `Kind(ChannelKind::TelegramDirect)`.
    pub const TelegramDirect: NotifyChannel = NotifyChannel::Kind(ChannelKind::TelegramDirect);
    /// `Kind(ChannelKind::WhatsappGateway)`.
    pub const WhatsappGateway: NotifyChannel = NotifyChannel::Kind(ChannelKind::WhatsappGateway);
    /// `Kind(ChannelKind::MessageTool)`.
    pub const MessageTool: NotifyChannel = NotifyChannel::Kind(ChannelKind::MessageTool);
}

impl NotifyChannel {
    /// The config name (`auto`, `telegram-direct`, …).
    pub fn name(self) -> &'static str {
        match self {
            NotifyChannel::Auto => "auto",
            NotifyChannel::Kind(k) => k.name(),
        }
    }
}

impl Serialize for NotifyChannel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for NotifyChannel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const NAMES: &[&str] = &[
            "auto",
            "console",
            "telegram-direct",
            "whatsapp-gateway",
            "message-tool",
        ];
        let name = String::deserialize(d)?;
        if name == "auto" {
            return Ok(NotifyChannel::Auto);
        }
        ChannelKind::from_name(&name)
            .map(NotifyChannel::Kind)
            .ok_or_else(|| serde::de::Error::unknown_variant(&name, NAMES))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn names_round_trip_as_strings() {
        for k in ChannelKind::ALL {
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.name()));
            assert_eq!(serde_json::from_str::<ChannelKind>(&json).unwrap(), k);
            assert_eq!(k.name().parse::<ChannelKind>().unwrap(), k);
            let choice: NotifyChannel = serde_json::from_str(&json).unwrap();
            assert_eq!(choice, NotifyChannel::Kind(k));
            assert_eq!(serde_json::to_string(&choice).unwrap(), json);
        }
        let auto: NotifyChannel = serde_json::from_str("\"auto\"").unwrap();
        assert_eq!(auto, NotifyChannel::Auto);
        assert!(matches!(auto, NotifyChannel::Auto));
        assert!(matches!(
            NotifyChannel::Kind(ChannelKind::MessageTool),
            NotifyChannel::MessageTool
        ));
        let err = serde_json::from_str::<NotifyChannel>("\"pigeon\"").unwrap_err();
        assert!(
            err.to_string().contains("unknown variant `pigeon`"),
            "{err}"
        );
        assert!("pigeon".parse::<ChannelKind>().is_err());
    }
}
