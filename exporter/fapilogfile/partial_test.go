package fapilogfile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogfile/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/confunits"
	"github.com/fapilog/fapilog-otelcol/internal/envelope"
	"github.com/fapilog/fapilog-otelcol/internal/telemetrytest"
)

// faults makes the n-th call (counting from 1, across all files) of one file system step fail; 0 never fails.
type faults struct {
	failOpen, failRename, failWrite, failSync int

	mu                            sync.Mutex
	opens, renames, writes, syncs int
}

var errInjected = errors.New("injected failure")

func (f *faults) hit(calls *int, failOn int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	*calls++
	return *calls == failOn
}

func (f *faults) fileSystem() fileSystem {
	return fileSystem{
		openFile: func(path string) (osFile, error) {
			if f.hit(&f.opens, f.failOpen) {
				return nil, fmt.Errorf("open: %w", errInjected)
			}
			file, err := osFileSystem.openFile(path)
			if err != nil {
				return nil, err
			}
			return &faultyFile{osFile: file, faults: f}, nil
		},
		rename: func(from, to string) error {
			if f.hit(&f.renames, f.failRename) {
				return fmt.Errorf("rename: %w", errInjected)
			}
			return os.Rename(from, to)
		},
	}
}

// faultyFile fails a write half-way, as a full disk does: the first half of the bytes reach the file.
type faultyFile struct {
	osFile
	faults *faults
}

func (ff *faultyFile) Write(p []byte) (int, error) {
	if ff.faults.hit(&ff.faults.writes, ff.faults.failWrite) {
		n, _ := ff.osFile.Write(p[:len(p)/2])
		return n, fmt.Errorf("write: %w", errInjected)
	}
	return ff.osFile.Write(p)
}

func (ff *faultyFile) Sync() error {
	if ff.faults.hit(&ff.faults.syncs, ff.faults.failSync) {
		return fmt.Errorf("fsync: %w", errInjected)
	}
	return ff.osFile.Sync()
}

// startFaultyExporter starts the exporter's push path (no exporterhelper: the test plays the retry sender)
// writing through f.
func startFaultyExporter(t *testing.T, f *faults, mutate func(*Config)) (*fileExporter, *telemetrytest.Metrics) {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.Directory = t.TempDir()
	mutate(cfg)
	set, metrics := telemetrytest.NewSettings(t)
	fe, err := newFileExporter(cfg, set, component.NewID(metadata.Type))
	require.NoError(t, err)
	fe.fs = f.fileSystem()
	require.NoError(t, fe.start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { _ = fe.shutdown(context.Background()) })
	return fe, metrics
}

// familyMessages returns the message of every line of the exporter's files, oldest file first, and fails on a
// line that is not a whole JSON record.
func familyMessages(t *testing.T, fe *fileExporter) []string {
	t.Helper()
	rotated, err := fe.files.archiver.listRotated(familyOf(fe.staticPath))
	require.NoError(t, err)
	paths := make([]string, 0, len(rotated)+1)
	for _, r := range rotated {
		paths = append(paths, r.path)
	}
	paths = append(paths, fe.cfg.filePath())
	var messages []string
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		require.NoError(t, err)
		for _, line := range strings.SplitAfter(string(data), "\n") {
			if line == "" {
				continue
			}
			var rec struct {
				Log struct {
					Message string `json:"message"`
				} `json:"log"`
			}
			require.NoError(t, json.Unmarshal([]byte(line), &rec), "torn or partial line in %s: %q", filepath.Base(path), line)
			require.True(t, strings.HasSuffix(line, "\n"), "line without its newline in %s", filepath.Base(path))
			messages = append(messages, rec.Log.Message)
		}
	}
	return messages
}

