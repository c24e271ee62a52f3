package fapilogfile

import "context"

// fileLock serialises the writers of one file (or of stdout). Unlike a sync.Mutex, acquire gives up when its
// context ends: pushes run on the receivers' goroutines, and a write stuck in the kernel (a full stdout pipe, a
// hung network filesystem) must not hold every later request, and its records, in memory behind it. A push
// that gives up returns an error, so the client keeps the records and retries.
type fileLock chan struct{}

func newFileLock() fileLock { return make(fileLock, 1) }

// acquire takes the lock, or returns ctx's error once ctx is done first.
func (l fileLock) acquire(ctx context.Context) error {
	select {
	case l <- struct{}{}:
		return nil
	default:
	}
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
