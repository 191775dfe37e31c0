//! Parser throughput: Claude `stream-json` and Codex `exec --json` transcripts of
//! about 20 MB each, for the first and the newest CLI versions of the fixtures
//! (`claude_2.1.197` … `codex_0.171.0`), built in memory by repeating the real fixtures, fed line by
//! line to a fresh parser, as the orchestrator does (one event buffer kept
//! across lines). Reported in MB/s (decimal), on one core; the target is
//! ≥ 300 MB/s for both.
//!
//! The transcripts are the worst case for a per-line cost: the fixtures' lines
//! are short (about 110 bytes for Codex), where a long session's lines carry
//! whole command outputs. The two `baseline_*` figures are serde_json reading
//! the same lines into `IgnoredAny` (validating, keeping nothing): the ratio to
//! them is stable across machines where the absolute figure is not.
//!
//! Before criterion's figures, each parser and its baseline run in turn on
//! the same transcript, 11 rounds of one each, timed by this thread's CPU
//! time (not wall time: the machine may be shared). The ratio of each round
//! (baseline time / parser time, the two run back to back) and the median
//! of those ratios are printed — the figure to compare with the target
//! (≥ 0.9 of `IgnoredAny`): a round's two runs see the same machine, where a
//! ratio of medians taken over all rounds mixes its fast and slow minutes.
//!
//! `cargo bench --bench parse -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use clawrun::backends::{ClaudeParser, CodexParser, LineParser};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Size of each synthetic transcript.
const TARGET_BYTES: usize = 20 * 1024 * 1024;

fn fixture(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Repeat the named fixtures, in turn, until the text reaches `TARGET_BYTES`.
fn transcript(backend: &str, names: &[&str]) -> String {
    let parts: Vec<String> = names
        .iter()
        .map(|name| fixture(&format!("{backend}/{name}.jsonl")))
        .collect();
    let mut text = String::with_capacity(TARGET_BYTES + 64 * 1024);
    while text.len() < TARGET_BYTES {
        for part in &parts {
            text.push_str(part);
            if !part.ends_with('\n') {
                text.push('\n');
            }
        }
    }
    text
}

/// Parse `text` line by line as the orchestrator does: events appended to a
/// buffer that is emptied (here: counted) after each line and kept.
fn run<P: LineParser>(mut parser: P, text: &str) -> usize {
    let mut events = 0;
    let mut out = Vec::new();
    for line in text.lines() {
        parser.parse_line_into(line, &mut out);
        events += black_box(&mut out).drain(..).count();
    }
    events + parser.finish(Some(0), "").len()
}

fn ignored(text: &str) -> usize {
    text.lines()
        .filter(|l| serde_json::from_str::<serde::de::IgnoredAny>(l).is_ok())
        .count()
}

/// Events and warnings (unknown events included) from one pass, a sanity
/// check outside the measurement. Counted as they come, not kept: a heap
/// left with millions of freed events would slow the allocations of the
/// runs measured after it, which a runner (a fresh process, its events
/// freed chunk by chunk) does not see.
fn count<P: LineParser>(mut parser: P, text: &str) -> (usize, usize) {
    use clawrun::events::AgentEvent;
    let (mut events, mut warnings) = (0, 0);
    for event in text.lines().flat_map(|l| parser.parse_line(l)) {
        events += 1;
        if matches!(
            event,
            AgentEvent::Warning { .. } | AgentEvent::UnknownEvent { .. }
        ) {
            warnings += 1;
        }
    }
    (events, warnings)
}

/// The transcripts, per CLI version: the first set (claude 2.1.197, codex
/// 0.169.0) and the newest (claude 2.1.332 with a background subagent, codex
/// 0.171.0).
fn transcripts() -> [(&'static str, String); 4] {
    let claude = ["multi", "partial-messages", "tool", "err500-retried"];
    let codex = [
        "multi",
        "tool",
        "text",
        "unknown-model",
        "err500-retried",
        "failed",
    ];
    let with = |first: &'static str| -> Vec<&'static str> {
        std::iter::once(first).chain(claude).collect()
    };
    [
        ("claude_2.1.197", transcript("claude", &with("subagent"))),
        (
            "claude_2.1.332",
            transcript("claude-2.1.332", &with("subagent-background")),
        ),
        ("codex_0.169.0", transcript("codex", &codex)),
        ("codex_0.171.0", transcript("codex-0.171.0", &codex)),
    ]
}

/// CPU time of this thread so far.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid pointer to a timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// This thread's CPU time for `f`.
fn cpu<T>(f: impl FnOnce() -> T) -> Duration {
    let start = thread_cpu();
    black_box(f());
    thread_cpu() - start
}

fn median<T: PartialOrd + Copy>(mut v: Vec<T>) -> T {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v[v.len() / 2]
}

/// Each parser against its baseline on the same text, back to back, for
/// 11 rounds: the median MB/s of both, each round's ratio, and the
/// median ratio.
fn ratios(sets: &[(&'static str, String)]) {
    const ROUNDS: usize = 11;
    println!(
        "parser / IgnoredAny, CPU time, {ROUNDS} rounds of both back to back (median ratio, then each round's):"
    );
    for (name, text) in sets {
        let (mut parser, mut baseline, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            let p = if name.starts_with("claude") {
                cpu(|| run(ClaudeParser::new(), text))
            } else {
                cpu(|| run(CodexParser::new(), text))
            };
            let b = cpu(|| ignored(text));
            ratio.push(b.as_secs_f64() / p.as_secs_f64());
            parser.push(p);
            baseline.push(b);
        }
        let each: Vec<String> = ratio.iter().map(|r| format!("{r:.2}")).collect();
        let mbps = |d: Duration| text.len() as f64 / d.as_secs_f64() / 1e6;
        println!(
            "  {name:<16} parser {:>6.0} MB/s   IgnoredAny {:>6.0} MB/s   ratio {:.2}   ({})",
            mbps(median(parser)),
            mbps(median(baseline)),
            median(ratio),
            each.join(" ")
        );
    }
}

fn bench(c: &mut Criterion) {
    let sets = transcripts();
    // Sanity: the transcripts parse into events, and (but for the one item
    // `error` Codex reports for an unknown model) not into warnings.
    for (name, text) in &sets {
        let (events, warnings) = if name.starts_with("claude") {
            count(ClaudeParser::new(), text)
        } else {
            count(CodexParser::new(), text)
        };
        assert!(events > 10_000, "{name}: {events} events");
        if name.starts_with("claude") {
            assert_eq!(warnings, 0, "{name}: {warnings} warnings");
        } else {
            assert!(warnings * 10 < events, "{name}: {warnings} warnings");
        }
    }

    ratios(&sets);

    let mut group = c.benchmark_group("parse");
    group.sample_size(10);
    for (name, text) in &sets {
        group.throughput(Throughput::BytesDecimal(text.len() as u64));
        if name.starts_with("claude") {
            group.bench_function(format!("{name}_20MB"), |b| {
                b.iter(|| run(ClaudeParser::new(), black_box(text)))
            });
        } else {
            group.bench_function(format!("{name}_20MB"), |b| {
                b.iter(|| run(CodexParser::new(), black_box(text)))
            });
        }
    }
    // Baselines on the same bytes: serde_json validating every line and keeping
    // nothing. The parsers cannot beat these.
    for (name, text) in &sets {
        group.throughput(Throughput::BytesDecimal(text.len() as u64));
        group.bench_function(format!("baseline_{name}_ignored_any"), |b| {
            b.iter(|| ignored(black_box(text)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
