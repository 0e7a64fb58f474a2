#!/usr/bin/env bash
# The npm package: builds it (scripts/build-npm.sh), checks the wasm core against the
# native one on the shared fixtures, runs the JavaScript tests against the built package
# (sync tests start the real relay), and installs the packed tarball into a fresh project.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/target-dir.sh
bash scripts/build-npm.sh
node --test core/tests/wasm/
cargo build -p runmesh-relay
cd tests/npm
npm install --no-audit --no-fund --loglevel=error
RUNMESH_RELAY_BIN="$TARGET_DIR/debug/runmesh-relay" node --test doc.test.mjs sync.test.mjs store.test.mjs hostile.test.mjs
bash pack.sh
