// Command bench-e2e is the side-by-side suite behind `make bench-e2e` (scripts/bench-e2e.sh builds the
// collectors and writes BENCHMARKS.md from this program's report): the same telemetrygen OTLP load against
// contrib's fileexporter, our fapilogfile and core's nop exporter (three binaries that differ only by their
// exporters), and the shipped distribution with fapilogfile, in alternating rounds, then through our
// network exporters to local destinations, each collector measured from /proc; then the request-building
// floors from the exporters' Go benchmarks. With -profile it captures a CPU profile of one target under load.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fapilog/fapilog-otelcol/internal/pgtest"
)

type options struct {
	contrib, ours, distribution string
	telemetrygen, victoriaLogs  string
	src                         string
	out                         string
	sections                    string
	rounds, netRounds           int
	records, netRecords         int
	workers                     int
	pgCopyBatch                 int
	floorCount                  int
	loadTimeout                 time.Duration
	profile, profileOut         string
	profileSeconds              int
}

func main() {
	var o options
	flag.StringVar(&o.contrib, "contrib", "_build/bench/contrib/otelcol-bench-contrib", "baseline collector (contrib fileexporter)")
	flag.StringVar(&o.ours, "ours", "_build/bench/ours/otelcol-bench-ours", "contrib's components with fapilogfile and core's nop exporter in place of fileexporter")
	flag.StringVar(&o.distribution, "distribution", "_build/bench/distribution/otelcol-fapilog", "the shipped fapilog distribution")
	flag.StringVar(&o.telemetrygen, "telemetrygen", ".tools/bin/telemetrygen", "telemetrygen v0.161.0")
	flag.StringVar(&o.victoriaLogs, "victoria-logs", ".tools/bin/victoria-logs", "VictoriaLogs v1.52.1")
	flag.StringVar(&o.src, "src", ".", "repository whose exporter Go benchmarks give the request-building floors")
	flag.StringVar(&o.out, "out", "_build/bench/e2e-report.md", "where to write the Markdown report")
	flag.StringVar(&o.sections, "sections", "file,network,floors", "which parts to run")
	flag.IntVar(&o.rounds, "rounds", 7, "alternating rounds of the file path (contrib, ours, nop, distribution)")
	flag.IntVar(&o.netRounds, "net-rounds", 3, "rounds of each network exporter")
	flag.IntVar(&o.records, "records", 400_000, "records per telemetrygen worker, file path")
	flag.IntVar(&o.netRecords, "net-records", 100_000, "records per telemetrygen worker, network exporters")
	flag.IntVar(&o.workers, "workers", 2, "concurrent telemetrygen processes (one worker each, each its own service.name)")
	flag.IntVar(&o.pgCopyBatch, "pg-copy-batch", 5000, "rows per pgx.CopyFrom (fapilogpostgres's default sending_queue.batch.max_size)")
	flag.IntVar(&o.floorCount, "floor-count", 3, "runs of each floor benchmark (-count)")
	flag.DurationVar(&o.loadTimeout, "load-timeout", 90*time.Second, "longest one telemetrygen run may take")
	flag.StringVar(&o.profile, "profile", "", "instead of the suite: profile this target (contrib, ours, nop, fapiloghttp, ...) under load")
	flag.StringVar(&o.profileOut, "profile-out", "_build/bench/profile.pb.gz", "where -profile writes the CPU profile")
	flag.IntVar(&o.profileSeconds, "profile-seconds", 10, "length of the CPU profile")
	flag.Parse()

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-signals
		killChildren()
		if workDir != "" {
			_ = os.RemoveAll(workDir)
		}
		pgtest.StopAndExit(130)
	}()
	err := run(&o)
	killChildren()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-e2e:", err)
		pgtest.StopAndExit(1)
	}
	pgtest.StopAndExit(0) // removes the private PostgreSQL cluster, if one was started
}

// workDir holds every run's files (collector configurations and logs, files written); removed at exit.
var workDir string

func run(o *options) error {
	for _, bin := range []*string{&o.contrib, &o.ours, &o.distribution, &o.telemetrygen, &o.victoriaLogs} {
		abs, err := filepath.Abs(*bin)
		if err != nil {
			return err
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("%s is missing (make bench-e2e builds and installs everything): %w", *bin, err)
		}
		*bin = abs
	}
	var err error
	if workDir, err = os.MkdirTemp("", "bench-e2e-"); err != nil {
		return err
	}
	defer os.RemoveAll(workDir)
	if o.profile != "" {
		return profile(o, workDir)
	}

	var report bytes.Buffer
	var failed []string
	collect := func(rs []*runResult) {
		for _, r := range rs {
			if r.err != nil {
				failed = append(failed, fmt.Sprintf("%s round %d: %v", r.target, r.round, r.err))
			}
		}
	}
	var all []*runResult
	var allTargets []target
	fileLoad := load{telemetrygen: o.telemetrygen, workers: o.workers, perWorker: o.records, timeout: o.loadTimeout}
	if strings.Contains(o.sections, "file") {
		targets := fileTargets(o)
		results := rounds(targets, o.rounds, fileLoad, workDir)
		writeFileSection(&report, targets, results, o)
		collect(results)
		all, allTargets = append(all, results...), append(allTargets, targets...)
	}
	if strings.Contains(o.sections, "network") {
		targets := networkTargets(o)
		netLoad := fileLoad
		netLoad.perWorker = o.netRecords
		results := rounds(targets, o.netRounds, netLoad, workDir)
		writeNetworkSection(&report, targets, results, o)
		collect(results)
		all, allTargets = append(all, results...), append(allTargets, targets...)
	}
	if strings.Contains(o.sections, "floors") {
		fmt.Fprintln(os.Stderr, "bench-e2e: request-building floors (go test -bench, -cpu 1)")
		fs := measureFloors(o.src, o.floorCount)
		writeFloorsSection(&report, fs)
		for _, f := range fs {
			if f.err != nil {
				failed = append(failed, fmt.Sprintf("floor %s: %v", f.exporter, f.err))
			}
		}
	}
	writeConfigurations(&report, allTargets, all, fileLoad)
	writeRuns(&report, all)
	if err := os.WriteFile(o.out, report.Bytes(), 0o644); err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d part(s) failed (the report in %s says which):\n  %s", len(failed), o.out, strings.Join(failed, "\n  "))
	}
	return nil
}

// rounds measures every target once per round, rotating the order each round so that no target always runs
// first (on a cold machine) or right after the same neighbour.
func rounds(targets []target, n int, l load, workDir string) []*runResult {
	var results []*runResult
	for round := 1; round <= n; round++ {
		for i := range targets {
			t := targets[(i+round-1)%len(targets)]
			r := measure(t, round, l, workDir)
			results = append(results, r)
			progress(os.Stderr, r, n)
		}
	}
	return results
}

func progress(w io.Writer, r *runResult, n int) {
	if r.err != nil {
		fmt.Fprintf(w, "bench-e2e: round %d/%d %-18s FAILED: %v\n", r.round, n, r.target, r.err)
		return
	}
	fmt.Fprintf(w, "bench-e2e: round %d/%d %-18s %9s records/s %9s records per CPU-s %4s MiB peak\n", r.round, n,
		r.target, thousands(r.recordsPerSecond()), thousands(r.recordsPerCPU()), mib(float64(r.peakRSS)))
}
