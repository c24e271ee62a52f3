package fapilogpostgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogpostgres/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/breaker"
	"github.com/fapilog/fapilog-otelcol/internal/delivery"
)

// What becomes of a batch in each kind of answer PostgreSQL gives, seen as the collector sees it: the push's
// result, the metrics, the log lines and the component status.

// forRecords calls fn for every record of ld with its index in push order.
func forRecords(ld plog.Logs, fn func(i int, lr plog.LogRecord)) {
	i := 0
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				fn(i, lr)
				i++
			}
		}
	}
}

// The "No silent loss" scenario for PostgreSQL: a batch of ten in which PostgreSQL refuses one row. The nine others
// are stored, the push is a success for the collector (as core otlphttp counts a partial success), one warning
// names the reason, and the refusal is counted by reason.
func TestFactory_OneRowRefusedInABatchIsAPartialSuccess(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	spec := seedTable(t, db, schema)
	refusePoison(t, db, spec)
	cfg := testConfig(t, schema)
	fastRetries(cfg)
	batch := cfg.QueueConfig.Get().Batch.Get()
	batch.MinSize, batch.MaxSize = 10, 10
	o := startObservedFactory(t, cfg)

	ld := seqLogs(0, 10)
	forRecords(ld, func(i int, lr plog.LogRecord) {
		if i == 4 {
			lr.Body().SetStr("poison")
		}
	})
	require.NoError(t, o.ConsumeLogs(context.Background(), ld))
	require.Eventually(t, func() bool { return o.metrics.Int(t, "otelcol_exporter_sent_log_records") == 10 },
		10*time.Second, 10*time.Millisecond)
	time.Sleep(200 * time.Millisecond) // a retry would show now

	assert.Equal(t, 9, queryInt(t, db, "SELECT count(*) FROM "+spec.qualified()))
	assert.Zero(t, queryInt(t, db, "SELECT count(*) FROM "+spec.qualified()+" WHERE message = 'poison'"))
	assert.Zero(t, o.metrics.Int(t, "otelcol_exporter_send_failed_log_records"))
	assert.EqualValues(t, 1, o.metrics.Int(t, delivery.MetricRecordsRejected, attribute.String("reason", "sqlstate_23514")))
	assert.EqualValues(t, 1, o.metrics.Int(t, delivery.MetricRequests, attribute.String("outcome", "delivered")))
	assert.Zero(t, o.metrics.Int(t, delivery.MetricRecordsRetried))
	warnings := o.logs.FilterLevelExact(zapcore.WarnLevel).All()
	require.Len(t, warnings, 1, "exactly one warning")
	assert.Equal(t, "Log records rejected for good", warnings[0].Message)
	assert.Equal(t, "sqlstate_23514", warnings[0].ContextMap()["reason"])
	assert.Equal(t, "no_poison", warnings[0].ContextMap()["constraint"])
	assert.Zero(t, o.logs.FilterLevelExact(zapcore.ErrorLevel).Len(), "no error line: nothing was lost")
	o.metrics.AssertDeclared(t, metadata.ScopeName, "metadata.yaml")
}

// The rejection log line carries a bounded part of what the sender sent: a message_id of 8,000 characters (too
// large for the unique index, so PostgreSQL refuses the row with 54000) is cut by the delivery path.
func TestPush_RejectionLogLineIsBoundedWhateverTheRecordHolds(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	x := startObservedExporter(t, testConfig(t, schema), nil)

	random := make([]byte, 4000)
	_, _ = rand.Read(random)
	longID := hex.EncodeToString(random) // incompressible: PostgreSQL cannot squeeze it into an index entry
	ld := seqLogs(0, 5)
	forRecords(ld, func(i int, lr plog.LogRecord) {
		if i == 2 {
			lr.Attributes().PutStr("message_id", longID)
		}
	})
	require.NoError(t, x.pushLogs(context.Background(), ld))
	assert.Equal(t, 4, queryInt(t, db, "SELECT count(*) FROM "+quoteQualified(schema, "logs")))
	assert.EqualValues(t, 1, x.metrics.Int(t, delivery.MetricRecordsRejected, attribute.String("reason", "sqlstate_54000")))

	lines := x.logs.FilterMessage("Log records rejected for good").All()
	require.Len(t, lines, 1)
	id := lines[0].ContextMap()["message_id"].(string)
	assert.Equal(t, longID[:delivery.SnippetLimit]+"...", id, "the start of the id, cut")
	for _, entry := range x.logs.All() {
		assert.LessOrEqual(t, len(entry.Message), 2*delivery.SnippetLimit, entry.Message)
		for k, v := range entry.ContextMap() {
			assert.LessOrEqual(t, len(fmt.Sprint(v)), delivery.SnippetLimit+3, "%q of %q", k, entry.Message)
		}
	}
}

