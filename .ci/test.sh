#!/usr/bin/env bash
# The test command (README: "Test"). Each step also runs on its own.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p runmesh-core --features wasm --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p runmesh-web --target wasm32-unknown-unknown -- -D warnings
echo "== cargo test (PostgreSQL store against a real PostgreSQL)"
RUNMESH_TEST_DATABASE_URL=$(bash .ci/postgres.sh)
export RUNMESH_TEST_DATABASE_URL RUNMESH_REQUIRE_POSTGRES=1
cargo test --workspace
echo "== npm package: wasm core vs native, JS tests, packed tarball in a fresh project"
bash .ci/npm.sh
echo "== interop: stock automerge-repo clients through the relay"
bash .ci/interop.sh
echo "== web app in Chromium"
bash .ci/e2e.sh
