package fapilogfile

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogfile/internal/metadata"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
)

// stuckFile is a file whose writes block until released, as writes to a hung network filesystem do.
type stuckFile struct {
	osFile
	entered chan struct{} // receives when a write blocks
	release chan struct{} // closed to let it finish
}

func (f *stuckFile) Write(p []byte) (int, error) {
	f.entered <- struct{}{}
	<-f.release
	return f.osFile.Write(p)
}

func TestExporter_APushGivesUpWaitingForAFileStuckInAWrite(t *testing.T) {
	stuck := &stuckFile{entered: make(chan struct{}, 1), release: make(chan struct{})}
	cfg := createDefaultConfig().(*Config)
	cfg.Directory = t.TempDir()
	fe, err := newFileExporter(cfg, componenttest.NewNopTelemetrySettings(), component.NewID(metadata.Type))
	require.NoError(t, err)
	fe.fs.openFile = func(path string) (osFile, error) {
		file, err := osFileSystem.openFile(path)
		stuck.osFile = file
		return stuck, err
	}
	require.NoError(t, fe.start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, fe.shutdown(context.Background())) }()

	first := make(chan error, 1)
	go func() { first <- fe.pushLogs(context.Background(), prefixedLogs("first", 2)) }()
	<-stuck.entered

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	second := make(chan error, 1)
	go func() { second <- fe.pushLogs(ctx, prefixedLogs("second", 2)) }()
	select {
	case err := <-second:
		require.ErrorIs(t, err, context.DeadlineExceeded)
	case <-time.After(5 * time.Second):
		close(stuck.release)
		t.Fatal("the second push queued behind the stuck write instead of giving up at its deadline")
	}

	close(stuck.release)
	require.NoError(t, <-first)
	assert.Equal(t, []string{"first order 0", "first order 1"}, familyMessages(t, fe), "only the push that got the file wrote to it")
}

func TestConsole_APushGivesUpWaitingForAStuckOutput(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	c := newConsoleSink(w)
	big := make([]byte, 1<<20) // more than a pipe holds: the write blocks until the pipe is read
	first := make(chan error, 1)
	go func() {
		_, err := c.write(context.Background(), big, []int{len(big)})
		first <- err
	}()
	require.Eventually(t, func() bool { return len(c.lock) == 1 }, 5*time.Second, time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	n, err := c.write(ctx, []byte("x\n"), []int{2})
	assert.Zero(t, n)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "got %v", err)

	_, err = io.Copy(io.Discard, io.LimitReader(r, int64(len(big))))
	require.NoError(t, err)
	require.NoError(t, <-first)
}
