package fapilogpostgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
)

// SQLSTATE codes the transport acts on.
const (
	sqlstateUniqueViolation   = "23505"
	sqlstateBinaryFormat      = "22P03" // invalid_binary_representation: a column's type changed under us
	sqlstateCannotConnectNow  = "57P03"
	sqlstateTooManyConnection = "53300"
)

// copyTransport sends row ranges of a batch to PostgreSQL with binary COPY and reports what happened.
type copyTransport struct {
	pool           *pgxpool.Pool
	acquireTimeout time.Duration
	logger         *zap.Logger

	// merges counts batches loaded through the duplicate-safe staging path; skipped counts rows it found
	// already stored (a retry after an ambiguous failure, or records with the same message_id).
	merges  atomic.Int64
	skipped atomic.Int64

	// beforeCopy, when set (tests only), runs before each COPY and can fail it.
	beforeCopy func(lo, hi int) error
}

// acquire takes a pooled connection, waiting at most pool_acquire_timeout.
func (t *copyTransport) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	actx, cancel := context.WithTimeout(ctx, t.acquireTimeout)
	defer cancel()
	conn, err := t.pool.Acquire(actx)
	if err != nil {
		return nil, fmt.Errorf("no PostgreSQL connection within pool_acquire_timeout (%s): %w", t.acquireTimeout, err)
	}
	return conn, nil
}

// copyRows loads rows [lo, hi) of b with one COPY (atomic: all rows or none). With duplicate protection, a unique
// violation means some rows are already stored; the range is then merged through a staging table so that only
// the new rows are added.
func (t *copyTransport) copyRows(ctx context.Context, p *tablePlan, b *rowBatch, lo, hi int) error {
	if t.beforeCopy != nil {
		if err := t.beforeCopy(lo, hi); err != nil {
			return err
		}
	}
	conn, err := t.acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	tag, err := conn.Conn().PgConn().CopyFrom(ctx, newCopyStream(b, lo, hi), p.copySQL)
	if err == nil {
		if got := tag.RowsAffected(); got != int64(hi-lo) {
			return fmt.Errorf("COPY stored %d rows of %d", got, hi-lo)
		}
		return nil
	}
	if p.dedup && sqlState(err) == sqlstateUniqueViolation {
		return t.mergeRows(ctx, conn.Conn().PgConn(), p, b, lo, hi)
	}
	return err
}

// mergeRows is the duplicate-safe path: in one transaction, COPY into a temporary staging table, then
// INSERT ... SELECT ... ON CONFLICT (message_id) DO NOTHING.
func (t *copyTransport) mergeRows(ctx context.Context, pg *pgconn.PgConn, p *tablePlan, b *rowBatch, lo, hi int) error {
	t.merges.Add(1)
	committed := false
	defer func() {
		if !committed && !pg.IsClosed() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.acquireTimeout)
			defer cancel()
			_, _ = pg.Exec(rctx, "ROLLBACK").ReadAll()
		}
	}()
	if _, err := pg.Exec(ctx, "BEGIN; "+p.stageSQL).ReadAll(); err != nil {
		return err
	}
	if _, err := pg.CopyFrom(ctx, newCopyStream(b, lo, hi), p.stageCopySQL); err != nil {
		return err
	}
	results, err := pg.Exec(ctx, p.mergeSQL+"; COMMIT").ReadAll()
	if err != nil {
		return err
	}
	committed = true
	if len(results) > 0 {
		skipped := int64(hi-lo) - results[0].CommandTag.RowsAffected()
		t.skipped.Add(skipped)
		t.logger.Debug("Skipped rows already stored (a retried or replayed batch)",
			zap.Int64("skipped", skipped), zap.Int("rows", hi-lo))
	}
	return nil
}

// failureKind is what a failed COPY means for the rows it carried.
type failureKind uint8

const (
	// failRetryable: the backend or the connection failed; the same rows may succeed later.
	failRetryable failureKind = iota
	// failRejectedData: PostgreSQL rejected a value (data exception, constraint, size limit); some row of the
	// range can never be stored.
	failRejectedData
	// failSchemaChanged: the table is gone or its columns changed since start; the plan must be rebuilt.
	failSchemaChanged
)

func classify(err error) failureKind {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return failRetryable
	}
	switch {
	case pgErr.Code == sqlstateBinaryFormat, strings.HasPrefix(pgErr.Code, "42"):
		return failSchemaChanged
	case strings.HasPrefix(pgErr.Code, "22"), strings.HasPrefix(pgErr.Code, "23"), strings.HasPrefix(pgErr.Code, "54"):
		return failRejectedData
	}
	return failRetryable
}

func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// isUnreachable tells a server that cannot be reached (yet) from one that answered and refused: the first lets
// the exporter start and wait for the database, the second is a startup error.
func isUnreachable(err error) bool {
	switch code := sqlState(err); {
	case strings.HasPrefix(code, "08"), code == sqlstateCannotConnectNow, code == sqlstateTooManyConnection:
		return true
	case code != "":
		return false // the server answered: bad credentials, unknown database, missing privilege...
	}
	var netErr net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) || errors.As(err, new(*pgconn.ConnectError))
}
