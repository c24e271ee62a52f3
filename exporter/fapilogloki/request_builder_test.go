package fapilogloki

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otelcol/internal/envelope"
)

func newTestBuilder(t *testing.T, cfg *Config) *requestBuilder {
	t.Helper()
	require.NoError(t, cfg.Validate())
	return newRequestBuilder(cfg, newLabeler(cfg, zap.NewNop(), nopTelemetry()), &tenants{})
}

func TestBuild_GroupsRecordsByLabelsAndCoversEachRecordOnce(t *testing.T) {
	rb := newTestBuilder(t, createDefaultConfig().(*Config))
	var b batch
	var e envelope.Entry
	rb.build(testLogs("m", 31), time.Now(), &e, &b)

	require.Len(t, b.streams, 3)
	// First-seen order: the first resource holds the even records, 0 (INFO), 2 (ERROR), 4 (WARNING).
	assert.Equal(t, []string{"INFO"}, b.streamValues(&b.streams[0]))
	assert.Equal(t, []string{"ERROR"}, b.streamValues(&b.streams[1]))
	assert.Equal(t, []string{"WARNING"}, b.streamValues(&b.streams[2]))
	seen := make([]int, 31)
	next := 0
	for i := range b.streams {
		s := &b.streams[i]
		assert.Equal(t, next, s.entries.start, "stream ranges are contiguous")
		next = s.entries.end
		for _, en := range b.entries[s.entries.start:s.entries.end] {
			assert.Equal(t, i, en.stream)
			seen[en.record]++
		}
	}
	assert.Equal(t, 31, next)
	for r, n := range seen {
		assert.Equal(t, 1, n, "record %d", r)
	}
}

func TestChunks_SplitStreamsInOrder(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.LabelKeys = []string{"level", "data.seq"} // one stream per record
	tests := []struct {
		maxStreams int
		want       []chunk
	}{
		{0, []chunk{{0, 7}}},
		{100, []chunk{{0, 7}}},
		{3, []chunk{{0, 3}, {3, 6}, {6, 7}}},
		{1, []chunk{{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 6}, {6, 7}}},
	}
	for _, tt := range tests {
		cfg.MaxStreamsPerRequest = tt.maxStreams
		rb := newTestBuilder(t, cfg)
		var b batch
		var e envelope.Entry
		rb.build(testLogs("m", 7), time.Now(), &e, &b)
		got := rb.chunks(&b, nil)
		assert.Equal(t, tt.want, got, "max_streams_per_request %d", tt.maxStreams)
		total := 0
		for _, c := range got {
			total += len(b.entriesOf(c))
		}
		assert.Equal(t, 7, total)
	}
}

// In steady state (buffers grown by earlier pushes) grouping a batch allocates nothing: the envelope is encoded
// into a reused arena and label values come from the interned set.
func TestBuild_SteadyStateAllocatesNothing(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.LabelKeys = []string{"level", "diagnostics.service", "data.region"}
	// String fields only: envelope.Entry.Field renders trace ids and numbers into new strings.
	cfg.StructuredMetadataKeys = []string{"context.correlation_id", "data.http.route"}
	rb := newTestBuilder(t, cfg)
	ld := typicalBatch(100)
	var b batch
	var e envelope.Entry
	now := time.Now()
	rb.build(ld, now, &e, &b)
	allocs := testing.AllocsPerRun(20, func() { rb.build(ld, now, &e, &b) })
	assert.Zero(t, allocs)
}

// Streams are found by comparing values while a batch has few, by hash beyond: either way a record joins the
// one stream of its label values, and the streams keep the order their first record came in.
func TestBuild_OneStreamPerLabelValuesBeyondTheScannedFew(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.LabelKeys = []string{"level", "data.user"}
	rb := newTestBuilder(t, cfg)
	for _, users := range []int{1, scannedStreams - 1, scannedStreams, scannedStreams + 1, 50} {
		ld := plog.NewLogs()
		sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
		for i := range 4 * users {
			lr := sl.LogRecords().AppendEmpty()
			lr.SetSeverityNumber(plog.SeverityNumberInfo)
			lr.Attributes().PutStr("user", fmt.Sprintf("u%d", i%users))
		}
		var b batch
		var e envelope.Entry
		rb.build(ld, time.Now(), &e, &b)

		require.Len(t, b.streams, users, "%d users", users)
		for i := range b.streams {
			s := &b.streams[i]
			assert.Equal(t, []string{"INFO", fmt.Sprintf("u%d", i)}, b.streamValues(s), "%d users: first-seen order", users)
			require.Equal(t, 4, s.entries.end-s.entries.start, "%d users", users)
			for _, en := range b.entries[s.entries.start:s.entries.end] {
				assert.Equal(t, i, en.record%users, "%d users: record %d in stream %d", users, en.record, i)
			}
		}
	}
}

// Entries come out grouped by stream (in first-seen order) and sorted by time within a stream, records with the
// same timestamp in their order, whatever order the records arrive in: in time order, newest first, with ties,
// or shuffled.
func TestBuild_SortsEachStreamByTimeKeepingTiesInRecordOrder(t *testing.T) {
	rb := newTestBuilder(t, createDefaultConfig().(*Config))
	rng := rand.New(rand.NewPCG(1, 2))
	orders := map[string]func(i, n int) int64{
		"ascending":         func(i, _ int) int64 { return int64(i) },
		"descending":        func(i, n int) int64 { return int64(n - i) },
		"descending_ties":   func(i, n int) int64 { return int64((n - i) / 4) },
		"ascending_ties":    func(i, _ int) int64 { return int64(i / 5) },
		"all_equal":         func(int, int) int64 { return 7 },
		"shuffled":          func(int, int) int64 { return rng.Int64N(1000) },
		"shuffled_few_keys": func(int, int) int64 { return rng.Int64N(4) },
	}
	for name, at := range orders {
		for _, n := range []int{1, 2, 3, 17, 100} {
			ld := plog.NewLogs()
			sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
			for i := range n {
				lr := sl.LogRecords().AppendEmpty()
				lr.SetTimestamp(pcommon.NewTimestampFromTime(baseTime.Add(time.Duration(at(i, n)) * time.Millisecond)))
				lr.SetSeverityNumber(levels[rng.IntN(len(levels))])
			}
			var b batch
			var e envelope.Entry
			rb.build(ld, time.Now(), &e, &b)

			// The reference: the entries in record order, stably sorted by stream and time.
			want := slices.Clone(b.entries)
			slices.SortFunc(want, func(x, y entry) int { return cmp.Compare(x.record, y.record) })
			slices.SortStableFunc(want, func(x, y entry) int {
				return cmp.Or(cmp.Compare(x.stream, y.stream), cmp.Compare(x.ns, y.ns))
			})
			assert.Equal(t, want, b.entries, "%s, %d records", name, n)
			next := 0
			for i := range b.streams {
				s := &b.streams[i]
				assert.Equal(t, next, s.entries.start, "%s, %d records: stream ranges are contiguous", name, n)
				for _, en := range b.entries[s.entries.start:s.entries.end] {
					assert.Equal(t, i, en.stream)
				}
				next = s.entries.end
			}
			assert.Equal(t, n, next)
		}
	}
}

func TestValidUTF8_ReplacesBadBytesOnly(t *testing.T) {
	assert.Equal(t, "ok é", validUTF8("ok é"))
	assert.Equal(t, "a\uFFFDb", validUTF8("a\xffb"))
	assert.True(t, strings.HasPrefix(validUTF8("\xe4\xb8x"), "\uFFFD"))
}
