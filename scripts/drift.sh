#!/usr/bin/env bash
# Drift check: do today's newest `claude` and `codex` still work with clawrun?
#
# Installs the versions the npm registry tags `latest` into a temporary prefix
# (removed at the end; Node 24 and openclaw come from the e2e cache, see
# scripts/e2e.sh), runs the end-to-end scenarios against them, and prints one row
# per scenario:
#
#   CLI     version   scenario            result  new event types
#   claude  2.1.332   claude_subagent     pass    -
#
# "new event types" are the types, subtypes and content blocks in the scenario's
# streams that clawrun's parsers do not know (each becomes an `UnknownEvent`):
# map them in src/backends/, then move `tested_version` in backends.toml.
#
# Usage: scripts/drift.sh [scenario filter…]   (e.g. `scripts/drift.sh claude codex`)
# Exit status: 0 when every scenario passed, 1 otherwise. Needs npm and the registry.
set -uo pipefail
cd "$(dirname "$0")/.."

PREFIX=$(mktemp -d "${TMPDIR:-/tmp}/clawrun-drift-XXXXXX")
LOG=$PREFIX/e2e.log
trap 'rm -rf "$PREFIX"' EXIT

CLAWRUN_E2E_CLIS_DIR=$PREFIX/clis bash scripts/e2e.sh --latest "$@" 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}

claude_v=$(sed -n 's/^e2e: npm latest: claude \([^,]*\), codex \(.*\)$/\1/p' "$LOG" | head -n 1)
codex_v=$(sed -n 's/^e2e: npm latest: claude \([^,]*\), codex \(.*\)$/\2/p' "$LOG" | head -n 1)

echo
echo "drift check: npm latest: claude ${claude_v:-?}, codex ${codex_v:-?}"
printf '%-8s %-10s %-30s %-6s %s\n' CLI version scenario result "new event types"
rows=0
# `e2e: drift <scenario> <pass|FAIL> <backends> <unknown types>` (tests/e2e.rs).
while read -r _ _ scenario result backends unknown; do
  rows=$((rows + 1))
  cli=$backends
  case $scenario in claude_*) cli=claude ;; codex_*) cli=codex ;; esac
  case $cli in
    claude) version=$claude_v ;;
    codex) version=$codex_v ;;
    -) cli=-; version=- ;;
    *) version="$claude_v/$codex_v" ;;
  esac
  printf '%-8s %-10s %-30s %-6s %s\n' "$cli" "$version" "$scenario" "$result" "$unknown"
done < <(grep '^e2e: drift ' "$LOG")
if [ "$rows" = 0 ]; then
  echo "(no scenario ran: the install or the build failed, see above)"
fi
exit "$rc"
