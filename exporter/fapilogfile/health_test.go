package fapilogfile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"
)

// prefixedLogs is testLogs with messages "<prefix> <i>", to tell batches apart in a file.
func prefixedLogs(prefix string, n int) plog.Logs {
	ld := testLogs(n)
	records := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < records.Len(); i++ {
		records.At(i).Body().SetStr(prefix + " " + records.At(i).Body().Str())
	}
	return ld
}

// messagesIn returns the messages of the JSON lines in path, failing on anything else (a NUL hole included).
func messagesIn(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NotContains(t, string(data), "\x00", "a hole of NULs in %s", path)
	var out []string
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if line == "" {
			continue
		}
		i := strings.Index(line, `"message":"`)
		require.GreaterOrEqual(t, i, 0, "not a record: %q", line)
		rest := line[i+len(`"message":"`):]
		out = append(out, rest[:strings.IndexByte(rest, '"')])
	}
	return out
}

func TestMmap_TruncationUnderARunningExporterIsNoticedAndTheFileReopened(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.jsonl")
	cfg := createDefaultConfig().(*Config)
	cfg.Path, cfg.WriteMode, cfg.FlushInterval = path, WriteModeMmap, 20*time.Millisecond
	exp, metrics := startExporterWithMetrics(t, cfg)
	require.NoError(t, exp.ConsumeLogs(context.Background(), prefixedLogs("before", 3)))
	require.Eventually(t, func() bool { return metrics.Int(t, "otelcol_fapilog_exporter_file_records_written") == 3 }, 5*time.Second, 10*time.Millisecond)

	require.NoError(t, os.Truncate(path, 0), "logrotate copytruncate, or > file")
	require.Eventually(t, func() bool {
		return metrics.Int(t, "otelcol_fapilog_exporter_file_reopens", attribute.String("reason", "truncated")) == 1
	}, 5*time.Second, 10*time.Millisecond, "the timer's health check notices the truncation")
	require.NoError(t, exp.ConsumeLogs(context.Background(), prefixedLogs("after", 2)))
	require.NoError(t, exp.Shutdown(context.Background()))

	assert.Equal(t, []string{"after order 0", "after order 1"}, messagesIn(t, path), "written from the file's new start, no hole")
	assert.Zero(t, metrics.Int(t, "otelcol_fapilog_exporter_file_write_errors"))
}

func TestMmap_WriteRightAfterATruncationFailsAndItsRetrySucceeds(t *testing.T) {
	fe, metrics := startFaultyExporter(t, &faults{}, func(c *Config) {
		c.WriteMode, c.FlushInterval = WriteModeMmap, time.Hour // no health check before the write
	})
	path := fe.cfg.filePath()
	require.NoError(t, fe.pushLogs(context.Background(), prefixedLogs("before", 3)))
	require.NoError(t, os.Truncate(path, 0))

	// The store lands in a page past the file's new end: SIGBUS, caught and reported instead of a crash.
	err := fe.pushLogs(context.Background(), prefixedLogs("after", 2))
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err), "retryable")
	assert.EqualValues(t, 1, metrics.Int(t, "otelcol_fapilog_exporter_file_write_errors", attribute.String("operation", "write")))
	require.NoError(t, fe.pushLogs(context.Background(), prefixedLogs("after", 2)), "the retry reopens the file")
	require.NoError(t, fe.shutdown(context.Background()))
	assert.Equal(t, []string{"after order 0", "after order 1"}, messagesIn(t, path))
}

func TestWrite_FileMovedAwayIsReopenedAtItsPath(t *testing.T) {
	for _, mode := range []string{WriteModeBuffered, WriteModeMmap} {
		t.Run(mode, func(t *testing.T) {
			fe, metrics := startFaultyExporter(t, &faults{}, func(c *Config) { c.WriteMode, c.FlushInterval = mode, 20*time.Millisecond })
			path := fe.cfg.filePath()
			require.NoError(t, fe.pushLogs(context.Background(), prefixedLogs("before", 2)))
			require.NoError(t, os.Rename(path, path+".1"), "logrotate's default create mode")
			require.Eventually(t, func() bool {
				return metrics.Int(t, "otelcol_fapilog_exporter_file_reopens", attribute.String("reason", "replaced")) == 1
			}, 5*time.Second, 10*time.Millisecond)
			require.NoError(t, fe.pushLogs(context.Background(), prefixedLogs("after", 2)))
			require.NoError(t, fe.shutdown(context.Background()))
			assert.Equal(t, []string{"before order 0", "before order 1"}, messagesIn(t, path+".1"))
			assert.Equal(t, []string{"after order 0", "after order 1"}, messagesIn(t, path))
		})
	}
}

