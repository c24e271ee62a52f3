package fapilogcloudwatch

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClassFor_TheSmallestClassThatHoldsTheSizeAtMostAQuarterLarger(t *testing.T) {
	for n := 1; n <= 1<<maxBodyShift; n += 1 + n/97 {
		i, ok := classFor(n)
		require.True(t, ok, "%d", n)
		size := classSize(i)
		require.GreaterOrEqual(t, size, n, "%d", n)
		if i > 0 {
			require.Less(t, classSize(i-1), n, "%d: the smallest class", n)
			require.LessOrEqual(t, size, n+n/4+1, "%d: at most a quarter larger", n)
		}
	}
	for i := range bodyClasses {
		got, ok := classFor(classSize(i))
		require.True(t, ok)
		require.Equal(t, i, got, "class %d is its own size's class", i)
	}
	_, ok := classFor(1<<maxBodyShift + 1)
	assert.False(t, ok, "beyond 16 MiB a body is allocated alone")
}

func TestSeal_KeepsOnlyBuffersThatAreMostlyFull(t *testing.T) {
	var bb bodyBuffers
	fill := func(buf []byte, n int) []byte { return append(buf, strings.Repeat("x", n)...) }

	buf, p := bb.get(10) // 10 records of 1 KiB expected: a class of 11,520 bytes or more
	require.NotNil(t, p)
	full := fill(buf, cap(buf)*2/3)
	body, kept := bb.seal(full, p, 10)
	assert.Same(t, p, kept, "two thirds full: the request keeps it until the queue is done")
	assert.True(t, sameArray(full, body), "the body is the buffer, not a copy")

	buf, p = bb.get(10)
	sparse := fill(buf, 100)
	body, kept = bb.seal(sparse, p, 10)
	assert.Nil(t, kept, "mostly empty: copied, and the buffer given back at once")
	assert.False(t, sameArray(sparse, body))
	assert.Len(t, body, 100)

	buf, p = bb.get(1)
	grown := fill(buf, 3*cap(buf))
	body, kept = bb.seal(grown, p, 1)
	assert.Nil(t, kept, "outgrew its class: the records are in an array of their own")
	assert.Len(t, body, len(grown))
	assert.Empty(t, *p, "the class buffer was given back")
}

// sameArray reports whether body's bytes are buf's.
func sameArray(buf []byte, body string) bool {
	return uintptr(unsafe.Pointer(unsafe.SliceData(buf))) == uintptr(unsafe.Pointer(unsafe.StringData(body)))
}

func TestBodyRefs_UnrefGivesTheBufferBackOnce(t *testing.T) {
	var bb bodyBuffers
	buf, p := bb.get(4)
	body, kept := bb.seal(append(buf, strings.Repeat("y", cap(buf))...), p, 4)
	require.NotNil(t, kept)
	req := &logsRequest{chunks: []chunk{{body: body}}, recycled: kept}
	batch := &logsRequest{chunks: req.chunks} // a batch sharing the body: never the queue's to give back
	refs := bodyRefs{&bb}
	refs.Ref(req)
	refs.Unref(batch)
	refs.Unref(req)
	assert.Nil(t, req.recycled)
	refs.Unref(req) // a second time: nothing left to give back
}

func TestBodyBuffers_RecordsOfTheLastSizeAreAlwaysKept(t *testing.T) {
	for _, perRecord := range []int{100, 300, 761, 1000, 5000} {
		for _, records := range []int{1, 7, 100, 1000, 10_000} {
			var bb bodyBuffers
			bb.perRecord.Store(int64(perRecord))
			buf, p := bb.get(records)
			_, kept := bb.seal(append(buf, make([]byte, perRecord*records)...), p, records)
			switch size := records * perRecord; {
			case size*9/8 > 1<<maxBodyShift:
				assert.Nil(t, kept, "%d records of %d bytes: beyond the largest class, allocated alone", records, perRecord)
			case size > 1<<minBodyShift:
				assert.NotNil(t, kept, "%d records of %d bytes: recycled, not copied", records, perRecord)
			}
		}
	}
}

func TestBodyBuffers_EstimateFollowsTheRecords(t *testing.T) {
	var bb bodyBuffers
	buf, p := bb.get(100)
	_, _ = bb.seal(append(buf, strings.Repeat("z", 100*3000)...), p, 100) // 3,000 bytes a record
	buf, _ = bb.get(100)
	assert.GreaterOrEqual(t, cap(buf), 100*3000, "room for 100 records of the last size")
	assert.LessOrEqual(t, cap(buf), 100*3000*9/8*5/4+1, "and not much more")
}
