#!/usr/bin/env bash
# Sets up what is missing, builds the web app and the relay, and starts the relay on
# http://127.0.0.1:3030 serving the app at / with the embedded directory store
# (./runmesh-data). Extra arguments go to the relay (see --help); every flag is also an
# environment variable (LISTEN, DATA_DIR, REGION, CRDT_MESH_PEERS, …).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/setup.sh
bash scripts/build-web.sh
exec cargo run --release -p runmesh-relay -- --web-dist dist "$@"
