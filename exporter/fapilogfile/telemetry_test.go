package fapilogfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogfile/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/confunits"
	"github.com/fapilog/fapilog-otelcol/internal/envelope"
	"github.com/fapilog/fapilog-otelcol/internal/telemetrytest"
)

func TestTelemetry_CountsRecordsBytesRotationsAndRemovals(t *testing.T) {
	dir := t.TempDir()
	// A file left by yesterday's run: rotated at start, on the interval.
	stale := filepath.Join(dir, "fapilog.jsonl")
	require.NoError(t, os.WriteFile(stale, []byte("{}\n"), 0o640))
	yesterday := time.Now().Add(-26 * time.Hour)
	require.NoError(t, os.Chtimes(stale, yesterday, yesterday))

	const records = 30
	want := newEncoder(FormatJSON, envelope.PrettyOptions{}).encode(testLogs(records), time.Now())
	cfg := createDefaultConfig().(*Config)
	cfg.Directory = dir
	cfg.Interval, _ = confunits.ParseInterval("daily")
	cfg.MaxBytes = confunits.ByteSize(len(want.buf) / 3) // three or four files for the batch
	cfg.MaxFiles = 1
	exp, metrics := startExporterWithMetrics(t, cfg)
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs(records)))
	require.NoError(t, exp.Shutdown(context.Background()), "waits for retention")

	assert.EqualValues(t, records, metrics.Int(t, "otelcol_fapilog_exporter_file_records_written"))
	assert.EqualValues(t, len(want.buf), metrics.Int(t, "otelcol_fapilog_exporter_file_bytes_written"))
	assert.EqualValues(t, 1, metrics.Int(t, "otelcol_fapilog_exporter_file_rotations", attribute.String("reason", "interval")))
	bySize := metrics.Int(t, "otelcol_fapilog_exporter_file_rotations", attribute.String("reason", "size"))
	assert.GreaterOrEqual(t, bySize, int64(2))
	// Every rotated file but the newest went to max_files: 1.
	assert.Equal(t, 1+bySize-1, metrics.Int(t, "otelcol_fapilog_exporter_file_files_removed", attribute.String("reason", "max_files")))
	assert.Zero(t, metrics.Int(t, "otelcol_fapilog_exporter_file_write_errors"))
	metrics.AssertDeclared(t, metadata.ScopeName, "metadata.yaml")
}

// startExporterWithMetrics creates and starts the exporter (through exporterhelper) from cfg, its metrics
// read by the returned Metrics.
func startExporterWithMetrics(t *testing.T, cfg *Config) (exporter.Logs, *telemetrytest.Metrics) {
	t.Helper()
	set := exportertest.NewNopSettings(metadata.Type)
	var metrics *telemetrytest.Metrics
	set.TelemetrySettings, metrics = telemetrytest.NewSettings(t)
	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	return exp, metrics
}

func TestTelemetry_RetentionCountsEachRemovalByItsLimit(t *testing.T) {
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	write := func(dir string, names ...string) {
		for _, name := range names {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), make([]byte, 100), 0o640))
		}
	}
	for name, tt := range map[string]struct {
		settings archiverSettings
		removed  int64
	}{
		"max_files":       {archiverSettings{maxFiles: 1}, 2},
		"max_total_bytes": {archiverSettings{maxTotalBytes: 150}, 2},
		"max_age":         {archiverSettings{maxAge: 36 * time.Hour}, 1},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			write(dir, "app-20260608-000000.jsonl", "app-20260609-120000.jsonl.gz", "app-20260610-110000.jsonl")
			set, metrics := telemetrytest.NewSettings(t)
			tel, err := metadata.NewTelemetryBuilder(set)
			require.NoError(t, err)
			arch := newArchiver(tt.settings, tel, zap.NewNop())
			arch.now = func() time.Time { return now }
			arch.enforceRetention(family{dir: dir, base: "app", ext: ".jsonl"})
			assert.Equal(t, tt.removed, metrics.Int(t, "otelcol_fapilog_exporter_file_files_removed", attribute.String("reason", name)))
			assert.Equal(t, tt.removed, metrics.Int(t, "otelcol_fapilog_exporter_file_files_removed"), "no other reason counted")
		})
	}
}

