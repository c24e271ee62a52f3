package fapilogcloudwatch

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"

	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
)

// Size classes of the recycled body buffers: four per power of two (a buffer is at most 25% larger than asked
// for), from 4 KiB to 16 MiB. A larger body is allocated for its request alone.
const (
	minBodyShift   = 12
	maxBodyShift   = 24
	bodyClasses    = (maxBodyShift-minBodyShift)*4 + 1
	initialPerItem = 1024 // bytes per record expected before the first conversion
)

// bodyBuffers recycles the buffers records are encoded into. A request's body lives from its conversion until the
// in-memory queue is done with the request (every batch that carried part of it delivered, refused or given up,
// retries included); the queue says so through its reference counter (bodyRefs.Unref), and the buffer goes back
// here for the next conversions. Without it every record's envelope was a fresh allocation, and the garbage
// collection that caused cost as much as encoding the record (BenchmarkEncodeAndBuild). The messages handed to
// the SDK are strings over the buffer, never copies: nothing may keep one once its push has returned (the plan
// clears its own; the SDK keeps none after PutLogEvents returns).
//
// Requests the in-memory queue does not hold (no queue, or a persistent one, which stores a copy) never come
// back: their buffers are left to the garbage collector like any allocation.
type bodyBuffers struct {
	classes [bodyClasses]sync.Pool // *[]byte of exactly classSize(i) capacity
	// perRecord is the size of the last conversion's records, from which the next one's buffer is chosen.
	perRecord atomic.Int64
}

// classSize is the capacity of the buffers of class i.
func classSize(i int) int {
	base := 1 << (minBodyShift + i/4)
	return base + base/4*(i%4)
}

// classFor is the smallest class whose buffers hold n bytes; false beyond the largest.
func classFor(n int) (int, bool) {
	if n <= 1<<minBodyShift {
		return 0, true
	}
	k := bits.Len(uint(n-1)) - 1 // 2^k < n <= 2^(k+1)
	if k >= maxBodyShift {
		return 0, false
	}
	quarter := 1 << (k - 2)
	sub := (n - 1<<k + quarter - 1) / quarter // 1 to 4
	return (k-minBodyShift)*4 + sub, true
}

// get returns an empty buffer for records records, and its pool entry (nil when it is not recycled).
func (bb *bodyBuffers) get(records int) ([]byte, *[]byte) {
	perRecord := bb.perRecord.Load()
	if perRecord == 0 {
		perRecord = initialPerItem
	}
	want := int(int64(records) * perRecord * 9 / 8)
	i, ok := classFor(want)
	if !ok {
		return make([]byte, 0, want), nil
	}
	if p, _ := bb.classes[i].Get().(*[]byte); p != nil {
		return (*p)[:0], p
	}
	b := make([]byte, 0, classSize(i))
	return b, &b
}

// seal makes the body of a request from buf, which the conversion got from get with entry p and filled. It
// returns the body and the entry the request must give back when the queue is done with it (nil: nothing to
// give back). A buffer that outgrew its class or is less than two thirds full is not kept: the first goes back
// at once, the second too after its content is copied, so that a queued body never takes more than half again
// the memory of its bytes. (get asks for 1/8 more than the last records' size and a class is at most 1/4 larger
// than asked: records of that size fill their buffer to 71% at least.)
func (bb *bodyBuffers) seal(buf []byte, p *[]byte, records int) (string, *[]byte) {
	if records > 0 {
		bb.perRecord.Store(int64(len(buf)/records) + 1)
	}
	switch {
	case p == nil:
		return unsafe.String(unsafe.SliceData(buf), len(buf)), nil
	case cap(buf) != cap(*p): // append moved the records to a larger array: the class buffer is free again
		bb.put(p)
		return unsafe.String(unsafe.SliceData(buf), len(buf)), nil
	case len(buf) < cap(buf)*2/3:
		body := string(buf)
		bb.put(p)
		return body, nil
	}
	return unsafe.String(unsafe.SliceData(buf), len(buf)), p
}

// put makes a buffer of get's available again.
func (bb *bodyBuffers) put(p *[]byte) {
	if i, ok := classFor(cap(*p)); ok && classSize(i) == cap(*p) {
		*p = (*p)[:0]
		bb.classes[i].Put(p)
	}
}

// bodyRefs is the in-memory queue's reference counter for the exporter's requests: Unref gives a request's
// recycled body back once the queue is done with it.
type bodyRefs struct{ buffers *bodyBuffers }

// Ref does nothing: the queue holds the only reference from Offer to Unref.
func (bodyRefs) Ref(xexporterhelper.Request) {}

// Unref gives back the body of a request the converter made; batches and retry requests, which share it, are
// never handed to the queue.
func (r bodyRefs) Unref(req xexporterhelper.Request) {
	if lr, ok := req.(*logsRequest); ok && lr.recycled != nil {
		r.buffers.put(lr.recycled)
		lr.recycled = nil
	}
}
