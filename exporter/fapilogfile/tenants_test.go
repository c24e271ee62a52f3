package fapilogfile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogfile/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/confunits"
	"github.com/fapilog/fapilog-otelcol/internal/destination"
	"github.com/fapilog/fapilog-otelcol/internal/envelope"
	"github.com/fapilog/fapilog-otelcol/internal/telemetrytest"
)

// servicesLogs makes one ResourceLogs per service (service.name absent for ""), n records each, messages
// "<i>:<j>" for the j-th record of the i-th service.
func servicesLogs(n int, services ...string) plog.Logs {
	ld := plog.NewLogs()
	for i, svc := range services {
		rl := ld.ResourceLogs().AppendEmpty()
		if svc != "" {
			rl.Resource().Attributes().PutStr("service.name", svc)
		}
		sl := rl.ScopeLogs().AppendEmpty()
		for j := 0; j < n; j++ {
			sl.LogRecords().AppendEmpty().Body().SetStr(fmt.Sprintf("%d:%d", i, j))
		}
	}
	return ld
}

func startRouted(t *testing.T, mutate func(*Config)) (*fileExporter, *telemetrytest.Metrics) {
	t.Helper()
	return startFaultyExporter(t, &faults{}, mutate)
}

// allFiles walks root and returns every regular file (relative path -> messages), failing on anything else.
func allFiles(t *testing.T, root string) map[string][]string {
	t.Helper()
	files := map[string][]string{}
	require.NoError(t, filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		if d.IsDir() {
			return nil
		}
		require.True(t, d.Type().IsRegular(), "%s is not a regular file", path)
		rel, err := filepath.Rel(root, path)
		require.NoError(t, err)
		files[rel] = messagesIn(t, path)
		return nil
	}))
	return files
}

func TestRoute_HostileServiceNamesNeverWriteOutsideTheDirectory(t *testing.T) {
	hostile := []string{"../../etc/x", "/abs", "a\x00b", "a/b", "..", ".", "../..", "....//", `..\..\win`, strings.Repeat("../", 100), "", "ok"}
	for name, mutate := range map[string]func(c *Config, logs string){
		"directory":       func(c *Config, logs string) { c.Directory = filepath.Join(logs, "{service.name}") },
		"filename_prefix": func(c *Config, logs string) { c.Directory, c.FilenamePrefix = logs, "{service.name}" },
		"path":            func(c *Config, logs string) { c.Path = filepath.Join(logs, "app-{service.name}", "{service.name}.log") },
	} {
		t.Run(name, func(t *testing.T) {
			base := t.TempDir()
			logs := filepath.Join(base, "logs")
			fe, _ := startRouted(t, func(c *Config) { c.Directory = ""; mutate(c, logs) })
			require.NoError(t, fe.pushLogs(context.Background(), servicesLogs(2, hostile...)))
			require.NoError(t, fe.shutdown(context.Background()))

			entries, err := os.ReadDir(base)
			require.NoError(t, err)
			require.Len(t, entries, 1, "nothing but the configured directory under %s", base)
			assert.Equal(t, "logs", entries[0].Name())
			files := allFiles(t, logs)
			total := 0
			for rel, messages := range files {
				for _, segment := range strings.Split(rel, string(filepath.Separator)) {
					assert.NotContains(t, []string{".", ".."}, segment, "%s", rel)
				}
				total += len(messages)
			}
			assert.Equal(t, 2*len(hostile), total, "every record once: %v", files)
		})
	}
}

func TestRoute_EachServiceGetsItsOwnFileFamily(t *testing.T) {
	line := len(newEncoder(FormatJSON, envelope.PrettyOptions{}).encode(servicesLogs(1, "a"), time.Now()).buf)
	fe, metrics := startRouted(t, func(c *Config) {
		c.Directory = filepath.Join(c.Directory, "{service.name}")
		c.MaxBytes, c.MaxFiles = confunits.ByteSize(3*line), 1
	})
	root := filepath.Dir(fe.cfg.Directory)
	for i := 0; i < 4; i++ {
		require.NoError(t, fe.pushLogs(context.Background(), servicesLogs(2, "checkout", "payments")))
	}
	assert.EqualValues(t, 2, metrics.Int(t, destination.MetricOpen))
	require.NoError(t, fe.shutdown(context.Background()))
	for _, svc := range []string{"checkout", "payments"} {
		names, err := os.ReadDir(filepath.Join(root, svc))
		require.NoError(t, err)
		assert.Len(t, names, 2, "%s: its active file and, with max_files: 1, one rotated file", svc)
	}
	assert.EqualValues(t, 16, metrics.Int(t, "otelcol_fapilog_exporter_file_records_written"))
	assert.Positive(t, metrics.Int(t, "otelcol_fapilog_exporter_file_files_removed"), "retention ran per family")
}

