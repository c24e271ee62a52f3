package fapilogpostgres

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/internal/envelope"
	"github.com/fapilog/fapilog-otelcol/internal/logstest"
)

// Benchmarks against the real PostgreSQL server. Run them with a fixed iteration count, for example
//   go test ./exporter/fapilogpostgres -run '^$' -bench . -benchtime 5x
// Each iteration loads fresh rows (new message_ids), so the duplicate-safe path is not taken unless asked for.

// typicalLogs builds n typical records (10 attributes, a 200-byte message, as the envelope benchmarks use)
// numbered from first.
func typicalLogs(first, n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	res := rl.Resource().Attributes()
	res.PutStr("service.name", "checkout")
	res.PutStr("host.name", "web-1")
	res.PutInt("process.pid", 4242)
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("app.checkout")
	for i := range n {
		seq := first + i
		lr := sl.LogRecords().AppendEmpty()
		logstest.FillTypical(lr, logstest.Start.Add(time.Duration(seq)*time.Millisecond), int64(seq))
		// A thousand distinct correlation ids, so that the correlation_id index grows as it would in production.
		lr.Attributes().PutStr("correlation_id", fmt.Sprintf("corr-%d", seq%1000))
	}
	return ld
}

// rawRow is one record pre-rendered for the raw loaders, in the exporter's COPY column order.
type rawRow struct {
	event                             []byte
	ts                                time.Time
	level, logger, message, messageID string
	correlationID                     *string
}

func renderRaw(ld plog.Logs) []rawRow {
	var rows []rawRow
	var e envelope.Entry
	envelope.ForEach(ld, time.Now(), &e, func(e *envelope.Entry, _ plog.LogRecord) {
		r := rawRow{event: e.AppendJSON(nil), ts: e.Time().Truncate(time.Millisecond), level: e.Level(),
			logger: e.Logger(), message: e.Message(), messageID: e.MessageID()}
		if v, ok := e.Field("context.correlation_id"); ok {
			r.correlationID = &v
		}
		rows = append(rows, r)
	})
	return rows
}

var rawColumns = []string{"event", "timestamp", "level", "logger", "correlation_id", "message", "message_id"}

func (r rawRow) values() []any {
	var corr any
	if r.correlationID != nil {
		corr = *r.correlationID
	}
	return []any{r.event, r.ts, r.level, r.logger, corr, r.message, r.messageID}
}

func writeCSV(b *testing.B, path string, rows []rawRow) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	for _, r := range rows {
		corr := ""
		if r.correlationID != nil {
			corr = *r.correlationID
		}
		_ = w.Write([]string{string(r.event), r.ts.Format(time.RFC3339Nano), r.level, r.logger, corr, r.message, r.messageID})
	}
	w.Flush()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
}

