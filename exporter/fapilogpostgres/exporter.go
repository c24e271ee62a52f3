package fapilogpostgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogpostgres/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/delivery"
	"github.com/fapilog/fapilog-otelcol/internal/envelope"
)

// postgresExporter wires the pieces: the table plan (schema.go, plan.go), the row encoder (encoder.go), the COPY
// transport (transport.go) and the partition keeper (partition_keeper.go), on the shared delivery path (circuit
// breaker, outcome classification, rejections, status and telemetry).
type postgresExporter struct {
	cfg        *Config
	spec       tableSpec
	poolCfg    *pgxpool.Config
	logger     *zap.Logger
	telemetry  *postgresTelemetry
	delivery   *delivery.Deliverer
	transport  copyTransport
	partitions *partitionKeeper // nil without partitioning

	// plan is nil until the table has been verified (at start, or at the first batch when the server was not
	// reachable at start) and again after PostgreSQL reports that the table changed.
	plan      atomic.Pointer[tablePlan]
	prepareMu sync.Mutex

	scratch sync.Pool // *pushScratch, one per concurrent push
}

type pushScratch struct {
	plan  delivery.Plan
	batch rowBatch
}

// newPostgresExporter builds the exporter; id, the component ID, is on every metric series as the exporter attribute.
func newPostgresExporter(cfg *Config, set component.TelemetrySettings, id component.ID) (*postgresExporter, error) {
	poolCfg, err := cfg.poolConfig()
	if err != nil {
		return nil, err
	}
	tel, err := newPostgresTelemetry(set, id)
	if err != nil {
		return nil, err
	}
	d, err := delivery.New(set, metadata.ScopeName, delivery.Settings{
		ID:            id,
		Backend:       "PostgreSQL",
		Breaker:       cfg.Config,
		Timeout:       cfg.Timeout,
		Describe:      describe,
		RefusesConfig: refusesConfig,
	})
	if err != nil {
		return nil, err
	}
	x := &postgresExporter{
		cfg:       cfg,
		spec:      newTableSpec(cfg),
		poolCfg:   poolCfg,
		logger:    set.Logger,
		telemetry: tel,
		delivery:  d,
		transport: copyTransport{acquireTimeout: cfg.PoolAcquireTimeout, logger: set.Logger, telemetry: tel},
	}
	x.partitions = newPartitionKeeper(&x.spec, &x.transport, tel, set.Logger)
	x.scratch.New = func() any { return new(pushScratch) }
	return x, nil
}

func (x *postgresExporter) start(ctx context.Context, host component.Host) error {
	pool, err := pgxpool.NewWithConfig(context.WithoutCancel(ctx), x.poolCfg)
	if err != nil {
		return fmt.Errorf("fapilogpostgres: cannot create the connection pool: %w", err)
	}
	x.transport.pool = pool
	cc := x.poolCfg.ConnConfig
	x.logger.Info("Loading logs into PostgreSQL",
		zap.String("host", cc.Host), zap.Uint16("port", cc.Port), zap.String("database", cc.Database),
		zap.String("user", cc.User), zap.String("table", x.spec.qualified()))
	if _, err := x.preparedPlan(ctx); err != nil {
		if !isUnreachable(err) {
			pool.Close()
			x.transport.pool = nil
			return fmt.Errorf("fapilogpostgres: %w", err)
		}
		x.logger.Warn("PostgreSQL is not reachable at start; the table is checked when the first batch is sent",
			zap.Error(err))
	}
	x.delivery.Start(host)
	x.partitions.start()
	return nil
}

func (x *postgresExporter) shutdown(context.Context) error {
	x.partitions.stop()
	if x.transport.pool != nil {
		x.transport.pool.Close()
	}
	return nil
}

// preparedPlan returns the verified table plan, verifying (and with create_table, creating) the table first if
// needed; with partitioning, the partitions are then made.
func (x *postgresExporter) preparedPlan(ctx context.Context) (*tablePlan, error) {
	if p := x.plan.Load(); p != nil {
		return p, nil
	}
	x.prepareMu.Lock()
	defer x.prepareMu.Unlock()
	if p := x.plan.Load(); p != nil {
		return p, nil
	}
	p, err := x.verifyTable(ctx)
	if err != nil {
		return nil, err
	}
	for _, w := range p.warnings {
		x.logger.Warn(w)
	}
	x.logger.Debug("PostgreSQL table verified", zap.String("copy", p.copySQL), zap.Bool("deduplicate", p.dedup))
	// Rows no partition covers go to the default partition, so loading need not wait for the partitions: a
	// failure here is retried in the background.
	if err := x.partitions.maintain(ctx); err != nil {
		x.logger.Warn("Cannot create the partitions yet; rows go to the default partition meanwhile", zap.Error(err))
	}
	x.plan.Store(p)
	return p, nil
}

func (x *postgresExporter) verifyTable(ctx context.Context) (*tablePlan, error) {
	conn, err := x.transport.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	if x.spec.createTable {
		created, err := ensureTable(ctx, conn.Conn(), &x.spec)
		if err != nil {
			return nil, err
		}
		if len(created) > 0 {
			x.logger.Info("Created PostgreSQL objects (create_table)", zap.Strings("created", created))
		}
	}
	cols, err := inspectColumns(ctx, conn, x.spec.schema, x.spec.table)
	if err != nil {
		return nil, fmt.Errorf("cannot read the columns of %s: %w", x.spec.qualified(), err)
	}
	info, err := inspectTable(ctx, conn, x.spec.qualified())
	if err != nil {
		return nil, fmt.Errorf("cannot read the catalog entry of %s: %w", x.spec.qualified(), err)
	}
	var uniqueKeys [][]string
	if x.spec.dedup {
		if uniqueKeys, err = inspectUniqueKeys(ctx, conn, x.spec.qualified()); err != nil {
			return nil, fmt.Errorf("cannot read the indexes of %s: %w", x.spec.qualified(), err)
		}
	}
	return buildPlan(&x.spec, cols, info, uniqueKeys)
}

