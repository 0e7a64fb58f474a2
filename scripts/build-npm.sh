#!/usr/bin/env bash
# Builds the npm package `runmesh` into $TARGET_DIR/npm/runmesh (target/ unless
# CARGO_TARGET_DIR says otherwise): core with its `wasm` feature,
# bound by wasm-bindgen (target web: ESM, instantiated by `init()` in browsers and at
# import in Node), optimised by wasm-opt -O3, plus the JavaScript API and types in core/npm.
# `npm pack target/npm/runmesh` makes the tarball.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
source scripts/wasm-std.sh
source scripts/target-dir.sh

# The profile npm-release (Cargo.toml) mixes size- and speed-optimised code. Std is rebuilt
# with it, and derived `Debug` prints only type and variant names (errors reach JavaScript
# through Display; panic messages and locations stay) (measured: 687 → 668 KB gzip -9).
out="$TARGET_DIR/npm/runmesh"
core_build() {
  cargo build -p runmesh-core --target wasm32-unknown-unknown --features wasm --profile npm-release
}
std_rebuilt "-Zfmt-debug=shallow" "building with the prebuilt std, ~20 KB gzip larger" core_build ||
  core_build
rm -rf "$out"
mkdir -p "$out/wasm"
wasm-bindgen --target web --no-typescript --out-dir "$out/wasm" \
  "$TARGET_DIR/wasm32-unknown-unknown/npm-release/runmesh_core.wasm"
wasm-opt -O3 --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$out/wasm/runmesh_core_bg.wasm" -o "$out/wasm/runmesh_core_bg.wasm"
cp core/npm/src/*.js "$out/"
cp core/npm/package.json core/npm/index.d.ts core/npm/README.md "$out/"
raw=$(stat -c %s "$out/wasm/runmesh_core_bg.wasm")
gz=$(gzip -9 -c "$out/wasm/runmesh_core_bg.wasm" | wc -c)
echo "built $out: wasm $raw bytes raw, $gz bytes gzip -9" >&2
