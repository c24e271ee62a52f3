package fapilogcloudwatch

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/internal/envelope"
)

func TestEncode_TimestampIsTheRecordsOwnInMillisecondsNotTheSendTime(t *testing.T) {
	sent := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	own := time.Date(2026, 5, 6, 7, 0, 0, 123_456_789, time.UTC)
	observedAt := time.Date(2026, 5, 6, 7, 1, 0, 987_000_000, time.UTC)

	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	withTime := sl.LogRecords().AppendEmpty()
	withTime.SetTimestamp(pcommon.NewTimestampFromTime(own))
	withTime.Body().SetStr("has a timestamp")
	onlyObserved := sl.LogRecords().AppendEmpty()
	onlyObserved.SetObservedTimestamp(pcommon.NewTimestampFromTime(observedAt))
	onlyObserved.Body().SetStr("observed only")
	neither := sl.LogRecords().AppendEmpty()
	neither.Body().SetStr("no time at all")

	c := encodeOne(t, encoderFor(t, "/g", "s"), ld, sent)
	require.Len(t, c.events, 3)
	assert.Equal(t, own.UnixMilli(), c.events[0].timestamp, "the record's time, cut to milliseconds")
	assert.Equal(t, observedAt.UnixMilli(), c.events[1].timestamp)
	assert.Equal(t, sent.UnixMilli(), c.events[2].timestamp, "the receive time only when the record has no time")
}

// encoderFor is the encoder of log_group_name group and log_stream_name stream (with the other keys as mutate
// sets them).
func encoderFor(t *testing.T, group, stream string, mutate ...func(*Config)) encoder {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	for _, m := range mutate {
		m(cfg)
	}
	return newEncoder(cfg, routesFor(t, group, stream, mutate...))
}

// encodeOne encodes ld as of receivedAt and returns the request's one chunk, checking the request's sizes.
func encodeOne(t *testing.T, enc encoder, ld plog.Logs, receivedAt time.Time) chunk {
	t.Helper()
	req, _ := enc.encode(ld, receivedAt, new(encodeScratch))
	require.Len(t, req.chunks, 1)
	c := req.chunks[0]
	bytes := 0
	for _, ev := range c.events {
		bytes += ev.size()
	}
	require.Equal(t, bytes, c.bytes, "the chunk's CloudWatch size")
	require.Equal(t, bytes, req.BytesSize())
	require.Equal(t, ld.LogRecordCount(), req.ItemsCount())
	return c
}

func TestEncode_MessageIsTheBareEnvelope(t *testing.T) {
	ld := testLogs("env", 3, recent(3))
	c := encodeOne(t, encoderFor(t, "/g", "s"), ld, time.Now())

	var e envelope.Entry
	i := 0
	envelope.ForEach(ld, time.Now(), &e, func(e *envelope.Entry, _ plog.LogRecord) {
		ev := c.events[i]
		assert.Equal(t, string(e.AppendJSON(nil)), c.body[ev.start:ev.end])
		assert.Equal(t, len(c.body[ev.start:ev.end])+eventOverhead, ev.size(), "CloudWatch's size: the message plus 26 bytes")
		i++
	})
	assert.Equal(t, 3, i)
}

func TestEncode_RecordsOfDifferentResourcesGoToTheirGroupsAndStreams(t *testing.T) {
	ld := plog.NewLogs()
	for _, r := range [][2]string{{"api", "eu"}, {"worker", "eu"}, {"api", "eu"}, {"api", "us"}} {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", r[0])
		rl.Resource().Attributes().PutStr("cloud.region", r[1])
		rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(r[0])
	}
	enc := encoderFor(t, "/tenants/{service.name}", "{cloud.region}-logs")
	s := new(encodeScratch)
	req, _ := enc.encode(ld, time.Now(), s)
	c := req.chunks[0]
	assert.Equal(t, []dest{{"/tenants/api", "eu-logs"}, {"/tenants/worker", "eu-logs"}, {"/tenants/api", "us-logs"}}, c.dests)
	assert.Equal(t, []int32{0, 1, 0, 2}, []int32{c.events[0].dest, c.events[1].dest, c.events[2].dest, c.events[3].dest})

	// Encoding again with the same scratch starts from nothing and leaves the first request as it was.
	again, _ := enc.encode(testLogs("again", 1, recent(1)), time.Now(), s)
	assert.Equal(t, []dest{{"/tenants/checkout", "unknown-logs"}}, again.chunks[0].dests)
	assert.Len(t, again.chunks[0].events, 1)
	assert.Equal(t, []dest{{"/tenants/api", "eu-logs"}, {"/tenants/worker", "eu-logs"}, {"/tenants/api", "us-logs"}}, c.dests)
	assert.Contains(t, c.body[c.events[3].start:c.events[3].end], `"message":"api"`)
}

