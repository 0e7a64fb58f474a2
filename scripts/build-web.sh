#!/usr/bin/env bash
# Builds the web app into dist/ with Trunk (Trunk.toml at the root), the small wasm profile
# and binaryen's wasm-opt 132, minifies the JavaScript glue (scripts/minify-glue.mjs), then
# writes the `.br` and `.gz` copies the relay serves to browsers that accept them
# (scripts/precompress.mjs); prints the wasm's sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
source scripts/tools.sh
source scripts/wasm-std.sh

# Std rebuilt with panics that trap at once, so no panic message, location or
# formatting code ships, and derived `Debug` printing only type and variant names (the app
# shows no derived Debug output: its messages quote strings, whose Debug is written by hand)
# (measured: 640 → 576 KB gzip -9). A panic then shows in the console as "unreachable" with
# no message; build with RUNMESH_WEB_PANIC_MESSAGES=1 to keep them. Should the toolchain
# lack rust-src or reject the switches, the ordinary build still ships a working app.
trunk_build() { trunk build --release --cargo-profile wasm-release; }
if [ -n "${RUNMESH_WEB_PANIC_MESSAGES:-}" ] ||
  ! std_rebuilt "-Cpanic=immediate-abort -Zfmt-debug=shallow -Zlocation-detail=none" \
    "building with panic messages, ~60 KB gzip larger" trunk_build; then
  trunk_build
fi
node scripts/minify-glue.mjs dist
node scripts/precompress.mjs dist
wasm=$(ls dist/*_bg.wasm)
echo "built dist/: $(basename "$wasm") $(stat -c %s "$wasm") bytes raw, $(gzip -9 -c "$wasm" | wc -c) bytes gzip -9, $(stat -c %s "$wasm.gz") bytes as served gzip (Zopfli), $(stat -c %s "$wasm.br") bytes as served brotli" >&2
