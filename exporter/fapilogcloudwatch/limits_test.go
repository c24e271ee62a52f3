package fapilogcloudwatch

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogcloudwatch/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/envelope"
)

// These tests put the recording endpoint between the exporter's SDK client and kumo: every PutLogEvents request
// is decoded and checked against CloudWatch's documented limits before kumo stores it.

func TestRecorded_25000RecordsOverThreeDaysArriveOnceAndEveryRequestIsWithinLimits(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	rec := newRecorder(t, url, int(defaultMaxEventSize))
	group := uniqueGroup(t)
	obs := observe(t)
	exp := startExporter(t, testConfig(rec.URL, group), obs.set)

	// Timestamps over the last three days, in shuffled order; message sizes from ~300 bytes to ~4 KB.
	const n = 25_000
	start := time.Now().Add(-72 * time.Hour).Truncate(time.Millisecond)
	step := 72 * time.Hour / n
	order := rand.New(rand.NewPCG(1, 2)).Perm(n)
	want := map[string]int64{}
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	for i := range n {
		at := start.Add(time.Duration(order[i]) * step)
		appendRecord(sl, "big", i, at, strings.Repeat("é", (i*37)%2000))
		want[fmt.Sprintf("big-%d", i)] = at.UnixMilli()
	}
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))

	rec.requireWithinLimits(t)
	exactlyOnce(t, rec.accepted(), "big", n)
	puts := rec.allPuts()
	assert.GreaterOrEqual(t, len(puts), 4, "three days cannot go in fewer than four 24-hour requests")
	full := 0
	for _, put := range puts {
		size := 0
		for _, ev := range put.Events {
			size += len(ev.Message) + eventOverhead
		}
		if size > maxRequestBytes-4096-eventOverhead {
			full++
		}
	}
	assert.Greater(t, full, len(puts)/2, "most requests are filled up to the byte limit, not cut early")

	events := readEvents(t, readClient(url), group, "app-1")
	exactlyOnce(t, countIDs(events), "big", n)
	for _, ev := range events {
		id := messageID(aws.ToString(ev.Message))
		require.Equal(t, want[id], aws.ToInt64(ev.Timestamp), "record %s keeps its own timestamp", id)
	}
	assert.Empty(t, obs.rejected(t), "nothing refused")
}

// sizedLogs makes records "<prefix>-<i>" whose envelope is exactly sizes[i] bytes (ASCII bodies, so one body
// byte is one envelope byte).
func sizedLogs(t *testing.T, prefix string, sizes []int) plog.Logs {
	t.Helper()
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	at := recent(len(sizes))
	var e envelope.Entry
	for i, size := range sizes {
		lr := appendRecord(sl, prefix, i, at(i), "")
		e.Reset(ld.ResourceLogs().At(0).Resource(), sl.Scope(), lr, time.Now())
		base := len(e.AppendJSON(nil))
		lr.Body().SetStr(strings.Repeat("x", size-base))
		e.Reset(ld.ResourceLogs().At(0).Resource(), sl.Scope(), lr, time.Now())
		require.Len(t, e.AppendJSON(nil), size)
	}
	return ld
}

func TestRecorded_EventsAtTheSizeLimitFillRequestsExactlyAndOneByteOverIsDropped(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	rec := newRecorder(t, url, int(defaultMaxEventSize))
	group := uniqueGroup(t)
	obs := observe(t)
	exp := startExporter(t, testConfig(rec.URL, group), obs.set)

	largest := int(defaultMaxEventSize) - eventOverhead // 262,118 bytes of message
	sizes := []int{largest, largest, largest, largest, largest + 1, largest, largest, largest, largest, largest}
	require.NoError(t, exp.ConsumeLogs(context.Background(), sizedLogs(t, "edge", sizes)))

	rec.requireWithinLimits(t)
	var accepted [][]int
	for _, put := range rec.allPuts() {
		if put.status != 200 {
			continue
		}
		var lens []int
		total := 0
		for _, ev := range put.Events {
			lens = append(lens, len(ev.Message))
			total += len(ev.Message) + eventOverhead
		}
		accepted = append(accepted, lens)
		if len(lens) == 4 {
			assert.Equal(t, maxRequestBytes, total, "four 262,144-byte events are exactly 1,048,576")
		}
	}
	assert.Equal(t, [][]int{same(4, largest), same(4, largest), same(1, largest)}, accepted)

	ids := countIDs(readEvents(t, readClient(url), group, "app-1"))
	assert.Len(t, ids, 9)
	assert.Zero(t, ids["edge-4"], "one byte over max_event_size: dropped")
	assert.Equal(t, map[string]int64{"record_too_large": 1}, obs.rejected(t))
}

func TestRecorded_TruncatedEventStaysValidUTF8AndEndsWithTheMarker(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	rec := newRecorder(t, url, int(defaultMaxEventSize))
	group := uniqueGroup(t)
	cfg := testConfig(rec.URL, group)
	cfg.Oversize = OversizeTruncate
	obs := observe(t)
	exp := startExporter(t, cfg, obs.set)

	ld := testLogs("cut", 3, recent(3))
	big := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1)
	big.Body().SetStr(strings.Repeat("世界🚀", 40_000)) // 400,000 bytes of 3- and 4-byte runes
	original := envelopeJSON(ld)
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
	rec.requireWithinLimits(t)

	events := readEvents(t, readClient(url), group, "app-1")
	require.Len(t, events, 3)
	msg := aws.ToString(events[1].Message)
	assert.True(t, utf8.ValidString(msg))
	assert.LessOrEqual(t, len(msg)+eventOverhead, int(defaultMaxEventSize))
	assert.Greater(t, len(msg)+eventOverhead, int(defaultMaxEventSize)-4, "cut at most one rune short of the limit")
	assert.True(t, strings.HasSuffix(msg, truncationMarker))
	var whole string
	for _, env := range original {
		if len(env) > 300_000 {
			whole = env
		}
	}
	assert.True(t, strings.HasPrefix(whole, strings.TrimSuffix(msg, truncationMarker)), "the start of the envelope is kept as it was")
	assert.Equal(t, "cut-2", messageID(aws.ToString(events[2].Message)), "the other records are untouched")
	assert.EqualValues(t, 1, obs.truncated(t), "counted as truncated")
	assert.Empty(t, obs.rejected(t), "a truncated record is delivered, not refused")
	obs.metrics.AssertDeclared(t, metadata.ScopeName, "metadata.yaml")
}

func TestRecorded_RecordsOutsideCloudWatchsWindowAreDroppedBeforeSending(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	rec := newRecorder(t, url, int(defaultMaxEventSize))
	group := uniqueGroup(t)
	obs := observe(t)
	exp := startExporter(t, testConfig(rec.URL, group), obs.set)

	now := time.Now()
	times := []time.Time{now.Add(-15 * 24 * time.Hour), now.Add(-time.Minute), now.Add(3 * time.Hour), now.Add(-13 * 24 * time.Hour)}
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("w", 4, func(i int) time.Time { return times[i] })))

	rec.requireWithinLimits(t)
	ids := rec.accepted()
	assert.Equal(t, map[string]int{"w-1": 1, "w-3": 1}, ids, "only the records CloudWatch would accept are sent")
	assert.Equal(t, map[string]int64{"too_old": 1, "too_new": 1}, obs.rejected(t))
}
