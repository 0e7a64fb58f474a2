#!/usr/bin/env bash
# The web app in a real browser: builds it (scripts/build-web.sh), then drives Debian's
# Chromium with playwright-core against the real relay serving dist/. Screenshots go to
# target/e2e-screenshots. python-npm.test.mjs also needs the npm package and the Python
# package's venv, which .ci/npm.sh and .ci/python.sh (run before this in .ci/test.sh) make.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/target-dir.sh
bash scripts/build-web.sh
cargo build -p runmesh-relay
cd tests/e2e
npm install --no-audit --no-fund --loglevel=error
RUNMESH_RELAY_BIN="$TARGET_DIR/debug/runmesh-relay" node --test --test-concurrency=1 .
