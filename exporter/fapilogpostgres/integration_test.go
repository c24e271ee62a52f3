package fapilogpostgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogpostgres/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/delivery"
)

// Integration tests: they run against a real PostgreSQL server (FAPILOG_TEST_POSTGRES_URL, or else a private
// throwaway cluster from internal/pgtest) and fail when there is none. Each test works in a schema of its
// own and drops it afterwards.

type columnInfo struct {
	name, dataType string
	maxChars       int
	nullable       bool
	defaultExpr    string
}

func tableColumns(t *testing.T, db *pgx.Conn, schema, table string) []columnInfo {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT column_name::text, data_type::text,
		COALESCE(character_maximum_length, 0)::int, is_nullable = 'YES', COALESCE(column_default, '')::text
		FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, schema, table)
	require.NoError(t, err)
	defer rows.Close()
	var cols []columnInfo
	for rows.Next() {
		var c columnInfo
		require.NoError(t, rows.Scan(&c.name, &c.dataType, &c.maxChars, &c.nullable, &c.defaultExpr))
		cols = append(cols, c)
	}
	return cols
}

func tableIndexes(t *testing.T, db *pgx.Conn, schema, table string) map[string]string {
	t.Helper()
	rows, err := db.Query(context.Background(),
		`SELECT indexname::text, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2`, schema, table)
	require.NoError(t, err)
	defer rows.Close()
	idx := map[string]string{}
	for rows.Next() {
		var name, def string
		require.NoError(t, rows.Scan(&name, &def))
		idx[name] = def
	}
	return idx
}

func TestCreateTable_SeedDDLAndIndexNames(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	mustExec(t, db, "DROP SCHEMA "+quoteIdent(schema)) // create_table creates the schema too
	startExporter(t, testConfig(t, schema), nil)

	cols := tableColumns(t, db, schema, "logs")
	require.Len(t, cols, 9)
	assert.Equal(t, columnInfo{"id", "bigint", 0, false, fmt.Sprintf("nextval('%s.logs_id_seq'::regclass)", schema)}, cols[0])
	assert.Equal(t, columnInfo{"created_at", "timestamp with time zone", 0, false, "now()"}, cols[1])
	assert.Equal(t, columnInfo{"timestamp", "timestamp with time zone", 0, true, ""}, cols[2])
	assert.Equal(t, columnInfo{"level", "character varying", 10, true, ""}, cols[3])
	assert.Equal(t, columnInfo{"logger", "character varying", 255, true, ""}, cols[4])
	assert.Equal(t, columnInfo{"correlation_id", "character varying", 64, true, ""}, cols[5])
	assert.Equal(t, columnInfo{"message", "text", 0, true, ""}, cols[6])
	assert.Equal(t, columnInfo{"event", "jsonb", 0, false, ""}, cols[7])
	// The documented extension: message_id and its unique index, added after the seed's statement.
	assert.Equal(t, columnInfo{"message_id", "text", 0, true, ""}, cols[8])

	q := schema + ".logs"
	assert.Equal(t, map[string]string{
		"logs_pkey":               "CREATE UNIQUE INDEX logs_pkey ON " + q + " USING btree (id)",
		"idx_logs_timestamp":      "CREATE INDEX idx_logs_timestamp ON " + q + " USING btree (\"timestamp\" DESC)",
		"idx_logs_level":          "CREATE INDEX idx_logs_level ON " + q + " USING btree (level)",
		"idx_logs_correlation_id": "CREATE INDEX idx_logs_correlation_id ON " + q + " USING btree (correlation_id) WHERE (correlation_id IS NOT NULL)",
		"idx_logs_event_gin":      "CREATE INDEX idx_logs_event_gin ON " + q + " USING gin (event)",
		"idx_logs_message_id":     "CREATE UNIQUE INDEX idx_logs_message_id ON " + q + " USING btree (message_id)",
	}, tableIndexes(t, db, schema, "logs"))
}

