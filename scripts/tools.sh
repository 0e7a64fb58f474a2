#!/usr/bin/env bash
# Puts binaryen's wasm-opt 132 (from npm, never Debian's 108, whose output fails to load)
# on PATH, with terser and Zopfli for scripts/minify-glue.mjs and precompress.mjs beside it;
# source this file. Installs them into scripts/node_modules when one is missing.
_tools_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ ! -x "$_tools_dir/node_modules/.bin/wasm-opt" ] || [ ! -d "$_tools_dir/node_modules/@gfx/zopfli" ] ||
  [ ! -d "$_tools_dir/node_modules/terser" ]; then
  (cd "$_tools_dir" && npm install --no-audit --no-fund --loglevel=error >&2)
fi
export PATH="$_tools_dir/node_modules/.bin:$PATH"
