#!/usr/bin/env bash
# The test command (README: "Two commands"; docs/testing.md). Each step also runs on its own.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never
# A clean build gains nothing from incremental state, and it is ~700 MB of disk.
export CARGO_INCREMENTAL=0

# Free disk, printed before each step: a full disk fails a build far from its cause.
disk() { df -h --output=avail . | tail -1 | xargs printf '   (%s free on disk)\n'; }

echo "== cargo fmt --check"
disk
cargo fmt --all -- --check
echo "== cargo clippy"
disk
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p runmesh-core --features wasm --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p runmesh-web --target wasm32-unknown-unknown -- -D warnings
# scripts/size-floor (Automerge alone, for the npm size figures) is its own workspace.
cargo fmt --manifest-path scripts/size-floor/Cargo.toml -- --check
CARGO_TARGET_DIR=target/size-floor cargo clippy --manifest-path scripts/size-floor/Cargo.toml \
  --target wasm32-unknown-unknown -- -D warnings
echo "== cargo test (PostgreSQL store against a real PostgreSQL)"
disk
RUNMESH_TEST_DATABASE_URL=$(bash .ci/postgres.sh)
RUNMESH_TEST_DATABASE_CA=$(bash .ci/postgres.sh --ca)
export RUNMESH_TEST_DATABASE_URL RUNMESH_TEST_DATABASE_CA RUNMESH_REQUIRE_POSTGRES=1
# The simulation explores seeds drawn from the commit: new ones on every commit (printed;
# a failure prints the one command that replays it).
RUNMESH_SIM_COMMIT=$(git rev-parse HEAD 2>/dev/null || echo 0)
echo "simulation seeds drawn from commit $RUNMESH_SIM_COMMIT"
export RUNMESH_SIM_COMMIT
cargo test --workspace
echo "== alert rules (promtool), k8s manifests (kubernetes-validate); build scripts and CARGO_TARGET_DIR"
bash .ci/alerts.sh
bash .ci/k8s.sh
bash .ci/scripts.sh
echo "== npm package: wasm core vs native, JS tests, packed tarball in a fresh project"
disk
bash .ci/npm.sh
echo "== Python package: wheel built, installed in a fresh venv, pytest against the relay"
disk
bash .ci/python.sh
echo "== interop: stock automerge-repo clients through the relay"
disk
bash .ci/interop.sh
echo "== web app in Chromium"
disk
bash .ci/e2e.sh