// A deadlock or serialization failure is a conflict with a concurrent transaction: the COPY is sent again at once
// instead of waiting for the retry policy's interval, and only a conflict that keeps coming back is handed to it.
func TestPush_DeadlockAndSerializationFailureAreSentAgainAtOnce(t *testing.T) {
	for _, code := range []string{sqlstateDeadlock, sqlstateSerializationFailure} {
		t.Run(code, func(t *testing.T) {
			db := connectTestDB(t)
			schema := newTestSchema(t, db)
			x := startObservedExporter(t, testConfig(t, schema), nil)
			tbl := quoteQualified(schema, "logs")
			counter := quoteQualified(schema, "conflicts")
			// Every COPY fails with code while the counter is at or below the limit the test sets.
			mustExec(t, db, "CREATE SEQUENCE "+counter)
			mustExec(t, db, "CREATE TABLE "+quoteQualified(schema, "conflict_limit")+" (n int)")
			mustExec(t, db, "INSERT INTO "+quoteQualified(schema, "conflict_limit")+" VALUES (2)")
			mustExec(t, db, fmt.Sprintf(`CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN
					IF nextval('%s') <= (SELECT n FROM %s) THEN
						RAISE EXCEPTION 'simulated conflict' USING ERRCODE = '%s';
					END IF;
					RETURN NULL;
				END $$`, quoteQualified(schema, "lose"), counter, quoteQualified(schema, "conflict_limit"), code))
			mustExec(t, db, "CREATE TRIGGER lose BEFORE INSERT ON "+tbl+" FOR EACH STATEMENT EXECUTE FUNCTION "+quoteQualified(schema, "lose")+"()")

			// Two conflicts, then the COPY goes through: all within one push.
			require.NoError(t, x.pushLogs(context.Background(), seqLogs(0, 10)))
			assert.Equal(t, 10, queryInt(t, db, "SELECT count(*) FROM "+tbl))
			assert.Zero(t, x.metrics.Int(t, delivery.MetricRequests, attribute.String("outcome", "failed")))

			// Conflicts that outlast the immediate attempts go back to the retry policy, retryable: the counter is at
			// 3, so the next three COPYs fail.
			mustExec(t, db, "UPDATE "+quoteQualified(schema, "conflict_limit")+" SET n = 6")
			err := x.pushLogs(context.Background(), seqLogs(10, 10))
			require.Error(t, err)
			assert.False(t, consumererror.IsPermanent(err))
			assert.Equal(t, code, sqlState(err))
			assert.EqualValues(t, 1, x.metrics.Int(t, delivery.MetricRequests, attribute.String("outcome", "failed")))
			require.NoError(t, x.pushLogs(context.Background(), seqLogs(10, 10)), "the retry goes through")
			assert.Equal(t, 20, queryInt(t, db, "SELECT count(*) FROM "+tbl))
		})
	}
}

func TestClassify_SQLSTATEs(t *testing.T) {
	pg := func(code string) error { return fmt.Errorf("COPY: %w", &pgconn.PgError{Code: code}) }
	tests := map[failureKind][]error{
		failConflict:      {pg("40P01"), pg("40001")},
		failRefusesConfig: {pg("28P01"), pg("28000"), pg("3D000"), pg("42501"), mismatch("table x does not match")},
		failSchemaChanged: {pg("42P01"), pg("42703"), pg("42804"), pg("22P03"), pg("3F000"), pg("42P10")},
		failRejectedData:  {pg("23514"), pg("23502"), pg("22001"), pg("22021"), pg("54000")},
		failRetryable: {pg("08006"), pg("57P01"), pg("57P03"), pg("53300"), pg("25006"), pg("57014"), pg("XX000"),
			syscall.ECONNREFUSED, context.DeadlineExceeded, errors.New("unexpected EOF")},
	}
	for want, errs := range tests {
		for _, err := range errs {
			assert.Equal(t, want, classify(err), "%v", err)
		}
	}
	reason, detail := describe(consumererror.NewPermanent(pg("42501")))
	assert.Equal(t, "sqlstate_42501", reason)
	assert.Equal(t, zap.String("sqlstate", "42501"), detail[0])
	reason, _ = describe(consumererror.NewPermanent(mismatch("table x")))
	assert.Equal(t, "table_mismatch", reason)
}

