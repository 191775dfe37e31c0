//! `stats`: counts, durations, cost and tokens per day and per backend, and
//! the most expensive runs, as data (`src/cli/render` prints them). Figures
//! come from the run records, and from the registries for sessions whose run
//! directory is gone; the figures say which is which. Nothing is kept in
//! memory between commands, so every figure survives restarts (unlike the
//! plugin's in-memory metrics, seed-behaviour E.7).

use std::collections::BTreeMap;

use serde::Serialize;

use super::resolve::{registries, runs_newest_first};
use crate::core::error::Result;
use crate::core::store::paths::Paths;
use crate::core::store::registry::Status;
use crate::core::store::timefmt;

/// How many of the most expensive runs `stats` lists.
pub const TOP_EXPENSIVE: usize = 5;
/// `stats` without `--days`.
pub const DEFAULT_STATS_DAYS: u32 = 30;

/// Where `stats` figures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A run directory's `run.json`.
    Run,
    /// A registry entry whose run directory is gone (its latest run only).
    Registry,
}

#[derive(Debug, Clone)]
struct Sample {
    source: Source,
    run_id: Option<String>,
    session_id: Option<String>,
    label: Option<String>,
    backend: String,
    status: String,
    done: bool,
    at: i64,
    duration: Option<f64>,
    cost: Option<f64>,
    input: u64,
    output: u64,
}

/// How many samples each source gave.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Sources {
    /// Runs with a run directory.
    pub runs: u64,
    /// Registry entries without one.
    pub registry: u64,
}

/// Durations of finished runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct DurationStats {
    /// Finished runs with a known duration.
    pub count: u64,
    /// Median, seconds.
    pub median_secs: Option<f64>,
    /// Mean, seconds.
    pub mean_secs: Option<f64>,
}

/// Cost and tokens of a group of runs (one day, one backend).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Runs.
    pub runs: u64,
    /// Cost in USD (runs without a reported cost count as 0).
    pub cost_usd: f64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
}

impl Totals {
    fn add(&mut self, s: &Sample) {
        self.runs += 1;
        self.cost_usd += s.cost.unwrap_or(0.0);
        self.input_tokens += s.input;
        self.output_tokens += s.output;
    }

    fn rounded(mut self) -> Self {
        self.cost_usd = round_usd(self.cost_usd);
        self
    }
}

/// One of the most expensive runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostlyRun {
    /// Where it comes from.
    pub source: Source,
    /// Run id, when known.
    pub run_id: Option<String>,
    /// Session id, when known.
    pub session_id: Option<String>,
    /// Label.
    pub label: Option<String>,
    /// Backend.
    pub backend: String,
    /// Status word.
    pub status: String,
    /// Cost in USD.
    pub cost_usd: f64,
    /// Local day (`YYYY-MM-DD`).
    pub day: String,
}

/// `stats` figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    /// The window in days (`None` = everything).
    pub days: Option<u32>,
    /// Start of the window (Unix seconds).
    pub since: Option<i64>,
    /// How many runs came from each source.
    pub sources: Sources,
    /// Runs counted.
    pub runs: u64,
    /// Runs by status word.
    pub by_status: BTreeMap<String, u64>,
    /// Durations of finished runs.
    pub duration: DurationStats,
    /// Cost of all counted runs, USD.
    pub total_cost_usd: f64,
    /// Runs with a reported cost.
    pub runs_with_cost: u64,
    /// Tokens of all counted runs.
    pub input_tokens: u64,
    /// Tokens of all counted runs.
    pub output_tokens: u64,
    /// Per local day, oldest first.
    pub per_day: BTreeMap<String, Totals>,
    /// Per backend.
    pub per_backend: BTreeMap<String, Totals>,
    /// The [`TOP_EXPENSIVE`] most expensive runs, most expensive first.
    pub most_expensive: Vec<CostlyRun>,
}

