package fapilogfile

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

// consoleSink writes to stdout or stderr: one write per batch, nothing buffered across batches, no rotation.
type consoleSink struct {
	lock        fileLock
	out         io.Writer
	waitTimeout time.Duration
}

func newConsoleSink(out io.Writer, waitTimeout time.Duration) *consoleSink {
	return &consoleSink{lock: newFileLock(), out: out, waitTimeout: waitTimeout}
}

// write writes a batch, waiting for the output (a terminal or pipe nobody reads) no longer than ctx and
// waitTimeout allow.
func (c *consoleSink) write(ctx context.Context, records []byte, ends []int) (int, error) {
	if err := c.lock.acquire(ctx, c.waitTimeout); err != nil {
		return 0, fmt.Errorf("waiting for the console: %w", err)
	}
	defer c.lock.release()
	n, err := c.out.Write(records)
	if err == nil {
		return len(ends), nil
	}
	written := 0
	for written < len(ends) && ends[written] <= n {
		written++
	}
	return written, err
}

// isTerminal reports whether f is a character device (a terminal), the test fapilog's stdout_pretty applies.
func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// useColors resolves colors: auto means a terminal and no NO_COLOR variable (https://no-color.org).
func useColors(mode string, out *os.File) bool {
	switch mode {
	case ColorsAlways:
		return true
	case ColorsNever:
		return false
	}
	if _, set := os.LookupEnv("NO_COLOR"); set {
		return false
	}
	return out != nil && isTerminal(out)
}
