#!/usr/bin/env bash
# Builds the web app into dist/ with Trunk (Trunk.toml at the root), the small wasm profile
# and binaryen's wasm-opt 132, drops the wasm exports the app never calls and shortens the
# long ones (scripts/trim-exports.mjs), minifies the JavaScript glue and the service worker
# (scripts/minify-glue.mjs), gives the wasm's imports short names
# (scripts/short-imports.mjs), then writes the `.br` and `.gz` copies the relay serves to
# browsers that accept them (scripts/precompress.mjs); prints the wasm's sizes and the
# whole app's.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
source scripts/tools.sh
source scripts/wasm-std.sh

# Std rebuilt with panics that trap at once, so no panic message, location or
# formatting code ships, and derived `Debug` printing only type and variant names (the app
# shows no derived Debug output: its messages quote strings, whose Debug is written by hand)
# (measured: 640 → 576 KB gzip -9). A panic then shows in the console as "unreachable" with
# no message; build with RUNMESH_WEB_PANIC_MESSAGES=1 to keep them. That std is also built
# with its `optimize_for_size` feature: its sorts become a plain merge sort and heapsort
# (still O(n log n), much less code for each of the ~40 element types sorted) and its number
# formatting and parsing skip their lookup tables (measured: 611,665 → 588,417 B gzip -9).
# Should the toolchain lack rust-src or reject the switches, the ordinary build still ships a
# working app.
trunk_build() { trunk build --release --cargo-profile wasm-release; }
small_std_build() { CARGO_UNSTABLE_BUILD_STD_FEATURES=optimize_for_size trunk_build; }
if [ -n "${RUNMESH_WEB_PANIC_MESSAGES:-}" ] ||
  ! std_rebuilt "-Cpanic=immediate-abort -Zfmt-debug=shallow -Zlocation-detail=none" \
    "building with panic messages, ~85 KB gzip larger" small_std_build; then
  trunk_build
fi
node scripts/trim-exports.mjs dist
node scripts/minify-glue.mjs dist
node scripts/short-imports.mjs dist
node scripts/precompress.mjs dist
wasm=$(ls dist/*_bg.wasm)
echo "built dist/: $(basename "$wasm") $(stat -c %s "$wasm") bytes raw, $(gzip -9 -c "$wasm" | wc -c) bytes gzip -9, $(stat -c %s "$wasm.gz") bytes as served gzip (Zopfli), $(stat -c %s "$wasm.br") bytes as served brotli" >&2
whole=0
for file in dist/*; do
  case $file in *.gz | *.br) ;; *) whole=$((whole + $(gzip -9 -c "$file" | wc -c))) ;; esac
done
echo "the whole app: $whole bytes gzip -9 (each file compressed on its own)" >&2