func TestWrite_RemovedDirectoryIsCreatedAgain(t *testing.T) {
	fe, metrics := startFaultyExporter(t, &faults{}, func(c *Config) {
		c.Directory = filepath.Join(c.Directory, "logs")
		c.FlushInterval = 20 * time.Millisecond
	})
	require.NoError(t, fe.pushLogs(context.Background(), prefixedLogs("before", 1)))
	require.NoError(t, os.RemoveAll(fe.cfg.Directory))
	require.Eventually(t, func() bool {
		return metrics.Int(t, "otelcol_fapilog_exporter_file_reopens", attribute.String("reason", "replaced")) == 1
	}, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, fe.pushLogs(context.Background(), prefixedLogs("after", 1)))
	require.NoError(t, fe.shutdown(context.Background()))
	assert.Equal(t, []string{"after order 0"}, messagesIn(t, fe.cfg.filePath()))
}

// After copytruncate, buffered writes follow the file's new end; a batch that then fails half-way must be cut
// back to that end, not to the length the file had before the cut (which would regrow it with NUL bytes and
// leave the torn record in it).
func TestBuffered_PartialWriteAfterAnOutsideTruncationLeavesWholeRecordsOnly(t *testing.T) {
	fe, _ := startFaultyExporter(t, &faults{failWrite: 2}, func(*Config) {})
	require.NoError(t, fe.pushLogs(context.Background(), prefixedLogs("before", 10)))
	require.NoError(t, os.Truncate(fe.staticPath, 0), "logrotate copytruncate, or > file")

	ld := prefixedLogs("after", 11)
	err := fe.pushLogs(context.Background(), ld) // the second write stops half-way
	require.ErrorIs(t, err, errInjected)
	retry := ld
	var partial consumererror.Logs
	if errors.As(err, &partial) {
		retry = partial.Data()
	}
	require.NoError(t, fe.pushLogs(context.Background(), retry))
	require.NoError(t, fe.shutdown(context.Background()))

	data, err := os.ReadFile(fe.staticPath)
	require.NoError(t, err)
	assert.NotContains(t, string(data), "\x00", "no NUL bytes")
	want := make([]string, 11)
	for i := range want {
		want[i] = fmt.Sprintf("after order %d", i)
	}
	assert.Equal(t, want, messagesIn(t, fe.staticPath), "every record once and whole, from the file's new start")
}

// After copytruncate, max_bytes counts from the file's new length (once the flush_interval check has seen it),
// not from the length it had: a file emptied behind the exporter is not rotated early.
func TestBuffered_SizeRotationCountsFromTheLengthAnOutsideTruncationLeft(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.jsonl")
	arch := newArchiver(archiverSettings{}, nopTelemetry(), zap.NewNop())
	rot := newRotator(rotatorSettings{path: path, writeMode: WriteModeBuffered, maxBytes: 4096, location: time.UTC},
		arch, nopTelemetry(), zap.NewNop())
	require.NoError(t, rot.start())
	defer rot.shutdown()
	before, beforeEnds := lines("before", 30, 100)
	require.NoError(t, writeErr(rot.write(context.Background(), before, beforeEnds)))

	require.NoError(t, os.Truncate(path, 0), "logrotate copytruncate, or > file")
	rot.tick() // the flush_interval check
	after, afterEnds := lines("after", 30, 100)
	require.NoError(t, writeErr(rot.write(context.Background(), after, afterEnds)))

	rotated, err := arch.listRotated(rot.family)
	require.NoError(t, err)
	assert.Empty(t, rotated, "3,000 bytes since the cut: below max_bytes")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(after), string(data))
}
