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

# Smaller still: std rebuilt with panics that trap at once, so no panic message, location or
# formatting code ships, and derived `Debug` printing only type and variant names (the app
# shows no derived Debug output: its messages quote strings, whose Debug is written by hand)
# (measured: 640 → 576 KB gzip -9). That needs the toolchain's `rust-src` and unstable
# switches, allowed on stable by RUSTC_BOOTSTRAP for this build only. A panic then shows in
# the console as "unreachable" with no message; build with RUNMESH_WEB_PANIC_MESSAGES=1 to
# keep them. Should a toolchain reject the switches, the ordinary build below still ships a
# working app, and says so.
trunk_build() { trunk build --release --cargo-profile wasm-release; }
small_build() {
  RUSTC_BOOTSTRAP=1 CARGO_UNSTABLE_BUILD_STD=std,panic_abort \
    RUSTFLAGS="$remap -Zunstable-options -Cpanic=immediate-abort -Zfmt-debug=shallow" trunk_build
}
larger="building with panic messages, ~60 KB gzip larger"
if [ -n "${RUNMESH_WEB_PANIC_MESSAGES:-}" ]; then
  trunk_build
elif [ ! -d "$(rustc --print sysroot)/lib/rustlib/src/rust/library" ]; then
  echo "warning: the toolchain has no rust-src (rustup component add rust-src): $larger" >&2
  trunk_build
elif ! small_build; then
  echo "warning: this toolchain rejected -Cpanic=immediate-abort, -Zfmt-debug or build-std: $larger" >&2
  trunk_build
fi
node scripts/precompress.mjs dist
wasm=$(ls dist/*_bg.wasm)
echo "built dist/: $(basename "$wasm") $(stat -c %s "$wasm") bytes raw, $(gzip -9 -c "$wasm" | wc -c) bytes gzip -9, $(stat -c %s "$wasm.gz") bytes as served gzip (Zopfli), $(stat -c %s "$wasm.br") bytes as served brotli" >&2
