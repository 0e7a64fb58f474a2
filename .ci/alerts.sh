#!/usr/bin/env bash
# The shipped alert rules: valid (promtool check rules) and firing as their tests say
# (promtool test rules). Which metrics they use is checked against a running relay by
# relay/tests/relay/observability.rs.
set -euo pipefail
cd "$(dirname "$0")/../relay/deploy/prometheus"
promtool check rules alerts.yml
promtool test rules alerts.test.yml
