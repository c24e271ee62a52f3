package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// spread is "median (min–max)" of xs, each formatted by f.
func spread(xs []float64, f func(float64) string) string {
	if len(xs) == 0 {
		return "n/a"
	}
	if len(xs) == 1 {
		return f(xs[0])
	}
	return fmt.Sprintf("%s (%s–%s)", f(median(xs)), f(slices.Min(xs)), f(slices.Max(xs)))
}

// thousands formats x rounded, with thousands separators.
func thousands(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "n/a"
	}
	s := strconv.FormatInt(int64(math.Round(x)), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func fixed(digits int) func(float64) string {
	return func(x float64) string { return strconv.FormatFloat(x, 'f', digits, 64) }
}

func mib(x float64) string { return strconv.FormatFloat(x/(1<<20), 'f', 0, 64) }

func percent(x float64) string { return strconv.FormatFloat(100*x, 'f', 0, 64) + "%" }

// verdict says whether a median meets a floor (or, with atMost, a ceiling), and on which side of it a miss is.
func verdict(value, bound float64, atMost bool) string {
	switch {
	case math.IsNaN(value):
		return "not measured"
	case atMost && value > bound:
		return "**above**"
	case !atMost && value < bound:
		return "**below**"
	}
	return "meets"
}

// byTarget groups the results of the runs that succeeded by target name, in round order.
func byTarget(results []*runResult) map[string][]*runResult {
	out := map[string][]*runResult{}
	for _, r := range results {
		if r.err == nil {
			out[r.target] = append(out[r.target], r)
		}
	}
	for _, rs := range out {
		slices.SortFunc(rs, func(a, b *runResult) int { return a.round - b.round })
	}
	return out
}

func values(rs []*runResult, f func(*runResult) float64) []float64 {
	var xs []float64
	for _, r := range rs {
		xs = append(xs, f(r))
	}
	return xs
}

// pairedRatios divides f of a by f of b round by round (rounds where both ran).
func pairedRatios(a, b []*runResult, f func(*runResult) float64) []float64 {
	var xs []float64
	for _, ra := range a {
		for _, rb := range b {
			if ra.round == rb.round {
				xs = append(xs, f(ra)/f(rb))
			}
		}
	}
	return xs
}

// column is one measured figure of a results table: its median (min–max) over the rounds.
type column struct {
	title  string
	value  func(*runResult) float64
	format func(float64) string
}

// writeTable writes one row per target and one column per figure.
func writeTable(w io.Writer, first string, targets []target, g map[string][]*runResult, cols []column) {
	fmt.Fprintf(w, "| %s |", first)
	for _, c := range cols {
		fmt.Fprintf(w, " %s |", c.title)
	}
	fmt.Fprintf(w, "\n|---|%s\n", strings.Repeat("---:|", len(cols)))
	for _, t := range targets {
		fmt.Fprintf(w, "| %s |", t.name())
		for _, c := range cols {
			fmt.Fprintf(w, " %s |", spread(values(g[t.name()], c.value), c.format))
		}
		fmt.Fprintln(w)
	}
}

func writeFileSection(w io.Writer, targets []target, results []*runResult, o *options) {
	g := byTarget(results)
	fmt.Fprintf(w, "## File path: ours vs contrib `fileexporter` vs the `nop` ceiling\n\n")
	fmt.Fprintf(w, "Rounds: %d; each round runs the %d collectors one after the other, the order rotating from "+
		"round to round; a fresh collector per run; %d records per telemetrygen worker. Median (min–max) over the "+
		"rounds. %s\n\n", o.rounds, len(targets), o.records, loadNote(results))
	fmt.Fprintf(w, "contrib, ours and nop are built from the same components (otlp receiver, memory_limiter, batch, pprof) "+
		"and differ only by their exporters, so that their ratios are the exporters' own; ours and nop are one binary. "+
		"distribution is the shipped binary (builder-config.yaml) with the same pipeline as ours: what the rest of the "+
		"distribution costs. ours to /dev/null is ours with `/dev/null` as its file: everything the exporter does "+
		"(encoding, exporterhelper, the write call) except the kernel's copy into the page cache, so that ours / nop "+
		"splits into the exporter's own share and the file write's. "+
		"ours GOGC=200 is ours' binary and pipeline with a GC that trades memory for CPU. "+
		"File-backed RSS is the binary's pages, shared and reclaimable by the kernel; the rest (anonymous) is the Go "+
		"heap and stacks.\n\n")
	writeTable(w, "collector", targets, g, []column{
		{"records/s", (*runResult).recordsPerSecond, thousands},
		{"collector CPU-s", (*runResult).cpuSeconds, fixed(2)},
		{"records per CPU-s", (*runResult).recordsPerCPU, thousands},
		{"RSS when ready (MiB)", (*runResult).readyRSSBytes, mib},
		{"peak RSS (MiB)", (*runResult).peakRSSBytes, mib},
		{"of it file-backed (MiB)", (*runResult).fileRSSBytes, mib},
	})
	perCPU := (*runResult).recordsPerCPU
	rows := []struct {
		label  string
		xs     []float64
		bound  float64
		atMost bool
		target string
	}{
		{"ours / contrib, records per CPU-s", pairedRatios(g["ours"], g["contrib"], perCPU), 1.3, false, "≥ 1.3"},
		{"nop / contrib, records per CPU-s", pairedRatios(g["nop"], g["contrib"], perCPU), math.NaN(), false, "the ceiling"},
		{"ours / nop, records per CPU-s", pairedRatios(g["ours"], g["nop"], perCPU), 0.85, false, "≥ 0.85 (aim 0.90)"},
		{"ours to /dev/null / nop, records per CPU-s", pairedRatios(g["ours to /dev/null"], g["nop"], perCPU), math.NaN(), false, "the exporter without the file write"},
		{"ours / contrib, peak RSS", pairedRatios(g["ours"], g["contrib"], (*runResult).peakRSSBytes), 1.0, true, "≤ 1.0"},
		{"ours GOGC=200 / ours, records per CPU-s", pairedRatios(g["ours GOGC=200"], g["ours"], perCPU), math.NaN(), false, "GC tuned for CPU"},
		{"ours GOGC=200 / ours, peak RSS", pairedRatios(g["ours GOGC=200"], g["ours"], (*runResult).peakRSSBytes), math.NaN(), false, "GC tuned for CPU"},
		{"distribution / ours, records per CPU-s", pairedRatios(g["distribution"], g["ours"], perCPU), math.NaN(), false, "the rest of the distribution"},
		{"distribution / contrib, peak RSS", pairedRatios(g["distribution"], g["contrib"], (*runResult).peakRSSBytes), math.NaN(), false, "the rest of the distribution"},
	}
	fmt.Fprintf(w, "\n| ratio (paired by round) | median | range | target (issue 11) | |\n|---|---:|---:|---|---|\n")
	for _, row := range rows {
		med, rng, v := "n/a", "n/a", ""
		if len(row.xs) > 0 {
			med = fixed(2)(median(row.xs))
			rng = fmt.Sprintf("%.2f–%.2f", slices.Min(row.xs), slices.Max(row.xs))
			if !math.IsNaN(row.bound) {
				v = verdict(median(row.xs), row.bound, row.atMost)
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", row.label, med, rng, row.target, v)
	}
	fmt.Fprintln(w)
}

func writeNetworkSection(w io.Writer, targets []target, results []*runResult, o *options) {
	g := byTarget(results)
	fmt.Fprintf(w, "## Network exporters (ours, each at its defaults)\n\n")
	fmt.Fprintf(w, "The same load, %d records per telemetrygen worker; rounds: %d each, the order rotating. %s CPU-s and peak RSS are the collector's; "+
		"bytes on the wire are what the collector sent to the destination (request headers and bodies, or protocol "+
		"messages), per delivered record.\n\n", o.netRecords, o.netRounds, loadNote(results))
	writeTable(w, "exporter", targets, g, []column{
		{"records/s", (*runResult).recordsPerSecond, thousands},
		{"CPU-s per 1M records", (*runResult).cpuPerMillion, fixed(2)},
		{"peak RSS (MiB)", (*runResult).peakRSSBytes, mib},
		{"bytes on the wire per record", (*runResult).wirePerRecord, fixed(0)},
	})
	fmt.Fprintln(w)
	if rs := g["fapilogcloudwatch"]; len(rs) > 0 {
		extra := func(k string) func(*runResult) float64 { return func(r *runResult) float64 { return r.extra[k] } }
		fmt.Fprintf(w, "CloudWatch PutLogEvents requests against the limits (%d events, %d bytes incl. %d bytes per event): "+
			"%s requests per run; median request %s events, %s bytes; median fullness (the larger share of either limit) "+
			"%s; requests at least 95%% full: %s of each run's requests (target: ≥ 95%% full under sustained load: %s). "+
			"Requests not accepted (an error answer, or a body the client abandoned; their bytes count on the wire and "+
			"their records are sent again): %s per run%s. The first request to a new log stream, one from each queue "+
			"consumer that sends before the stream exists, meets ResourceNotFoundException; the exporter then creates "+
			"the group and stream and sends it again.\n\n",
			cwMaxEvents, cwMaxBytes, cwPerEventOverhead,
			spread(values(rs, extra("cw_requests")), thousands),
			spread(values(rs, extra("cw_events_median")), thousands),
			spread(values(rs, extra("cw_bytes_median")), thousands),
			spread(values(rs, extra("cw_fullness_median")), percent),
			spread(values(rs, extra("cw_full95_share")), percent),
			verdict(median(values(rs, extra("cw_fullness_median"))), 0.95, false),
			spread(values(rs, extra("cw_refused")), thousands), refusalsByReason(rs))
	}
	if rs := g["fapilogpostgres"]; len(rs) > 0 {
		copyRate := func(r *runResult) float64 { return r.extra["pgx_copy_rows_per_s"] }
		ratios := values(rs, func(r *runResult) float64 { return r.recordsPerSecond() / copyRate(r) })
		fmt.Fprintf(w, "PostgreSQL end to end from OTLP: %s rows/s; `pgx.CopyFrom` of the same rows into the same "+
			"(truncated) table, in batches of %d on one connection through the same byte-counting proxy: %s rows/s; "+
			"ratio %s (target ≥ 0.9: %s).\n\n",
			spread(values(rs, (*runResult).recordsPerSecond), thousands), o.pgCopyBatch,
			spread(values(rs, copyRate), thousands), spread(ratios, fixed(2)), verdict(median(ratios), 0.9, false))
	}
}

// refusalsByReason lists, over all runs, the CloudWatch requests not accepted by the reason the recording endpoint
// saw (the run results' cw_refused:<reason> counts): " (by answer, all runs together: ResourceNotFoundException 3)",
// or "".
func refusalsByReason(rs []*runResult) string {
	totals := map[string]float64{}
	for _, r := range rs {
		for k, n := range r.extra {
			if reason, ok := strings.CutPrefix(k, "cw_refused:"); ok {
				totals[reason] += n
			}
		}
	}
	if len(totals) == 0 {
		return ""
	}
	var parts []string
	for _, reason := range slices.Sorted(maps.Keys(totals)) {
		parts = append(parts, fmt.Sprintf("%s %s", reason, thousands(totals[reason])))
	}
	return fmt.Sprintf(" (by answer, all runs together: %s)", strings.Join(parts, ", "))
}

// loadNote says how busy the rest of the machine was during the runs: a shared machine's numbers are noisy.
func loadNote(results []*runResult) string {
	var other []float64
	for _, r := range results {
		if r.err == nil {
			other = append(other, r.otherCores)
		}
	}
	if len(other) == 0 {
		return ""
	}
	state := "a quiet machine"
	if median(other) > 0.2 {
		state = "**a loaded machine**: expect noise, compare ratios rather than absolute rates"
	}
	return fmt.Sprintf("Other processes (everything but the collector and telemetrygen, destinations included) used "+
		"%s cores of %d during the runs: %s.", spread(other, fixed(2)), runtime.NumCPU(), state)
}

func writeFloorsSection(w io.Writer, floors []floorResult) {
	fmt.Fprintf(w, "## Request building floors (the exporters' Go benchmarks, one core)\n\n")
	fmt.Fprintf(w, "`go test -c` of the package, then, once the machine is quiet, the test binary with `-test.run '^$' "+
		"-test.bench <benchmark> -test.benchtime 1s -test.count N -test.cpu 1`; other cores is the CPU the rest of the "+
		"machine (%d cores) used while it ran.\n\n", runtime.NumCPU())
	fmt.Fprintf(w, "| exporter | benchmark | records per CPU-second (one core) | target | | other cores |\n|---|---|---:|---|---|---:|\n")
	for _, f := range floors {
		if f.err != nil {
			fmt.Fprintf(w, "| %s | `%s` | not measured: %s | ≥ 1,000,000 | | %s |\n", f.exporter, f.bench, oneLine(f.err.Error()), fixed(2)(f.otherCores))
			continue
		}
		fmt.Fprintf(w, "| %s | `%s` | %s | ≥ 1,000,000 | %s | %s |\n", f.exporter, f.bench,
			spread(f.recordsPerSecond, thousands), verdict(median(f.recordsPerSecond), 1e6, false), fixed(2)(f.otherCores))
	}
	fmt.Fprintln(w)
}

func writeConfigurations(w io.Writer, targets []target, results []*runResult, l load) {
	fmt.Fprintf(w, "## What ran\n\n")
	fmt.Fprintf(w, "Load, every run: %d concurrent `telemetrygen %s` processes, <i> from 1 to %d, started together (telemetrygen "+
		"v0.161.0: OTLP/gRPC, 100-record requests, one small record each: body `the message`, severity Info, one "+
		"attribute; a service.name per process, so that no two records are identical).\n\n",
		l.workers, strings.Join(l.args("<collector>", "bench-worker-<i>"), " "), l.workers)
	fmt.Fprintf(w, "Every collector runs `otlp` (gRPC) → `memory_limiter` (as in `otelcol.yaml`) → one exporter, with its "+
		"own metrics on a Prometheus endpoint read only after the load (no batch processor: the fapilog distribution "+
		"has none, and the exporters batch in their sending queues where they batch at all).\n\n")
	for _, t := range targets {
		fmt.Fprintf(w, "- **%s**: %s.\n", t.name(), t.summary())
	}
	fmt.Fprintln(w)
	seen := map[string]bool{}
	for _, r := range results {
		if seen[r.target] || r.config == "" {
			continue
		}
		seen[r.target] = true
		fmt.Fprintf(w, "<details><summary>%s: collector configuration (round %d; ports and paths differ per run)</summary>\n\n```yaml\n%s```\n</details>\n\n",
			r.target, r.round, r.config)
	}
}

func writeRuns(w io.Writer, results []*runResult) {
	fmt.Fprintf(w, "<details><summary>Every run</summary>\n\n")
	fmt.Fprintf(w, "accepted and refused are the OTLP receiver's counts (telemetrygen retries a refused request, so "+
		"records refused once and accepted later appear in both); delivered is counted at the destination after the "+
		"collector stopped and must equal accepted; other cores is the CPU the rest of the machine used during the run.\n\n")
	fmt.Fprintf(w, "| round | target | accepted | refused | delivered | wall s | CPU-s | records/s | records per CPU-s | peak RSS MiB | wire B/record | other cores |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		if r.err != nil {
			fmt.Fprintf(w, "| %d | %s | failed: %s |\n", r.round, r.target, oneLine(r.err.Error()))
			continue
		}
		delivered := "(not counted)"
		if r.delivered >= 0 {
			delivered = thousands(float64(r.delivered))
		}
		wire := "–"
		if r.wire > 0 {
			wire = fixed(0)(float64(r.wire) / r.reported)
		}
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %.2f | %.2f | %s | %s | %s | %s | %.2f |\n", r.round, r.target,
			thousands(r.accepted), thousands(r.refused), delivered, r.wall.Seconds(), r.cpu,
			thousands(r.recordsPerSecond()), thousands(r.recordsPerCPU()), mib(float64(r.peakRSS)), wire, r.otherCores)
	}
	fmt.Fprintf(w, "\n</details>\n\n")
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strings.ReplaceAll(s, "|", "\\|")
}
