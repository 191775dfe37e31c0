#!/usr/bin/env bash
# Whole-run overhead of `clawrun run` on a replayed Claude stream.
#
# The "agent" is a program that only writes a prepared stream (cat), so what is
# measured is the runner: CPU seconds and peak RSS of the clawrun process
# (getrusage, recorded in run.json), and the time from the agent's last write to
# the output file on disk (mtime of output.txt minus mtime of stream.jsonl).
#
# Usage: benches/overhead.sh [SIZES_MB...]   (default: 50 500); RUNS=5 by default.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(50 500)
runs=${RUNS:-5}
cargo build --release --quiet
bin=$PWD/target/release/clawrun
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/home"
cat > "$work/bin/claude" <<'SH'
#!/bin/sh
exec cat "$BENCH_STREAM"
SH
chmod +x "$work/bin/claude"

make_stream() { # size_mb out
  local want=$(( $1 * 1024 * 1024 )) out=$2
  {
    head -n 1 tests/fixtures/claude/multi.jsonl
    local i=0 size=0 body
    body=$(sed -n '2,$p' tests/fixtures/claude/multi.jsonl | grep -v '"type":"result"')
    # Repeat the conversation body in blocks until the size is reached.
    local block; block=$(for _ in $(seq 1 200); do printf '%s\n' "$body"; done)
    local bsize=${#block}
    while [ $size -lt $want ]; do printf '%s\n' "$block"; size=$((size + bsize + 1)); done
    grep '"type":"result"' tests/fixtures/claude/multi.jsonl
  } > "$out"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m); runs per size: $runs"
printf '%-8s %-14s %-14s %-16s %s\n' size "cpu_ms(med)" "rss_kb(max)" "latency_ms(med)" "wall_s(med)"
for mb in "${sizes[@]}"; do
  stream="$work/stream-$mb.jsonl"
  make_stream "$mb" "$stream"
  cpu=(); rss=(); lat=(); wall=()
  for r in $(seq 1 "$runs"); do
    home="$work/home/$mb-$r"; mkdir -p "$home/.openclaw"
    # Keep the whole stream (the default cap, 256 MiB, would stop stream.jsonl
    # early and make the latency below meaningless for the 500 MB case).
    printf '[limits]\nmax_stream_mib = 4096\n' > "$home/.openclaw/clawrun.toml"
    t0=$(date +%s.%N)
    env -i HOME="$home" PATH="$work/bin:/usr/bin:/bin" BENCH_STREAM="$stream" \
      "$bin" run -t bench -p "$work/project" --json > "$work/report.json" 2>/dev/null
    t1=$(date +%s.%N)
    dir=$(ls -d "$home"/.openclaw/clawrun/runs/*)
    cpu+=("$(grep -o '"runner_cpu_ms": [0-9]*' "$dir/run.json" | grep -o '[0-9]*$')")
    rss+=("$(grep -o '"runner_peak_rss_kb": [0-9]*' "$dir/run.json" | grep -o '[0-9]*$')")
    o=$(stat -c '%.9Y' "$dir/output.txt"); s=$(stat -c '%.9Y' "$dir/stream.jsonl")
    lat+=("$(awk -v o="$o" -v s="$s" 'BEGIN {printf "%.1f", (o - s) * 1000}')")
    wall+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')")
    rm -rf "$home"
  done
  printf '%-8s %-14s %-14s %-16s %s\n' "${mb}MB" \
    "$(printf '%s\n' "${cpu[@]}" | median)" \
    "$(printf '%s\n' "${rss[@]}" | sort -n | tail -1)" \
    "$(printf '%s\n' "${lat[@]}" | median)" \
    "$(printf '%s\n' "${wall[@]}" | median)"
done
