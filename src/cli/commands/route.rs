//! `clawrun route`: resolve and print where a session key's messages go, or
//! list the gateway's sessions (`--list`).

use crate::channels;
use crate::core::model::exit::ExitStatus;
use crate::core::now_secs;
use crate::core::routing::{RouteInput, RouteSource, gateway};

use crate::cli::args::RouteArgs;
use crate::cli::{CmdResult, Ctx, render, runtime};

/// `clawrun route`.
pub fn route(args: &RouteArgs, ctx: &Ctx) -> CmdResult {
    let configs = ctx.run_context()?;
    if args.list {
        let sessions = runtime()?.block_on(gateway::list_sessions(&configs))?;
        if args.json {
            render::json(&sessions)?;
        } else {
            render::text(&render::route::sessions(&sessions, now_secs()))?;
        }
        return Ok(ExitStatus::Success);
    }
    let project = match &args.project {
        Some(p) => std::path::absolute(p)?,
        None => std::env::current_dir()?,
    };
    let (workdir_routes, fallback) = gateway::configured_routes(&configs.config);
    let routing = args.routing.to_options();
    let input = RouteInput {
        session_key: args.key.clone(),
        notify_channel: routing.notify_channel,
        notify_target: routing.notify_target,
        notify_thread_id: routing.notify_thread_id,
        notify_session_id: routing.notify_session_id,
        reply_to_message_id: routing.reply_to_message_id,
        telegram_routing_mode: routing.telegram_routing_mode,
        allow_main_telegram: routing.allow_main_telegram,
        project_dir: project,
        workdir_routes,
        fallback,
    };
    let resolved = runtime()?.block_on(gateway::resolve(&input, &configs))?;
    let kind = channels::channel_kind(&resolved, &configs)?;
    if args.key.is_none() && resolved.source == RouteSource::Default {
        eprintln!(
            "⚠ No session key given: this is the console route, which tells and wakes nobody. \
             `clawrun route --list` lists the gateway's sessions; `clawrun route KEY` shows \
             where one goes."
        );
    }
    if args.json {
        render::json(&serde_json::json!({"route": resolved, "channel": kind.name()}))?;
    } else {
        let extra = [("channel_type", kind.name().to_string())];
        render::text(&render::route::report(&resolved, &input, &extra))?;
    }
    Ok(ExitStatus::Success)
}
