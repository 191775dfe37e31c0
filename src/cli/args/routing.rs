//! Where a run's notifications and wake go: the routing flags shared by
//! `clawrun run` and `clawrun route`, and `clawrun route` itself.

use std::path::PathBuf;

use clap::Args;

use super::run::heading;
use crate::core::routing::TelegramRoutingMode;
use crate::core::runner::RoutingOptions;

/// `clawrun route`.
#[derive(Debug, Args)]
pub struct RouteArgs {
    /// The OpenClaw session key (`clawrun route --list` lists them).
    pub key: Option<String>,
    /// List the gateway's sessions (key, channel, name, last update): the
    /// keys a run can report to with `--session`.
    #[arg(long, conflicts_with = "key")]
    pub list: bool,
    /// Project directory (for the workdir route map; default: the current directory).
    #[arg(short = 'p', long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Where notifications go (last: its heading would go on to the flags after it).
    #[command(flatten)]
    pub routing: RoutingFlags,
}

/// The routing flags shared by `clawrun run` and `clawrun route`.
#[derive(Debug, Args)]
#[command(next_help_heading = heading::ROUTING)]
pub struct RoutingFlags {
    /// Notification channel hint: telegram, whatsapp, console, or another gateway channel.
    ///
    /// Another gateway channel needs --notify-target.
    #[arg(long, value_name = "CHANNEL")]
    pub notify_channel: Option<String>,
    /// Chat id / group JID / target to notify.
    ///
    /// Overrides what the session key resolves to only when consistent. Telegram group ids are
    /// negative: `--notify-target -1001234567890` works as written.
    #[arg(long, value_name = "TARGET", allow_hyphen_values = true)]
    pub notify_target: Option<String>,
    /// Telegram topic / DM thread id (must match the session key's thread).
    #[arg(long, value_name = "ID")]
    pub notify_thread_id: Option<String>,
    /// OpenClaw session uuid to wake (`openclaw agent --session-id`).
    #[arg(long, value_name = "UUID")]
    pub notify_session_id: Option<String>,
    /// Telegram message id to reply to (not with thread routing).
    #[arg(long, value_name = "ID")]
    pub reply_to_message_id: Option<String>,
    /// Telegram guard: auto (block likely misroutes), thread-only, allow-non-thread.
    #[arg(long, value_enum, default_value_t = RoutingModeArg::Auto, value_name = "MODE")]
    pub telegram_routing_mode: RoutingModeArg,
    /// Allow a non-thread Telegram route that the auto guard would block.
    #[arg(long)]
    pub allow_main_telegram: bool,
}

impl RoutingFlags {
    /// The library's view of these flags.
    pub fn to_options(&self) -> RoutingOptions {
        RoutingOptions {
            notify_channel: self.notify_channel.clone(),
            notify_target: self.notify_target.clone(),
            notify_thread_id: self.notify_thread_id.clone(),
            notify_session_id: self.notify_session_id.clone(),
            reply_to_message_id: self.reply_to_message_id.clone(),
            telegram_routing_mode: self.telegram_routing_mode.into(),
            allow_main_telegram: self.allow_main_telegram,
        }
    }
}

/// `--telegram-routing-mode`: the clap side of the library's
/// [`TelegramRoutingMode`], so the library needs no clap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoutingModeArg {
    /// Non-thread Telegram is allowed unless it looks like a misroute.
    Auto,
    /// Telegram runs must come from a thread session.
    ThreadOnly,
    /// Non-thread Telegram is allowed without checks.
    AllowNonThread,
}

impl From<RoutingModeArg> for TelegramRoutingMode {
    fn from(arg: RoutingModeArg) -> Self {
        match arg {
            RoutingModeArg::Auto => TelegramRoutingMode::Auto,
            RoutingModeArg::ThreadOnly => TelegramRoutingMode::ThreadOnly,
            RoutingModeArg::AllowNonThread => TelegramRoutingMode::AllowNonThread,
        }
    }
}
