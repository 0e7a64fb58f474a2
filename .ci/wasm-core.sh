#!/usr/bin/env bash
# Builds runmesh-core for wasm32 with its `wasm` feature and binds it for Node
# (target/wasm-node), then checks it against the native core on the shared fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -p runmesh-core --target wasm32-unknown-unknown --features wasm --release
wasm-bindgen --target nodejs --out-dir target/wasm-node \
  target/wasm32-unknown-unknown/release/runmesh_core.wasm
node --test core/tests/wasm/