// createBenchTable creates a table exactly as create_table does (the seed's table and indexes, plus message_id
// and its unique index when dedup is set).
func createBenchTable(b *testing.B, db *pgx.Conn, schema, table string, dedup bool) {
	cfg := testConfig(b, schema)
	cfg.TableName, cfg.Deduplicate = table, dedup
	s := newTableSpec(cfg)
	if _, err := ensureTable(context.Background(), db, &s); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkLoad_ExporterVsRawCopy loads the same typical rows three ways per iteration into three tables of the
// same definition (create_table's default: seed table, its four indexes, message_id unique index):
//   - the exporter's push function, in batches of the default max batch size (5000);
//   - pgx CopyFrom of pre-built rows, same batches;
//   - psql \copy of a pre-rendered CSV file holding all the rows (one psql run).
//
// It reports each one's rows/s and the exporter's rate as a ratio of the raw COPY rates.
func BenchmarkLoad_ExporterVsRawCopy(b *testing.B) {
	const batch, batches = defaultBatchMaxSize, 4
	db := connectTestDB(b)
	schema := newTestSchema(b, db)
	for _, table := range []string{"by_exporter", "by_pgx", "by_psql"} {
		createBenchTable(b, db, schema, table, true)
	}
	cfg := testConfig(b, schema)
	cfg.TableName = "by_exporter"
	x := startExporter(b, cfg, nil)
	pgxConn := connectTestDB(b)
	csvPath := filepath.Join(b.TempDir(), "rows.csv")
	quotedCols := make([]string, len(rawColumns))
	for i, c := range rawColumns {
		quotedCols[i] = quoteIdent(c)
	}
	psqlCopy := `\copy ` + quoteQualified(schema, "by_psql") + " (" + strings.Join(quotedCols, ", ") + ") FROM '" + csvPath + "' WITH (FORMAT csv)"

	var tExporter, tPgx, tPsql time.Duration
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		lds := make([]plog.Logs, batches)
		raws := make([][][]any, batches)
		var all []rawRow
		for j := range lds {
			lds[j] = typicalLogs((i*batches+j)*batch, batch)
			rendered := renderRaw(lds[j])
			all = append(all, rendered...)
			for _, r := range rendered {
				raws[j] = append(raws[j], r.values())
			}
		}
		writeCSV(b, csvPath, all)
		b.StartTimer()

		start := time.Now()
		for _, ld := range lds {
			if err := x.pushLogs(ctx, ld); err != nil {
				b.Fatal(err)
			}
		}
		tExporter += time.Since(start)

		start = time.Now()
		for _, rows := range raws {
			n, err := pgxConn.CopyFrom(ctx, pgx.Identifier{schema, "by_pgx"}, rawColumns, pgx.CopyFromRows(rows))
			if err != nil || n != int64(len(rows)) {
				b.Fatalf("pgx CopyFrom: %d rows, %v", n, err)
			}
		}
		tPgx += time.Since(start)

		start = time.Now()
		if out, err := exec.Command("psql", testDSN(b), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", psqlCopy).CombinedOutput(); err != nil {
			b.Fatalf("psql: %v\n%s", err, out)
		}
		tPsql += time.Since(start)
	}
	b.StopTimer()
	rows := float64(b.N * batch * batches)
	rate := func(d time.Duration) float64 { return rows / d.Seconds() }
	b.ReportMetric(rate(tExporter), "exporter_rows/s")
	b.ReportMetric(rate(tPgx), "pgx_copy_rows/s")
	b.ReportMetric(rate(tPsql), "psql_copy_rows/s")
	b.ReportMetric(rate(tExporter)/rate(tPgx), "ratio_vs_pgx_copy")
	b.ReportMetric(rate(tExporter)/rate(tPsql), "ratio_vs_psql_copy")
	for _, table := range []string{"by_exporter", "by_pgx", "by_psql"} {
		if n := queryInt(b, db, "SELECT count(*) FROM "+quoteQualified(schema, table)); n != int(rows) {
			b.Fatalf("%s holds %d rows, want %.0f", table, n, rows)
		}
	}
}

