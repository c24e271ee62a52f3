package fapilogpostgres

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogpostgres/internal/metadata"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestPartitionScheme_RangesAndNames(t *testing.T) {
	at := time.Date(2026, 1, 1, 12, 30, 0, 0, time.FixedZone("UTC+14", 14*3600)) // 2025-12-31 22:30 UTC
	tests := []struct {
		interval     string
		start, next  time.Time
		suffix       string
		previousFrom time.Time
	}{
		{PartitionDay, day("2025-12-31"), day("2026-01-01"), "p20251231", day("2025-12-30")},
		{PartitionWeek, day("2025-12-29"), day("2026-01-05"), "p2026w01", day("2025-12-22")}, // ISO week 1 of 2026
		{PartitionMonth, day("2025-12-01"), day("2026-01-01"), "p202512", day("2025-11-01")},
	}
	for _, tc := range tests {
		t.Run(tc.interval, func(t *testing.T) {
			s := &partitionScheme{interval: tc.interval, premake: 2}
			assert.Equal(t, tc.start, s.periodStart(at), "ranges start at UTC boundaries")
			assert.Equal(t, tc.next, s.next(tc.start))
			assert.Equal(t, tc.suffix, s.suffix(tc.start))
			wanted := s.wanted(at)
			require.Len(t, wanted, 4, "the previous range, the current one and premake after it")
			assert.Equal(t, timeRange{tc.previousFrom, tc.start}, wanted[0])
			assert.Equal(t, tc.start, wanted[1].from)
			for i := 1; i < len(wanted); i++ {
				assert.Equal(t, wanted[i-1].to, wanted[i].from, "contiguous")
			}
		})
	}
}

func TestPartitionScheme_RangesPastRetentionAreNeitherMadeNorKept(t *testing.T) {
	s := &partitionScheme{interval: PartitionDay, premake: 1, retention: 12 * time.Hour}
	now := time.Date(2026, 3, 10, 13, 0, 0, 0, time.UTC)
	wanted := s.wanted(now)
	require.Len(t, wanted, 2, "yesterday's range ended more than 12h ago")
	assert.Equal(t, day("2026-03-10"), wanted[0].from)
	assert.True(t, s.expired(timeRange{day("2026-03-09"), day("2026-03-10")}, now))
	assert.False(t, s.expired(timeRange{day("2026-03-10"), day("2026-03-11")}, now))
	assert.False(t, (&partitionScheme{interval: PartitionDay}).expired(timeRange{day("1999-01-01"), day("1999-01-02")}, now),
		"no retention: kept for ever")
}

func TestPartitionBound_ParsesPostgreSQLsRendering(t *testing.T) {
	r, ok := parseBound("FOR VALUES FROM ('2026-03-10 00:00:00+00') TO ('2026-03-11 00:00:00+00')")
	require.True(t, ok)
	assert.Equal(t, timeRange{day("2026-03-10"), day("2026-03-11")}, r)
	r, ok = parseBound("FOR VALUES FROM ('2026-03-10 00:00:00.5+00') TO ('2026-03-11 00:00:00+00')")
	require.True(t, ok)
	assert.Equal(t, day("2026-03-10").Add(500*time.Millisecond), r.from)
	for _, other := range []string{"DEFAULT", "FOR VALUES FROM (MINVALUE) TO ('2026-03-11 00:00:00+00')", "FOR VALUES IN ('a')"} {
		_, ok := parseBound(other)
		assert.False(t, ok, other)
	}
	assert.Equal(t, "'2026-03-10 00:00:00Z'", sqlLiteral(day("2026-03-10")))
}

func TestRetention_DaysWeeksAndDurations(t *testing.T) {
	for text, want := range map[string]time.Duration{"2d": 48 * time.Hour, "4w": 28 * 24 * time.Hour, "36h": 36 * time.Hour, "0s": 0, " 30d ": 720 * time.Hour} {
		var r Retention
		require.NoError(t, r.UnmarshalText([]byte(text)), text)
		assert.Equal(t, want, time.Duration(r), text)
	}
	for _, bad := range []string{"2 days", "d", "-1d", "1.5d", "99999999999999d"} {
		var r Retention
		assert.Error(t, r.UnmarshalText([]byte(bad)), bad)
	}
}

