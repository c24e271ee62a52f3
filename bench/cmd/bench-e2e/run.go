package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// target is one measured configuration: a collector binary, its exporter's settings and the destination that
// exporter delivers to.
type target interface {
	// name is the row's label in the report and the name scripts/bench-e2e-profile.sh takes.
	name() string
	// summary says, for the report, what the exporter is and where it writes.
	summary() string
	binary() string
	exporterID() string
	// setup prepares the destination for one run in dir; it returns the exporter's settings (YAML) and the
	// collector's extra environment.
	setup(dir string) (settings string, env []string, err error)
	// reported is how many records the collector says its exporter has delivered.
	reported(m promMetrics) float64
	// delivered counts the records at the destination once the collector has stopped; -1 when there is nothing
	// to count (nop).
	delivered() (int64, error)
	// wireBytes is what the collector sent to the destination over the network (0 for files).
	wireBytes() int64
	// finish adds the destination's own figures to r and releases the destination.
	finish(r *runResult)
}

// load is what every run sends: one telemetrygen process per worker, each with its own service.name. Two workers
// of one telemetrygen process can stamp identical records in the same nanosecond, and a destination that
// deduplicates (fapilogpostgres) then rightly keeps one: distinct resources make every record unique, so that
// every destination must hold exactly what the collector accepted.
type load struct {
	telemetrygen string
	workers      int
	perWorker    int
	duration     time.Duration // instead of perWorker: send for this long (profiles)
	timeout      time.Duration
}

func (l load) args(endpoint, service string) []string {
	bound := []string{"--logs", strconv.Itoa(l.perWorker)}
	if l.duration > 0 {
		bound = []string{"--duration", l.duration.String()}
	}
	args := []string{"logs", "--otlp-endpoint", endpoint, "--otlp-insecure", "--workers", "1",
		"--service", service}
	return append(append(args, bound...), "--rate", "0", "--allow-export-failures")
}

