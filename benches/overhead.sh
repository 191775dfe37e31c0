#!/usr/bin/env bash
# Whole-run overhead of `clawrun run` on a replayed Claude stream, and the cost
# of a run that waits on its agent.
#
# The "agent" is a program that only writes a prepared stream (cat), so what is
# measured is the runner:
#   - runner CPU and peak RSS of the clawrun process (getrusage, recorded in
#     run.json);
#   - the CPU of the whole process tree (`clawrun run` in the foreground, its
#     watcher and the agent: user+sys of every process waited for);
#   - the time from the agent's last write to the output file on disk (mtime
#     of output.txt minus mtime of stream.jsonl).
# With SEED=<path to the seed's run-task.py>, the seed runs the same stream
# with the same fake `claude` in the same session, interleaved run by run, and
# the ratio of the two trees' CPU is printed (medians of the same session).
#
# Then WAITERS runs (default 3) are started at once with an agent that only
# sleeps, and each run's private memory is read while it waits: USS
# (Private_Clean + Private_Dirty of /proc/<pid>/smaps_rollup) and PSS of the
# runner and its crash watcher. Several runs wait together, as a user's do:
# the binary's pages are then shared and a run's USS is what it costs on its own.
#
# Usage: benches/overhead.sh [SIZES_MB...]   (default: 50 500)
#   RUNS=5          runs per size (medians; the peak RSS is the maximum)
#   BIN=path        a clawrun binary to measure (default: build the release one)
#   SEED=path       the seed's run-task.py, run side by side
#   SEED_MAX_MB=50  the largest size the seed runs (it keeps the whole stream)
#   BASE=path       another clawrun binary (say, the previous release), run
#                   interleaved with BIN run by run, for before/after figures
#   WAITERS=3       runs waiting at once for the memory figures (0: skip)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(50 500)
runs=${RUNS:-5}
seed=${SEED:-}
seed_max=${SEED_MAX_MB:-50}
waiters=${WAITERS:-3}
if [ -n "${BIN:-}" ]; then
  bin=$(realpath "$BIN")
else
  cargo build --release --quiet
  bin=$PWD/target/release/clawrun
fi
if [ -n "$seed" ]; then
  seed=$(realpath "$seed")
  # The interpreter itself (not a shim that needs the caller's environment).
  python=${PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}
fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin/sleeper" "$work/home"
cat > "$work/bin/claude" <<'SH'
#!/bin/sh
exec cat "$BENCH_STREAM"
SH
cat > "$work/bin/sleeper/claude" <<'SH'
#!/bin/sh
exec sleep "$BENCH_WAIT"
SH
chmod +x "$work/bin/claude" "$work/bin/sleeper/claude"

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
# Run a command; its CPU (user+sys of it and every child it waited for, from
# the shell's `times`: millisecond resolution) goes to $out.times and its
# peak RSS (KB, /usr/bin/time) to $out.rss.
timed() { # out cmd...
  local out=$1; shift
  ( /usr/bin/time -f '%M' -o "$out.rss" "$@"; rc=$?; times > "$out.times"; exit $rc )
}
cpu_ms() { # out
  awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, p, "m"); sub("s", "", p[2]); t += p[1] * 60 + p[2] }
    printf "%d\n", t * 1000 }' "$1.times"
}
# The home of one run: state under it, the whole stream kept (the default cap,
# 256 MiB, would stop stream.jsonl early and make the 500 MB latency meaningless).
new_home() { # dir
  mkdir -p "$1/.openclaw"
  printf '[limits]\nmax_stream_mib = 4096\n' > "$1/.openclaw/clawrun.toml"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m); load $(cut -d' ' -f1-3 /proc/loadavg); runs per size: $runs"