func TestCreateTable_JSONColumnWithoutGINIndex(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	cfg := testConfig(t, schema)
	cfg.UseJSONB = false
	x := startExporter(t, cfg, nil)
	require.NoError(t, x.pushLogs(context.Background(), seqLogs(0, 3)))

	cols := tableColumns(t, db, schema, "logs")
	assert.Equal(t, columnInfo{"event", "json", 0, false, ""}, cols[7])
	idx := tableIndexes(t, db, schema, "logs")
	assert.NotContains(t, idx, "idx_logs_event_gin")
	assert.Contains(t, idx, "idx_logs_timestamp")
	// The JSON text is stored as sent: the envelope's sorted keys, compact.
	var event string
	require.NoError(t, db.QueryRow(context.Background(), "SELECT event::text FROM "+quoteQualified(schema, "logs")+" ORDER BY id LIMIT 1").Scan(&event))
	assert.True(t, strings.HasPrefix(event, `{"context":{"correlation_id":"corr-0","message_id":"`), event)
	assert.Equal(t, 3, queryInt(t, db, "SELECT count(*) FROM "+quoteQualified(schema, "logs")+" WHERE event->'data'->>'seq' IS NOT NULL"))
}

func TestCreateTable_GinOpclassPathOps(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	cfg := testConfig(t, schema)
	cfg.GinOpclass = GinOpclassPathOps
	startExporter(t, cfg, nil)
	assert.Contains(t, tableIndexes(t, db, schema, "logs")["idx_logs_event_gin"], "USING gin (event jsonb_path_ops)")
}

func TestCreateTable_QuotedSchemaAndTableNamesCannotInject(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	canary := quoteQualified(schema, "canary")
	mustExec(t, db, "CREATE TABLE "+canary+" (x int)")
	weirdSchema := schema + `.sub"schema`
	t.Cleanup(func() {
		_, _ = db.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+quoteIdent(weirdSchema)+" CASCADE")
	})
	cfg := testConfig(t, weirdSchema)
	cfg.TableName = `Log"s; DROP TABLE ` + canary + `; --.x`
	x := startExporter(t, cfg, nil)
	require.NoError(t, x.pushLogs(context.Background(), seqLogs(0, 5)))

	assert.Equal(t, 5, queryInt(t, db, "SELECT count(*) FROM "+quoteQualified(weirdSchema, cfg.TableName)))
	assert.Equal(t, 0, queryInt(t, db, "SELECT count(*) FROM "+canary), "the canary table survived")
	idx := tableIndexes(t, db, weirdSchema, cfg.TableName)
	for _, suffix := range []string{indexTimestamp, indexLevel, indexCorrelationID, indexEventGIN, indexMessageID} {
		assert.Contains(t, idx, indexName(cfg.TableName, suffix))
	}
}

func TestCreateTable_CustomSchemaAndExtraColumnsOnExistingTable(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	// An existing table as fapilog (Python) created it: the seed DDL, no message_id.
	spec := defaultSpec()
	spec.schema, spec.table = schema, "app_logs"
	mustExec(t, db, spec.createTableSQL())
	mustExec(t, db, "INSERT INTO "+spec.qualified()+" (level, event) VALUES ('INFO', '{}')")

	cfg := testConfig(t, schema)
	cfg.TableName = "app_logs"
	cfg.ExtractFields = append(cfg.ExtractFields, "service", "trace_id")
	x := startExporter(t, cfg, nil)
	require.NoError(t, x.pushLogs(context.Background(), seqLogs(0, 4)))

	names := []string{}
	for _, c := range tableColumns(t, db, schema, "app_logs") {
		names = append(names, c.name+" "+c.dataType)
	}
	assert.Equal(t, []string{"id bigint", "created_at timestamp with time zone", "timestamp timestamp with time zone",
		"level character varying", "logger character varying", "correlation_id character varying", "message text",
		"event jsonb", "service text", "trace_id text", "message_id text"}, names)
	assert.Equal(t, 5, queryInt(t, db, "SELECT count(*) FROM "+spec.qualified()))
	assert.Equal(t, 4, queryInt(t, db, "SELECT count(*) FROM "+spec.qualified()+" WHERE service LIKE 'svc-%'"))
}

