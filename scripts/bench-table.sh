#!/usr/bin/env bash
# Prints one table of side-by-side ratios from `go test -bench` output: every benchmark named .../ours is paired
# with its sibling .../contrib (or .../encoding_json_map for the envelope encoder).
set -euo pipefail
awk '
  /^Benchmark/ {
    name = $1; sub(/-[0-9]+$/, "", name)
    for (i = 2; i < NF; i++) if ($(i+1) == "ns/op") ns[name] = $i
  }
  END {
    printf "\n%-44s %14s %14s %8s\n", "comparison (ns/op)", "ours", "theirs", "ratio"
    for (n in ns) {
      if (n !~ /\/ours$/) continue
      base = substr(n, 1, length(n) - 5)
      for (k = 0; k < 2; k++) {
        other = base (k == 0 ? "/contrib" : "/encoding_json_map")
        if (other in ns) printf "%-44s %14.0f %14.0f %7.1fx\n", base " vs " (k == 0 ? "contrib" : "encoding/json"), ns[n], ns[other], ns[other] / ns[n]
      }
    }
  }' "$@"
