//! A resolved route as text (`route`, `run --validate-only`).

use clawrun::core::routing::{self, Route, RouteInput};

/// The route report, then the channel type and any extra `name: value` lines.
///
/// The report itself is still built by `routing::render_report` (the routing
/// layer's file and tests); it moves here when that layer is split.
pub fn report(route: &Route, input: &RouteInput, extra: &[(&str, String)]) -> String {
    let mut out = routing::render_report(route, input);
    for (name, value) in extra {
        out.push_str(&format!("   {name}: {value}\n"));
    }
    out
}
