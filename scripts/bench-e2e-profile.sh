#!/usr/bin/env bash
# Captures a CPU profile of one collector of the side-by-side suite while telemetrygen loads it (the pprof
# extension, built into the bench-only builds and enabled for this run only), and prints the top cumulative
# entries of our packages and the whole collector's top entries, each with its cost per delivered record.
# Usage: scripts/bench-e2e-profile.sh [target] [seconds]
#   target: ours (default), contrib, nop, distribution, fapiloghttp, fapilogloki, fapilogpostgres, fapilogcloudwatch
# BENCH_E2E_REV=<git revision> profiles that commit instead of the working tree (see scripts/bench-e2e-build.sh).
# The profile stays in _build/bench/profile-<target>.pb.gz, for `go tool pprof -http=: <file>`.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-ours}
seconds=${2:-10}
./scripts/bench-e2e-build.sh >/dev/null
(cd bench && go build -o ../_build/bench/bench-e2e ./cmd/bench-e2e)
out=_build/bench/profile-$target.pb.gz
records=$(_build/bench/bench-e2e -profile "$target" -profile-seconds "$seconds" -profile-out "$out" |
  awk '/^records delivered during the profile:/ {print $NF}')
echo "CPU profile of $target under load: $out; $records records delivered during the ${seconds} s profile."
echo

# per_record adds each row's cumulative cost per delivered record, and shortens our module's paths and the type
# parameters of generic instantiations (go.shape...).
per_record() {
  awk -v n="$records" '
    function seconds(v) {
      if (v ~ /ms$/) return substr(v, 1, length(v) - 2) / 1000
      if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1e6
      if (v ~ /s$/) return substr(v, 1, length(v) - 1)
      return v
    }
    function shorten(line,    i, c, depth) {
      gsub(/github\.com\/fapilog\/fapilog-otelcol\//, "", line)
      while ((i = index(line, "[go.shape")) > 0) {
        depth = 0
        for (c = i; c <= length(line); c++) {
          if (substr(line, c, 1) == "[") depth++
          else if (substr(line, c, 1) == "]" && --depth == 0) break
        }
        line = substr(line, 1, i - 1) "[…]" substr(line, c + 1)
      }
      return line
    }
    /^ *flat +flat%/ { printf "%s %14s\n", $0, "cum us/record"; rows = 1; next }
    rows && NF >= 6 { $0 = shorten($0); printf "%s %14.3f\n", $0, (n > 0 ? seconds($4) * 1e6 / n : 0); next }
    /^(Duration|Showing nodes)/ { print }'
}
echo "Our packages, by cumulative time:"
go tool pprof -top -cum -nodecount 25 -show 'fapilog-otelcol' "$out" 2>/dev/null | per_record
echo
echo "The whole collector, by own (flat) time:"
go tool pprof -top -nodecount 25 "$out" 2>/dev/null | per_record