func TestCreateTableFalse_MissingOrMismatchedTableIsAStartupError(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	tests := map[string]struct {
		ddl  string
		want string
	}{
		"missing": {"", `does not exist (create_table is false)`},
		"level is an integer": {`CREATE TABLE %s (id bigserial, timestamp timestamptz, level int, logger text,
			correlation_id text, message text, event jsonb NOT NULL)`, `column "level" is integer; it must be text, varchar or char`},
		"no correlation_id": {`CREATE TABLE %s (timestamp timestamptz, level text, logger text, message text, event jsonb NOT NULL)`,
			`has no column "correlation_id"`},
		"event is json": {`CREATE TABLE %s (timestamp timestamptz, level text, logger text, correlation_id text,
			message text, event json NOT NULL)`, `column "event" is json but use_jsonb is true`},
		"required column": {`CREATE TABLE %s (timestamp timestamptz, level text, logger text, correlation_id text,
			message text, event jsonb NOT NULL, app text NOT NULL)`, `column "app" is NOT NULL without a default`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			table := uniqueName("t_")
			if tc.ddl != "" {
				mustExec(t, db, fmt.Sprintf(tc.ddl, quoteQualified(schema, table)))
			}
			cfg := testConfig(t, schema)
			cfg.TableName, cfg.CreateTable = table, false
			set := componenttest.NewNopTelemetrySettings()
			x, err := newPostgresExporter(cfg, set, component.NewID(metadata.Type))
			require.NoError(t, err)
			err = x.start(context.Background(), componenttest.NewNopHost())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), quoteQualified(schema, table))
			_ = x.shutdown(context.Background())
		})
	}
}

func TestCreateTableFalse_SeedTableWithoutMessageIDLoadsWithPlainCopyAndWarns(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	spec := seedTable(t, db, schema)
	core, logs := observer.New(zapcore.WarnLevel)
	cfg := testConfig(t, schema)
	cfg.CreateTable = false
	x := startExporter(t, cfg, zap.New(core))
	require.NoError(t, x.pushLogs(context.Background(), seqLogs(0, 10)))

	assert.Equal(t, 10, queryInt(t, db, "SELECT count(*) FROM "+spec.qualified()))
	warnings := logs.FilterMessageSnippet("deduplicate is on but table").All()
	require.Len(t, warnings, 1)
	assert.Contains(t, warnings[0].Message, "ADD COLUMN IF NOT EXISTS message_id TEXT")
	assert.False(t, x.plan.Load().dedup)
	assert.Len(t, tableColumns(t, db, schema, "logs"), 8, "create_table: false never alters the table")
}

func TestExtractFields_ValueOfEveryColumnWithAndWithoutEachField(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	cfg := testConfig(t, schema)
	cfg.ExtractFields = extractFieldNamesList()
	x := startExporter(t, cfg, nil)
	ld := oneRecord(fullRecord)
	empty := oneRecord(func(pcommon.Resource, pcommon.InstrumentationScope, plog.LogRecord) {})
	empty.ResourceLogs().At(0).CopyTo(ld.ResourceLogs().AppendEmpty())
	before := time.Now().Add(-time.Second)
	require.NoError(t, x.pushLogs(context.Background(), ld))

	cols := make([]string, len(extractFields))
	for i, f := range extractFields {
		cols[i] = quoteIdent(f.name) + "::text"
	}
	rows, err := db.Query(context.Background(), "SELECT "+strings.Join(cols, ", ")+", event->>'message', "+
		"event->'context'->>'message_id' FROM "+quoteQualified(schema, "logs")+" ORDER BY id")
	require.NoError(t, err)
	var got [][]*string
	for rows.Next() {
		vals := make([]*string, len(cols)+2)
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		got = append(got, vals)
	}
	require.NoError(t, rows.Err())
	require.Len(t, got, 2)
	str := func(s string) *string { return &s }
	full := map[string]*string{
		"timestamp": str("2026-01-02 03:04:05.678+00"), "level": str("WARNING"), "logger": str("app.checkout"),
		"correlation_id": str("corr-1"), "message": str("order accepted"), "message_id": str("uid-1"),
		"request_id": str("req-1"), "user_id": str("user-1"), "tenant_id": str("tenant-1"),
		"trace_id": str("0102030405060708090a0b0c0d0e0f10"), "span_id": str("0102030405060708"), "origin": str("otlp"),
		"service": str("checkout"), "env": str("prod"), "host": str("web-1"), "pid": str("4242"),
	}
	for i, f := range extractFields {
		assert.Equal(t, full[f.name], got[0][i], "full record: %s", f.name)
	}
	// Without any field: defaults for level/logger/message, a derived message_id, the receive time, NULL elsewhere.
	for i, f := range extractFields {
		switch f.name {
		case "level":
			assert.Equal(t, str("INFO"), got[1][i])
		case "logger":
			assert.Equal(t, str("root"), got[1][i])
		case "message":
			assert.Equal(t, str(""), got[1][i])
		case "origin":
			assert.Equal(t, str("otlp"), got[1][i])
		case "message_id":
			require.NotNil(t, got[1][i])
			assert.Len(t, *got[1][i], 36)
			assert.Equal(t, got[1][len(cols)+1], got[1][i], "the column holds the envelope's message_id")
		case "timestamp":
			require.NotNil(t, got[1][i])
			ts, err := time.Parse("2006-01-02 15:04:05.999999-07", *got[1][i])
			require.NoError(t, err)
			assert.WithinDuration(t, time.Now(), ts, time.Since(before)+time.Second)
		default:
			assert.Nil(t, got[1][i], "empty record: %s must be NULL", f.name)
		}
	}
	assert.Equal(t, str(""), got[1][len(cols)], "event holds the envelope")
}

