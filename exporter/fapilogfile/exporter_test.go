package fapilogfile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogfile/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/envelope"
)

func nopTelemetry() *metadata.TelemetryBuilder {
	tel, err := metadata.NewTelemetryBuilder(componenttest.NewNopTelemetrySettings())
	if err != nil {
		panic(err)
	}
	return tel
}

func testLogs(n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	sl := rl.ScopeLogs().AppendEmpty()
	for i := 0; i < n; i++ {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
		lr.SetSeverityText("INFO")
		lr.Body().SetStr("order " + strconv.Itoa(i))
		lr.Attributes().PutInt("seq", int64(i))
	}
	return ld
}

func TestExporter_WritesFapilogJSONLinesThroughTheCollectorPipeline(t *testing.T) {
	dir := t.TempDir()
	cfg := createDefaultConfig().(*Config)
	cfg.Directory = dir
	cfg.FlushInterval = 0
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs(250)))
	require.NoError(t, exp.Shutdown(context.Background()), "the push wrote the records; shutdown closes the file")

	f, err := os.Open(filepath.Join(dir, "fapilog.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	scanner := bufio.NewScanner(f)
	seen := 0
	for scanner.Scan() {
		var line struct {
			Log           map[string]any `json:"log"`
			SchemaVersion string         `json:"schema_version"`
		}
		require.NoError(t, json.Unmarshal(scanner.Bytes(), &line))
		assert.Equal(t, "1.1", line.SchemaVersion)
		assert.Equal(t, "order "+strconv.Itoa(seen), line.Log["message"], "records keep their order")
		assert.Equal(t, "checkout", line.Log["diagnostics"].(map[string]any)["service"])
		seen++
	}
	assert.Equal(t, 250, seen)
}

func TestExporter_TextFormatUsesLogExtension(t *testing.T) {
	dir := t.TempDir()
	cfg := createDefaultConfig().(*Config)
	cfg.Directory, cfg.Format, cfg.FlushInterval = dir, FormatText, 0
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs(1)))
	require.NoError(t, exp.Shutdown(context.Background()))
	data, err := os.ReadFile(filepath.Join(dir, "fapilog.log"))
	require.NoError(t, err)
	assert.Contains(t, string(data), `level=INFO logger=root message="order 0"`)
}

func TestExporter_StartFailsClearlyWhenTheDirectoryCannotBeCreated(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o640))
	cfg := createDefaultConfig().(*Config)
	cfg.Path = filepath.Join(blocker, "sub", "app.jsonl")
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	err = exp.Start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "creating directory")
}

func TestExporter_DirectoryAndFilesGetRestrictiveModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "logs")
	cfg := createDefaultConfig().(*Config)
	cfg.Directory, cfg.FlushInterval = dir, 0
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, exp.Shutdown(context.Background()))
	di, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o750), di.Mode().Perm()&^umaskBits())
	fi, err := os.Stat(filepath.Join(dir, "fapilog.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm()&^umaskBits())
}

// umaskBits are the permission bits a typical umask (022) may clear; 0750/0640 are unaffected by it.
func umaskBits() os.FileMode { return 0o022 }

func TestConsole_PrettyLinesWithColors(t *testing.T) {
	var out bytes.Buffer
	enc := newEncoder(FormatPretty, envelope.PrettyOptions{Colors: true, Location: time.UTC})
	ld := testLogs(2)
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1).SetSeverityText("ERROR")
	batch := enc.encode(ld, time.Now())
	c := newConsoleSink(&out, 0)
	_, err := c.write(context.Background(), batch.buf, batch.ends)
	require.NoError(t, err)
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, got, 2)
	assert.Equal(t, "2026-01-02 03:04:05 | \x1b[34mINFO    \x1b[0m | order 0 seq=0", got[0])
	assert.Equal(t, "2026-01-02 03:04:05 | \x1b[31mERROR   \x1b[0m | order 1 seq=1", got[1])
}

func TestConsole_ColorsAutoFollowsTheTerminalAndNoColor(t *testing.T) {
	pipeR, pipeW, err := os.Pipe()
	require.NoError(t, err)
	defer pipeR.Close()
	defer pipeW.Close()
	assert.False(t, useColors(ColorsAuto, pipeW), "a pipe is not a terminal")
	assert.True(t, useColors(ColorsAlways, pipeW))
	assert.False(t, useColors(ColorsNever, pipeW))
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		t.Setenv("NO_COLOR", "1")
		assert.False(t, useColors(ColorsAuto, tty), "NO_COLOR wins over a terminal")
	}
}
