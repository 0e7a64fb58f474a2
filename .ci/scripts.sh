#!/usr/bin/env bash
# Build scripts honour CARGO_TARGET_DIR: none names target/ itself (they source
# scripts/target-dir.sh), and that script resolves the variable as Cargo does.
set -euo pipefail
cd "$(dirname "$0")/.."
hardcoded=$(grep -n -E '(^|[^A-Za-z_$])target/' scripts/*.sh .ci/*.sh tests/*/*.sh 2>/dev/null |
  grep -v -E '^\S+:[0-9]+:\s*#' | grep -v -E 'target/size-floor|scripts/target-dir.sh|\.ci/scripts.sh' || true)
if [ -n "$hardcoded" ]; then
  echo "these lines name target/ instead of \$TARGET_DIR (scripts/target-dir.sh):" >&2
  echo "$hardcoded" >&2
  exit 1
fi
root=$PWD
check() {
  got=$(env -u CARGO_TARGET_DIR ${1:+CARGO_TARGET_DIR="$1"} bash -c 'source scripts/target-dir.sh; echo "$TARGET_DIR"')
  [ "$got" = "$2" ] || { echo "CARGO_TARGET_DIR=${1:-(unset)}: TARGET_DIR is $got, expected $2" >&2; exit 1; }
}
check "" "$root/target"
check "build/out" "$root/build/out"
check "/tmp/shared-target" "/tmp/shared-target"
echo "scripts honour CARGO_TARGET_DIR"
# The web build's own steps (scripts/wasm-imports.mjs and scripts/glue-exports.mjs, which
# rewrite the app's wasm and its glue).
node --test scripts/test/
