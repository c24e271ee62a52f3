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
	"github.com/fapilog/fapilog-otelcol/internal/breaker"
	"github.com/fapilog/fapilog-otelcol/internal/droplog"
	"github.com/fapilog/fapilog-otelcol/internal/envelope"
	"github.com/fapilog/fapilog-otelcol/internal/plogsubset"
)

// postgresExporter wires the pieces: the table plan (schema.go, plan.go), the row encoder (encoder.go) and the
// COPY transport (transport.go), behind the circuit breaker.
type postgresExporter struct {
	cfg     *Config
	spec    tableSpec
	poolCfg *pgxpool.Config
	logger  *zap.Logger
	drops   *droplog.Reporter
	breaker *breaker.Breaker

	transport copyTransport

	// plan is nil until the table has been verified (at start, or at the first batch when the server was not
	// reachable at start) and again after PostgreSQL reports that the table changed.
	plan      atomic.Pointer[tablePlan]
	prepareMu sync.Mutex
}

func newPostgresExporter(cfg *Config, set component.TelemetrySettings) (*postgresExporter, error) {
	poolCfg, err := cfg.poolConfig()
	if err != nil {
		return nil, err
	}
	return &postgresExporter{
		cfg:     cfg,
		spec:    newTableSpec(cfg),
		poolCfg: poolCfg,
		logger:  set.Logger,
		drops:   droplog.New(set, metadata.ScopeName),
		breaker: breaker.New(cfg.Config, set.Logger, nil),
		transport: copyTransport{
			acquireTimeout: cfg.PoolAcquireTimeout,
			logger:         set.Logger,
		},
	}, nil
}

func (x *postgresExporter) start(ctx context.Context, _ component.Host) error {
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
		if isUnreachable(err) {
			x.logger.Warn("PostgreSQL is not reachable at start; the table is checked when the first batch is sent",
				zap.Error(err))
			return nil
		}
		pool.Close()
		x.transport.pool = nil
		return fmt.Errorf("fapilogpostgres: %w", err)
	}
	return nil
}

func (x *postgresExporter) shutdown(context.Context) error {
	if x.transport.pool != nil {
		x.transport.pool.Close()
	}
	return nil
}

// preparedPlan returns the verified table plan, verifying (and with create_table, creating) the table first if
// needed.
func (x *postgresExporter) preparedPlan(ctx context.Context) (*tablePlan, error) {
	if p := x.plan.Load(); p != nil {
		return p, nil
	}
	x.prepareMu.Lock()
	defer x.prepareMu.Unlock()
	if p := x.plan.Load(); p != nil {
		return p, nil
	}
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
	unique := false
	if x.spec.dedup {
		if err := conn.QueryRow(ctx, uniqueMessageIDSQL, x.spec.qualified()).Scan(&unique); err != nil {
			return nil, fmt.Errorf("cannot read the indexes of %s: %w", x.spec.qualified(), err)
		}
	}
	p, err := buildPlan(&x.spec, cols, unique)
	if err != nil {
		return nil, err
	}
	for _, w := range p.warnings {
		x.logger.Warn(w)
	}
	x.logger.Debug("PostgreSQL table verified", zap.String("copy", p.copySQL), zap.Bool("deduplicate", p.dedup))
	x.plan.Store(p)
	return p, nil
}

// pushLogs loads one batch. Rows PostgreSQL can never accept are dropped (counted and logged) and the rest still
// goes; after a backend failure only the rows not yet stored are handed back for retry.
func (x *postgresExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	if ld.LogRecordCount() == 0 {
		return nil
	}
	return x.breaker.Do(ctx, func(ctx context.Context) error {
		p, err := x.preparedPlan(ctx)
		if err != nil {
			return err
		}
		b := getBatch()
		defer putBatch(b)
		p.encode(b, ld, time.Now())
		failedFrom, err := x.loadRange(ctx, p, b, ld, 0, b.len())
		if err == nil {
			return nil
		}
		err = fmt.Errorf("COPY into %s: %w", x.spec.qualified(), err)
		if classify(err) == failSchemaChanged {
			x.plan.CompareAndSwap(p, nil) // verify (or re-create) the table before the retry
		}
		if failedFrom > 0 {
			return consumererror.NewLogs(err, plogsubset.Select(ld, func(i int) bool { return i >= failedFrom }))
		}
		return err
	})
}

// loadRange stores rows [lo, hi). When PostgreSQL rejects a value, it halves the range until the offending rows
// are isolated and drops them. It stops at the first other failure and returns the index of the first row not
// stored (rows before it are stored or dropped).
func (x *postgresExporter) loadRange(ctx context.Context, p *tablePlan, b *rowBatch, ld plog.Logs, lo, hi int) (int, error) {
	err := x.transport.copyRows(ctx, p, b, lo, hi)
	if err == nil {
		return hi, nil
	}
	if classify(err) != failRejectedData {
		return lo, err
	}
	if hi-lo == 1 {
		var pgErr *pgconn.PgError
		errors.As(err, &pgErr)
		x.drops.Drop(ctx, "rejected by PostgreSQL", 1,
			zap.String("message_id", messageIDAt(ld, lo)), zap.String("sqlstate", pgErr.Code),
			zap.String("error", pgErr.Message), zap.String("column", pgErr.ColumnName),
			zap.String("constraint", pgErr.ConstraintName), zap.String("detail", truncate(pgErr.Detail, 256)))
		return hi, nil
	}
	mid := lo + (hi-lo)/2
	if done, err := x.loadRange(ctx, p, b, ld, lo, mid); err != nil {
		return done, err
	}
	return x.loadRange(ctx, p, b, ld, mid, hi)
}

// messageIDAt is the message_id of record idx of ld, for the log line of a dropped row.
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

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
