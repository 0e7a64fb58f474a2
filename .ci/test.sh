#!/usr/bin/env bash
# The test command (README: "Test"). Each step also runs on its own.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
cargo test --workspace
echo "== wasm32 build of core, checked against native"
bash .ci/wasm-core.sh
echo "== interop: stock automerge-repo clients through the relay"
bash .ci/interop.sh