func TestRoute_LeastRecentlyUsedFileIsClosedAndReopenedAppending(t *testing.T) {
	for _, mode := range []string{WriteModeBuffered, WriteModeMmap} {
		t.Run(mode, func(t *testing.T) {
			fe, metrics := startRouted(t, func(c *Config) {
				c.FilenamePrefix, c.MaxOpenFiles, c.WriteMode = "{service.name}", 2, mode
			})
			dir := fe.cfg.Directory
			for _, svc := range []string{"a", "b", "c", "a", "c", "b"} {
				require.NoError(t, fe.pushLogs(context.Background(), prefixedServiceLogs(svc)))
				assert.LessOrEqual(t, metrics.Int(t, "otelcol_fapilog_exporter_file_open_files"), int64(2))
			}
			require.NoError(t, fe.shutdown(context.Background()))
			for _, svc := range []string{"a", "b", "c"} {
				assert.Equal(t, []string{svc + " 0", svc + " 0"}, messagesIn(t, filepath.Join(dir, svc+".jsonl")),
					"%s: both batches, the second appended after the file was closed and reopened", svc)
			}
		})
	}
}

func prefixedServiceLogs(svc string) plog.Logs {
	ld := servicesLogs(1, svc)
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().SetStr(svc + " 0")
	return ld
}

func TestRoute_MaxDestinationsSendsTheRestToTheDefaultAndCountsThem(t *testing.T) {
	fe, metrics := startRouted(t, func(c *Config) {
		c.FilenamePrefix, c.Destinations.MaxDestinations = "{service.name}", 2
	})
	dir := fe.cfg.Directory
	require.NoError(t, fe.pushLogs(context.Background(), servicesLogs(3, "a", "b", "c", "d", "")))
	assert.EqualValues(t, 3, metrics.Int(t, destination.MetricOpen), "a, b and the default")
	assert.EqualValues(t, 3, metrics.Int(t, "otelcol_fapilog_exporter_file_open_files"))
	metrics.AssertDeclared(t, metadata.ScopeName, "metadata.yaml")
	require.NoError(t, fe.shutdown(context.Background()))
	files := allFiles(t, dir)
	assert.Len(t, files, 3)
	assert.Len(t, files["a.jsonl"], 3)
	assert.Len(t, files["b.jsonl"], 3)
	assert.Len(t, files["unknown.jsonl"], 9, "c, d and the record without service.name")
	assert.EqualValues(t, 6, metrics.Int(t, destination.MetricOverflow), "c's and d's records")
}

func TestRoute_AFailedDestinationRetriesOnlyItsRecords(t *testing.T) {
	// No file opens at start with placeholders: open #1 is a's file, #2 b's.
	fe, metrics := startFaultyExporter(t, &faults{failOpen: 2}, func(c *Config) { c.FilenamePrefix = "{service.name}" })
	err := fe.pushLogs(context.Background(), servicesLogs(3, "a", "b", "a"))
	var partial consumererror.Logs
	require.True(t, errors.As(err, &partial), "%v", err)
	retry := partial.Data()
	require.Equal(t, 3, retry.LogRecordCount(), "b's records only")
	assert.Equal(t, "b", serviceOf(retry.ResourceLogs().At(0)))
	assert.EqualValues(t, 6, metrics.Int(t, "otelcol_fapilog_exporter_file_records_written"))
	assert.EqualValues(t, 1, metrics.Int(t, "otelcol_fapilog_exporter_file_write_errors", attribute.String("operation", "open")))
	require.NoError(t, fe.pushLogs(context.Background(), retry))
	require.NoError(t, fe.shutdown(context.Background()))
	files := allFiles(t, fe.cfg.Directory)
	assert.Equal(t, []string{"0:0", "0:1", "0:2", "2:0", "2:1", "2:2"}, files["a.jsonl"])
	assert.Equal(t, []string{"1:0", "1:1", "1:2"}, files["b.jsonl"], "b's records once, after the retry")
}

func serviceOf(rl plog.ResourceLogs) string {
	v, _ := rl.Resource().Attributes().Get("service.name")
	return v.Str()
}

