package fapilogfile

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otelcol/internal/envelope"
)

// BenchmarkPushBatch100 measures the hot path: encoding a 100-record batch (the default queue's smallest
// batch) and writing it to the active file.
func BenchmarkPushBatch100(b *testing.B) { benchmarkPush(b, 100) }

// BenchmarkPushBatch1 is the worst case for a write per batch: the queue's batching switched off and one
// record per request.
func BenchmarkPushBatch1(b *testing.B) { benchmarkPush(b, 1) }

func benchmarkPush(b *testing.B, records int) {
	ld := testLogs(records)
	for _, mode := range []string{WriteModeBuffered, WriteModeMmap} {
		for _, format := range []string{FormatJSON, FormatText} {
			b.Run(mode+"/"+format, func(b *testing.B) {
				dir := b.TempDir()
				path := filepath.Join(dir, "app.jsonl")
				arch := newArchiver(archiverSettings{dir: dir, base: "app", ext: ".jsonl", maxFiles: 2}, nopTelemetry(), zap.NewNop())
				rot := newRotator(rotatorSettings{path: path, writeMode: mode, maxBytes: 64 << 20, location: time.UTC, flushInterval: time.Second}, arch, nopTelemetry(), zap.NewNop())
				if err := rot.start(); err != nil {
					b.Fatal(err)
				}
				arch.start()
				fe := &fileExporter{telemetry: nopTelemetry(), encoder: newEncoder(format, envelope.PrettyOptions{}), sink: rot, rotator: rot, archiver: arch}
				b.ReportAllocs()
				for b.Loop() {
					if err := fe.pushLogs(context.Background(), ld); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*records)/b.Elapsed().Seconds(), "records/s")
				_ = fe.shutdown(context.Background())
			})
		}
	}
}