func TestDDL_PartitionedTableKeepsTheSeedsColumns(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Partitioning.GetOrInsertDefault()
	s := newTableSpec(cfg)
	assert.Equal(t, `CREATE TABLE IF NOT EXISTS "public"."logs" (
    id BIGSERIAL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    timestamp TIMESTAMPTZ,
    level VARCHAR(10),
    logger VARCHAR(255),
    correlation_id VARCHAR(64),
    message TEXT,
    event JSONB NOT NULL,
    PRIMARY KEY (id, "timestamp")
) PARTITION BY RANGE ("timestamp")`, s.createTableSQL())
	assert.Equal(t, `CREATE TABLE IF NOT EXISTS "public"."logs_default" PARTITION OF "public"."logs" DEFAULT`, s.defaultPartitionSQL())
	info := tableInfo{exists: true, partitioned: true, strategy: "r", partitionKey: []string{"timestamp"}}
	idx := s.indexes(info)
	assert.Equal(t, `CREATE UNIQUE INDEX IF NOT EXISTS "idx_logs_message_id" ON "public"."logs" ("message_id", "timestamp")`, idx[len(idx)-1].sql)
}

// testClock is the clock a test moves.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// logsAt builds one record per timestamp, each distinct (attribute seq, from first).
func logsAt(first int, times ...time.Time) plog.Logs {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	for i, ts := range times {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		lr.Body().SetStr("tick")
		lr.Attributes().PutInt("seq", int64(first+i))
	}
	return ld
}

// partitionCounts is the number of rows in each partition of table (qualified), by partition name.
func partitionCounts(t *testing.T, table string) map[string]int {
	t.Helper()
	db := connectTestDB(t)
	rows, err := db.Query(context.Background(), "SELECT tableoid::regclass::text, count(*)::int FROM "+table+" GROUP BY 1")
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var name string
		var n int
		require.NoError(t, rows.Scan(&name, &n))
		out[name] = n
	}
	require.NoError(t, rows.Err())
	return out
}

// partitionNames lists the partitions of table (qualified) as regclass text, in name order.
func partitionNames(t *testing.T, table string) []string {
	t.Helper()
	db := connectTestDB(t)
	rows, err := db.Query(context.Background(), "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = $1::regclass ORDER BY 1", table)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		out = append(out, name)
	}
	require.NoError(t, rows.Err())
	return out
}

func partitionedConfig(t *testing.T, schema string, p PartitioningConfig) *Config {
	cfg := testConfig(t, schema)
	*cfg.Partitioning.GetOrInsertDefault() = p
	return cfg
}