func TestRoute_AServiceNamedLikeARotatedFileCannotLoseAnotherServicesFile(t *testing.T) {
	fe, _ := startRouted(t, func(c *Config) { c.FilenamePrefix, c.MaxFiles = "app-{service.name}", 1 })
	dir := fe.cfg.Directory
	require.NoError(t, fe.pushLogs(context.Background(), servicesLogs(1, "x-20260102-030405", "x-20260102-030405-1", "x")))
	staticRotator := func(path string) *rotator {
		f, err := fe.files.acquire(path)
		require.NoError(t, err)
		fe.files.release(f)
		return f.rotator
	}
	// Retention of app-x's family must not take the other services' active files for its rotated files.
	fe.files.archiver.enforceRetention(staticRotator(filepath.Join(dir, "app-x.jsonl")).family)
	require.NoError(t, fe.shutdown(context.Background()))
	files := allFiles(t, dir)
	assert.Len(t, files, 3, "%v", files)
	assert.Contains(t, files, "app-x_20260102-030405.jsonl")
	assert.Contains(t, files, "app-x_20260102-030405-1.jsonl")
}

func TestNotLikeRotated(t *testing.T) {
	for in, want := range map[string]string{
		"/l/app.jsonl":                    "/l/app.jsonl",
		"/l/app-x-20260102-030405.jsonl":  "/l/app-x_20260102-030405.jsonl",
		"/l/app-x-20260102-030405-12.log": "/l/app-x_20260102-030405-12.log",
		"/l/20260102-030405.jsonl":        "/l/20260102-030405.jsonl",
		"/l/a-20260102.jsonl":             "/l/a-20260102.jsonl",
		"/l/-20260102-030405":             "/l/_20260102-030405",
		"rel/app-20260102-030405-x.jsonl": "rel/app-20260102-030405-x.jsonl",
		"/l/app-2026010-030405.jsonl":     "/l/app-2026010-030405.jsonl",
	} {
		assert.Equal(t, want, notLikeRotated(in), in)
	}
}

func TestConfig_PlaceholderKeysAreValidatedAndNamed(t *testing.T) {
	for _, tt := range []struct {
		mutate func(*Config)
		want   string
	}{
		{func(c *Config) { c.Path = "/l/{service.name.log" }, "path: '{' without a matching '}'"},
		{func(c *Config) { c.Path, c.Directory = "", "/l/{}" }, "directory: placeholder"},
		{func(c *Config) { c.Path, c.Directory, c.FilenamePrefix = "", "/l", "app}" }, "filename_prefix: '}' without"},
		{func(c *Config) { c.Path = "/l/{service.name}"; c.Destinations.PlaceholderDefault = "../x" }, "placeholder_default: \"../x\" is not a valid file name part"},
		{func(c *Config) { c.Destinations.MaxDestinations = 0 }, "max_destinations: must be at least 1"},
		{func(c *Config) { c.MaxOpenFiles = 0 }, "max_open_files: must be at least 1"},
	} {
		cfg := createDefaultConfig().(*Config)
		cfg.Path = "/l/app.jsonl"
		tt.mutate(cfg)
		assert.ErrorContains(t, confmap.Validate(cfg), tt.want)
	}
}

func TestRoute_ConcurrentPushesWithFewOpenFilesLoseAndDuplicateNothing(t *testing.T) {
	for _, mode := range []string{WriteModeBuffered, WriteModeMmap} {
		t.Run(mode, func(t *testing.T) {
			fe, _ := startRouted(t, func(c *Config) { c.FilenamePrefix, c.MaxOpenFiles, c.WriteMode = "{service.name}", 2, mode })
			const pushers, pushes = 4, 30
			services := []string{"a", "b", "c", "d", "e"}
			var wg sync.WaitGroup
			for p := 0; p < pushers; p++ {
				wg.Go(func() {
					for i := 0; i < pushes; i++ {
						// Two services per batch, rotating through five: files keep closing and reopening.
						ld := servicesLogs(2, services[(p+i)%5], services[(p+i+1)%5])
						assert.NoError(t, fe.pushLogs(context.Background(), ld))
					}
				})
			}
			wg.Wait()
			require.NoError(t, fe.shutdown(context.Background()))
			total := 0
			for _, messages := range allFiles(t, fe.cfg.Directory) {
				total += len(messages)
			}
			assert.Equal(t, pushers*pushes*2*2, total)
		})
	}
}

// A ResourceLogs without records (OTLP allows it) has nothing to write: it neither takes one of max_destinations
// nor creates a file.
func TestRoute_EmptyResourceTakesNoDestinationAndCreatesNoFile(t *testing.T) {
	fe, metrics := startRouted(t, func(c *Config) {
		c.FilenamePrefix, c.Destinations.MaxDestinations = "{service.name}", 1
	})
	ld := servicesLogs(0, "ghost")
	servicesLogs(2, "real").ResourceLogs().At(0).CopyTo(ld.ResourceLogs().AppendEmpty())
	require.NoError(t, fe.pushLogs(context.Background(), ld))
	assert.EqualValues(t, 1, metrics.Int(t, destination.MetricOpen))
	assert.Zero(t, metrics.Int(t, destination.MetricOverflow))
	require.NoError(t, fe.shutdown(context.Background()))
	assert.Equal(t, map[string][]string{"real.jsonl": {"0:0", "0:1"}}, allFiles(t, fe.cfg.Directory))
}

