#!/usr/bin/env bash
# Builds and starts the relay on http://127.0.0.1:3030 with the embedded directory store
# (./runmesh-data). Extra arguments go to the relay (see --help); every flag is also an
# environment variable (LISTEN, DATA_DIR, REGION, CRDT_MESH_PEERS, …).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
web=()
if [ -f dist/index.html ]; then
  web=(--web-dist dist)
fi
exec cargo run --release -p runmesh-relay -- "${web[@]}" "$@"
