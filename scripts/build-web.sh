#!/usr/bin/env bash
# Builds the web app into dist/ with Trunk (Trunk.toml at the root), the small wasm profile
# and binaryen's wasm-opt 132; prints the wasm's size raw and gzipped.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
source scripts/tools.sh
trunk build --release --cargo-profile wasm-release
wasm=$(ls dist/*_bg.wasm)
echo "built dist/: $(basename "$wasm") $(stat -c %s "$wasm") bytes raw, $(gzip -9 -c "$wasm" | wc -c) bytes gzip -9" >&2
