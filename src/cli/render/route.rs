//! A resolved route as text (`route`, `run --validate-only`), and the
//! gateway's sessions (`route --list`).

use crate::core::openclaw::session_lookup::SessionMeta;
use crate::core::routing::{Route, RouteInput};
use crate::core::store::timefmt;

/// The gateway's sessions, one a line: key, channel, name, last update.
pub fn sessions(list: &[SessionMeta], now: i64) -> String {
    if list.is_empty() {
        return "The gateway lists no sessions.\n".to_owned();
    }
    let width = list
        .iter()
        .map(|s| s.key.chars().count())
        .max()
        .unwrap_or(3)
        .max(3);
    let mut out = format!(
        "{:<width$}  {:<10} {:<40} UPDATED\n",
        "KEY", "CHANNEL", "NAME"
    );
    for s in list {
        let updated = s.updated_at_ms.map_or("-".to_owned(), |ms| {
            format!("{} ago", timefmt::format_age(now - ms / 1000))
        });
        out.push_str(&format!(
            "{:<width$}  {:<10} {:<40} {updated}\n",
            s.key,
            s.channel.as_deref().unwrap_or("-"),
            s.display_name.as_deref().unwrap_or("-"),
        ));
    }
    let n = list.len();
    out.push_str(&format!(
        "{n} session{}. Report a run to one with `clawrun run -s KEY …`.\n",
        if n == 1 { "" } else { "s" }
    ));
    out
}

/// The route report, then the channel type and any extra `name: value` lines.
pub fn report(route: &Route, input: &RouteInput, extra: &[(&str, String)]) -> String {
    let mut out = validation(route, input);
    for (name, value) in extra {
        out.push_str(&format!("   {name}: {value}\n"));
    }
    out
}

/// The `--validate-only` report: the seed's `✅ Routing validation` block (same
/// field names, `None`/`True`/`False` as the seed printed them, so scripts that
/// read it keep working) followed by our extra fields.
pub fn validation(route: &Route, input: &RouteInput) -> String {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_report_keeps_the_seeds_words() {
        let route: Route = serde_json::from_value(serde_json::json!({
            "channel": "telegram", "target": "5551234", "thread_id": "111", "account": "bot2",
            "session_key": "agent:main:telegram:direct:5551234:thread:111",
            "session_id": "sid", "reply_to": null, "source": {"kind": "gateway"}
        }))
        .unwrap();
        assert_eq!(
            validation(&route, &RouteInput::default()),
            "✅ Routing validation\n   session: agent:main:telegram:direct:5551234:thread:111\n   \
             thread_id: 111\n   channel: telegram\n   target: 5551234\n   notify_session_id: sid\n   \
             allow_main_telegram: False\n   telegram_routing_mode: auto\n   account: bot2\n   \
             reply_to: None\n   source: gateway sessions_list\n"
        );
    }
}
