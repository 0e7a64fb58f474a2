#!/usr/bin/env bash
# Runs the stock @automerge/automerge-repo client (versions pinned in
# tests/interop/package.json) against the real relay binary.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/target-dir.sh
cargo build -p runmesh-relay
cd tests/interop
# `npm ci` refuses the lock file here (optional native CBOR packages are missing from
# the registry), so install from package.json; versions there are exact.
npm install --no-audit --no-fund --loglevel=error
RUNMESH_RELAY_BIN="$TARGET_DIR/debug/runmesh-relay" node --test
