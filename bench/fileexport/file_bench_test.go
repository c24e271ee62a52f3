// Package fileexport compares exporter/fapilogfile with contrib's fileexporter writing the same batches.
package fileexport

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogfile"
)

// batch is 100 typical records: 10 attributes, a 200-byte message.
func batch() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	rl.Resource().Attributes().PutStr("host.name", "web-1")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("app.checkout")
	msg := strings.Repeat("order accepted for processing; ", 7)[:200]
	for i := 0; i < 100; i++ {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.Body().SetStr(msg)
		a := lr.Attributes()
		a.PutStr("correlation_id", "3f2c9a1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b")
		a.PutStr("user_id", "u-12345")
		a.PutStr("http.method", "POST")
		a.PutStr("http.route", "/api/v1/orders")
		a.PutInt("http.status_code", 201)
		a.PutDouble("duration_ms", 12.5)
		a.PutBool("cache_hit", false)
		a.PutStr("order_id", "ord-"+strconv.Itoa(i))
		a.PutInt("items", 3)
		a.PutEmptyMap("customer").PutStr("tier", "gold")
	}
	return ld
}

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
	ld := batch()
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
