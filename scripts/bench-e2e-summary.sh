#!/usr/bin/env bash
# Prints the tables of the last `make bench-e2e` (BENCHMARKS.md), for `make bench`; the suite itself takes
# ~10 minutes and runs only with `make bench-e2e`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f BENCHMARKS.md ]; then
  echo "No BENCHMARKS.md yet: make bench-e2e runs the end-to-end side-by-side suite."
  exit 0
fi
echo
echo "End to end, side by side: the last make bench-e2e ($(sed -n 's/^- Date: //p' BENCHMARKS.md); BENCHMARKS.md)"
echo
sed -n '/^## /,/^## What ran/p' BENCHMARKS.md | sed '$d'