// pushLogs loads one batch as one request of the delivery path. Rows PostgreSQL can never accept are reported as
// rejected and the rest still goes; after a backend failure only the rows not yet stored are handed back.
func (x *postgresExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	records := ld.LogRecordCount()
	if records == 0 {
		return nil
	}
	s := x.scratch.Get().(*pushScratch)
	defer x.release(s)
	s.plan.Reset(records)
	clear(s.plan.Owner) // every record in request 0
	s.plan.Requests = 1
	return x.delivery.Deliver(ctx, ld, &s.plan, func(ctx context.Context, _ int) (delivery.Result, error) {
		return x.load(ctx, ld, &s.batch)
	})
}

func (x *postgresExporter) release(s *pushScratch) {
	if cap(s.batch.tuples) > maxPooledBytes {
		return // a pathological batch's buffer is not kept
	}
	s.batch.reset()
	x.scratch.Put(s)
}

// load stores every record of ld as a row. When the table changed under it (dropped, altered), it checks the table
// again (with create_table, re-creates it) and loads the rest once more.
func (x *postgresExporter) load(ctx context.Context, ld plog.Logs, b *rowBatch) (delivery.Result, error) {
	var progress loadProgress
	receivedAt := time.Now()
	for checkedAgain := false; ; checkedAgain = true {
		p, err := x.preparedPlan(ctx)
		if err != nil {
			return progress.outcome(err)
		}
		b.reset()
		p.encode(b, ld, receivedAt)
		err = x.loadRange(ctx, p, b, ld, &progress, progress.done, b.len())
		if err == nil {
			return progress.result(), nil
		}
		err = fmt.Errorf("COPY into %s: %w", x.spec.qualified(), err)
		if classify(err) != failSchemaChanged {
			return progress.outcome(err)
		}
		x.plan.CompareAndSwap(p, nil)
		if checkedAgain {
			return progress.outcome(err)
		}
	}
}

// loadRange stores rows [lo, hi). When PostgreSQL rejects a value, it halves the range until the offending rows
// are isolated and reports them as rejected. It stops at the first other failure; rows before progress.done are
// then stored or rejected, the others are not.
func (x *postgresExporter) loadRange(ctx context.Context, p *tablePlan, b *rowBatch, ld plog.Logs, progress *loadProgress, lo, hi int) error {
	err := x.transport.copyRows(ctx, p, b, lo, hi)
	if err == nil {
		progress.stored(hi, len(b.rows(lo, hi)))
		return nil
	}
	if classify(err) != failRejectedData {
		return err
	}
	if hi-lo == 1 {
		progress.reject(err, messageIDAt(ld, lo))
		return nil
	}
	mid := lo + (hi-lo)/2
	if err := x.loadRange(ctx, p, b, ld, progress, lo, mid); err != nil {
		return err
	}
	return x.loadRange(ctx, p, b, ld, progress, mid, hi)
}

// loadProgress is how far one request got: rows [0, done) are stored or rejected.
type loadProgress struct {
	done     int
	bytes    int
	rejected []delivery.Rejection // one per reason, with the details of its first row
}

func (l *loadProgress) stored(upTo, bytes int) {
	l.done = upTo
	l.bytes += bytes
}

// reject counts the row at l.done as refused for good. The details name the row and PostgreSQL's reason; the
// delivery path bounds every string (a message_id or a value can be as long as the sender made it).
func (l *loadProgress) reject(err error, messageID string) {
	l.done++
	var pgErr *pgconn.PgError
	errors.As(err, &pgErr)
	reason := sqlstateReason(pgErr.Code)
	for i := range l.rejected {
		if l.rejected[i].Reason == reason {
			l.rejected[i].Records++
			return
		}
	}
	detail := []zap.Field{zap.String("sqlstate", pgErr.Code), zap.String("error", pgErr.Message), zap.String("message_id", messageID)}
	for _, f := range []struct{ key, value string }{
		{"column", pgErr.ColumnName}, {"constraint", pgErr.ConstraintName}, {"detail", pgErr.Detail},
	} {
		if f.value != "" {
			detail = append(detail, zap.String(f.key, f.value))
		}
	}
	l.rejected = append(l.rejected, delivery.Rejection{Reason: reason, Records: 1, Detail: detail})
}

func (l *loadProgress) result() delivery.Result {
	return delivery.Result{Bytes: l.bytes, Rejected: l.rejected, Progress: l.done}
}

// outcome is what a failed request reports. A refusal of the configuration is permanent when the request got
// nowhere; when part of it was handled, the rest goes back as a retryable failure, and its next attempt is refused
// as a whole, so that the rows already stored are never counted as refused.
func (l *loadProgress) outcome(err error) (delivery.Result, error) {
	if classify(err) == failRefusesConfig && l.done == 0 {
		return l.result(), consumererror.NewPermanent(err)
	}
	return l.result(), err
}

// messageIDAt is the message_id of record idx of ld, for the log line of a rejected row.
func messageIDAt(ld plog.Logs, idx int) string {
	var e envelope.Entry
	id, i := "", 0
	envelope.ForEach(ld, time.Now(), &e, func(e *envelope.Entry, _ plog.LogRecord) {
		if i == idx {
			id = e.MessageID()
		}
		i++
	})
	return id
}
