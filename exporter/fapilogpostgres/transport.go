package fapilogpostgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otelcol/internal/lograte"
)

// SQLSTATE codes the transport acts on.
const (
	sqlstateUniqueViolation      = "23505"
	sqlstateBinaryFormat         = "22P03" // invalid_binary_representation: a column's type changed under us
	sqlstateCannotConnectNow     = "57P03"
	sqlstateTooManyConnection    = "53300"
	sqlstateDeadlock             = "40P01"
	sqlstateSerializationFailure = "40001"
	sqlstateInsufficientPrivs    = "42501"
	sqlstateUnknownDatabase      = "3D000"
)

// conflictRetries is how many times a COPY that lost a deadlock or a serialization conflict is sent again at once,
// before the failure goes back to the retry policy: the conflict is over by then, and the retry policy's first
// interval (5 s by default) would hold the batch for nothing.
const conflictRetries = 2

// copyTransport sends row ranges of a batch to PostgreSQL with binary COPY and reports what happened.
type copyTransport struct {
	pool           *pgxpool.Pool
	acquireTimeout time.Duration
	logger         *zap.Logger
	telemetry      *postgresTelemetry

	// beforeCopy, when set (tests only), runs before each COPY and can fail it.
	beforeCopy func(lo, hi int) error
	// fewerRowsWarned keeps warnFewerRows to one line a minute.
	fewerRowsWarned lograte.Gate
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

// copyRows loads rows [lo, hi) of b, sending the COPY again at once after a deadlock or a serialization conflict
// (up to conflictRetries times).
func (t *copyTransport) copyRows(ctx context.Context, p *tablePlan, b *rowBatch, lo, hi int) error {
	for attempt := 0; ; attempt++ {
		err := t.copyOnce(ctx, p, b, lo, hi)
		if err == nil || classify(err) != failConflict || attempt == conflictRetries || ctx.Err() != nil {
			return err
		}
		t.logger.Debug("COPY lost a conflict with another transaction; sending it again",
			zap.String("sqlstate", sqlState(err)), zap.Int("rows", hi-lo))
	}
}

// copyOnce loads rows [lo, hi) of b with one COPY (atomic: all rows or none). With duplicate protection, a unique
// violation means some rows are already stored; the range is then merged through a staging table so that only
// the new rows are added.
func (t *copyTransport) copyOnce(ctx context.Context, p *tablePlan, b *rowBatch, lo, hi int) error {
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
	stream := newCopyStream(b, lo, hi)
	tag, err := conn.Conn().PgConn().CopyFrom(ctx, stream, p.copySQL)
	stream.close()
	if err == nil {
		if stored := tag.RowsAffected(); stored < int64(hi-lo) {
			t.warnFewerRows(stored, hi-lo)
		}
		return nil
	}
	if p.dedup && sqlState(err) == sqlstateUniqueViolation {
		return t.mergeRows(ctx, conn.Conn().PgConn(), p, b, lo, hi)
	}
	return err
}

// warnFewerRows says, at most once a minute, that a COPY committed without error stored fewer rows
// than it was given: a trigger or rule on the table decided so (a BEFORE INSERT trigger returning NULL drops a
// row). The rows were delivered to PostgreSQL and count as such; sending them again would store the kept rows
// twice, and the table would drop the others again.
func (t *copyTransport) warnFewerRows(stored int64, rows int) {
	if !t.fewerRowsWarned.Allow(time.Now(), time.Minute) {
		return
	}
	t.logger.Warn("COPY stored fewer rows than it was given: a trigger or rule on the table dropped the others; they count as delivered",
		zap.Int64("stored", stored), zap.Int("rows", rows))
}

// mergeRows is the duplicate-safe path: in one transaction, COPY into a temporary staging table, then
// INSERT ... SELECT ... ON CONFLICT (message_id) DO NOTHING.
func (t *copyTransport) mergeRows(ctx context.Context, pg *pgconn.PgConn, p *tablePlan, b *rowBatch, lo, hi int) error {
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
	stream := newCopyStream(b, lo, hi)
	_, err := pg.CopyFrom(ctx, stream, p.stageCopySQL)
	stream.close()
	if err != nil {
		return err
	}
	results, err := pg.Exec(ctx, p.mergeSQL+"; COMMIT").ReadAll()
	if err != nil {
		return err
	}
	committed = true
	if len(results) > 0 {
		skipped := int64(hi-lo) - results[0].CommandTag.RowsAffected()
		t.telemetry.skipped(ctx, skipped)
		t.logger.Debug("Skipped rows already stored (a retried or replayed batch)",
			zap.Int64("skipped", skipped), zap.Int("rows", hi-lo))
	}
	return nil
}

// failureKind is what a failed COPY (or table check) means for the rows it carried.
type failureKind uint8

const (
	// failRetryable: the backend or the connection failed; the same rows may succeed later.
	failRetryable failureKind = iota
	// failConflict: a deadlock or serialization failure with a concurrent transaction; sent again at once.
	failConflict
	// failRejectedData: PostgreSQL rejected a value (data exception, constraint, size limit); some row of the
	// range can never be stored.
	failRejectedData
	// failSchemaChanged: the table is gone or its columns changed since it was checked; check it again.
	failSchemaChanged
	// failRefusesConfig: the server refuses the configuration itself (credentials, privileges, unknown database,
	// a table that does not match): no retry can succeed until an operator acts.
	failRefusesConfig
)

func classify(err error) failureKind {
	if errors.As(err, new(*tableMismatchError)) {
		return failRefusesConfig
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return failRetryable
	}
	code := pgErr.Code
	switch {
	case code == sqlstateDeadlock || code == sqlstateSerializationFailure:
		return failConflict
	case strings.HasPrefix(code, "28"), code == sqlstateUnknownDatabase, code == sqlstateInsufficientPrivs:
		return failRefusesConfig
	case code == sqlstateBinaryFormat, strings.HasPrefix(code, "42"), strings.HasPrefix(code, "3F"):
		return failSchemaChanged
	case strings.HasPrefix(code, "22"), strings.HasPrefix(code, "23"), strings.HasPrefix(code, "54"):
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

// refusesConfig tells the delivery path which permanent errors refuse the configuration rather than the data:
// they turn the component status into a permanent error.
func refusesConfig(err error) bool { return classify(err) == failRefusesConfig }

// describe names a permanent error for the rejected-records metric (a short, stable reason) and the log line.
func describe(err error) (string, []zap.Field) {
	if errors.As(err, new(*tableMismatchError)) {
		return "table_mismatch", []zap.Field{zap.Error(err)}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return sqlstateReason(pgErr.Code), []zap.Field{zap.String("sqlstate", pgErr.Code), zap.String("error", pgErr.Message)}
	}
	return "rejected", []zap.Field{zap.Error(err)}
}

// sqlstateReason is the rejected-records reason of a SQLSTATE: "sqlstate_" and the five-character code, a set as
// small as PostgreSQL's list of codes.
func sqlstateReason(code string) string { return "sqlstate_" + code }

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
