//! The `--validate-only` report of a resolved route.

use super::input::RouteInput;
use crate::core::model::route::Route;

/// The `--validate-only` report: the seed's `✅ Routing validation` block (same
/// field names, `None`/`True`/`False` as the seed printed them, so scripts that
/// read it keep working) followed by our extra fields.
pub fn render_report(route: &Route, input: &RouteInput) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "None".to_owned());
    let py_bool = |b: bool| if b { "True" } else { "False" };
    let mut out = String::from("✅ Routing validation\n");
    let mut line = |name: &str, value: &str| {
        out.push_str("   ");
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push('\n');
    };
    line("session", &opt(&route.session_key));
    line("thread_id", &opt(&route.thread_id));
    line("channel", route.channel.as_str());
    line("target", &opt(&route.target));
    line("notify_session_id", &opt(&route.session_id));
    line("allow_main_telegram", py_bool(input.allow_main_telegram));
    line(
        "telegram_routing_mode",
        input.telegram_routing_mode.as_str(),
    );
    line("account", &opt(&route.account));
    line("reply_to", &opt(&route.reply_to));
    line("source", &route.source.to_string());
    for w in &route.warnings {
        line("warning", w);
    }
    out
}
