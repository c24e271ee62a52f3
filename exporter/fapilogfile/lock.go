package fapilogfile

import (
	"context"
	"time"
)

// fileLock serialises the writers of one file (or of stdout). Unlike a sync.Mutex, acquire gives up when its
// context ends: pushes run on the receivers' goroutines, and a write stuck in the kernel (a full stdout pipe, a
// hung network filesystem) must not hold every later request, and its records, in memory behind it. A push
// that gives up returns an error, so the client keeps the records and retries.
type fileLock chan struct{}

func newFileLock() fileLock { return make(fileLock, 1) }

// acquire takes the lock, or returns ctx's error once ctx is done first; waiting takes no longer than timeout
// (see waitContext).
func (l fileLock) acquire(ctx context.Context, timeout time.Duration) error {
	select {
	case l <- struct{}{}:
		return nil
	default:
	}
	ctx, cancel := waitContext(ctx, timeout)
	defer cancel()
	select {
	case l <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// wait takes the lock however long it takes: for the exporter's own upkeep (start, the timer, shutdown).
func (l fileLock) wait() { l <- struct{}{} }

func (l fileLock) release() { <-l }

// waitContext bounds a push's wait for a file (or the console) that another push is writing by the exporter's
// `timeout`; 0 leaves only the request's own deadline. The exporter applies the timeout here rather than through
// exporterhelper, which would start a timer for every push: only a push that has to wait needs one.
func waitContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, timeout)
}
