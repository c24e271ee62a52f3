// Package fileexport compares exporter/fapilogfile with contrib's fileexporter writing the same batches.
package fileexport

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogfile"
	"github.com/fapilog/fapilog-otelcol/internal/logstest"
)

func start(b *testing.B, f exporter.Factory, cfg component.Config) exporter.Logs {
	b.Helper()
	exp, err := f.CreateLogs(context.Background(), exportertest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
	return exp
}

// BenchmarkFileExport writes the same 100-record batches, synchronously (no sending queue), rotating at 100 MB.
func BenchmarkFileExport(b *testing.B) {
	ld := logstest.TypicalBatch(100)
	b.Run("ours", func(b *testing.B) {
		f := fapilogfile.NewFactory()
		cfg := f.CreateDefaultConfig().(*fapilogfile.Config)
		cfg.Path = filepath.Join(b.TempDir(), "app.jsonl")
		cfg.MaxBytes = 100 << 20
		cfg.MaxFiles = 2
		cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
		run(b, start(b, f, cfg), ld)
	})
	b.Run("contrib", func(b *testing.B) {
		f := fileexporter.NewFactory()
		cfg := f.CreateDefaultConfig().(*fileexporter.Config)
		cfg.Path = filepath.Join(b.TempDir(), "app.json")
		cfg.Rotation.MaxMegabytes = 100
		cfg.Rotation.MaxBackups = 2
		cfg.FlushInterval = time.Second
		run(b, start(b, f, cfg), ld)
	})
}

func run(b *testing.B, exp exporter.Logs, ld plog.Logs) {
	b.ReportAllocs()
	for b.Loop() {
		if err := exp.ConsumeLogs(context.Background(), ld); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*ld.LogRecordCount()), "ns/record")
}