func TestEncode_ResourcesWithoutRecordsAreSkipped(t *testing.T) {
	ld := plog.NewLogs()
	for _, svc := range []string{"empty", "api", "none", "worker"} {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", svc)
		sl := rl.ScopeLogs().AppendEmpty()
		if svc == "api" || svc == "worker" {
			sl.LogRecords().AppendEmpty().Body().SetStr(svc)
		}
	}
	c := encodeOne(t, encoderFor(t, "/g", "{service.name}"), ld, time.Now())
	require.Len(t, c.events, 2)
	assert.Equal(t, "api", c.dests[c.events[0].dest].stream)
	assert.Equal(t, "worker", c.dests[c.events[1].dest].stream)
}

// A resource without records never takes one of max_destinations: the next service keeps its own group.
func TestEncode_ResourceWithoutRecordsTakesNoGroup(t *testing.T) {
	ld := plog.NewLogs()
	for _, svc := range []string{"ghost", "real"} {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", svc)
		sl := rl.ScopeLogs().AppendEmpty()
		if svc == "real" {
			sl.LogRecords().AppendEmpty().Body().SetStr(svc)
		}
	}
	enc := encoderFor(t, "/tenants/{service.name}", "s", func(c *Config) { c.Destinations.MaxDestinations = 1 })
	c := encodeOne(t, enc, ld, time.Now())
	require.Len(t, c.events, 1)
	assert.Equal(t, "/tenants/real", c.dests[c.events[0].dest].group)
}

func TestEncode_OversizeEventIsDroppedAloneWithDrop(t *testing.T) {
	// Envelopes of 990, 999 and 998 bytes; 998 + 26 = 1,024 fits max_event_size, 999 + 26 does not.
	ld := sizedLogs(t, "big", []int{990, 999, 998})
	c := encodeOne(t, encoderFor(t, "/g", "s", func(c *Config) { c.MaxEventSize = 1024 }), ld, time.Now())
	require.Len(t, c.events, 3, "a dropped record is still a record of the push")
	assert.False(t, c.events[0].dropped)
	assert.True(t, c.events[1].dropped)
	assert.Equal(t, eventOverhead, c.events[1].size(), "a dropped event holds nothing and weighs its overhead")
	assert.Equal(t, 998, c.events[2].end-c.events[2].start)
	assert.Len(t, c.body, 990+998, "a dropped message is not kept")

	p := new(plan)
	rb := builderFor(1024)
	rb.build(&logsRequest{chunks: []chunk{c}, items: 3, bytes: c.bytes}, time.Now(), p)
	assert.Equal(t, 1, p.oversize, "left out by the push, counted as record_too_large")
	assert.Equal(t, []int32{0, -1, 0}, p.Owner)
}

func TestEncode_OversizeEventIsCutToTheLimitWithTruncate(t *testing.T) {
	ld := sizedLogs(t, "big", []int{5000, 300})
	enc := encoderFor(t, "/g", "s", func(c *Config) { c.MaxEventSize = 1024; c.Oversize = OversizeTruncate })
	req, truncated := enc.encode(ld, time.Now(), new(encodeScratch))
	assert.Equal(t, 1, truncated)
	c := req.chunks[0]
	msg := c.body[c.events[0].start:c.events[0].end]
	assert.Len(t, msg, 1024-eventOverhead, "ASCII: cut to exactly the limit, marker included")
	assert.True(t, strings.HasSuffix(msg, truncationMarker))
	assert.Equal(t, 300, c.events[1].end-c.events[1].start, "the next record is untouched")
	assert.Equal(t, 1024+300+eventOverhead, req.BytesSize())
}

func TestTruncateMessage_CutsAtARuneBoundary(t *testing.T) {
	limit := 1024 - eventOverhead
	// Multi-byte runes straddling the cut point: the message stays valid UTF-8 and within the limit.
	for shift := range 4 {
		body := []byte(strings.Repeat("x", shift) + strings.Repeat("世🚀é", 400))
		original := string(body)
		msg := string(body[:truncateMessage(body, 0, len(body), limit)])
		assert.True(t, utf8.ValidString(msg), "shift %d: valid UTF-8", shift)
		assert.LessOrEqual(t, len(msg), limit, "shift %d", shift)
		assert.Greater(t, len(msg), limit-4, "shift %d: cut at most a rune short", shift)
		assert.True(t, strings.HasSuffix(msg, truncationMarker))
		assert.True(t, strings.HasPrefix(original, strings.TrimSuffix(msg, truncationMarker)), "shift %d: the start of the message is kept", shift)
	}
}
