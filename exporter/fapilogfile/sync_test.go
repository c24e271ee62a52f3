package fapilogfile

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/exporter"

	"github.com/fapilog/fapilog-otelcol/internal/confunits"
)

// startDefault creates and starts the exporter through its factory (exporterhelper included) with the default
// configuration writing to <dir>/app.jsonl, after mutate. The exporter is shut down at the end of the test, or
// earlier by the returned function.
func startDefault(t *testing.T, mutate func(*Config)) (exp exporter.Logs, path string, shutdown func()) {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.Path = filepath.Join(t.TempDir(), "app.jsonl")
	mutate(cfg)
	exp, _ = startExporterWithMetrics(t, cfg)
	shutdown = sync.OnceFunc(func() { require.NoError(t, exp.Shutdown(context.Background())) })
	t.Cleanup(shutdown)
	return exp, cfg.Path, shutdown
}

// messagesOfFamily returns the messages of the active file at path and its rotated files, oldest first.
func messagesOfFamily(t *testing.T, path string) []string {
	t.Helper()
	rotated, err := newArchiver(archiverSettings{}, nopTelemetry(), nil).listRotated(familyOf(path))
	require.NoError(t, err)
	var messages []string
	for _, r := range rotated {
		messages = append(messages, messagesIn(t, r.path)...)
	}
	return append(messages, messagesIn(t, path)...)
}

func TestExporter_ByDefaultAPushReturnsOnlyOnceItsRecordsAreInTheFile(t *testing.T) {
	exp, path, _ := startDefault(t, func(*Config) {})
	var want []string
	for push := 0; push < 5; push++ {
		require.NoError(t, exp.ConsumeLogs(context.Background(), prefixedLogs(fmt.Sprint("push", push), 3)))
		for i := 0; i < 3; i++ {
			want = append(want, fmt.Sprintf("push%d order %d", push, i))
		}
		// No flush, no shutdown, no waiting: what was acknowledged is in the file already.
		assert.Equal(t, want, messagesIn(t, path), "after push %d", push)
	}
}

func TestExporter_ByDefaultConcurrentPushesEachLandWholeAndInOrderAcrossRotations(t *testing.T) {
	exp, path, _ := startDefault(t, func(cfg *Config) { cfg.MaxBytes = confunits.ByteSize(4 << 10) })
	const pushers, pushes, records = 4, 25, 10
	var wg sync.WaitGroup
	for p := 0; p < pushers; p++ {
		wg.Go(func() {
			for n := 0; n < pushes; n++ {
				assert.NoError(t, exp.ConsumeLogs(context.Background(), prefixedLogs(fmt.Sprintf("p%d-%d", p, n), records)))
			}
		})
	}
	wg.Wait()

	got := messagesOfFamily(t, path)
	require.Len(t, got, pushers*pushes*records, "every record exactly once")
	next := map[string]int{} // pusher -> its next push
	for i := 0; i < len(got); i += records {
		prefix, _, _ := strings.Cut(got[i], " ")
		pusher, n, _ := strings.Cut(prefix, "-")
		assert.Equal(t, fmt.Sprint(next[pusher]), n, "a pusher's pushes land in the order it made them")
		next[pusher]++
		for j := 0; j < records; j++ {
			require.Equal(t, fmt.Sprintf("%s order %d", prefix, j), got[i+j], "a push's records are contiguous and in order")
		}
	}
}