func TestIncludeRawJSONFalse_EventHoldsOnlyTheExtractedFields(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	cfg := testConfig(t, schema)
	cfg.IncludeRawJSON = false
	x := startExporter(t, cfg, nil)
	require.NoError(t, x.pushLogs(context.Background(), oneRecord(fullRecord)))
	var event string
	require.NoError(t, db.QueryRow(context.Background(), "SELECT event::text FROM "+quoteQualified(schema, "logs")).Scan(&event))
	assert.Equal(t, `{"level": "WARNING", "logger": "app.checkout", "message": "order accepted", "timestamp": "2026-01-02T03:04:05.678Z", "correlation_id": "corr-1"}`, event)
}

func TestPush_ValuesPostgreSQLWouldRejectAreStored(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	x := startExporter(t, testConfig(t, schema), nil)
	ld := oneRecord(func(_ pcommon.Resource, scope pcommon.InstrumentationScope, lr plog.LogRecord) {
		lr.SetSeverityText("notice-of-something")
		scope.SetName(strings.Repeat("ü", 300))
		lr.Attributes().PutStr("correlation_id", strings.Repeat("c", 100))
		lr.Body().SetStr("nul \x00 and bad \xff utf-8")
		lr.Attributes().PutStr("key\x00with nul", "v")
	})
	require.NoError(t, x.pushLogs(context.Background(), ld))
	var level, logger, corr, msg, eventLevel string
	require.NoError(t, db.QueryRow(context.Background(), "SELECT level, logger, correlation_id, message, event->>'level' FROM "+
		quoteQualified(schema, "logs")).Scan(&level, &logger, &corr, &msg, &eventLevel))
	assert.Equal(t, "NOTICE-OF-", level)
	assert.Equal(t, strings.Repeat("ü", 255), logger)
	assert.Equal(t, strings.Repeat("c", 64), corr)
	assert.Equal(t, "nul \uFFFD and bad \uFFFD utf-8", msg)
	assert.Equal(t, "NOTICE-OF-SOMETHING", eventLevel)
}

func TestPush_RowsTheTableRejectsAreReportedByReasonTheRestStored(t *testing.T) {
	db, spec, x := startOnPoisonRefusingTable(t)

	ld := seqLogs(0, 100)
	poisoned := map[int]bool{0: true, 37: true, 38: true, 99: true}
	i := 0
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				if poisoned[i] {
					lr.Body().SetStr("poison " + strconv.Itoa(i))
				}
				i++
			}
		}
	}
	require.NoError(t, x.pushLogs(context.Background(), ld), "the rest of the batch is stored; nothing to retry")
	assert.Equal(t, 96, queryInt(t, db, "SELECT count(*) FROM "+spec.qualified()))
	assert.Equal(t, 0, queryInt(t, db, "SELECT count(*) FROM "+spec.qualified()+" WHERE message LIKE 'poison%'"))
	assert.EqualValues(t, 4, x.metrics.Int(t, delivery.MetricRecordsRejected, attribute.String("reason", "sqlstate_23514")))
	assert.EqualValues(t, 1, x.metrics.Int(t, delivery.MetricRequests, attribute.String("outcome", "delivered")))
	rejections := x.logs.FilterMessage("Log records rejected for good").All()
	require.Len(t, rejections, 1, "one line for the four rows: the log is rate-limited by reason")
	fields := rejections[0].ContextMap()
	assert.Equal(t, "sqlstate_23514", fields["reason"])
	assert.Equal(t, "23514", fields["sqlstate"])
	assert.Equal(t, "no_poison", fields["constraint"])
	assert.Len(t, fields["message_id"], 36)
	assert.EqualValues(t, 4, fields["rejected_records"])
	assert.False(t, x.host.Seen(componentstatus.StatusRecoverableError), "a refused row says nothing about PostgreSQL's health")
	assert.False(t, x.host.Seen(componentstatus.StatusPermanentError))
}

