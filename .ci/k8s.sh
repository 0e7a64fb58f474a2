#!/usr/bin/env bash
# The Kubernetes manifests against the API's schemas (kubernetes-validate from PyPI, which
# ships them; strict: an unknown field fails). What the relay reads from them is checked
# by relay/tests/relay/deploy_files.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${XDG_CACHE_HOME:-$HOME/.cache}/runmesh/k8s-venv"
want=1.37.0
if [ "$("$venv/bin/kubernetes-validate" --version 2>/dev/null || true)" != "$want" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "kubernetes-validate==$want"
fi
"$venv/bin/kubernetes-validate" --strict --quiet relay/deploy/k8s/*.yaml
echo "k8s manifests valid ($(ls relay/deploy/k8s/*.yaml | wc -l) files, kubernetes-validate $want)"
