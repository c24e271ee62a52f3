package fapilogcloudwatch

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
)

var (
	bytesSizer = exporterhelper.RequestSizerTypeBytes
	itemsSizer = exporterhelper.RequestSizerTypeItems
)

// mergeSplit is r.MergeSplit with other, each result checked against the sizes it reports.
func mergeSplit(t *testing.T, r *logsRequest, maxSize int, szt exporterhelper.RequestSizerType, other *logsRequest) []*logsRequest {
	t.Helper()
	var o xexporterhelper.Request
	if other != nil {
		o = other
	}
	got, err := r.MergeSplit(context.Background(), maxSize, szt, o)
	require.NoError(t, err)
	out := make([]*logsRequest, len(got))
	for i, g := range got {
		out[i] = g.(*logsRequest)
		requireConsistent(t, out[i])
	}
	return out
}

// requireConsistent checks that a request's counts are those of its events.
func requireConsistent(t *testing.T, r *logsRequest) {
	t.Helper()
	items, bytes := 0, 0
	for _, c := range r.chunks {
		require.NotEmpty(t, c.events, "no empty chunk")
		cb := 0
		for _, ev := range c.events {
			cb += ev.size()
		}
		require.Equal(t, cb, c.bytes, "chunk bytes")
		items += len(c.events)
		bytes += cb
	}
	require.Equal(t, items, r.ItemsCount())
	require.Equal(t, bytes, r.BytesSize())
}

// sizesOf lists the requests' CloudWatch sizes.
func sizesOf(rs []*logsRequest) (items, bytes []int) {
	for _, r := range rs {
		items, bytes = append(items, r.ItemsCount()), append(bytes, r.BytesSize())
	}
	return items, bytes
}

func TestMergeSplit_BytesCutsWhereTheNextEventWouldPassTheLimit(t *testing.T) {
	// 10 events of 74 + 26 = 100 bytes, twice.
	a, b := batchOf(same(10, 74), atNow), batchOf(same(10, 74), atNow)
	got := mergeSplit(t, a, 450, bytesSizer, b)
	items, bytes := sizesOf(got)
	assert.Equal(t, []int{4, 4, 4, 4, 4}, items)
	assert.Equal(t, []int{400, 400, 400, 400, 400}, bytes)

	// Exactly at the limit fits.
	got = mergeSplit(t, a, 2000, bytesSizer, b)
	assert.Len(t, got, 1)
	assert.Equal(t, 2000, got[0].BytesSize())
	assert.Len(t, got[0].chunks, 2, "merged without copying: one chunk per conversion")
}

func TestMergeSplit_BytesNeverPutsMoreThan10000EventsInABatch(t *testing.T) {
	// 12,000 tiny events: the byte limit is far, CloudWatch's event limit is not.
	got := mergeSplit(t, batchOf(same(12_000, 1), atNow), maxRequestBytes, bytesSizer, nil)
	items, _ := sizesOf(got)
	assert.Equal(t, []int{10_000, 2_000}, items)
}

func TestMergeSplit_ItemsCountsRecords(t *testing.T) {
	got := mergeSplit(t, batchOf(same(7, 500), atNow), 3, itemsSizer, batchOf(same(2, 5), atNow))
	items, _ := sizesOf(got)
	assert.Equal(t, []int{3, 3, 3}, items)
}

func TestMergeSplit_AnEventLargerThanTheLimitGoesAlone(t *testing.T) {
	got := mergeSplit(t, batchOf([]int{10, 1000, 10}, atNow), 100, bytesSizer, nil)
	items, bytes := sizesOf(got)
	assert.Equal(t, []int{1, 1, 1}, items)
	assert.Equal(t, []int{36, 1026, 36}, bytes)
}

func TestMergeSplit_DroppedEventsWeighOnlyTheirOverhead(t *testing.T) {
	a := batchOf([]int{74, 0, 74}, atNow)
	a.chunks[0].events[1].dropped = true
	got := mergeSplit(t, a, 226, bytesSizer, nil)
	require.Len(t, got, 1)
	assert.Equal(t, 3, got[0].ItemsCount())
	assert.Equal(t, 226, got[0].BytesSize(), "never zero: the queue discards empty requests unreported")
}