func TestPush_SameBatchTwiceIsStoredOnce(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	x := startObservedExporter(t, testConfig(t, schema), nil)
	require.NoError(t, x.pushLogs(context.Background(), seqLogs(0, 300)))
	require.NoError(t, x.pushLogs(context.Background(), seqLogs(200, 300)), "overlapping retry")
	require.NoError(t, x.pushLogs(context.Background(), seqLogs(0, 500)), "full replay")
	tbl := quoteQualified(schema, "logs")
	assert.Equal(t, 500, queryInt(t, db, "SELECT count(*) FROM "+tbl))
	assert.Equal(t, 500, queryInt(t, db, "SELECT count(DISTINCT event->'data'->>'seq') FROM "+tbl))
	assert.Equal(t, 2, x.logs.FilterMessageSnippet("Skipped rows already stored").Len(), "two batches merged")
	assert.EqualValues(t, 100+500, x.metrics.Int(t, metricDuplicatesSkipped))
	assert.Zero(t, x.metrics.Int(t, delivery.MetricRecordsRejected), "a duplicate is not a rejection")
}

func TestPush_TableDroppedWhileRunningIsRecreated(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	x := startObservedExporter(t, testConfig(t, schema), nil)
	require.NoError(t, x.pushLogs(context.Background(), seqLogs(0, 10)))
	mustExec(t, db, "DROP TABLE "+quoteQualified(schema, "logs"))

	require.NoError(t, x.pushLogs(context.Background(), seqLogs(10, 10)), "the table is checked again, re-created, and the batch loaded")
	assert.Equal(t, 10, queryInt(t, db, "SELECT count(*) FROM "+quoteQualified(schema, "logs")))
	assert.Equal(t, 2, x.logs.FilterMessageSnippet("Created PostgreSQL objects").Len(), "at start, and again after the drop")
	assert.Zero(t, x.metrics.Int(t, delivery.MetricRecordsRetried), "nothing went back to the retry policy")
}

func TestPush_TableDroppedWithoutCreateTableRefusesTheConfiguration(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	spec := seedTable(t, db, schema)
	cfg := testConfig(t, schema)
	cfg.CreateTable, cfg.Deduplicate = false, false
	x := startObservedExporter(t, cfg, nil)
	require.NoError(t, x.pushLogs(context.Background(), seqLogs(0, 10)))
	mustExec(t, db, "DROP TABLE "+spec.qualified())

	err := x.pushLogs(context.Background(), seqLogs(10, 10))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "no retry can bring the table back: %v", err)
	assert.Contains(t, err.Error(), "does not exist (create_table is false)")
	assert.EqualValues(t, 10, x.metrics.Int(t, delivery.MetricRecordsRejected, attribute.String("reason", "table_mismatch")))
	assert.Equal(t, componentstatus.StatusPermanentError, x.host.Last())

	// Once an operator has restored the table, the next batch is loaded (the status stays permanent: it is final
	// in the collector's model).
	mustExec(t, db, spec.createTableSQL())
	require.NoError(t, x.pushLogs(context.Background(), seqLogs(20, 10)))
	assert.Equal(t, 10, queryInt(t, db, "SELECT count(*) FROM "+spec.qualified()))
}

