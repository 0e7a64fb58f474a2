#!/usr/bin/env bash
# `npm pack` the built package, install the tarball into a fresh empty project, and use
# it there through `import 'runmesh'` (ESM, exports map, wasm next to the entry) with
# TypeScript checking a typed use of it against the shipped declarations.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../../scripts/target-dir.sh"
pkg="${RUNMESH_NPM_PKG:-$TARGET_DIR/npm/runmesh}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

tarball="$(cd "$pkg" && npm pack --silent --pack-destination "$work")"
echo "packed $tarball: $(stat -c %s "$work/$tarball") bytes" >&2
mkdir "$work/app"
cd "$work/app"
npm init -y >/dev/null
npm pkg set type=module >/dev/null
npm install --no-audit --no-fund --loglevel=error "$work/$tarball"
cp "$here/fresh-project.mjs" "$here/fresh-project.ts" .
node fresh-project.mjs
"$here/node_modules/.bin/tsc" --noEmit --strict --target es2022 --module nodenext \
  --moduleResolution nodenext fresh-project.ts 2>&1 || {
  echo "the shipped TypeScript declarations do not fit a typed use" >&2
  exit 1
}
echo "fresh project: import, use and type-check of $tarball ok" >&2
