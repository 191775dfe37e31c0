//! `stats` as text.

use crate::core::model::text::{count, fmt_usd};
use crate::core::ops::stats::{Source, Stats};

fn fmt_secs(s: Option<f64>) -> String {
    match s {
        Some(s) if s < 60.0 => format!("{s:.0}s"),
        Some(s) if s < 3600.0 => format!("{:.1}min", s / 60.0),
        Some(s) => format!("{:.1}h", s / 3600.0),
        None => "-".to_owned(),
    }
}

/// `stats` as text.
pub fn stats(s: &Stats) -> String {
    let mut out = String::new();
    let window = match s.days {
        Some(d) => format!("the last {d} days"),
        None => "all time".to_owned(),
    };
    out.push_str(&format!(
        "Runs in {window}: {} ({} from run records, {} from the registries for sessions \
         whose run directory is gone)\n",
        s.runs, s.sources.runs, s.sources.registry
    ));
    if s.runs == 0 {
        return out;
    }
    let statuses: Vec<String> = s
        .by_status
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    out.push_str(&format!("  by status: {}\n", statuses.join(", ")));
    out.push_str(&format!(
        "  duration:  median {}, mean {} (over {} finished)\n",
        fmt_secs(s.duration.median_secs),
        fmt_secs(s.duration.mean_secs),
        s.duration.count
    ));
    out.push_str(&format!(
        "  cost:      {} total ({} of {} reported a cost)\n",
        fmt_usd(s.total_cost_usd),
        s.runs_with_cost,
        count(s.runs, "run", "runs")
    ));
    out.push_str(&format!(
        "  tokens:    {} input, {} output\n",
        s.input_tokens, s.output_tokens
    ));
    out.push_str("Per day:\n");
    for (day, t) in &s.per_day {
        out.push_str(&format!(
            "  {day}  {:>9}  {:>10}  {:>10} in  {:>9} out\n",
            count(t.runs, "run", "runs"),
            fmt_usd(t.cost_usd),
            t.input_tokens,
            t.output_tokens
        ));
    }
    out.push_str("Per backend:\n");
    for (b, t) in &s.per_backend {
        out.push_str(&format!(
            "  {b:<10}  {:>9}  {:>10}  {:>10} in  {:>9} out\n",
            count(t.runs, "run", "runs"),
            fmt_usd(t.cost_usd),
            t.input_tokens,
            t.output_tokens
        ));
    }
    if !s.most_expensive.is_empty() {
        out.push_str("Most expensive:\n");
        for c in &s.most_expensive {
            let name = c
                .run_id
                .clone()
                .or_else(|| c.session_id.clone())
                .unwrap_or_default();
            out.push_str(&format!(
                "  {:>10}  {}  {:<6} {:<9} {}{}\n",
                fmt_usd(c.cost_usd),
                name,
                c.backend,
                c.status,
                c.label.as_deref().unwrap_or("-"),
                if c.source == Source::Registry {
                    "  (registry)"
                } else {
                    ""
                }
            ));
        }
    }
    out
}
