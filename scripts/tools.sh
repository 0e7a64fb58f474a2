#!/usr/bin/env bash
# Puts binaryen's wasm-opt 132 (from npm, never Debian's 108, whose output fails to load)
# on PATH; source this file. Installs it into scripts/node_modules the first time.
_tools_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ ! -x "$_tools_dir/node_modules/.bin/wasm-opt" ]; then
  (cd "$_tools_dir" && npm install --no-audit --no-fund --loglevel=error >&2)
fi
export PATH="$_tools_dir/node_modules/.bin:$PATH"