// start starts the load's processes against endpoint, their logs in dir.
func (l load) start(endpoint, dir string) ([]*process, error) {
	var ps []*process
	for w := 1; w <= l.workers; w++ {
		p, err := startProcess(filepath.Join(dir, fmt.Sprintf("telemetrygen-%d.log", w)), nil, l.telemetrygen,
			l.args(endpoint, fmt.Sprintf("bench-worker-%d", w))...)
		if err != nil {
			stopAll(ps)
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// wait waits until every process has finished (at most l.timeout) and returns the CPU-seconds they used.
func (l load) wait(ps []*process) (float64, error) {
	deadline := time.After(l.timeout)
	cpu := 0.0
	for _, p := range ps {
		select {
		case <-p.exited:
		case <-deadline:
			stopAll(ps)
			return 0, fmt.Errorf("telemetrygen did not finish %d records per worker within %s", l.perWorker, l.timeout)
		}
		if p.err != nil {
			stopAll(ps)
			return 0, fmt.Errorf("telemetrygen: %v\n%s", p.err, p.tail())
		}
		cpu += (p.cmd.ProcessState.UserTime() + p.cmd.ProcessState.SystemTime()).Seconds()
	}
	return cpu, nil
}

func stopAll(ps []*process) {
	for _, p := range ps {
		_ = p.stop(5 * time.Second)
	}
}

// runResult is what one run of one target measured.
type runResult struct {
	target    string
	round     int
	accepted  float64 // records the collector's OTLP receiver accepted
	refused   float64 // records it refused or failed (the client saw an error)
	reported  float64 // records the exporter says it delivered
	delivered int64   // records counted at the destination (-1: nothing to count)
	wall      time.Duration
	cpu       float64 // collector CPU-seconds from the start of the load to the last record delivered
	readyRSS  int64   // resident set once the collector is ready, before the load: its baseline
	peakRSS   int64
	// fileRSS is the file-backed part of the resident set (the binary's pages, mostly) when the load is done.
	fileRSS int64
	// otherCores is the CPU the rest of the machine used during the run (all processes but the collector and
	// telemetrygen, destinations included), in cores: how loaded the machine was.
	otherCores float64
	wire       int64
	extra      map[string]float64
	config     string
	err        error
}

func (r *runResult) recordsPerSecond() float64 { return r.reported / r.wall.Seconds() }
func (r *runResult) recordsPerCPU() float64    { return r.reported / r.cpu }
func (r *runResult) cpuSeconds() float64       { return r.cpu }
func (r *runResult) cpuPerMillion() float64    { return 1e6 * r.cpu / r.reported }
func (r *runResult) readyRSSBytes() float64    { return float64(r.readyRSS) }
func (r *runResult) peakRSSBytes() float64     { return float64(r.peakRSS) }
func (r *runResult) fileRSSBytes() float64     { return float64(r.fileRSS) }
func (r *runResult) wirePerRecord() float64    { return float64(r.wire) / r.reported }

// measure runs the load once against a fresh collector for t and measures the collector process.
func measure(t target, round int, l load, workDir string) *runResult {
	r := &runResult{target: t.name(), round: round, delivered: -1, extra: map[string]float64{}}
	dir := filepath.Join(workDir, fmt.Sprintf("%s-%d", t.name(), round))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.err = err
		return r
	}
	defer t.finish(r)
	settings, env, err := t.setup(dir)
	if err != nil {
		r.err = err
		return r
	}
	if err := evictFromPageCache(t.binary()); err != nil {
		r.err = err
		return r
	}
	c, err := startCollector(t.binary(), dir, t.exporterID(), settings, env, false)
	if err != nil {
		r.err = err
		return r
	}
	r.config = c.config
	r.err = drive(c, t, r, l, dir)
	if err := c.stop(60 * time.Second); err != nil && r.err == nil {
		r.err = fmt.Errorf("collector exit: %v\n%s", err, c.tail())
	}
	if r.err != nil {
		return r
	}
	if r.delivered, err = t.delivered(); err != nil {
		r.err = err
		return r
	}
	r.wire = t.wireBytes()
	if r.delivered >= 0 && float64(r.delivered) != r.accepted {
		r.err = fmt.Errorf("%s: the collector accepted %.0f records but %d arrived", t.name(), r.accepted, r.delivered)
	}
	return r
}

// drive sends the load, then waits until the exporter has delivered everything the receiver accepted, and takes
// the collector's CPU time and peak RSS at that moment. Nothing polls the collector while the load runs.
func drive(c *collector, t target, r *runResult, l load, dir string) error {
	cpu0, err := cpuSeconds(c.pid())
	if err != nil {
		return err
	}
	if r.readyRSS, err = rss(c.pid()); err != nil {
		return err
	}
	busy0, err := machineBusySeconds()
	if err != nil {
		return err
	}
	start := time.Now()
	tg, err := l.start(c.grpcEndpoint, dir)
	if err != nil {
		return err
	}
	loadCPU, err := l.wait(tg)
	if err != nil {
		return err
	}
	// Wait for the exporter to deliver every accepted record; give up when nothing moved for 30 s.
	var m promMetrics
	last, lastMove := -1.0, time.Now()
	for {
		if m, err = c.metrics(); err != nil {
			return err
		}
		r.accepted = m["otelcol_receiver_accepted_log_records"]
		r.refused = m["otelcol_receiver_refused_log_records"] + m["otelcol_receiver_failed_log_records"]
		r.reported = t.reported(m)
		if failed := m["otelcol_exporter_send_failed_log_records"]; failed > 0 {
			return fmt.Errorf("%s: the exporter failed to send %.0f records:\n%s", t.name(), failed, c.tail())
		}
		if r.reported >= r.accepted {
			break
		}
		if r.reported != last {
			last, lastMove = r.reported, time.Now()
		} else if time.Since(lastMove) > 30*time.Second {
			return fmt.Errorf("%s: delivery stalled at %.0f of %.0f accepted records:\n%s", t.name(), r.reported, r.accepted, c.tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.wall = time.Since(start)
	cpu1, err := cpuSeconds(c.pid())
	if err != nil {
		return err
	}
	r.cpu = cpu1 - cpu0
	busy1, err := machineBusySeconds()
	if err != nil {
		return err
	}
	// Tick granularity can make a nearly idle rest of the machine come out slightly negative.
	r.otherCores = max(0, (busy1-busy0-r.cpu-loadCPU)/r.wall.Seconds())
	if r.peakRSS, err = peakRSS(c.pid()); err != nil {
		return err
	}
	r.fileRSS, err = statusBytes(c.pid(), "RssFile")
	return err
}

// evictFromPageCache drops a collector binary's pages from the page cache (writing back any still dirty first),
// so that every run maps its binary as read from disk: a binary ocb has just linked sits in the page cache as the
// linker wrote it, and its runs came out 2-3 MiB larger in RSS than the same binary's runs later on.
func evictFromPageCache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("evicting %s from the page cache: %w", path, err)
	}
	return nil
}