func TestPartitioning_CreatesAPartitionedTableWithPartitionsAhead(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	clock := &testClock{t: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
	x := startObservedExporter(t, partitionedConfig(t, schema, PartitioningConfig{Interval: PartitionDay, Premake: 3}),
		func(x *postgresExporter) { x.partitions.now = clock.now })

	tbl := quoteQualified(schema, "logs")
	assert.Equal(t, "p", queryString(t, db, "SELECT relkind::text FROM pg_class WHERE oid = $1::regclass", tbl))
	assert.Equal(t, "PRIMARY KEY (id, \"timestamp\")", queryString(t, db,
		"SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'", tbl))
	want := []string{schema + ".logs_default"}
	for _, d := range []string{"20260309", "20260310", "20260311", "20260312", "20260313"} {
		want = append(want, schema+".logs_p"+d)
	}
	assert.ElementsMatch(t, want, partitionNames(t, tbl))
	assert.EqualValues(t, 5, x.metrics.Int(t, metricPartitionsCreated))
	idx := tableIndexes(t, db, schema, "logs")
	assert.Contains(t, idx["idx_logs_message_id"], `USING btree (message_id, "timestamp")`)
	assert.Contains(t, idx, "idx_logs_event_gin")

	// A second collector on the same table (or a restart) makes nothing twice.
	y := startObservedExporter(t, partitionedConfig(t, schema, PartitioningConfig{Interval: PartitionDay, Premake: 3}),
		func(x *postgresExporter) { x.partitions.now = clock.now })
	assert.Zero(t, y.metrics.Int(t, metricPartitionsCreated))
	assert.Len(t, partitionNames(t, tbl), 6)
}

func TestPartitioning_BatchSpanningMidnightLandsInTwoDailyPartitions(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	clock := &testClock{t: time.Date(2026, 3, 10, 23, 59, 0, 0, time.UTC)}
	x := startObservedExporter(t, partitionedConfig(t, schema, PartitioningConfig{Interval: PartitionDay, Premake: 1}),
		func(x *postgresExporter) { x.partitions.now = clock.now })
	midnight := day("2026-03-11")
	var times []time.Time
	for i := range 10 {
		times = append(times, midnight.Add(time.Duration(i-5)*300*time.Millisecond))
	}
	require.NoError(t, x.pushLogs(context.Background(), logsAt(0, times...)), "one COPY")
	assert.Equal(t, map[string]int{schema + ".logs_p20260310": 5, schema + ".logs_p20260311": 5},
		partitionCounts(t, quoteQualified(schema, "logs")))
	// The same batch again: the duplicate protection (unique on message_id and timestamp) keeps each record once.
	require.NoError(t, x.pushLogs(context.Background(), logsAt(0, times...)))
	assert.Equal(t, 10, queryInt(t, db, "SELECT count(*) FROM "+quoteQualified(schema, "logs")))
	assert.EqualValues(t, 10, x.metrics.Int(t, metricDuplicatesSkipped))
}

func TestPartitioning_RetentionDropsOldPartitionsWhileInsertsGoOn(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	start := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	clock := &testClock{t: start}
	cfg := partitionedConfig(t, schema, PartitioningConfig{Interval: PartitionDay, Premake: 1, Retention: Retention(48 * time.Hour)})
	x := startObservedExporter(t, cfg, func(x *postgresExporter) {
		x.partitions.now, x.partitions.every, x.partitions.retry = clock.now, 20*time.Millisecond, 20*time.Millisecond
	})
	t.Cleanup(func() {
		for _, e := range x.logs.FilterMessageSnippet("Partition maintenance failed").All() {
			t.Logf("%s: %v", e.Message, e.ContextMap()["error"])
		}
	})
	tbl := quoteQualified(schema, "logs")
	// Rows for the days that exist at start, and one from beyond the newest partition, which goes to the default
	// partition; and one from long ago, past retention already (it goes to the default partition, whose rows past
	// retention are deleted).
	require.NoError(t, x.pushLogs(context.Background(), logsAt(0,
		day("2026-03-09").Add(time.Hour), day("2026-03-10").Add(time.Hour), day("2026-03-11").Add(time.Hour),
		day("2026-03-13").Add(time.Hour), day("2025-01-01"))))
	counts := partitionCounts(t, tbl)
	assert.Equal(t, 1, counts[schema+".logs_p20260309"])
	assert.Equal(t, 1, counts[schema+".logs_p20260310"])
	assert.Equal(t, 1, counts[schema+".logs_p20260311"])
	assert.GreaterOrEqual(t, counts[schema+".logs_default"], 1)

	// Inserts go on, record time following the clock, while the clock moves three days ahead one hour at a time.
	var pushed, failures atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	stopPushing := sync.OnceFunc(func() { close(stop); <-done })
	t.Cleanup(stopPushing) // before the exporter shuts down, even when the test fails early
	go func() {
		defer close(done)
		for seq := 100; ; seq += 10 {
			select {
			case <-stop:
				return
			default:
			}
			now := clock.now()
			times := make([]time.Time, 10)
			for i := range times {
				times[i] = now.Add(time.Duration(i) * time.Millisecond)
			}
			if err := x.pushLogs(context.Background(), logsAt(seq, times...)); err != nil {
				failures.Add(1)
				t.Errorf("push while partitions change: %v", err)
			}
			pushed.Add(10)
		}
	}()
	for h := 1; h <= 72; h++ {
		clock.set(start.Add(time.Duration(h) * time.Hour))
		time.Sleep(15 * time.Millisecond)
	}
	// Now 2026-03-13 12:00: with a 2-day retention, the partitions that ended by 2026-03-11 12:00 go.
	require.Eventually(t, func() bool {
		names := partitionNames(t, tbl)
		return len(names) > 0 && names[1] == schema+".logs_p20260311"
	}, 10*time.Second, 20*time.Millisecond, "old partitions dropped: %v", partitionNames(t, tbl))
	stopPushing()
	require.Zero(t, failures.Load())

	assert.Equal(t, []string{schema + ".logs_default", schema + ".logs_p20260311", schema + ".logs_p20260312",
		schema + ".logs_p20260313", schema + ".logs_p20260314"}, partitionNames(t, tbl))
	assert.EqualValues(t, 2, x.metrics.Int(t, metricPartitionsDropped), "2026-03-09 and 2026-03-10")
	assert.EqualValues(t, 3+3, x.metrics.Int(t, metricPartitionsCreated), "3 at start, then one a day")
	counts = partitionCounts(t, tbl)
	assert.Zero(t, counts[schema+".logs_default"], "the 2025 row went with retention; the 2026-03-13 row moved to its partition")
	assert.Positive(t, counts[schema+".logs_p20260313"])
	// Every row pushed for a day still kept is there.
	assert.Equal(t, queryInt(t, db, "SELECT count(*) FROM "+tbl), queryInt(t, db,
		"SELECT count(DISTINCT (event->'data'->>'seq')::int) FROM "+tbl))
	assert.Positive(t, pushed.Load())
	assert.Equal(t, 1, x.logs.FilterMessageSnippet("Created partition").FilterField(
		zap.Int64("rows_moved_from_default", 1)).Len(), "the early row moved when its partition was made")
	x.metrics.AssertDeclared(t, metadata.ScopeName, "metadata.yaml")
}

// 10,000 records across a midnight, through the factory-built exporter (queue, batching, retries), with two
// connections cut after PostgreSQL committed their COPY: each record stored exactly once, in its day's partition.
func TestPartitioning_10000RecordsExactlyOnceThroughABoundaryAndARetriedBatch(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	cfg := partitionedConfig(t, schema, PartitioningConfig{Interval: PartitionDay, Premake: 2})
	proxy := throughProxy(t, cfg)
	o := startObservedFactory(t, cfg) // the real clock: the partitions of today and the next two days exist
	midnight := (&partitionScheme{interval: PartitionDay}).periodStart(time.Now()).AddDate(0, 0, 1)

	proxy.cutAfterCopy.Store(2)
	const total, chunk = 10_000, 100
	for first := 0; first < total; first += chunk {
		times := make([]time.Time, chunk)
		for i := range times {
			times[i] = midnight.Add(time.Duration(first+i-total/2) * time.Millisecond)
		}
		require.NoError(t, o.ConsumeLogs(context.Background(), logsAt(first, times...)))
	}
	tbl := quoteQualified(schema, "logs")
	awaitCutsRetried(t, o, proxy, tbl, total, 2)
	assert.Equal(t, total, queryInt(t, db, "SELECT count(DISTINCT (event->'data'->>'seq')::int) FROM "+tbl))
	assert.Equal(t, map[string]int{
		schema + ".logs_" + (&partitionScheme{interval: PartitionDay}).suffix(midnight.AddDate(0, 0, -1)): total / 2,
		schema + ".logs_" + (&partitionScheme{interval: PartitionDay}).suffix(midnight):                   total / 2,
	}, partitionCounts(t, tbl))
}

func TestPartitioning_ExistingPlainTableIsLeftAsItIsWithAStartupError(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	seedTable(t, db, schema)
	for _, createTable := range []bool{true, false} {
		cfg := partitionedConfig(t, schema, newDefaultPartitioningConfig())
		cfg.CreateTable = createTable
		x, err := newPostgresExporter(cfg, componenttest.NewNopTelemetrySettings(), component.NewID(metadata.Type))
		require.NoError(t, err)
		err = x.start(context.Background(), componenttest.NewNopHost())
		require.Error(t, err)
		assert.Contains(t, err.Error(), `partitioning is set but table "`+schema+`"."logs" exists and is not partitioned`)
		require.NoError(t, x.shutdown(context.Background()))
	}
	assert.Len(t, tableColumns(t, db, schema, "logs"), 8, "the table was not touched")
}
