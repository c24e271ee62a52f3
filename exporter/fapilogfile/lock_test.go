package fapilogfile

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExporter_APushGivesUpWaitingForAFileStuckInAWrite(t *testing.T) {
	// The first push's write blocks, as a write to a hung network filesystem does.
	stuck := &gatedFile{entered: make(chan struct{}, 1), release: make(chan struct{})}
	fe, first := startGated(t, stuck, func(*Config) {})

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
	require.NoError(t, outcome(t, first))
	assert.Equal(t, []string{"first order 0", "first order 1"}, familyMessages(t, fe), "only the push that got the file wrote to it")
	require.NoError(t, fe.shutdown(context.Background()))
}

// stuckConsole returns a console sink (waiting at most waitTimeout for its output) whose output is a pipe that
// one write, of more than a pipe holds, already blocks; unstick reads the pipe so that the write completes.
func stuckConsole(t *testing.T, waitTimeout time.Duration) (c *consoleSink, unstick func()) {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close(); _ = w.Close() })
	c = newConsoleSink(w, waitTimeout)
	big := make([]byte, 1<<20)
	first := make(chan error, 1)
	go func() {
		_, err := c.write(context.Background(), big, []int{len(big)})
		first <- err
	}()
	require.Eventually(t, func() bool { return len(c.lock) == 1 }, 5*time.Second, time.Millisecond)
	return c, func() {
		_, err := io.Copy(io.Discard, io.LimitReader(r, int64(len(big))))
		require.NoError(t, err)
		require.NoError(t, <-first)
	}
}

func TestConsole_APushGivesUpWaitingForAStuckOutput(t *testing.T) {
	c, unstick := stuckConsole(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	n, err := c.write(ctx, []byte("x\n"), []int{2})
	assert.Zero(t, n)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "got %v", err)
	unstick()
}

// A receiver without deadlines (Kafka, file_log) pushes with a context that never ends: the `timeout` setting is
// then what keeps its pushes from piling up behind a write stuck in the kernel.
func TestExporter_TimeoutBoundsTheWaitForAStuckFileWhenTheRequestHasNoDeadline(t *testing.T) {
	stuck := &gatedFile{entered: make(chan struct{}, 1), release: make(chan struct{})}
	fe, first := startGated(t, stuck, func(cfg *Config) { cfg.Timeout = 50 * time.Millisecond })

	second := make(chan error, 1)
	began := time.Now()
	go func() { second <- fe.pushLogs(context.Background(), prefixedLogs("second", 2)) }()
	select {
	case err := <-second:
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.GreaterOrEqual(t, time.Since(began), 50*time.Millisecond, "it waited its timeout first")
	case <-time.After(5 * time.Second):
		close(stuck.release)
		t.Fatal("the push waited past its timeout behind the stuck write")
	}
	close(stuck.release)
	require.NoError(t, outcome(t, first))
}

func TestConsole_TimeoutBoundsTheWaitForAStuckOutputWhenTheRequestHasNoDeadline(t *testing.T) {
	c, unstick := stuckConsole(t, 50*time.Millisecond)
	type result struct {
		n   int
		err error
	}
	second := make(chan result, 1)
	go func() {
		n, err := c.write(context.Background(), []byte("x\n"), []int{2})
		second <- result{n, err}
	}()
	select {
	case got := <-second:
		assert.Zero(t, got.n)
		assert.ErrorIs(t, got.err, context.DeadlineExceeded)
	case <-time.After(5 * time.Second):
		t.Error("the push waited past its timeout behind the stuck output")
	}
	unstick()
}
