#!/usr/bin/env bash
# Runs the unit tests N times in a row (default 3) and stops at the first failure: a check for
# tests that pass or fail by luck. Usage: npm run test:repeat [-- N [vitest filters...]]
# Load the machine meanwhile to shake out timing dependence, e.g. `(while :; do :; done) &`.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
shift || true
for i in $(seq 1 "$runs"); do
  echo "== unit tests, run $i of $runs"
  start=$(date +%s)
  npx vitest run "$@"
  echo "== run $i passed in $(( $(date +%s) - start )) s"
done
echo "== all $runs runs passed"