// BenchmarkPush measures the exporter's push function alone, loading the same 20,000 typical rows per iteration
// into a fresh table (so that index growth, and GIN pending-list flushes, are the same for every case): the cost
// of duplicate protection (a unique index on message_id, versus deduplicate: false and a table without it), of
// the duplicate-safe path a retried batch takes, of the GIN index and its operator class, and of the batch size.
func BenchmarkPush(b *testing.B) {
	const total = 20_000
	cases := []struct {
		name    string
		dedup   bool
		batch   int
		opclass string
		json    bool // use_jsonb: false: a JSON event column, no GIN index
		retried bool // every batch is a retry whose first half is already stored: the duplicate-safe path
	}{
		{name: "dedup=on/batch=5000", dedup: true, batch: 5000},
		{name: "dedup=off/batch=5000", dedup: false, batch: 5000},
		{name: "dedup=on/retried/batch=5000", dedup: true, batch: 5000, retried: true},
		{name: "dedup=on/gin=jsonb_path_ops/batch=5000", dedup: true, batch: 5000, opclass: GinOpclassPathOps},
		{name: "dedup=on/batch=1000", dedup: true, batch: 1000},
		{name: "dedup=on/batch=100", dedup: true, batch: 100},
		{name: "dedup=on/json/batch=5000", dedup: true, batch: 5000, json: true},
		{name: "dedup=on/json/batch=1000", dedup: true, batch: 1000, json: true},
		{name: "dedup=on/json/batch=100", dedup: true, batch: 100, json: true},
		{name: "dedup=off/json/batch=5000", dedup: false, batch: 5000, json: true},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			db := connectTestDB(b)
			schema := newTestSchema(b, db)
			ctx := context.Background()
			lds := make([]plog.Logs, 0, total/tc.batch)
			for first := 0; first < total; first += tc.batch {
				lds = append(lds, typicalLogs(first, tc.batch))
			}
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				cfg := testConfig(b, schema)
				cfg.TableName, cfg.Deduplicate, cfg.GinOpclass = fmt.Sprintf("logs_%d", i), tc.dedup, tc.opclass
				cfg.UseJSONB = !tc.json
				x := startExporter(b, cfg, nil)
				if tc.retried {
					for first := 0; first < total; first += tc.batch {
						if err := x.pushLogs(ctx, typicalLogs(first, tc.batch/2)); err != nil {
							b.Fatal(err)
						}
					}
				}
				start := time.Now()
				for _, ld := range lds {
					if err := x.pushLogs(ctx, ld); err != nil {
						b.Fatal(err)
					}
				}
				elapsed += time.Since(start)
				if n := queryInt(b, db, "SELECT count(*) FROM "+quoteQualified(schema, cfg.TableName)); n != total {
					b.Fatalf("table holds %d rows, want %d", n, total)
				}
			}
			b.ReportMetric(float64(b.N*total)/elapsed.Seconds(), "rows/s")
		})
	}
}

// BenchmarkPush_DistantServer is BenchmarkPush's batch size comparison with 2 ms added to every answer of the
// server (a proxy in between), as for a database in another zone: each batch pays round trips, so the batch
// size decides the throughput of one connection.
func BenchmarkPush_DistantServer(b *testing.B) {
	const total = 10_000
	for _, batch := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			db := connectTestDB(b)
			schema := newTestSchema(b, db)
			u, err := url.Parse(testDSN(b))
			if err != nil {
				b.Fatal(err)
			}
			proxy := newFaultProxy(b, u.Host)
			proxy.latency.Store(int64(2 * time.Millisecond))
			u.Host = fmt.Sprintf("127.0.0.1:%d", proxy.port())
			ctx := context.Background()
			var lds []plog.Logs
			for first := 0; first < total; first += batch {
				lds = append(lds, typicalLogs(first, batch))
			}
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				cfg := testConfig(b, schema)
				cfg.DSN = configopaque.String(u.String())
				cfg.TableName = fmt.Sprintf("logs_%d", i)
				x := startExporter(b, cfg, nil)
				start := time.Now()
				for _, ld := range lds {
					if err := x.pushLogs(ctx, ld); err != nil {
						b.Fatal(err)
					}
				}
				elapsed += time.Since(start)
			}
			b.ReportMetric(float64(b.N*total)/elapsed.Seconds(), "rows/s")
		})
	}
}

// BenchmarkEncodeRow is the row builder alone: one typical record to one binary COPY tuple.
func BenchmarkEncodeRow(b *testing.B) {
	p := planForBench(b)
	ld := typicalLogs(0, 1)
	rl := ld.ResourceLogs().At(0)
	sl := rl.ScopeLogs().At(0)
	lr := sl.LogRecords().At(0)
	var e envelope.Entry
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Reset(rl.Resource(), sl.Scope(), lr, receivedAt)
		buf = p.appendRow(buf[:0], &e)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkEncodeBatch encodes a default-size batch (5000 typical records) into a reused buffer, as a push does.
func BenchmarkEncodeBatch(b *testing.B) {
	p := planForBench(b)
	ld := typicalLogs(0, defaultBatchMaxSize)
	batch := &rowBatch{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batch.reset()
		p.encode(batch, ld, receivedAt)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*defaultBatchMaxSize), "ns/row")
}

func planForBench(b *testing.B) *tablePlan {
	s := defaultSpec()
	p, err := buildPlan(&s, seedColumnsAsInformationSchema(true), plainTable, uniqueOnMessageID)
	if err != nil {
		b.Fatal(err)
	}
	return p
}
