package fapilogfile

import (
	"context"
	"fmt"
	"sync"
)

// Group commit. Every push is acknowledged only once its records are in the file, so without merging, N pushes
// arriving together make N write(2) calls (with fsync: N syncs) one after the other, each waiting for the last.
// Instead a push joins the file's queue and then waits for the lock or for its result, whichever comes first:
// whoever takes the lock writes the queued batches (up to maxGroupBytes of them) with one write (and one sync), in
// the order they queued, and hands each its own outcome. A lone push (the file free, nobody queued) writes its own
// batch at once, as before.
// Inside a loaded collector a write costs more than in a tight loop (1.8x on one machine, 3-5x on a slower one:
// the kernel's write path runs with cold caches), and a sync costs a disk flush: both are paid once per group
// instead of once per push.

// pendingWrite is one push's batch waiting in a file's queue, and then its outcome.
type pendingWrite struct {
	records []byte
	ends    []int
	// taken is set, under the queue's mutex, once a writer has taken the batch: from then on its owner waits for
	// done whatever its context says, because the batch is being written.
	taken   bool
	written int
	err     error
	done    chan struct{} // one value, sent once written and err are set
}

var pendingWrites = sync.Pool{New: func() any { return &pendingWrite{done: make(chan struct{}, 1)} }}

// writeGroup is a file's queue of pending writes.
type writeGroup struct {
	mu    sync.Mutex
	queue []*pendingWrite
	spare []*pendingWrite // the previous queue's array, reused
}

// maxGroupBytes bounds the records one group write takes from the queue; the batches after it wait for the next
// write. Past 256 KiB a longer write saves little more CPU per byte (BenchmarkAppendBySize), and the bound keeps
// the buffer a group is merged into small. A batch larger than that is written alone, from its own buffer.
const maxGroupBytes = 256 << 10

// mergeBuffer is where a group's batches are concatenated. The buffers are shared by every file and pooled, so
// that the memory they take follows the groups being written at the moment, not the number of open files.
type mergeBuffer struct {
	records []byte
	ends    []int
}

var mergeBuffers = sync.Pool{New: func() any { return new(mergeBuffer) }}

// write appends a batch, waiting for the file no longer than ctx and waitTimeout allow unless the batch is already
// being written; see writeLocked for what it returns. Batches that wait together are written together.
func (r *rotator) write(ctx context.Context, records []byte, ends []int) (int, error) {
	// The common case, a file nobody is writing and nobody waits for: write at once, as without a queue.
	select {
	case r.lock <- struct{}{}:
		if r.group.empty() {
			defer r.lock.release()
			return r.writeLocked(records, ends)
		}
		r.lock.release() // others wait: queue behind them
	default:
	}
	ctx, cancel := waitContext(ctx, r.settings.waitTimeout)
	defer cancel()
	pw := pendingWrites.Get().(*pendingWrite)
	defer func() {
		pw.records, pw.ends, pw.taken, pw.err = nil, nil, false, nil
		pendingWrites.Put(pw)
	}()
	pw.records, pw.ends = records, ends
	g := &r.group
	g.mu.Lock()
	g.queue = append(g.queue, pw)
	g.mu.Unlock()
	for {
		select {
		case <-pw.done: // written by this push or by another that took the lock first
			return pw.written, pw.err
		default:
		}
		select {
		case r.lock <- struct{}{}:
			r.writeQueued() // this batch included, unless a writer before took it
			r.lock.release()
		case <-pw.done:
			return pw.written, pw.err
		case <-ctx.Done():
			g.mu.Lock()
			if !pw.taken {
				g.remove(pw)
				g.mu.Unlock()
				return 0, fmt.Errorf("waiting for %s: %w", r.settings.path, context.Cause(ctx))
			}
			g.mu.Unlock()
			<-pw.done // being written: its outcome is the truth, and the records may be in the file already
			return pw.written, pw.err
		}
	}
}

// writeQueued takes the queued batches, up to maxGroupBytes of them and at least one, and writes them as one; the
// caller holds the lock.
func (r *rotator) writeQueued() {
	g := &r.group
	g.mu.Lock()
	queued := g.queue
	batches := queued[:groupLength(queued)]
	g.queue = append(g.spare[:0], queued[len(batches):]...)
	for _, pw := range batches {
		pw.taken = true
	}
	g.mu.Unlock()
	switch len(batches) {
	case 0:
	case 1:
		pw := batches[0]
		pw.written, pw.err = r.writeLocked(pw.records, pw.ends)
		pw.done <- struct{}{}
	default:
		mb := mergeBuffers.Get().(*mergeBuffer)
		written, err := r.writeLocked(mb.merge(batches))
		mergeBuffers.Put(mb)
		// Batch by batch, in order: the first written records of the group are the first batches' records.
		for _, pw := range batches {
			pw.written = min(max(written, 0), len(pw.ends))
			written -= len(pw.ends)
			if pw.written < len(pw.ends) {
				pw.err = err
			}
			pw.done <- struct{}{}
		}
	}
	clear(queued)
	g.mu.Lock()
	g.spare = queued[:0]
	g.mu.Unlock()
}

// groupLength is how many batches from the head of the queue one write takes: as many as fit in maxGroupBytes,
// and at least one.
func groupLength(queue []*pendingWrite) int {
	size := 0
	for i, pw := range queue {
		size += len(pw.records)
		if i > 0 && size > maxGroupBytes {
			return i
		}
	}
	return len(queue)
}

// merge concatenates the batches' records, with each record's end moved by the bytes before its batch.
func (mb *mergeBuffer) merge(batches []*pendingWrite) ([]byte, []int) {
	mb.records, mb.ends = mb.records[:0], mb.ends[:0]
	for _, pw := range batches {
		base := len(mb.records)
		mb.records = append(mb.records, pw.records...)
		for _, end := range pw.ends {
			mb.ends = append(mb.ends, base+end)
		}
	}
	return mb.records, mb.ends
}

func (g *writeGroup) empty() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue) == 0
}

// remove takes a batch that gave up out of the queue; the caller holds g.mu.
func (g *writeGroup) remove(pw *pendingWrite) {
	for i, queued := range g.queue {
		if queued == pw {
			g.queue = append(g.queue[:i], g.queue[i+1:]...)
			return
		}
	}
}
