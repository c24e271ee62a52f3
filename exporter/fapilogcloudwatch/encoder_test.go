package fapilogcloudwatch

import (
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
	names, err := parseStreamTemplate("s")
	require.NoError(t, err)
	b.encode(ld, sent, &names, new(envelope.Entry))
	require.Len(t, b.events, 3)
	assert.Equal(t, own.UnixMilli(), b.events[0].timestamp, "the record's time, cut to milliseconds")
	assert.Equal(t, observedAt.UnixMilli(), b.events[1].timestamp)
	assert.Equal(t, sent.UnixMilli(), b.events[2].timestamp, "the receive time only when the record has no time")
}

func TestEncode_MessageIsTheBareEnvelope(t *testing.T) {
	ld := testLogs("env", 3, recent(3))
	var b encodedBatch
	names, _ := parseStreamTemplate("s")
	b.encode(ld, time.Now(), &names, new(envelope.Entry))

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

func TestEncode_RecordsOfDifferentResourcesGoToTheirStreams(t *testing.T) {
	ld := plog.NewLogs()
	for _, svc := range []string{"api", "worker", "api"} {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", svc)
		rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(svc)
	}
	names, _ := parseStreamTemplate("{service.name}-logs")
	var b encodedBatch
	b.encode(ld, time.Now(), &names, new(envelope.Entry))
	assert.Equal(t, []string{"api-logs", "worker-logs"}, b.streams)
	assert.Equal(t, []int32{0, 1, 0}, []int32{b.events[0].stream, b.events[1].stream, b.events[2].stream})

	// Encoding again reuses the batch and starts from nothing.
	b.encode(testLogs("again", 1, recent(1)), time.Now(), &names, new(envelope.Entry))
	assert.Equal(t, []string{"checkout-logs"}, b.streams)
	assert.Len(t, b.events, 1)
}
