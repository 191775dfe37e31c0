#!/usr/bin/env bash
# Builds the npm packages for the platform this runs on:
#   scripts/npm-pack.sh <out dir>
# 1. Builds the release binary. On Linux (x64, arm64) with cargo-zigbuild for an old
#    glibc (target <arch>-unknown-linux-gnu.2.28), installing cargo-zigbuild and zig
#    (the `ziglang` package) from PyPI into a venv ($CLAWRUN_ZIG_VENV, default
#    ~/.cache/clawrun-zig) when they are not on PATH; on macOS with cargo.
# 2. Linux: prints the highest GLIBC_ symbol version the binary needs, and fails when
#    it is above 2.28 (what people's machines have: Debian 10, Ubuntu 18.04, RHEL 8+).
# 3. Leaves in <out dir>: clawrun-<version>.tgz (the launcher package) and
#    clawrun-<version>-<platform>.tgz (the binary), packed with `npm pack`; the
#    version is Cargo.toml's.
# This machine builds linux-x64 (scripts/npm-e2e.sh tests it); the release workflow
# (.github/workflows/release.yml) runs this on a runner of each platform and publishes.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
GLIBC_MAX=2.28

die() { echo "npm-pack: ERROR: $*" >&2; exit 1; }
[ $# -eq 1 ] || { echo "usage: $0 <out dir>" >&2; exit 2; }
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) PLATFORM=linux-x64 TRIPLE=x86_64-unknown-linux-gnu ;;
  Linux-aarch64) PLATFORM=linux-arm64 TRIPLE=aarch64-unknown-linux-gnu ;;
  Darwin-x86_64) PLATFORM=darwin-x64 TRIPLE=x86_64-apple-darwin ;;
  Darwin-arm64) PLATFORM=darwin-arm64 TRIPLE=aarch64-apple-darwin ;;
  *) die "no npm package for $(uname -s)-$(uname -m)" ;;
esac
for tool in cargo node npm; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
VERSION=$(sed -n '/^\[package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n1)
[ -n "$VERSION" ] || die "no version in Cargo.toml"

# cargo-zigbuild and zig, from PyPI when missing.
ensure_zigbuild() {
  command -v cargo-zigbuild >/dev/null 2>&1 && return
  local venv=${CLAWRUN_ZIG_VENV:-$HOME/.cache/clawrun-zig}
  if [ ! -x "$venv/bin/cargo-zigbuild" ] || ! "$venv/bin/python3" -m ziglang version >/dev/null 2>&1; then
    command -v python3 >/dev/null 2>&1 || die "python3 not found (needed for pip install cargo-zigbuild ziglang)"
    echo "== installing cargo-zigbuild and ziglang from PyPI into $venv"
    python3 -m venv "$venv" || die "python3 -m venv failed (apt-get install python3-venv)"
    "$venv/bin/pip" install -q cargo-zigbuild ziglang || die "pip install cargo-zigbuild ziglang failed"
  fi
  # cargo-zigbuild runs zig as `python3 -m ziglang` when no `zig` is on PATH.
  export PATH="$venv/bin:$PATH"
}

# Prints the highest GLIBC_x.y the binary imports; fails above $GLIBC_MAX.
check_glibc_floor() {
  command -v objdump >/dev/null 2>&1 || die "objdump not found (apt-get install binutils)"
  local floor highest
  floor=$(objdump -T "$1" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' \
    | sort -t. -k1,1n -k2,2n -k3,3n | tail -n1)
  [ -n "$floor" ] || die "found no GLIBC_ symbol versions in $1"
  echo "GLIBC floor: $floor (the highest GLIBC_ symbol version the binary needs; limit $GLIBC_MAX)"
  highest=$(printf '%s\n%s\n' "$floor" "$GLIBC_MAX" | sort -t. -k1,1n -k2,2n -k3,3n | tail -n1)
  [ "$highest" = "$GLIBC_MAX" ] || die "the binary needs glibc $floor, above $GLIBC_MAX"
}

start=$(date +%s)
case $PLATFORM in
  linux-*)
    ensure_zigbuild
    echo "cargo-zigbuild $(cargo-zigbuild --version | awk '{print $2}'), zig $(zig version 2>/dev/null || python3 -m ziglang version)"
    echo "== cargo zigbuild --release --target $TRIPLE.$GLIBC_MAX (clawrun $VERSION)"
    (cd "$ROOT" && cargo zigbuild --locked --release --bin clawrun --target "$TRIPLE.$GLIBC_MAX")
    ;;
  darwin-*)
    echo "== cargo build --release --target $TRIPLE (clawrun $VERSION)"
    (cd "$ROOT" && cargo build --locked --release --bin clawrun --target "$TRIPLE")
    ;;
esac
echo "build took $(( $(date +%s) - start ))s"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/$TRIPLE/release/clawrun"
[ -x "$BIN" ] || die "no binary at $BIN"
case $PLATFORM in linux-*) check_glibc_floor "$BIN" ;; esac
echo "binary: $BIN ($(du -h "$BIN" | cut -f1))"

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
for dir in "$(node "$ROOT/npm/stage.js" main "$VERSION" "$STAGE")" \
           "$(node "$ROOT/npm/stage.js" platform "$VERSION" "$PLATFORM" "$BIN" "$STAGE")"; do
  (cd "$dir" && npm pack --silent --pack-destination "$OUT" >/dev/null)
done
for tgz in "clawrun-$VERSION.tgz" "clawrun-$VERSION-$PLATFORM.tgz"; do
  [ -f "$OUT/$tgz" ] || die "npm pack left no $OUT/$tgz"
  echo "packed: $OUT/$tgz ($(du -h "$OUT/$tgz" | cut -f1))"
done
