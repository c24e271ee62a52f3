package fapilogpostgres

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/fapilog/fapilog-otelcol/internal/pgtest"
)

func TestRestart_PostgreSQLCrashedMidLoadLosesNothingAndDuplicatesNothing(t *testing.T) {
	srv := pgtest.New(t) // a cluster of its own: the crash must not reach the server the other tests share
	cfg := createDefaultConfig().(*Config)
	cfg.DSN = configopaque.String(srv.URL())
	fastRetries(cfg)
	cfg.QueueConfig.Get().Batch.Get().MinSize = 200 // many COPYs in flight when the server dies
	core, logs := observer.New(zapcore.InfoLevel)
	exp := newFactoryExporter(t, cfg, zap.New(core))
	t.Cleanup(func() { _ = exp.Shutdown(context.Background()) })

	db := func() *privateDB { return &privateDB{t: t, dsn: srv.URL()} }
	const total, chunk = 20_000, 100
	var sent atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for first := 0; first < total; first += chunk {
			if err := exp.ConsumeLogs(context.Background(), seqLogs(first, chunk)); err != nil {
				t.Errorf("ConsumeLogs: %v", err)
				return
			}
			sent.Add(chunk)
			time.Sleep(5 * time.Millisecond)
		}
	}()

	// Crash once the load is well under way, keep the server down for a while, then restart it.
	waitUntil(t, func() bool { return db().count() >= 2000 })
	srv.Crash(t)
	sentAtCrash := sent.Load()
	time.Sleep(time.Second)
	srv.Restart(t)
	afterRestart := db().count()
	t.Logf("records sent when the server crashed: %d; rows present after crash recovery: %d", sentAtCrash, afterRestart)
	assert.Less(t, sentAtCrash, int64(total), "the crash happened mid-load")
	assert.Less(t, afterRestart, total, "rows were still missing when the server came back")
	<-done

	waitUntil(t, func() bool { return db().count() >= total })
	time.Sleep(200 * time.Millisecond) // a duplicate would arrive now, if at all
	d := db()
	assert.Equal(t, total, d.count(), "rows")
	assert.Equal(t, total, d.queryInt("SELECT count(DISTINCT message_id) FROM public.logs"), "distinct message_ids")
	assert.Equal(t, total, d.queryInt("SELECT count(DISTINCT (event->'data'->>'seq')::int) FROM public.logs"), "distinct records")
	assert.NotZero(t, logs.FilterMessageSnippet("Exporting failed. Will retry").Len(), "the crash was noticed")
	assert.Zero(t, logs.FilterMessageSnippet("Dropping data").Len(), "nothing dropped")
}

// privateDB runs one query on a fresh connection each time (the server restarts under the test).
type privateDB struct {
	t   *testing.T
	dsn string
}

func (d *privateDB) count() int {
	n, err := d.tryQueryInt("SELECT count(*) FROM public.logs")
	if err != nil {
		return -1
	}
	return n
}

func (d *privateDB) queryInt(sql string) int {
	n, err := d.tryQueryInt(sql)
	require.NoError(d.t, err, sql)
	return n
}

func (d *privateDB) tryQueryInt(sql string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, d.dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, sql).Scan(&n)
	return n, err
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 90s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
