//! Parser throughput: Claude `stream-json` and Codex `exec --json` transcripts of
//! about 20 MB each, built in memory by repeating the real fixtures, fed line by
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
//! `cargo bench --bench parse -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::path::PathBuf;

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

/// Events and warnings from one pass (a sanity check outside the measurement).
fn count<P: LineParser>(mut parser: P, text: &str) -> (usize, usize) {
    let events: Vec<_> = text.lines().flat_map(|l| parser.parse_line(l)).collect();
    let warnings = events
        .iter()
        .filter(|e| matches!(e, clawrun::core::model::events::AgentEvent::Warning { .. }))
        .count();
    (events.len(), warnings)
}

fn bench(c: &mut Criterion) {
    let claude = transcript(
        "claude",
        &[
            "multi",
            "subagent",
            "partial-messages",
            "tool",
            "err500-retried",
        ],
    );
    let codex = transcript(
        "codex",
        &[
            "multi",
            "tool",
            "text",
            "unknown-model",
            "err500-retried",
            "failed",
        ],
    );
    // Sanity: the transcripts parse into events, and (but for the one item
    // `error` Codex reports for an unknown model) not into warnings.
    let (events, warnings) = count(ClaudeParser::new(), &claude);
    assert!(
        events > 10_000 && warnings == 0,
        "claude: {events} events, {warnings} warnings"
    );
    let (events, warnings) = count(CodexParser::new(), &codex);
    assert!(events > 10_000, "codex: {events} events");
    assert!(warnings * 10 < events, "codex: {warnings} warnings");

    let mut group = c.benchmark_group("parse");
    group.sample_size(10);
    group.throughput(Throughput::BytesDecimal(claude.len() as u64));
    group.bench_function("claude_20MB", |b| {
        b.iter(|| run(ClaudeParser::new(), black_box(&claude)))
    });
    group.throughput(Throughput::BytesDecimal(codex.len() as u64));
    group.bench_function("codex_20MB", |b| {
        b.iter(|| run(CodexParser::new(), black_box(&codex)))
    });
    // Baselines on the same bytes: serde_json validating every line and keeping
    // nothing. The parsers cannot beat these.
    group.throughput(Throughput::BytesDecimal(claude.len() as u64));
    group.bench_function("baseline_claude_ignored_any", |b| {
        b.iter(|| ignored(black_box(&claude)))
    });
    group.throughput(Throughput::BytesDecimal(codex.len() as u64));
    group.bench_function("baseline_codex_ignored_any", |b| {
        b.iter(|| ignored(black_box(&codex)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