func TestPush_PartialFailureHandsBackOnlyTheRowsNotStored(t *testing.T) {
	db, spec, x := startOnPoisonRefusingTable(t)
	// Row 0 is rejected, so the exporter splits the batch: [0,4) is stored without row 0, then the connection
	// fails for [4,8). Only rows 4-7 may come back for retry; rows 1-3 must not be sent again.
	ld := seqLogs(0, 8)
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().SetStr("poison")
	x.transport.beforeCopy = func(lo, _ int) error {
		if lo >= 4 {
			return errors.New("connection reset by peer")
		}
		return nil
	}
	err := x.pushLogs(context.Background(), ld)
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	var failed consumererror.Logs
	require.True(t, errors.As(err, &failed), "a partial failure carries the rows to retry: %v", err)
	var seqs []int64
	for _, rl := range failed.Data().ResourceLogs().All() {
		assert.Equal(t, "svc-0", rl.Resource().Attributes().AsRaw()["service.name"], "resource kept")
		for _, sl := range rl.ScopeLogs().All() {
			assert.Equal(t, "app.module", sl.Scope().Name(), "scope kept")
			for _, lr := range sl.LogRecords().All() {
				seqs = append(seqs, lr.Attributes().AsRaw()["seq"].(int64))
			}
		}
	}
	assert.Equal(t, []int64{4, 5, 6, 7}, seqs)
	assert.Equal(t, 3, queryInt(t, db, "SELECT count(*) FROM "+spec.qualified()))
	assert.EqualValues(t, 1, x.metrics.Int(t, delivery.MetricRecordsRejected, attribute.String("reason", "sqlstate_23514")))
	assert.EqualValues(t, 4, x.metrics.Int(t, delivery.MetricRecordsRetried), "only the rows not stored go back")

	x.transport.beforeCopy = nil
	require.NoError(t, x.pushLogs(context.Background(), failed.Data()))
	assert.Equal(t, 7, queryInt(t, db, "SELECT count(*) FROM "+spec.qualified()))
}

func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return port
}

func TestEnvConfig_ConnectsThroughFapilogVariables(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	u, err := url.Parse(testDSN(t))
	require.NoError(t, err)
	t.Setenv("FAPILOG_POSTGRES__DSN", "")
	t.Setenv("FAPILOG_POSTGRES__HOST", u.Hostname())
	t.Setenv("FAPILOG_POSTGRES__PORT", u.Port())
	t.Setenv("FAPILOG_POSTGRES__DATABASE", strings.TrimPrefix(u.Path, "/"))
	t.Setenv("FAPILOG_POSTGRES__USER", u.User.Username())
	t.Setenv("FAPILOG_POSTGRES__PASSWORD", "ignored-by-trust-auth")
	t.Setenv("PGSSLMODE", "disable")
	cfg := resolveEnvConfig(t)
	cfg.SchemaName = schema
	x := startExporter(t, cfg, nil)
	require.NoError(t, x.pushLogs(context.Background(), seqLogs(0, 3)))
	assert.Equal(t, 3, queryInt(t, db, "SELECT count(*) FROM "+quoteQualified(schema, "logs")))
}

