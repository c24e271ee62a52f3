package fapilogcloudwatch

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/fapilog/fapilog-otelcol/internal/confunits"
)

var builderNow = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

// batchOf makes a request directly, without the envelope: record i has a message of sizes[i] bytes and the
// timestamp at(i), in stream 0.
func batchOf(sizes []int, at func(i int) int64) *logsRequest {
	c := chunk{dests: []dest{{"g", "s0"}}}
	var body []byte
	for i, size := range sizes {
		start := len(body)
		for j := range size {
			body = append(body, byte('a'+(i+j)%26))
		}
		ev := event{start: start, end: len(body), timestamp: at(i)}
		c.bytes += ev.size()
		c.events = append(c.events, ev)
	}
	c.body = string(body)
	return &logsRequest{chunks: []chunk{c}, items: len(sizes), bytes: c.bytes}
}

func same(n, size int) []int {
	sizes := make([]int, n)
	for i := range sizes {
		sizes[i] = size
	}
	return sizes
}

func atNow(int) int64 { return builderNow.UnixMilli() }

func builderFor(maxEventSize confunits.ByteSize) requestBuilder {
	cfg := createDefaultConfig().(*Config)
	cfg.MaxEventSize = maxEventSize
	return newRequestBuilder(cfg)
}

func build(t *testing.T, rb requestBuilder, b *logsRequest) *plan {
	t.Helper()
	p := new(plan)
	rb.build(b, builderNow, p)
	requireWithinLimits(t, rb, p)
	return p
}

// requireWithinLimits checks every request of p against the service limits and that owner agrees with them.
func requireWithinLimits(t *testing.T, rb requestBuilder, p *plan) {
	t.Helper()
	for i, r := range p.requests {
		require.NotEmpty(t, r.events, "request %d", i)
		require.LessOrEqual(t, len(r.events), maxEventsPerRequest, "request %d events", i)
		size := 0
		for j, ev := range r.events {
			n := len(aws.ToString(ev.Message))
			require.LessOrEqual(t, n+eventOverhead, rb.maxEventSize, "request %d event %d size", i, j)
			size += n + eventOverhead
			if j > 0 {
				require.GreaterOrEqual(t, *ev.Timestamp, *r.events[j-1].Timestamp, "request %d event %d in order", i, j)
			}
		}
		require.Equal(t, size, r.bytes, "request %d counted bytes", i)
		require.LessOrEqual(t, size, maxRequestBytes, "request %d bytes", i)
		require.LessOrEqual(t, *r.events[len(r.events)-1].Timestamp-*r.events[0].Timestamp, maxRequestSpan.Milliseconds(), "request %d span", i)
	}
}

func counts(p *plan) []int {
	var out []int
	for _, r := range p.requests {
		out = append(out, len(r.events))
	}
	return out
}

func TestBuild_Exactly10000EventsIsOneRequestAnd10001IsTwo(t *testing.T) {
	rb := builderFor(defaultMaxEventSize)
	assert.Equal(t, []int{10_000}, counts(build(t, rb, batchOf(same(10_000, 10), atNow))))

	p := build(t, rb, batchOf(same(10_001, 10), atNow))
	assert.Equal(t, []int{10_000, 1}, counts(p))
	assert.EqualValues(t, 0, p.Owner[9_999])
	assert.EqualValues(t, 1, p.Owner[10_000], "the 10,001st record goes in the second request")
}

func TestBuild_Exactly1048576BytesWithOverheadIsOneRequest(t *testing.T) {
	rb := builderFor(maxEventSizeLimit)
	// 16 events of 65,510 bytes + 26 overhead = 16 x 65,536 = 1,048,576: exactly the limit.
	p := build(t, rb, batchOf(same(16, 65_510), atNow))
	assert.Equal(t, []int{16}, counts(p))
	assert.Equal(t, maxRequestBytes, p.requests[0].bytes)

	// Without the overhead these would be 1,048,160 bytes and fapilog would send them as one request;
	// counting 26 per event, one byte more anywhere does not fit.
	sizes := same(16, 65_510)
	sizes[15]++
	p = build(t, rb, batchOf(sizes, atNow))
	assert.Equal(t, []int{15, 1}, counts(p))

	// 1,000 small events whose messages alone fit in 1 MiB but not with 26 bytes each.
	p = build(t, rb, batchOf(same(1_040, 1_000), atNow)) // 1,040 x 1,026 = 1,067,040
	assert.Equal(t, []int{1_022, 18}, counts(p))         // 1,022 x 1,026 = 1,048,572
}

func TestBuild_FourEventsAtTheDefaultLimitFillOneRequestExactly(t *testing.T) {
	rb := builderFor(defaultMaxEventSize)
	largest := int(defaultMaxEventSize) - eventOverhead // 262,118
	p := build(t, rb, batchOf(same(9, largest), atNow))
	assert.Equal(t, []int{4, 4, 1}, counts(p))
	assert.Equal(t, maxRequestBytes, p.requests[0].bytes, "4 x 262,144 = 1,048,576")
	assert.Zero(t, p.oversize)
}

func TestBuild_DroppedEventIsLeftOutAndReportedOnce(t *testing.T) {
	rb := builderFor(defaultMaxEventSize)
	b := batchOf([]int{10, 0, 10, 10}, atNow)
	b.chunks[0].events[1].dropped = true
	p := build(t, rb, b)
	assert.Equal(t, 1, p.oversize)
	assert.Equal(t, []int{3}, counts(p))
	assert.Equal(t, []int32{0, -1, 0, 0}, p.Owner)
	require.Len(t, p.LeftOut, 1)
	assert.Equal(t, reasonTooLarge, p.LeftOut[0].Reason)
}

