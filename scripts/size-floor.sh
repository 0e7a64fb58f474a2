#!/usr/bin/env bash
# How small a wasm holding Automerge can be: builds scripts/size-floor (every Automerge call
# runmesh-core makes, nothing else) the way the npm package is built, under three settings,
# and prints each one's size raw and gzip -9. The npm package's own size is printed by
# scripts/build-npm.sh; the difference is runmesh's part.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
source scripts/wasm-std.sh

crate=scripts/size-floor
export CARGO_TARGET_DIR="$PWD/target/size-floor"
out="$CARGO_TARGET_DIR/out"
wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/runmesh_size_floor.wasm"

# measure LABEL OPT_LEVEL STD_FLAGS WASM_OPT
measure() {
  local label=$1 level=$2 flags=$3 opt=$4
  build() {
    CARGO_PROFILE_RELEASE_OPT_LEVEL="$level" \
      cargo build -q --manifest-path "$crate/Cargo.toml" --release --target wasm32-unknown-unknown
  }
  std_rebuilt "$flags" "cannot measure with std rebuilt" build
  rm -rf "$out"
  wasm-bindgen --target web --no-typescript --out-dir "$out" "$wasm"
  wasm-opt "$opt" --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$out/runmesh_size_floor_bg.wasm" -o "$out/floor.wasm"
  printf '%-58s %9d raw %9d gzip -9\n' "$label" \
    "$(stat -c %s "$out/floor.wasm")" "$(gzip -9 -c "$out/floor.wasm" | wc -c)"
}

measure "opt-level s, panic messages (as the npm package)" s "-Zfmt-debug=shallow" -O3
measure "opt-level s, panics that trap" s "-Cpanic=immediate-abort -Zfmt-debug=shallow" -O3
measure "opt-level z, panics that trap, wasm-opt -Oz" z "-Cpanic=immediate-abort -Zfmt-debug=shallow" -Oz