echo "binary: $bin"
[ -z "$seed" ] || echo "seed: $python $seed ($("$python" --version 2>&1))"
# One run of clawrun binary $1 on stream $2, its figures appended to $work/m/$3.*
clawrun_run() { # bin stream label
  local home="$work/home/run" t0 t1 dir o s
  rm -rf "$home"; new_home "$home"
  t0=$(date +%s.%N)
  timed "$work/time" env -i HOME="$home" PATH="$work/bin:/usr/bin:/bin" BENCH_STREAM="$2" \
    "$1" run -t bench -p "$work/project" --json > "$work/report.json" 2>/dev/null
  t1=$(date +%s.%N)
  cpu_ms "$work/time" >> "$work/m/$3.tree"
  dir=$(ls -d "$home"/.openclaw/clawrun/runs/*)
  grep -o '"runner_cpu_ms": [0-9]*' "$dir/run.json" | grep -o '[0-9]*$' >> "$work/m/$3.cpu"
  grep -o '"runner_peak_rss_kb": [0-9]*' "$dir/run.json" | grep -o '[0-9]*$' >> "$work/m/$3.rss"
  o=$(stat -c '%.9Y' "$dir/output.txt"); s=$(stat -c '%.9Y' "$dir/stream.jsonl")
  awk -v o="$o" -v s="$s" 'BEGIN {printf "%.1f\n", (o - s) * 1000}' >> "$work/m/$3.lat"
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f\n", b - a}' >> "$work/m/$3.wall"
  rm -rf "$home"
}

# One run of the seed on stream $1, its figures appended to $work/m/seed.*
seed_run() { # stream
  # The seed keeps its pid files next to itself: run a copy in the work dir.
  local sdir="$work/seed" home="$work/home/seed"
  mkdir -p "$sdir" "$home/.openclaw"; cp "$(dirname "$seed")"/*.py "$sdir/"
  timed "$work/time" env -i HOME="$home" PATH="$work/bin:/usr/bin:/bin" BENCH_STREAM="$1" \
    "$python" "$sdir/$(basename "$seed")" -t bench -p "$work/seed-project" -o "$work/seed-out.txt" \
    > /dev/null 2> "$work/seed-err.txt" || { echo "the seed failed:"; cat "$work/seed-err.txt"; exit 1; }
  cpu_ms "$work/time" >> "$work/m/seed.tree"
  cat "$work/time.rss" >> "$work/m/seed.rss"
  rm -rf "$home" "$sdir/pids"
}

med() { grep . "$work/m/$1" | median; }
max() { grep . "$work/m/$1" | sort -n | tail -1; }

labels=(clawrun); [ -z "${BASE:-}" ] || labels+=(base)
[ -z "${BASE:-}" ] || echo "base: $(realpath "$BASE") (interleaved run by run)"
printf '%-7s %-8s %-10s %-12s %-11s %-12s %-7s %s\n' size binary runner_ms "rss_kb(max)" latency_ms \
  tree_cpu_ms wall_s "tree/seed (seed: tree_cpu_ms, rss_kb)"
for mb in "${sizes[@]}"; do
  stream="$work/stream-$mb.jsonl"
  make_stream "$mb" "$stream"
  rm -rf "$work/m"; mkdir -p "$work/m"
  with_seed=; [ -n "$seed" ] && [ "$mb" -le "$seed_max" ] && with_seed=1
  for r in $(seq 1 "$runs"); do
    clawrun_run "$bin" "$stream" clawrun
    [ -z "${BASE:-}" ] || clawrun_run "$(realpath "$BASE")" "$stream" base
    [ -z "$with_seed" ] || seed_run "$stream"
  done
  for l in "${labels[@]}"; do
    t=$(med "$l.tree"); ratio=-
    [ -z "$with_seed" ] || ratio="$(awk -v a="$t" -v b="$(med seed.tree)" 'BEGIN {printf "%.3f", a / b}') ($(med seed.tree) ms, $(max seed.rss) KB)"
    printf '%-7s %-8s %-10s %-12s %-11s %-12s %-7s %s\n' "${mb}MB" "$l" "$(med "$l.cpu")" "$(max "$l.rss")" \
      "$(med "$l.lat")" "$t" "$(med "$l.wall")" "$ratio"
  done
done

[ "$waiters" -gt 0 ] || exit 0
# USS and PSS (KB) of one process.
mem() { awk '/^Private_(Clean|Dirty):/ {u += $2} /^Pss:/ {p = $2} END {print u, p}' "/proc/$1/smaps_rollup"; }
pids=()
for w in $(seq 1 "$waiters"); do
  home="$work/home/wait-$w"; new_home "$home"
  env -i HOME="$home" PATH="$work/bin/sleeper:/usr/bin:/bin" BENCH_WAIT=30 \
    "$bin" run -t wait -p "$work/project" --json > /dev/null 2>&1 &
  pids+=($!)
done
# Wait until every runner has its watcher and has settled (its agent spawned,
# the blocking pool's idle threads gone), then read.
for _ in $(seq 1 100); do
  ready=0
  for p in "${pids[@]}"; do
    [ -n "$(pgrep -P "$p" -f __watch)" ] && [ -n "$(pgrep -P "$p" -x sleep)" ] && ready=$((ready + 1))
  done
  [ "$ready" -eq "$waiters" ] && break
  sleep 0.1
done
sleep 3
echo
echo "waiting runs: $waiters at once (agent: sleep); per run, KB"
printf '%-10s %-11s %-11s %-12s %-11s %-11s %s\n' run runner_uss watcher_uss "uss(total)" runner_pss watcher_pss threads
uss=()
for p in "${pids[@]}"; do
  wp=$(pgrep -P "$p" -f __watch)
  read -r ru rp < <(mem "$p"); read -r wu wpss < <(mem "$wp")
  uss+=($((ru + wu)))
  printf '%-10s %-11s %-11s %-12s %-11s %-11s %s\n' "$p" "$ru" "$wu" $((ru + wu)) "$rp" "$wpss" \
    "$(ls "/proc/$p/task" | wc -l)+$(ls "/proc/$wp/task" | wc -l)"
done
echo "median uss per waiting run (runner + watcher): $(printf '%s\n' "${uss[@]}" | median) KB"
# End the waiting runs the way a user does.
for w in $(seq 1 "$waiters"); do
  env -i HOME="$work/home/wait-$w" PATH="/usr/bin:/bin" "$bin" kill wait > /dev/null 2>&1 || true
done
wait
