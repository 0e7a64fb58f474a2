#!/usr/bin/env bash
# Installs only what is missing to build everything: rustfmt/clippy, the wasm32 target, rust-src,
# the wasm-bindgen CLI at exactly the version Cargo.lock pins, Trunk 0.21.14 (0.22 needs a
# newer rustc), and binaryen's wasm-opt 132 from npm (scripts/tools.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

for component in rustfmt clippy; do
  rustup component list --installed | grep -q "^$component" || rustup component add "$component"
done
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
# std's source, so the wasm builds can rebuild std for size (scripts/wasm-std.sh); without it
# the web app and the npm package still build, larger.
rustup component list --installed | grep -q "^rust-src" || rustup component add rust-src ||
  echo "warning: could not add rust-src; the web app and npm package will build larger" >&2

want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  echo "installing wasm-bindgen-cli $want (found: ${have:-none})"
  # Not --locked: its lock file pins a webpki-roots the registry here lacks.
  cargo install wasm-bindgen-cli --version "$want"
fi

trunk_want=0.21.14
trunk_have=$(trunk --version 2>/dev/null | awk '{print $2}' || true)
if [ "$trunk_have" != "$trunk_want" ]; then
  echo "installing trunk $trunk_want (found: ${trunk_have:-none})"
  cargo install trunk --version "$trunk_want" --locked
fi

source scripts/tools.sh
