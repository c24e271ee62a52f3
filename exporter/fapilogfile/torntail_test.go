package fapilogfile

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fapilog/fapilog-otelcol/internal/envelope"
)

// encodedLines is what the exporter writes for ld: fapilog JSON lines.
func encodedLines(t *testing.T, prefix string, n int) []byte {
	t.Helper()
	batch := newEncoder(FormatJSON, envelope.PrettyOptions{}).encode(prefixedLogs(prefix, n), time.Now())
	return bytes.Clone(batch.buf)
}

func TestTornTail_ARecordCutShortByAKillIsRemovedBeforeTheNextWrite(t *testing.T) {
	for _, mode := range []string{WriteModeBuffered, WriteModeMmap} {
		t.Run(mode, func(t *testing.T) {
			whole := encodedLines(t, "before", 2)
			cut := encodedLines(t, "torn", 1)
			left := append(bytes.Clone(whole), cut[:len(cut)/2]...)
			if mode == WriteModeMmap {
				left = append(left, make([]byte, 4096)...) // the mapping's NUL tail, as a killed mmap writer leaves it
			}
			exp, path, shutdown := startDefault(t, func(cfg *Config) {
				cfg.WriteMode = mode
				require.NoError(t, os.WriteFile(cfg.Path, left, 0o640))
			})
			require.NoError(t, exp.ConsumeLogs(context.Background(), prefixedLogs("after", 2)))
			shutdown() // the mmap mode trims its mapping's room at close
			assert.Equal(t, []string{"before order 0", "before order 1", "after order 0", "after order 1"}, messagesIn(t, path),
				"the acknowledged records after the restart stand on their own lines; only the unacknowledged fragment is gone")
		})
	}
}

func TestTornTail_AFileWithoutAnyNewlineIsEndedWithOneNotCut(t *testing.T) {
	exp, path, _ := startDefault(t, func(cfg *Config) {
		require.NoError(t, os.WriteFile(cfg.Path, []byte("someone else's text"), 0o640))
	})
	require.NoError(t, exp.ConsumeLogs(context.Background(), prefixedLogs("after", 1)))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	first, rest, _ := strings.Cut(string(data), "\n")
	assert.Equal(t, "someone else's text", first)
	assert.Contains(t, rest, `"message":"after order 0"`)
}

func TestCutTornTail(t *testing.T) {
	long := strings.Repeat("x", 200<<10) // a fragment longer than one read
	for name, tt := range map[string]struct {
		content, want string
		torn          tornTail
	}{
		"whole lines":          {"a\nb\n", "a\nb\n", tornTail{}},
		"fragment":             {"a\nb\nc", "a\nb\n", tornTail{fragment: 1}},
		"long fragment":        {"a\n" + long, "a\n", tornTail{fragment: int64(len(long))}},
		"NUL padding":          {"a\n\x00\x00\x00", "a\n", tornTail{padding: 3}},
		"fragment and padding": {"a\nbc\x00\x00", "a\n", tornTail{fragment: 2, padding: 2}},
		"no newline":           {"abc\x00", "abc\n", tornTail{padding: 1, noLine: true}},
		"NUL only":             {"\x00\x00", "", tornTail{padding: 2}},
		"empty":                {"", "", tornTail{}},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app.jsonl")
			require.NoError(t, os.WriteFile(path, []byte(tt.content), 0o640))
			torn, err := cutTornTail(path)
			require.NoError(t, err)
			assert.Equal(t, tt.torn, torn)
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(data))
		})
	}
	torn, err := cutTornTail(filepath.Join(t.TempDir(), "missing.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, tornTail{}, torn, "no file yet: nothing to repair")
}