func TestPassword_NeverAppearsInLogsOrErrors(t *testing.T) {
	const password = "Pa55-w0rd-XYZZY"
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	core, logs := observer.New(zapcore.DebugLevel)
	logger := zap.New(core)
	var errs []error

	// 1. A reachable server (trust auth ignores the password), DSN with password, full life cycle.
	cfg := testConfig(t, schema)
	cfg.DSN = configopaque.String(strings.Replace(testDSN(t), "postgres@", "postgres:"+password+"@", 1))
	require.Contains(t, string(cfg.DSN), password)
	x := startExporter(t, cfg, logger)
	errs = append(errs, x.pushLogs(context.Background(), seqLogs(0, 5)))
	mustExec(t, db, "ALTER TABLE "+quoteQualified(schema, "logs")+" DROP COLUMN level")
	errs = append(errs, x.pushLogs(context.Background(), seqLogs(5, 5)))

	// 2. An unreachable server, password as its own key: start warns, pushes fail.
	cfg = testConfig(t, schema)
	cfg.DSN = ""
	cfg.Host, cfg.Port, cfg.Password = "127.0.0.1", closedPort(t), password
	cfg.PoolAcquireTimeout = 500 * time.Millisecond
	y := startExporter(t, cfg, logger)
	errs = append(errs, y.pushLogs(context.Background(), seqLogs(0, 5)))

	// 3. The factory-built exporter (its helper logs failed exports) against the unreachable server.
	set := exportertest.NewNopSettings(metadata.Type)
	set.Logger = logger
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.Enabled = false
	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	errs = append(errs, exp.ConsumeLogs(context.Background(), seqLogs(0, 5)))
	require.NoError(t, exp.Shutdown(context.Background()))

	// 4. A DSN that does not parse.
	cfg = testConfig(t, schema)
	cfg.DSN = configopaque.String("postgres://u:" + password + "@host:bad/db")
	errs = append(errs, cfg.Validate())

	for _, i := range []int{1, 2, 3, 4} {
		require.Error(t, errs[i], "case %d must fail", i)
	}
	require.NotEmpty(t, logs.FilterMessageSnippet("Exporting failed").All(), "the helper logged the failure")
	for _, e := range logs.All() {
		line := fmt.Sprintf("%s %v", e.Message, e.ContextMap())
		assert.NotContains(t, line, password)
	}
	for _, err := range errs {
		if err != nil {
			assert.NotContains(t, err.Error(), password)
		}
	}
	// And the configuration itself prints masked.
	assert.NotContains(t, fmt.Sprintf("%v %+v", cfg, *cfg), password)
}

func TestStart_ServerThatRefusesTheConnectionIsAStartupError(t *testing.T) {
	connectTestDB(t)
	u, err := url.Parse(testDSN(t))
	require.NoError(t, err)
	u.Path = "/" + uniqueName("no_such_database_")
	cfg := testConfig(t, "public")
	cfg.DSN = configopaque.String(u.String())
	x, err := newPostgresExporter(cfg, componenttest.NewNopTelemetrySettings(), component.NewID(metadata.Type))
	require.NoError(t, err)
	err = x.start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err, "the server answered: unlike an unreachable server, this will not fix itself")
	assert.Contains(t, err.Error(), "3D000")
	_ = x.shutdown(context.Background())
}

// A trigger (or rule) on the table that drops rows is the table owner's decision: COPY then stores fewer rows than
// it was given, without an error. Those rows were delivered to PostgreSQL; sending the batch again would store the
// kept rows twice (without deduplicate) or count the dropped ones as duplicates (with it), and never end.
func TestPush_RowsATableTriggerDropsAreDeliveredOnceAndLogged(t *testing.T) {
	for _, dedup := range []bool{true, false} {
		t.Run(fmt.Sprintf("deduplicate=%v", dedup), func(t *testing.T) {
			db := connectTestDB(t)
			schema := newTestSchema(t, db)
			cfg := testConfig(t, schema)
			cfg.Deduplicate = dedup
			x := startObservedExporter(t, cfg, nil)
			tbl := quoteQualified(schema, "logs")
			fn := quoteQualified(schema, "drop_odd")
			mustExec(t, db, "CREATE FUNCTION "+fn+`() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN IF (NEW.event->'data'->>'seq')::int % 2 = 1 THEN RETURN NULL; END IF; RETURN NEW; END $$`)
			mustExec(t, db, "CREATE TRIGGER drop_odd BEFORE INSERT ON "+tbl+" FOR EACH ROW EXECUTE FUNCTION "+fn+"()")

			require.NoError(t, x.pushLogs(context.Background(), seqLogs(0, 100)))
			require.NoError(t, x.pushLogs(context.Background(), seqLogs(100, 100)))
			assert.Equal(t, 100, queryInt(t, db, "SELECT count(*) FROM "+tbl), "the even rows, each once")
			assert.Equal(t, 100, queryInt(t, db, "SELECT count(DISTINCT event->'data'->>'seq') FROM "+tbl))
			assert.Zero(t, x.metrics.Int(t, delivery.MetricRecordsRetried), "nothing went back to the retry policy")
			assert.Zero(t, x.metrics.Int(t, metricDuplicatesSkipped), "a dropped row is no duplicate")
			assert.Equal(t, 1, x.logs.FilterMessageSnippet("stored fewer rows than it was given").Len(),
				"logged, at most once a minute")
		})
	}
}
