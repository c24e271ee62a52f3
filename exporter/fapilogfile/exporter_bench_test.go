package fapilogfile

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogfile/internal/metadata"
)

// BenchmarkPushBatch100 measures the hot path: encoding a 100-record request (telemetrygen's, and a typical SDK
// batch) and writing it to the active file.
func BenchmarkPushBatch100(b *testing.B) { benchmarkPush(b, 100) }

// BenchmarkPushBatch1 is the worst case for a write per push: one record per request, and no queue to merge
// requests.
func BenchmarkPushBatch1(b *testing.B) { benchmarkPush(b, 1) }

func benchmarkPush(b *testing.B, records int) {
	ld := testLogs(records)
	for _, mode := range []string{WriteModeBuffered, WriteModeMmap} {
		for _, format := range []string{FormatJSON, FormatText} {
			b.Run(mode+"/"+format, func(b *testing.B) {
				cfg := createDefaultConfig().(*Config)
				cfg.Path = filepath.Join(b.TempDir(), "app.jsonl")
				cfg.WriteMode, cfg.Format, cfg.MaxBytes, cfg.MaxFiles = mode, format, 64<<20, 2
				runPush(b, cfg, ld)
			})
		}
	}
}

// startPushPath starts the exporter's push path (no exporterhelper, no queue) with cfg; it shuts down when the
// benchmark ends.
func startPushPath(b *testing.B, cfg *Config) *fileExporter {
	b.Helper()
	fe, err := newFileExporter(cfg, componenttest.NewNopTelemetrySettings(), component.NewID(metadata.Type))
	if err != nil {
		b.Fatal(err)
	}
	if err := fe.start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = fe.shutdown(context.Background()) })
	return fe
}

// runPush starts the exporter's push path with cfg and pushes ld for b.N iterations.
func runPush(b *testing.B, cfg *Config, ld plog.Logs) {
	fe := startPushPath(b, cfg)
	b.ReportAllocs()
	cpuBefore := cpuTime()
	for b.Loop() {
		if err := fe.pushLogs(context.Background(), ld); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time rather than wall time: on a shared machine it moves far less with the other tenants' load.
	b.ReportMetric(float64((cpuTime()-cpuBefore).Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(b.N*ld.LogRecordCount())/b.Elapsed().Seconds(), "records/s")
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRouting compares, in the same run, a path without placeholders (routing off) with a path whose
// {service.name} every record of the batch shares (routing on, one destination): the cost of resolving the
// destination per resource and grouping the batch.
func BenchmarkRouting(b *testing.B) {
	ld := testLogs(100)
	for _, routing := range []string{"off", "one_destination"} {
		b.Run(routing, func(b *testing.B) {
			cfg := createDefaultConfig().(*Config)
			cfg.Path = filepath.Join(b.TempDir(), "checkout", "app.jsonl")
			if routing != "off" {
				cfg.Path = filepath.Join(filepath.Dir(filepath.Dir(cfg.Path)), "{service.name}", "app.jsonl")
			}
			cfg.MaxBytes, cfg.MaxFiles = 64<<20, 2
			runPush(b, cfg, ld)
		})
	}
}

// BenchmarkConsumeLogs measures what the collector calls, exporterhelper included, with 100-record requests:
// the default (no queue: the push runs on the caller's goroutine) against the configured sending queue
// (bytes-bounded, one consumer, batches of 100-1000 records), the default until the queue became opt-in. CPU
// time per request includes the queue's consumer and draining it at the end.
func BenchmarkConsumeLogs(b *testing.B) {
	ld := testLogs(100)
	for _, queue := range []string{"none", "configured"} {
		b.Run("queue="+queue, func(b *testing.B) {
			cfg := createDefaultConfig().(*Config)
			cfg.Path = filepath.Join(b.TempDir(), "app.jsonl")
			cfg.MaxBytes, cfg.MaxFiles = 64<<20, 2
			if queue == "configured" {
				// Blocking rather than refusing when full: the benchmark sends faster than anything drains.
				cfg.QueueConfig.GetOrInsertDefault().BlockOnOverflow = true
			}
			exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
			if err != nil {
				b.Fatal(err)
			}
			if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpuBefore := cpuTime()
			for b.Loop() {
				if err := exp.ConsumeLogs(context.Background(), ld); err != nil {
					b.Fatal(err)
				}
			}
			if err := exp.Shutdown(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64((cpuTime()-cpuBefore).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkConcurrentPushes is the collector with several clients: pushers goroutines push 100-record batches to
// one file at once, each push returning only once its records are in the file (with fsync, on disk). CPU time and
// records/s are the whole process's.
func BenchmarkConcurrentPushes(b *testing.B) {
	ld := testLogs(100)
	for _, fsync := range []bool{false, true} {
		for _, pushers := range []int{1, 2, 8} {
			b.Run(fmt.Sprintf("fsync=%v/pushers=%d", fsync, pushers), func(b *testing.B) {
				cfg := createDefaultConfig().(*Config)
				cfg.Path = filepath.Join(b.TempDir(), "app.jsonl")
				cfg.MaxBytes, cfg.MaxFiles, cfg.Fsync = 64<<20, 2, fsync
				fe := startPushPath(b, cfg)
				b.ReportAllocs()
				b.ResetTimer()
				cpuBefore := cpuTime()
				var left atomic.Int64
				left.Store(int64(b.N))
				var wg sync.WaitGroup
				for range pushers {
					wg.Go(func() {
						for left.Add(-1) >= 0 {
							if err := fe.pushLogs(context.Background(), ld); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64((cpuTime()-cpuBefore).Nanoseconds())/float64(b.N), "cpu-ns/op")
				b.ReportMetric(float64(b.N*ld.LogRecordCount())/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}