// A writer whose INSERT privilege is revoked, or whose role may no longer log in, is refused by PostgreSQL for
// good: the batch is rejected (counted by reason) and the component status turns permanent, instead of the batch
// being retried until the retry policy gives up.
func TestPush_RevokedPrivilegeOrLoginRefusesTheConfiguration(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	spec := seedTable(t, db, schema)
	role := uniqueName("fapilog_writer_")
	mustExec(t, db, "CREATE ROLE "+quoteIdent(role)+" LOGIN")
	t.Cleanup(func() {
		_, _ = db.Exec(context.Background(), "DROP OWNED BY "+quoteIdent(role))
		_, _ = db.Exec(context.Background(), "DROP ROLE "+quoteIdent(role))
	})
	mustExec(t, db, "GRANT USAGE ON SCHEMA "+quoteIdent(schema)+" TO "+quoteIdent(role))
	mustExec(t, db, "GRANT SELECT, INSERT ON "+spec.qualified()+" TO "+quoteIdent(role))
	mustExec(t, db, "GRANT USAGE ON SEQUENCE "+quoteQualified(schema, "logs_id_seq")+" TO "+quoteIdent(role))
	u, err := url.Parse(testDSN(t))
	require.NoError(t, err)
	u.User = url.User(role)

	newWriter := func(t *testing.T) *observedExporter {
		cfg := testConfig(t, schema)
		cfg.DSN = configopaque.String(u.String())
		cfg.CreateTable, cfg.Deduplicate = false, false
		cfg.PoolAcquireTimeout = 2 * time.Second
		return startObservedExporter(t, cfg, nil)
	}

	t.Run("privilege revoked", func(t *testing.T) {
		x := newWriter(t)
		require.NoError(t, x.pushLogs(context.Background(), seqLogs(0, 5)))
		mustExec(t, db, "REVOKE INSERT ON "+spec.qualified()+" FROM "+quoteIdent(role))
		t.Cleanup(func() { mustExec(t, db, "GRANT INSERT ON "+spec.qualified()+" TO "+quoteIdent(role)) })
		err := x.pushLogs(context.Background(), seqLogs(5, 5))
		require.Error(t, err)
		assert.True(t, consumererror.IsPermanent(err), "%v", err)
		assert.EqualValues(t, 5, x.metrics.Int(t, delivery.MetricRecordsRejected, attribute.String("reason", "sqlstate_42501")))
		assert.Equal(t, componentstatus.StatusPermanentError, x.host.Last())
	})

	t.Run("login refused", func(t *testing.T) {
		x := newWriter(t)
		require.NoError(t, x.pushLogs(context.Background(), seqLogs(10, 5)))
		mustExec(t, db, "ALTER ROLE "+quoteIdent(role)+" NOLOGIN")
		t.Cleanup(func() { mustExec(t, db, "ALTER ROLE "+quoteIdent(role)+" LOGIN") })
		mustExec(t, db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role)
		// The pooled connections were terminated: a push may first fail on one of them (retryable); once the pool
		// connects again, PostgreSQL refuses the login.
		var err error
		for range 5 {
			if err = x.pushLogs(context.Background(), seqLogs(15, 5)); consumererror.IsPermanent(err) {
				break
			}
		}
		require.True(t, consumererror.IsPermanent(err), "%v", err)
		assert.Equal(t, "28000", sqlState(err))
		assert.EqualValues(t, 5, x.metrics.Int(t, delivery.MetricRecordsRejected, attribute.String("reason", "sqlstate_28000")))
		assert.Equal(t, componentstatus.StatusPermanentError, x.host.Last())
	})
}

// An outage with the circuit breaker on: the breaker opens (visible in its metrics and the component status),
// batches wait behind it instead of spending their retry budget, and once PostgreSQL is back every record is
// stored exactly once. The retry budget is shorter than circuit_breaker_recovery on purpose: the outage ends
// before the probe, so nothing may be lost.
func TestFactory_OutageBehindTheBreakerLosesNothingAndDuplicatesNothing(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	cfg := testConfig(t, schema)
	proxy := throughProxy(t, cfg)
	cfg.Config = breaker.Config{Enabled: true, Threshold: 2, Recovery: 1500 * time.Millisecond}
	cfg.RetryConfig.MaxElapsedTime = 700 * time.Millisecond
	cfg.QueueConfig.Get().Batch.Get().FlushTimeout = 50 * time.Millisecond
	o := startObservedFactory(t, cfg)
	tbl := quoteQualified(schema, "logs")

	send := func(first, n int) {
		for i := first; i < first+n; i += 50 {
			require.NoError(t, o.ConsumeLogs(context.Background(), seqLogs(i, 50)))
		}
	}
	send(0, 200)
	waitForRows(t, tbl, 200)

	proxy.down()
	send(200, 300)
	require.Eventually(t, func() bool { return o.metrics.Int(t, delivery.MetricBreakerState) == int64(breaker.Open) },
		10*time.Second, 5*time.Millisecond, "the breaker opens during the outage")
	assert.Equal(t, componentstatus.StatusRecoverableError, o.host.Last())
	assert.EqualValues(t, 1, o.metrics.Int(t, delivery.MetricBreakerTransitions, attribute.String("to", "open")))
	proxy.up()

	waitForRows(t, tbl, 500)
	require.Eventually(t, func() bool { return o.metrics.Int(t, delivery.MetricBreakerState) == int64(breaker.Closed) },
		10*time.Second, 5*time.Millisecond)
	require.NoError(t, o.Shutdown(context.Background()))
	assertExactlyOnce(t, tbl, 500)
	assert.Equal(t, componentstatus.StatusOK, o.host.Last())
	assert.EqualValues(t, 1, o.metrics.Int(t, delivery.MetricBreakerTransitions, attribute.String("to", "closed")))
	assert.EqualValues(t, 500, o.metrics.Int(t, "otelcol_exporter_sent_log_records"))
	assert.Zero(t, o.metrics.Int(t, "otelcol_exporter_send_failed_log_records"), "nothing dropped")
	assert.Positive(t, o.metrics.Int(t, delivery.MetricRecordsRetried))
	assert.Positive(t, o.metrics.Int(t, delivery.MetricSentBytes))
	o.metrics.AssertDeclared(t, metadata.ScopeName, "metadata.yaml")
}
