//! What a routed run needs from outside clawrun, checked before anything
//! spawns or is written, so that a run sure to fail quietly is refused with
//! its fix instead (exit 2; `--validate-only` says the same, being the same
//! code): the clawrun plugin's approvals route for `--approvals chat`, and
//! the `openclaw` program for a wake that goes through `openclaw agent`.

use crate::channels::ChannelKind;
use crate::core::context::RunContext;
use crate::core::error::{Error, Result};
use crate::core::model::approval::ApprovalMode;
use crate::core::openclaw::approvals::{
    ApprovalError, INSTALL_COMMAND, PROBE_TIMEOUT, plugin_info,
};
use crate::core::openclaw::config as openclaw_config;
use crate::core::store::paths::ProcessEnv;
use crate::core::store::run::RunSpec;

use crate::core::sys::programs::find_program;

/// Refuse the run `spec` (routed) when what it needs is not there.
///
/// # Errors
/// [`Error::Usage`] naming what is missing and how to fix it.
pub async fn check(spec: &RunSpec, ctx: &RunContext) -> Result<()> {
    if spec.request.approvals == ApprovalMode::Chat {
        check_approvals_route(ctx).await?;
    }
    check_wake_program(spec, ctx)
}

/// `--approvals chat` asks through the clawrun plugin: probe its route
/// (bounded by [`PROBE_TIMEOUT`]).
async fn check_approvals_route(ctx: &RunContext) -> Result<()> {
    let refuse = |why: String, fix: &str| {
        Err(Error::usage(format!(
            "❌ --approvals chat cannot ask anyone: {why}; every risky call would be denied.\n   \
             Fix: {fix}.\n   Or run without --approvals chat (set `[run] approvals = \"off\"` \
             in clawrun.toml if it comes from there)."
        )))
    };
    let client = match openclaw_config::gateway_client(&ctx.config, &ctx.openclaw, &ProcessEnv) {
        Ok(c) => c,
        Err(e) => {
            return refuse(
                format!("it asks through the OpenClaw gateway, and {e}"),
                "configure the gateway (gateway.port and gateway.auth.token in openclaw.json), \
                 then install the clawrun plugin in it",
            );
        }
    };
    match plugin_info(&client, PROBE_TIMEOUT).await {
        Ok(_) => Ok(()),
        Err(ApprovalError::PluginMissing) => refuse(
            "the OpenClaw gateway has no clawrun approvals route (the clawrun plugin is not \
             installed)"
                .to_owned(),
            &format!("on the gateway's host: {INSTALL_COMMAND}; `clawrun doctor` checks it"),
        ),
        Err(e) => refuse(
            format!("the clawrun plugin did not answer: {e}"),
            "start the gateway (or fix its token), then check with `clawrun doctor`",
        ),
    }
}

/// A wake through `openclaw agent` (telegram-direct; a thread session via
/// the message tool) needs the program.
fn check_wake_program(spec: &RunSpec, ctx: &RunContext) -> Result<()> {
    let wakes = spec.route.session_key.is_some() || spec.session_key.is_some();
    let by_cli = match spec.channel {
        ChannelKind::TelegramDirect => true,
        ChannelKind::MessageTool => spec.route.thread_id.is_some(),
        _ => false,
    };
    if !wakes || !by_cli {
        return Ok(());
    }
    let program = &ctx.config.telegram.openclaw_program;
    let shown = program.display().to_string();
    if find_program(&shown, std::env::var("PATH").ok().as_deref()).is_some() {
        return Ok(());
    }
    Err(Error::usage(format!(
        "❌ this run's wake goes through `{shown} agent` ({} to the session {}), and `{shown}` \
         is not found{}: nobody would be woken with the result.\n   Fix: install OpenClaw's \
         CLI (`npm install -g openclaw`), or set `openclaw_program` under [telegram] in \
         clawrun.toml to its path; `clawrun doctor` checks it.",
        spec.channel.name(),
        spec.route
            .session_key
            .as_deref()
            .or(spec.session_key.as_deref())
            .unwrap_or("?"),
        if shown.contains('/') { "" } else { " on PATH" },
    )))
}