func TestTelemetry_CompressionFailureIsCounted(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "app-20260102-030405.jsonl"), []byte("x\n"), 0o640))
	set, metrics := telemetrytest.NewSettings(t)
	tel, err := metadata.NewTelemetryBuilder(set)
	require.NoError(t, err)
	arch := newArchiver(archiverSettings{compress: true, compressionLevel: 5}, tel, zap.NewNop())
	arch.compress = func(string, int, <-chan struct{}) error { return errors.New("disk full") }
	arch.start()
	arch.opened(family{dir: dir, base: "app", ext: ".jsonl"})
	arch.shutdown(context.Background())
	assert.EqualValues(t, 1, metrics.Int(t, "otelcol_fapilog_exporter_file_compression_failures"))
	assert.FileExists(t, filepath.Join(dir, "app-20260102-030405.jsonl"), "kept uncompressed")
}

// The file and the console of otelcol.yaml are two fapilogfile exporters in one collector: each keeps its own
// series, named by its component ID, as exporterhelper's metrics are.
func TestTelemetry_TwoExportersKeepSeparateSeries(t *testing.T) {
	set, metrics := telemetrytest.NewSettings(t)
	for _, name := range []string{"", "console"} {
		cfg := createDefaultConfig().(*Config)
		cfg.Directory = filepath.Join(t.TempDir(), name)
		es := exportertest.NewNopSettings(metadata.Type)
		es.ID = component.NewIDWithName(metadata.Type, name)
		es.TelemetrySettings = set
		exp, err := NewFactory().CreateLogs(context.Background(), es, cfg)
		require.NoError(t, err)
		require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
		n := 3
		if name == "console" {
			n = 5
		}
		require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs(n)))
		require.NoError(t, exp.Shutdown(context.Background()))
	}
	assert.EqualValues(t, 3, metrics.Int(t, "otelcol_fapilog_exporter_file_records_written", attribute.String("exporter", "fapilogfile")))
	assert.EqualValues(t, 5, metrics.Int(t, "otelcol_fapilog_exporter_file_records_written", attribute.String("exporter", "fapilogfile/console")))
}

// A file rotated while the archiver still has the family's "opened" sweep queued is compressed by that sweep; its
// own job then finds it gone, which is no compression failure.
func TestTelemetry_FileCompressedByTheOpeningSweepIsNoCompressionFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.jsonl")
	set, metrics := telemetrytest.NewSettings(t)
	tel, err := metadata.NewTelemetryBuilder(set, metadata.WithComponentID(component.NewID(metadata.Type)))
	require.NoError(t, err)
	arch := newArchiver(archiverSettings{compress: true, compressionLevel: 5}, tel, zap.NewNop())
	files := newFileSet(rotatorSettings{writeMode: WriteModeBuffered, maxBytes: 100, location: time.UTC}, dir, 10, arch,
		tel, zap.NewNop(), osFileSystem)
	// As in fileExporter.start, the file opens (queuing the sweep) before the archiver's goroutine runs; a busy
	// archiver, one goroutine for every tenant's files, leaves the sweep queued the same way.
	f, err := files.acquire(path)
	require.NoError(t, err)
	files.release(f)
	records, ends := lines("r", 2, 100) // one rotation, queued after the sweep
	require.NoError(t, writeErr(files.write(context.Background(), path, records, ends)))
	require.NoError(t, files.start())
	require.NoError(t, files.shutdown(context.Background()))

	rotated, err := arch.listRotated(familyOf(path))
	require.NoError(t, err)
	require.Len(t, rotated, 1)
	assert.Equal(t, ".gz", filepath.Ext(rotated[0].path), "the rotated file is compressed")
	assert.Zero(t, metrics.Int(t, "otelcol_fapilog_exporter_file_compression_failures"))
}