func TestMergeSplit_LeavesBothRequestsAsTheyWere(t *testing.T) {
	a, b := batchOf(same(5, 74), atNow), batchOf(same(5, 74), atNow)
	a.chunks = append(make([]chunk, 0, 2), a.chunks...) // room to append in place: MergeSplit must not use it
	aEvents, bEvents := a.chunks[0].events, b.chunks[0].events
	got := mergeSplit(t, a, 300, bytesSizer, b)
	assert.Len(t, got, 4)
	assert.Len(t, a.chunks, 1)
	assert.Empty(t, a.chunks[:2][1].events, "nothing written beyond a's chunks")
	assert.Equal(t, 5, a.ItemsCount())
	assert.Equal(t, 500, a.BytesSize())
	assert.Len(t, b.chunks[0].events, 5)
	assert.Same(t, &aEvents[0], &a.chunks[0].events[0])
	assert.Same(t, &bEvents[0], &b.chunks[0].events[0])
	assert.Equal(t, a.chunks[0].body, got[0].chunks[0].body, "bodies are shared")
}

func TestMergeSplit_NoLimitMerges(t *testing.T) {
	got := mergeSplit(t, batchOf(same(3, 10), atNow), 0, bytesSizer, batchOf(same(4, 10), atNow))
	require.Len(t, got, 1)
	assert.Equal(t, 7, got[0].ItemsCount())
}

func TestMergeSplit_RefusesAnotherKindOfRequest(t *testing.T) {
	_, err := batchOf(same(1, 1), atNow).MergeSplit(context.Background(), 10, bytesSizer, otherRequest{})
	assert.ErrorContains(t, err, "cannot merge")
}

type otherRequest struct{ xexporterhelper.Request }

func TestSubset_KeepsTheChosenEventsInOrder(t *testing.T) {
	merged := mergeSplit(t, batchOf([]int{1, 2, 3}, atNow), 0, bytesSizer, batchOf([]int{4, 5}, atNow))[0]
	rest := merged.subset(func(i int) bool { return i == 1 || i >= 3 })
	requireConsistent(t, rest)
	var lengths []int
	for _, c := range rest.chunks {
		for _, ev := range c.events {
			lengths = append(lengths, ev.end-ev.start)
		}
	}
	assert.Equal(t, []int{2, 4, 5}, lengths)
}

func TestOnError_RetriesOnlyWhatPushHandedBack(t *testing.T) {
	r := batchOf(same(4, 10), atNow)
	rest := r.subset(func(i int) bool { return i > 1 })
	assert.Same(t, rest, r.OnError(&partialFailure{err: assert.AnError, rest: rest}))
	assert.Same(t, r, r.OnError(assert.AnError), "any other error: the whole request again")
}

func TestRequestEncoding_RoundTripKeepsEventsDestinationsAndMetadata(t *testing.T) {
	a := batchOf([]int{3, 0, 5}, atNow)
	a.chunks[0].events[1].dropped = true
	b := batchOf([]int{7, 9}, func(i int) int64 { return builderNow.UnixMilli() - int64(i) })
	b.chunks[0].dests = []dest{{"/g1", "s"}, {"/g2", "é"}}
	b.chunks[0].events[1].dest = 1
	b.chunks[0].events[1].overflow = true
	b.chunks[0].refused = "/g3"
	// A split request whose events do not start at its body's start, as after a cut or a retry.
	merged := mergeSplit(t, a, 0, bytesSizer, b.subset(func(i int) bool { return i == 1 }))[0]

	ctx := client.NewContext(context.Background(), client.Info{Metadata: client.NewMetadata(map[string][]string{"x-tenant": {"acme"}})})
	data, err := requestEncoding{}.Marshal(ctx, merged)
	require.NoError(t, err)
	gotCtx, got, err := requestEncoding{}.Unmarshal(data)
	require.NoError(t, err)
	assert.Equal(t, []string{"acme"}, client.FromContext(gotCtx).Metadata.Get("x-tenant"))
	restored := got.(*logsRequest)
	requireConsistent(t, restored)
	assert.Equal(t, merged.ItemsCount(), restored.ItemsCount())
	assert.Equal(t, merged.BytesSize(), restored.BytesSize())

	p1, p2 := new(plan), new(plan)
	rb := builderFor(defaultMaxEventSize)
	rb.build(merged, builderNow, p1)
	rb.build(restored, builderNow, p2)
	assert.Equal(t, p1.Owner, p2.Owner)
	assert.Equal(t, p1.dests, p2.dests)
	assert.Equal(t, p1.oversize, p2.oversize)
	assert.Equal(t, "/g3", p2.refused, "the group refused by max_destinations, for the log line")
	assert.Equal(t, 1, p2.requests[len(p2.requests)-1].overflow, "the overflowed event still counts once delivered")
	assert.Equal(t, p1.requests, p2.requests)
	require.Equal(t, len(p1.kept), len(p2.kept))
	for i := range p1.kept {
		assert.Equal(t, p1.kept[i], p2.kept[i], "event %d: message, timestamp, destination and position", i)
	}
}

