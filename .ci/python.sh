#!/usr/bin/env bash
# The Python package: builds the wheel with maturin (dev profile, reusing the workspace's
# debug build of core), installs it into a fresh virtual environment the way a user would
# (`pip install` of the wheel file), and runs tests/python against it and the real relay.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/target-dir.sh
export PATH="$HOME/.cargo/bin:$PATH"
PYTHON="${PYTHON:-python3}"
out="$TARGET_DIR/python"
tools="$out/tools"

# maturin in a virtual environment of its own, installed once.
if [ ! -x "$tools/bin/maturin" ]; then
  "$PYTHON" -m venv "$tools"
  "$tools/bin/pip" install --quiet --disable-pip-version-check 'maturin>=1.7,<2'
fi

rm -rf "$out/wheels"
"$tools/bin/maturin" build --quiet --manifest-path core/python/Cargo.toml \
  --interpreter "$PYTHON" --out "$out/wheels"
wheel=$(ls "$out"/wheels/runmesh-*.whl)
echo "built $(basename "$wheel") ($(stat -c %s "$wheel") bytes, dev profile)"

cargo build -p runmesh-relay

# A fresh environment every run: the wheel must install on its own.
rm -rf "$out/venv"
"$PYTHON" -m venv "$out/venv"
"$out/venv/bin/pip" install --quiet --disable-pip-version-check "$wheel" pytest pytest-asyncio mypy
# The package's annotations and its native module's stubs agree (mypy --strict, on the
# source: mypy reports nothing in installed packages), and so does the example.
(cd core/python && "$out/venv/bin/python" -m mypy --strict --cache-dir "$out/mypy-cache" \
  runmesh examples/orchestrator.py)
cd tests/python
RUNMESH_RELAY_BIN="$TARGET_DIR/debug/runmesh-relay" "$out/venv/bin/python" -m pytest -q -p no:cacheprovider