fn round_usd(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn local_day(secs: i64) -> String {
    timefmt::format_local_iso(secs.saturating_mul(1_000_000))
        .map(|s| s.chars().take(10).collect())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Figures over the runs of the last `days` days (`None` = all): run records
/// first, then registry entries of sessions whose latest run has no run
/// directory any more (for those only the latest run is known).
///
/// # Errors
/// Registry errors (a corrupt registry is reported, not skipped: the figures
/// would be silently wrong).
pub fn stats(paths: &Paths, days: Option<u32>, now: i64) -> Result<Stats> {
    let _ = crate::core::ops::resolve::active_runs(paths);
    let since = days.map(|d| now - i64::from(d) * 86_400);
    let in_window = |at: i64| since.is_none_or(|s| at >= s);
    let runs = runs_newest_first(paths);
    let mut samples: Vec<Sample> = Vec::new();
    for (_, r) in &runs {
        if !in_window(r.created_at) {
            continue;
        }
        let done = r.status.is_done();
        samples.push(Sample {
            source: Source::Run,
            run_id: Some(r.run_id.clone()),
            session_id: r.resume_id.clone(),
            label: r.label.clone(),
            backend: r.backend.clone(),
            status: r.status.as_str().to_owned(),
            done,
            at: r.created_at,
            duration: done.then(|| r.duration_secs(now) as f64),
            cost: r.cost_usd,
            input: r.usage.input_tokens,
            output: r.usage.output_tokens,
        });
    }
    let known: std::collections::HashSet<&str> =
        runs.iter().map(|(_, r)| r.run_id.as_str()).collect();
    for (backend, reg) in registries(paths)? {
        for e in reg.list(None)? {
            if e.run_id.as_deref().is_some_and(|id| known.contains(id)) {
                continue;
            }
            let Some(at) = e
                .last_accessed_micros()
                .or_else(|| e.created_at.as_deref().and_then(timefmt::parse_iso_micros))
                .map(|us| us.div_euclid(1_000_000))
            else {
                continue;
            };
            if !in_window(at) {
                continue;
            }
            let status = e
                .status
                .as_ref()
                .map_or("unknown".to_owned(), |s| s.as_str().to_owned());
            samples.push(Sample {
                source: Source::Registry,
                run_id: e.run_id.clone(),
                session_id: Some(e.id.clone()),
                label: e.label.clone(),
                backend: e.backend.clone().unwrap_or_else(|| backend.to_owned()),
                done: !matches!(e.status, Some(Status::Running)),
                status,
                at,
                duration: e.duration_s,
                cost: e.cost_usd,
                input: e.input_tokens.unwrap_or(0),
                output: e.output_tokens.unwrap_or(0),
            });
        }
    }
    Ok(summarize(samples, days, since))
}

fn summarize(samples: Vec<Sample>, days: Option<u32>, since: Option<i64>) -> Stats {
    let mut sources = Sources::default();
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_day: BTreeMap<String, Totals> = BTreeMap::new();
    let mut per_backend: BTreeMap<String, Totals> = BTreeMap::new();
    let mut durations: Vec<f64> = Vec::new();
    let mut total = Totals::default();
    let mut runs_with_cost = 0;
    for s in &samples {
        match s.source {
            Source::Run => sources.runs += 1,
            Source::Registry => sources.registry += 1,
        }
        *by_status.entry(s.status.clone()).or_default() += 1;
        per_day.entry(local_day(s.at)).or_default().add(s);
        per_backend.entry(s.backend.clone()).or_default().add(s);
        total.add(s);
        if s.cost.is_some() {
            runs_with_cost += 1;
        }
        if let (true, Some(d)) = (s.done, s.duration) {
            durations.push(d);
        }
    }
    durations.sort_by(f64::total_cmp);
    let median = match durations.len() {
        0 => None,
        n if n % 2 == 1 => Some(durations[n / 2]),
        n => Some((durations[n / 2 - 1] + durations[n / 2]) / 2.0),
    };
    let mean =
        (!durations.is_empty()).then(|| durations.iter().sum::<f64>() / durations.len() as f64);
    let mut costly: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.cost.is_some_and(|c| c > 0.0))
        .collect();
    costly.sort_by(|a, b| {
        b.cost
            .unwrap_or(0.0)
            .total_cmp(&a.cost.unwrap_or(0.0))
            .then(b.at.cmp(&a.at))
    });
    let most_expensive = costly
        .into_iter()
        .take(TOP_EXPENSIVE)
        .map(|s| CostlyRun {
            source: s.source,
            run_id: s.run_id.clone(),
            session_id: s.session_id.clone(),
            label: s.label.clone(),
            backend: s.backend.clone(),
            status: s.status.clone(),
            cost_usd: round_usd(s.cost.unwrap_or(0.0)),
            day: local_day(s.at),
        })
        .collect();
    Stats {
        days,
        since,
        sources,
        runs: samples.len() as u64,
        by_status,
        duration: DurationStats {
            count: durations.len() as u64,
            median_secs: median,
            mean_secs: mean,
        },
        total_cost_usd: round_usd(total.cost_usd),
        runs_with_cost,
        input_tokens: total.input_tokens,
        output_tokens: total.output_tokens,
        per_day: per_day.into_iter().map(|(k, v)| (k, v.rounded())).collect(),
        per_backend: per_backend
            .into_iter()
            .map(|(k, v)| (k, v.rounded()))
            .collect(),
        most_expensive,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_mean() {
        let mk = |d: f64, cost: f64| Sample {
            source: Source::Run,
            run_id: Some(format!("r{d}")),
            session_id: None,
            label: None,
            backend: "claude".into(),
            status: "completed".into(),
            done: true,
            at: 0,
            duration: Some(d),
            cost: Some(cost),
            input: 1,
            output: 2,
        };
        let s = summarize(
            vec![mk(10.0, 0.1), mk(40.0, 0.3), mk(20.0, 0.2), mk(30.0, 0.0)],
            None,
            None,
        );
        assert_eq!(s.duration.median_secs, Some(25.0));
        assert_eq!(s.duration.mean_secs, Some(25.0));
        assert_eq!(s.total_cost_usd, 0.6);
        // Zero-cost runs are not "expensive".
        assert_eq!(s.most_expensive.len(), 3);
        assert_eq!(s.most_expensive[0].cost_usd, 0.3);
    }
}