// A record sent to the default file because max_destinations is reached is counted as overflow once, when it is
// written: the retry of a failed write routes the unwritten records again.
func TestRoute_OverflowIsCountedOncePerRecordAcrossRetries(t *testing.T) {
	// a's file is open #1; the default file, where b's and c's records go, #2: it fails.
	fe, metrics := startFaultyExporter(t, &faults{failOpen: 2}, func(c *Config) {
		c.FilenamePrefix, c.Destinations.MaxDestinations = "{service.name}", 1
	})
	err := fe.pushLogs(context.Background(), servicesLogs(3, "a", "b", "c"))
	var partial consumererror.Logs
	require.True(t, errors.As(err, &partial), "%v", err)
	assert.Zero(t, metrics.Int(t, destination.MetricOverflow), "nothing went to the default file yet")
	require.NoError(t, fe.pushLogs(context.Background(), partial.Data()))
	assert.EqualValues(t, 6, metrics.Int(t, destination.MetricOverflow), "b's and c's records, once")
	require.NoError(t, fe.shutdown(context.Background()))
	assert.Len(t, allFiles(t, fe.cfg.Directory)["unknown.jsonl"], 6)
}

// With the placeholder at the end of the file name (no literal extension), a value can end in .gz or .gz.tmp:
// the names a rotated file of another tenant takes once compressed, or while it is being compressed.
func TestRoute_AServiceNamedLikeACompressedRotatedFileCannotLoseAnotherServicesFile(t *testing.T) {
	fe, _ := startRouted(t, func(c *Config) {
		c.Path, c.Directory, c.MaxFiles = filepath.Join(c.Directory, "{service.name}"), "", 1
	})
	dir := filepath.Dir(fe.cfg.Path)
	require.NoError(t, fe.pushLogs(context.Background(), servicesLogs(1,
		"x.jsonl", "x-20260102-030405.jsonl.gz", "x-20260102-030406.jsonl.gz", "y", "y-20260102-030405.gz.tmp")))
	acquire := func(path string) *rotator {
		f, err := fe.files.acquire(path)
		require.NoError(t, err)
		fe.files.release(f)
		return f.rotator
	}
	// x.jsonl's retention (max_files 1) must not take the other services' active files for its rotated files.
	fe.files.archiver.enforceRetention(acquire(filepath.Join(dir, "x.jsonl")).family)
	// y's rotated file y-20260102-030405, left uncompressed, is compressed through y-20260102-030405.gz.tmp.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "y-20260102-030405"), []byte(`{"log":{"message":"rotated"}}`+"\n"), 0o600))
	fe.files.archiver.uncompressedLeftovers(acquire(filepath.Join(dir, "y")).family)
	require.NoError(t, fe.shutdown(context.Background()))
	files := allFiles(t, dir)
	assert.Len(t, files, 6, "%v", files)
	assert.Contains(t, files, "x_20260102-030405.jsonl.gz")
	assert.Contains(t, files, "x_20260102-030406.jsonl.gz")
	assert.Contains(t, files, "y_20260102-030405.gz.tmp")
}

// Each value is cut to 100 bytes, but a file name with several placeholders must still fit in NAME_MAX (255
// bytes), with room for a rotated file's suffix: otherwise the sender's records can never be written.
func TestRoute_LongValuesInAFileNameWithSeveralPlaceholdersAreWritten(t *testing.T) {
	fe, _ := startRouted(t, func(c *Config) {
		// The Kubernetes log file naming: <pod>_<namespace>_<container>.
		c.FilenamePrefix, c.MaxBytes = "{k8s.pod.name}_{k8s.namespace.name}_{k8s.container.name}", 200
	})
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	for _, key := range []string{"k8s.pod.name", "k8s.namespace.name", "k8s.container.name"} {
		rl.Resource().Attributes().PutStr(key, strings.Repeat("x", 120))
	}
	records := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i := range 3 {
		records.AppendEmpty().Body().SetStr(fmt.Sprint(i))
	}
	require.NoError(t, fe.pushLogs(context.Background(), ld)) // 3 records over max_bytes 200: two rotations
	require.NoError(t, fe.shutdown(context.Background()))
	total := 0
	for name, messages := range allFiles(t, fe.cfg.Directory) {
		assert.LessOrEqual(t, len(name), 255, name)
		total += len(messages)
	}
	assert.Equal(t, 3, total)
}
