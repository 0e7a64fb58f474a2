#!/usr/bin/env bash
# Installs only what is missing: the build tools (scripts/setup.sh) and a few Debian
# packages for the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Debian's packages: chromium for the browser tests, prometheus for promtool (the alert
# rules' checks), curl for the seed guide's commands, python3's venv for the Python package.
missing=""
command -v chromium >/dev/null || missing="$missing chromium"
command -v promtool >/dev/null || missing="$missing prometheus"
command -v curl >/dev/null || missing="$missing curl"
# python3 with venv and pip for the Python package's tests (.ci/python.sh).
python3 -c 'import ensurepip, venv' 2>/dev/null || missing="$missing python3-venv python3-pip"
if [ -n "$missing" ]; then
  echo "installing Debian's$missing"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq $missing >/dev/null
fi