func TestRequestEncoding_RefusesWhatItDidNotWrite(t *testing.T) {
	data, err := requestEncoding{}.Marshal(context.Background(), batchOf([]int{100, 200}, atNow))
	require.NoError(t, err)
	for name, bad := range map[string][]byte{
		"empty":           nil,
		"another format":  []byte("\x0a\x05hello"),
		"another version": append([]byte("fcw\x03"), data[4:]...),
		"truncated":       data[:len(data)-1],
		"trailing bytes":  append(append([]byte{}, data...), 0),
		"huge count":      append([]byte(encodingHeader), 0, 0xff, 0xff, 0xff, 0xff, 0x0f),
		// Version 2: no metadata, one chunk of no destination, no refused group, one event of dest 2 (1 << 1).
		"dest out of range": []byte(encodingHeader + "\x00\x01\x00\x00\x01\x00\x04\x01"),
		// The same in version 1, whose dest has no overflow bit.
		"dest out of range (version 1)": []byte(encodingHeaderV1 + "\x00\x01\x00\x01\x00\x05\x01"),
		"length beyond data":            []byte(encodingHeaderV1 + "\x00\x01\x01\x00\x00\x01\x00\x00\x09"),
		// One dest ("g", "s"), one event whose dest index is 2^32-1: -1 once cast to int32.
		"dest wraps to -1": []byte(encodingHeaderV1 + "\x00\x01\x01\x01g\x01s\x01\x00\xff\xff\xff\xff\x0f\x02x"),
		// Version 2: the dest field 2^64-1 is dest 2^63-1 with the overflow bit.
		"dest wraps (version 2)": []byte(encodingHeader + "\x00\x01\x01\x01g\x01s\x00\x01\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x02x"),
		// Two events of 2^63 bytes each: their lengths add up to 0, so no body byte would be read.
		"lengths wrap to 0": []byte(encodingHeaderV1 + "\x00\x01\x01\x01g\x01s\x02" +
			"\x00\x00\x81\x80\x80\x80\x80\x80\x80\x80\x80\x01" + "\x00\x00\x81\x80\x80\x80\x80\x80\x80\x80\x80\x01"),
	} {
		_, _, err := requestEncoding{}.Unmarshal(bad)
		assert.ErrorIs(t, err, errCorrupt, name)
	}
}

// A persistent queue written by the release before format 2 is still read after an upgrade: its events go to
// their destinations, none marked as overflow (those were counted when they arrived).
func TestRequestEncoding_ReadsFormatVersion1(t *testing.T) {
	// Format 1: no metadata; one chunk: dests ("/g", "s") and ("/g2", "t"); two events at 5 and 6 ms, dests 0
	// and 1, messages "ab" and "c".
	v1 := []byte(encodingHeaderV1 + "\x00\x01\x02\x02/g\x01s\x03/g2\x01t\x02" + "\x0a\x00\x03" + "\x0c\x01\x02" + "abc")
	_, got, err := requestEncoding{}.Unmarshal(v1)
	require.NoError(t, err)
	req := got.(*logsRequest)
	requireConsistent(t, req)
	require.Len(t, req.chunks, 1)
	c := req.chunks[0]
	assert.Equal(t, []dest{{"/g", "s"}, {"/g2", "t"}}, c.dests)
	assert.Empty(t, c.refused)
	require.Len(t, c.events, 2)
	assert.Equal(t, "ab", c.body[c.events[0].start:c.events[0].end])
	assert.Equal(t, "c", c.body[c.events[1].start:c.events[1].end])
	assert.Equal(t, []int64{5, 6}, []int64{c.events[0].timestamp, c.events[1].timestamp})
	assert.Equal(t, []int32{0, 1}, []int32{c.events[0].dest, c.events[1].dest})
	assert.False(t, c.events[0].overflow || c.events[1].overflow)
}
