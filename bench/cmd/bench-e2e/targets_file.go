package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.opentelemetry.io/collector/pdata/plog"
)

const (
	metricExporterSent = "otelcol_exporter_sent_log_records"
	// metricLimiterOut counts what memory_limiter handed to the exporter: for core's nop exporter, which is not
	// built on exporterhelper and so reports nothing itself, that is what it consumed.
	metricLimiterOut = "otelcol_processor_outgoing_items"
)

// fileTarget is a collector writing to a file in the run's directory (or, for nop, writing nothing).
type fileTarget struct {
	label, what, bin, id string
	settings             string   // exporter settings; %[1]s, where present, is the output directory
	env                  []string // added to the collector's environment
	count                func(dir string) (int64, error)
	reportedMetric       string
	out                  string
}

func (t *fileTarget) name() string       { return t.label }
func (t *fileTarget) summary() string    { return t.what }
func (t *fileTarget) binary() string     { return t.bin }
func (t *fileTarget) exporterID() string { return t.id }
func (t *fileTarget) wireBytes() int64   { return 0 }

// finish removes the run's output (hundreds of MB a run) once it has been counted.
func (t *fileTarget) finish(*runResult) { _ = os.RemoveAll(t.out) }

func (t *fileTarget) setup(dir string) (string, []string, error) {
	t.out = filepath.Join(dir, "out")
	if err := os.MkdirAll(t.out, 0o755); err != nil {
		return "", nil, err
	}
	if t.settings == "" {
		return "", t.env, nil
	}
	if !strings.Contains(t.settings, "%[1]s") {
		return t.settings, t.env, nil
	}
	return fmt.Sprintf(t.settings, t.out), t.env, nil
}

func (t *fileTarget) reported(m promMetrics) float64 { return m[t.reportedMetric] }

func (t *fileTarget) delivered() (int64, error) { return t.count(t.out) }

// fileTargets are the collectors of the file path, in the order of the report's table: three that differ only by
// their exporters (contrib's fileexporter, fapilogfile, core's nop), ours again with a GC tuned for CPU, then the
// shipped distribution with fapilogfile.
func fileTargets(o *options) []target {
	const oursSettings = "path: %[1]s/app.jsonl\nmax_bytes: 0\n"
	return []target{
		&fileTarget{
			label: "contrib", id: "file", bin: o.contrib, reportedMetric: metricExporterSent,
			what: "contrib `fileexporter` v0.165.1, its defaults (OTLP JSON lines, no queue, 1 s buffered flush, no rotation)",
			// Everything else at contrib's defaults.
			settings: "path: %[1]s/otlp.json\n",
			count:    countOTLPJSONRecords,
		},
		&fileTarget{
			label: "ours", id: "fapilogfile", bin: o.ours, reportedMetric: metricExporterSent,
			what: "`fapilogfile`, its defaults (fapilog JSON lines, no sending queue: written on the receiver's goroutine) except " +
				"`max_bytes: 0` (no size rotation, like contrib's default)",
			settings: oursSettings,
			count:    countLines,
		},
		&fileTarget{
			label: "nop", id: "nop", bin: o.ours, reportedMetric: metricLimiterOut,
			what:  "core `nop` exporter v0.165.0 (in ours' binary): consumes and drops, the ceiling for any exporter on this core",
			count: func(string) (int64, error) { return -1, nil },
		},
		&fileTarget{
			label: "ours to /dev/null", id: "fapilogfile", bin: o.ours, reportedMetric: metricExporterSent,
			what: "ours writing to `/dev/null`: the exporter's own cost (encoding, exporterhelper, the write call) " +
				"without the kernel's page-cache copy that a file write costs",
			settings: "path: /dev/null\nmax_bytes: 0\n",
			count:    func(string) (int64, error) { return -1, nil },
		},
		&fileTarget{
			label: "ours GOGC=200", id: "fapilogfile", bin: o.ours, reportedMetric: metricExporterSent, env: []string{"GOGC=200"},
			what: "ours with `GOGC=200` in its environment (Go's default is 100): what a GC tuned for CPU instead of " +
				"memory buys and costs; the distribution ships Go's default",
			settings: oursSettings,
			count:    countLines,
		},
		&fileTarget{
			label: "distribution", id: "fapilogfile", bin: o.distribution, reportedMetric: metricExporterSent,
			what: "the shipped distribution (builder-config.yaml: Kafka, OTTL processors, file_storage, health_check, the " +
				"network exporters, ...) running the same `fapilogfile` pipeline as ours",
			settings: oursSettings,
			count:    countLines,
		},
	}
}

// countLines counts the records of fapilog JSON-lines files: one record a line.
func countLines(dir string) (int64, error) {
	var n int64
	err := eachFile(dir, func(f *os.File) error {
		buf := make([]byte, 1<<20)
		for {
			k, err := f.Read(buf)
			n += int64(bytes.Count(buf[:k], []byte{'\n'}))
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	})
	return n, err
}

// countOTLPJSONRecords counts the records of contrib fileexporter's output: one OTLP/JSON export request a line.
func countOTLPJSONRecords(dir string) (int64, error) {
	var n int64
	var um plog.JSONUnmarshaler
	err := eachFile(dir, func(f *os.File) error {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 256<<20)
		for sc.Scan() {
			ld, err := um.UnmarshalLogs(sc.Bytes())
			if err != nil {
				return fmt.Errorf("%s: %w", f.Name(), err)
			}
			n += int64(ld.LogRecordCount())
		}
		return sc.Err()
	})
	return n, err
}

func eachFile(dir string, fn func(*os.File) error) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		err = fn(f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
