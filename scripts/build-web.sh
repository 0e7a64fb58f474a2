#!/usr/bin/env bash
# Builds the web app into dist/ with Trunk (Trunk.toml at the root), the small wasm profile
# and binaryen's wasm-opt 132, then writes the `.br` and `.gz` copies the relay serves to
# browsers that accept them (scripts/precompress.mjs); prints the wasm's sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
source scripts/tools.sh
# Panic locations name source files; ship them relative to the crate registry and this
# checkout rather than with the builder's home directory in every path.
cargo fetch -q  # so the registry directories below exist on a fresh machine
remap="--remap-path-prefix=$PWD=runmesh"
for index in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/; do
  remap="$remap --remap-path-prefix=${index%/}=crates"
done
export RUSTFLAGS="$remap"
trunk build --release --cargo-profile wasm-release
node scripts/precompress.mjs dist
wasm=$(ls dist/*_bg.wasm)
echo "built dist/: $(basename "$wasm") $(stat -c %s "$wasm") bytes raw, $(gzip -9 -c "$wasm" | wc -c) bytes gzip -9, $(stat -c %s "$wasm.gz") bytes as served gzip (Zopfli), $(stat -c %s "$wasm.br") bytes as served brotli" >&2
