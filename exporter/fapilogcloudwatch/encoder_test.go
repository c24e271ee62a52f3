package fapilogcloudwatch

import (
	"context"
	"testing"
	"time"

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

	var b encodedBatch
	names := routesFor(t, "/g", "s")
	b.encode(context.Background(), ld, sent, names, new(envelope.Entry))
	require.Len(t, b.events, 3)
	assert.Equal(t, own.UnixMilli(), b.events[0].timestamp, "the record's time, cut to milliseconds")
	assert.Equal(t, observedAt.UnixMilli(), b.events[1].timestamp)
	assert.Equal(t, sent.UnixMilli(), b.events[2].timestamp, "the receive time only when the record has no time")
}

func TestEncode_MessageIsTheBareEnvelope(t *testing.T) {
	ld := testLogs("env", 3, recent(3))
	var b encodedBatch
	b.encode(context.Background(), ld, time.Now(), routesFor(t, "/g", "s"), new(envelope.Entry))

	var e envelope.Entry
	i := 0
	envelope.ForEach(ld, time.Now(), &e, func(e *envelope.Entry, _ plog.LogRecord) {
		ev := b.events[i]
		assert.Equal(t, string(e.AppendJSON(nil)), string(b.body[ev.start:ev.end]))
		assert.EqualValues(t, i, ev.record)
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
	names := routesFor(t, "/tenants/{service.name}", "{cloud.region}-logs")
	var b encodedBatch
	b.encode(context.Background(), ld, time.Now(), names, new(envelope.Entry))
	assert.Equal(t, []dest{{"/tenants/api", "eu-logs"}, {"/tenants/worker", "eu-logs"}, {"/tenants/api", "us-logs"}}, b.dests)
	assert.Equal(t, []int32{0, 1, 0, 2}, []int32{b.events[0].dest, b.events[1].dest, b.events[2].dest, b.events[3].dest})

	// Encoding again reuses the batch and starts from nothing.
	b.encode(context.Background(), testLogs("again", 1, recent(1)), time.Now(), names, new(envelope.Entry))
	assert.Equal(t, []dest{{"/tenants/checkout", "unknown-logs"}}, b.dests)
	assert.Len(t, b.events, 1)
}