func TestPartialFailure_RetriesOnlyTheRecordsNotWritten(t *testing.T) {
	const records = 30
	lineLen := len(newEncoder(FormatJSON, envelope.PrettyOptions{}).encode(testLogs(1), time.Now()).buf)
	rotateEvery10 := func(c *Config) { c.MaxBytes = confunits.ByteSize(10 * lineLen) }
	tests := map[string]struct {
		faults *faults
		mutate func(*Config)
		// operation is the step the write_errors metric names.
		operation string
		// nothingWritten: the failure leaves no record of the batch in the files, so the batch is retried as is.
		nothingWritten bool
	}{
		// Open #1 is the start; the first rotation renames #1 and opens #2.
		"rename at rotation":      {faults: &faults{failRename: 1}, operation: opRename, mutate: rotateEvery10},
		"open at rotation":        {faults: &faults{failOpen: 2}, operation: opOpen, mutate: rotateEvery10},
		"write half-way":          {faults: &faults{failWrite: 2}, operation: opWrite, mutate: rotateEvery10},
		"flush (the final write)": {faults: &faults{failWrite: 1}, operation: opWrite, mutate: func(*Config) {}},
		"fsync at rotation":       {faults: &faults{failSync: 2}, operation: opSync, mutate: func(c *Config) { rotateEvery10(c); c.Fsync = true }},
		"fsync at the end":        {faults: &faults{failSync: 1}, operation: opSync, mutate: func(c *Config) { c.Fsync = true }, nothingWritten: true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			fe, metrics := startFaultyExporter(t, tt.faults, tt.mutate)
			ld := testLogs(records)
			err := fe.pushLogs(context.Background(), ld)
			require.ErrorIs(t, err, errInjected)
			assert.False(t, consumererror.IsPermanent(err), "a write failure is retryable")

			inFiles := familyMessages(t, fe)
			var partial consumererror.Logs
			retry := ld
			if tt.nothingWritten {
				assert.Empty(t, inFiles, "unconfirmed records are cut from the file")
				assert.False(t, errors.As(err, &partial), "a plain error: exporterhelper retries the batch it has")
			} else {
				require.True(t, errors.As(err, &partial), "a partly written batch hands back the rest: %v", err)
				retry = partial.Data()
				require.Positive(t, len(inFiles), "the scenario writes part of the batch before failing")
				assert.Equal(t, records-len(inFiles), retry.LogRecordCount(), "exactly the records not in the files are retried")
				assert.Equal(t, fmt.Sprintf("order %d", len(inFiles)), firstMessage(retry), "the retry starts where the files end")
			}

			assert.EqualValues(t, 1, metrics.Int(t, "otelcol_fapilog_exporter_file_write_errors", attribute.String("operation", tt.operation)))
			assert.EqualValues(t, len(inFiles), metrics.Int(t, "otelcol_fapilog_exporter_file_records_written"))

			require.NoError(t, fe.pushLogs(context.Background(), retry), "the retry succeeds once the fault is gone")
			assert.EqualValues(t, records, metrics.Int(t, "otelcol_fapilog_exporter_file_records_written"), "each record counted once")
			want := make([]string, records)
			for i := range want {
				want[i] = fmt.Sprintf("order %d", i)
			}
			assert.Equal(t, want, familyMessages(t, fe), "every record exactly once, in order, none torn")
		})
	}
}

func TestPartialFailure_NothingWrittenRetriesTheBatchAsIs(t *testing.T) {
	f := &faults{failOpen: 2}
	fe, _ := startFaultyExporter(t, f, func(*Config) {})
	rot := staticRotator(t, fe)
	rot.lock.wait()
	rot.abandon() // as after an earlier failure: the next write reopens
	rot.lock.release()
	err := fe.pushLogs(context.Background(), testLogs(5))
	require.ErrorIs(t, err, errInjected)
	var partial consumererror.Logs
	assert.False(t, errors.As(err, &partial), "a plain error: exporterhelper retries the batch it has")
	require.NoError(t, fe.pushLogs(context.Background(), testLogs(5)))
	assert.Len(t, familyMessages(t, fe), 5)
}

func firstMessage(ld plog.Logs) string {
	return ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Str()
}

// staticRotator is the rotator of an exporter whose path has no placeholders.
func staticRotator(t *testing.T, fe *fileExporter) *rotator {
	t.Helper()
	f, err := fe.files.acquire(fe.staticPath)
	require.NoError(t, err)
	fe.files.release(f)
	return f.rotator
}
