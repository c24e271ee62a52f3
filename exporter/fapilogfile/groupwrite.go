package fapilogfile

import (
	"context"
	"fmt"
	"sync"
)

// Group commit. Every push is acknowledged only once its records are in the file, so without merging, N pushes
// arriving together make N write(2) calls (with fsync: N syncs) one after the other, each waiting for the last.
// Instead a push joins the file's queue and then waits for the lock or for its result, whichever comes first:
// whoever takes the lock writes every queued batch with one write (and one sync), in the order they queued, and
// hands each its own outcome. A lone push (the file free, nobody queued) writes its own batch at once, as before.
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

// writeGroup is a file's queue of pending writes and the writer's scratch space.
type writeGroup struct {
	mu         sync.Mutex
	queue      []*pendingWrite
	spare      []*pendingWrite // the previous queue's array, reused
	merged     []byte          // the group's records, under the file lock
	mergedEnds []int           // the group's record ends, under the file lock
}

// maxMergedBuffer keeps an unusually large group's buffer from staying allocated.
const maxMergedBuffer = 4 << 20

// write appends a batch, waiting for the file no longer than ctx allows unless the batch is already being
// written; see writeLocked for what it returns. Batches that wait together are written together.
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

// writeQueued takes every queued batch and writes them as one; the caller holds the lock.
func (r *rotator) writeQueued() {
	g := &r.group
	g.mu.Lock()
	batches := g.queue
	g.queue = g.spare[:0]
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
		records, ends := g.merge(batches)
		written, err := r.writeLocked(records, ends)
		// Batch by batch, in order: the first written records of the group are the first batches' records.
		for _, pw := range batches {
			pw.written = min(max(written, 0), len(pw.ends))
			written -= len(pw.ends)
			if pw.written < len(pw.ends) {
				pw.err = err
			}
			pw.done <- struct{}{}
		}
		if cap(g.merged) > maxMergedBuffer {
			g.merged, g.mergedEnds = nil, nil
		}
	}
	clear(batches)
	g.mu.Lock()
	g.spare = batches[:0]
	g.mu.Unlock()
}

// merge concatenates the batches' records, with each record's end moved by the bytes before its batch.
func (g *writeGroup) merge(batches []*pendingWrite) ([]byte, []int) {
	g.merged, g.mergedEnds = g.merged[:0], g.mergedEnds[:0]
	for _, pw := range batches {
		base := len(g.merged)
		g.merged = append(g.merged, pw.records...)
		for _, end := range pw.ends {
			g.mergedEnds = append(g.mergedEnds, base+end)
		}
	}
	return g.merged, g.mergedEnds
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