func TestBuild_SpanOfExactly24HoursIsOneRequestAndOneMillisecondMoreIsTwo(t *testing.T) {
	rb := builderFor(defaultMaxEventSize)
	t0 := builderNow.Add(-48 * time.Hour).UnixMilli()
	day := maxRequestSpan.Milliseconds()

	p := build(t, rb, batchOf(same(3, 10), func(i int) int64 { return []int64{t0, t0 + day/2, t0 + day}[i] }))
	assert.Equal(t, []int{3}, counts(p))

	p = build(t, rb, batchOf(same(3, 10), func(i int) int64 { return []int64{t0, t0 + day/2, t0 + day + 1}[i] }))
	assert.Equal(t, []int{2, 1}, counts(p))
}

func TestBuild_ThreeDaysOfEventsAreSortedAndSplitByDay(t *testing.T) {
	rb := builderFor(defaultMaxEventSize)
	start := builderNow.Add(-72 * time.Hour).UnixMilli()
	hour := time.Hour.Milliseconds()
	// 73 hourly events, given newest first.
	p := build(t, rb, batchOf(same(73, 20), func(i int) int64 { return start + int64(72-i)*hour }))
	assert.Equal(t, []int{25, 25, 23}, counts(p), "each request covers 24 h exactly (25 hourly events)")
	var prev int64
	for _, r := range p.requests {
		for _, ev := range r.events {
			assert.Greater(t, *ev.Timestamp, prev)
			prev = *ev.Timestamp
		}
	}
	assert.EqualValues(t, 2, p.Owner[0], "the newest record is in the last request")
	assert.EqualValues(t, 0, p.Owner[72])
}

func TestBuild_EqualTimestampsKeepTheRecordsOrder(t *testing.T) {
	rb := builderFor(defaultMaxEventSize)
	b := batchOf([]int{1, 2, 3, 4}, func(i int) int64 { return builderNow.UnixMilli() - int64(i%2) })
	p := build(t, rb, b)
	var sizes []int
	for _, ev := range p.requests[0].events {
		sizes = append(sizes, len(*ev.Message))
	}
	assert.Equal(t, []int{2, 4, 1, 3}, sizes)
}

func TestBuild_OneGroupAndStreamPerRequest(t *testing.T) {
	rb := builderFor(defaultMaxEventSize)
	b := batchOf(same(9, 10), atNow)
	c := &b.chunks[0]
	c.dests = []dest{{"g1", "a"}, {"g1", "b"}, {"g2", "a"}}
	for i := range c.events {
		c.events[i].dest = int32(i % 3)
	}
	p := build(t, rb, b)
	require.Len(t, p.requests, 3)
	for i, r := range p.requests {
		assert.EqualValues(t, i, r.dest)
	}
	assert.Equal(t, []int32{0, 1, 2, 0, 1, 2, 0, 1, 2}, p.Owner)
}

func TestBuild_EventsOutsideTheServiceWindowAreLeftOut(t *testing.T) {
	rb := builderFor(defaultMaxEventSize)
	times := []int64{
		builderNow.Add(-maxEventAge).UnixMilli() - 1,  // 14 days and 1 ms old
		builderNow.Add(-maxEventAge).UnixMilli(),      // exactly 14 days: kept
		builderNow.UnixMilli(),                        // now
		builderNow.Add(maxEventAhead).UnixMilli(),     // exactly 2 hours ahead: kept
		builderNow.Add(maxEventAhead).UnixMilli() + 1, // beyond
	}
	p := new(plan)
	rb.build(batchOf(same(5, 10), func(i int) int64 { return times[i] }), builderNow, p)
	assert.Equal(t, 1, p.tooOld)
	assert.Equal(t, 1, p.tooNew)
	assert.Equal(t, []int32{-1, 0, 1, 1, -1}, p.Owner, "the two kept old/new events are 14 days apart: two requests")
}

func TestBuild_NothingToSend(t *testing.T) {
	rb := builderFor(defaultMaxEventSize)
	p := build(t, rb, batchOf([]int{10}, func(int) int64 { return builderNow.Add(-maxEventAge).UnixMilli() - 1 }))
	assert.Empty(t, p.requests)
	assert.Equal(t, []int32{-1}, p.Owner)
}

func TestBuild_ChunksOfSeveralConversionsShareTheirStreamsAndKeepThePushOrder(t *testing.T) {
	rb := builderFor(defaultMaxEventSize)
	first, second := batchOf(same(3, 10), atNow), batchOf(same(2, 20), atNow)
	second.chunks[0].dests = []dest{{"g", "other"}, {"g", "s0"}}
	second.chunks[0].events[0].dest = 1 // the first chunk's stream
	merged, err := first.MergeSplit(context.Background(), 0, exporterhelper.RequestSizerTypeBytes, second)
	require.NoError(t, err)
	p := build(t, rb, merged[0].(*logsRequest))
	assert.Equal(t, []dest{{"g", "s0"}, {"g", "other"}}, p.dests, "one destination per stream, whichever chunk named it")
	assert.Equal(t, []int{4, 1}, counts(p))
	assert.Equal(t, []int32{0, 0, 0, 0, 1}, p.Owner, "records numbered in push order across chunks")
}

func TestBuild_ReusedPlanHoldsNothingOfThePreviousBatch(t *testing.T) {
	rb := builderFor(defaultMaxEventSize)
	p := new(plan)
	rb.build(batchOf(same(20_001, 5), atNow), builderNow, p)
	require.Len(t, p.requests, 3)
	p.release()
	rb.build(batchOf(same(3, 7), atNow), builderNow, p)
	assert.Equal(t, []int{3}, counts(p))
	assert.Len(t, p.Owner, 3)
}
