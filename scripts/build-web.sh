#!/usr/bin/env bash
# Builds the web app into dist/ with Trunk (Trunk.toml at the root), the small wasm profile
# and binaryen's wasm-opt 132, then writes the `.br` and `.gz` copies the relay serves to
# browsers that accept them (scripts/precompress.mjs); prints the wasm's sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
source scripts/tools.sh
trunk build --release --cargo-profile wasm-release
node scripts/precompress.mjs dist
wasm=$(ls dist/*_bg.wasm)
echo "built dist/: $(basename "$wasm") $(stat -c %s "$wasm") bytes raw, $(gzip -9 -c "$wasm" | wc -c) bytes gzip -9, $(stat -c %s "$wasm.gz") bytes as served gzip (Zopfli), $(stat -c %s "$wasm.br") bytes as served brotli" >&2
