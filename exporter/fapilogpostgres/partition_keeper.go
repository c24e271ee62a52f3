package fapilogpostgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
)

// Partition maintenance timing.
const (
	// maintenanceEvery is the time between two maintenance runs: partitions are made premake intervals ahead, so
	// an hour is early enough, and a retention deadline is kept within the hour.
	maintenanceEvery = time.Hour
	// maintenanceRetry is the wait after a failed run (the server was down, or a lock was not granted in time).
	maintenanceRetry = time.Minute
	// maintenanceTimeout bounds one run.
	maintenanceTimeout = 2 * time.Minute
	// partitionLockTimeout bounds the wait for the table locks ATTACH and DETACH take. DETACH needs an exclusive
	// lock on the table: while it waits, new COPYs queue behind it, so it gives up quickly and tries again at the
	// next run rather than stall the loading.
	partitionLockTimeout = "5s"
)

// partitionKeeper makes the partitions of the table ahead of time and detaches and drops those past retention: once
// when the table has been checked, then in the background.
type partitionKeeper struct {
	scheme    *partitionScheme
	spec      *tableSpec
	transport *copyTransport
	telemetry *postgresTelemetry
	logger    *zap.Logger
	// now is the clock partitions are made and dropped by (a test moves it).
	now func() time.Time
	// every and retry are the waits between runs (maintenanceEvery, maintenanceRetry; shorter in tests).
	every, retry time.Duration

	mu     sync.Mutex // one run at a time
	cancel context.CancelFunc
	done   chan struct{}
}

func newPartitionKeeper(spec *tableSpec, transport *copyTransport, tel *postgresTelemetry, logger *zap.Logger) *partitionKeeper {
	if spec.partitioning == nil {
		return nil
	}
	return &partitionKeeper{
		scheme: spec.partitioning, spec: spec, transport: transport, telemetry: tel, logger: logger,
		now: time.Now, every: maintenanceEvery, retry: maintenanceRetry,
	}
}

// start runs the maintenance in the background until stop.
func (k *partitionKeeper) start() {
	if k == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	k.cancel, k.done = cancel, make(chan struct{})
	go k.loop(ctx)
}

func (k *partitionKeeper) stop() {
	if k == nil || k.cancel == nil {
		return
	}
	k.cancel()
	<-k.done
}

func (k *partitionKeeper) loop(ctx context.Context) {
	defer close(k.done)
	timer := time.NewTimer(k.every)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		wait := k.every
		if err := k.maintain(ctx); err != nil && ctx.Err() == nil {
			k.logger.Warn("Partition maintenance failed; trying again later", zap.Duration("in", k.retry), zap.Error(err))
			wait = k.retry
		}
		timer.Reset(wait)
	}
}

// maintain creates the partitions the scheme wants at now and, with a retention, drops the partitions (and deletes
// the default partition's rows) older than it. Each change is a transaction of its own under the table's advisory
// lock, so that collectors sharing the table never make or drop a partition twice.
func (k *partitionKeeper) maintain(ctx context.Context) error {
	if k == nil {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, maintenanceTimeout)
	defer cancel()
	conn, err := k.transport.acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	db := conn.Conn()
	now := k.now()
	var errs []error
	for _, r := range k.scheme.wanted(now) {
		errs = append(errs, k.inLockedTx(ctx, db, func(tx pgx.Tx, parts partitionList) (func(), error) {
			return k.create(ctx, tx, parts, r)
		}))
	}
	if k.scheme.retention > 0 {
		cutoff := now.Add(-k.scheme.retention)
		errs = append(errs, k.inLockedTx(ctx, db, func(tx pgx.Tx, parts partitionList) (func(), error) {
			return k.dropExpired(ctx, tx, parts, cutoff)
		}))
	}
	return errors.Join(errs...)
}

// inLockedTx runs fn in a transaction holding the table's advisory lock, with the partitions listed under it, and
// once the transaction is committed, what fn returned to report it.
func (k *partitionKeeper) inLockedTx(ctx context.Context, db *pgx.Conn, fn func(pgx.Tx, partitionList) (func(), error)) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// UTC renders the bounds pg_get_expr returns the way parseBound reads them.
	if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '"+partitionLockTimeout+"'; SET LOCAL TimeZone = 'UTC'"); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", "fapilogpostgres:"+k.spec.qualified()); err != nil {
		return err
	}
	parts, err := listPartitions(ctx, tx, k.spec.qualified())
	if err != nil {
		return err
	}
	report, err := fn(tx, parts)
	if err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	if report != nil {
		report()
	}
	return nil
}

// create makes the partition for r unless a partition already covers any of it. It is made as a table of its own,
// then attached: ATTACH PARTITION takes a lock that lets COPYs into the table go on, where CREATE TABLE ...
// PARTITION OF would stop them. Rows the default partition holds for r (records that arrived before their
// partition existed) move into it first: PostgreSQL refuses to attach a range the default partition has rows for.
func (k *partitionKeeper) create(ctx context.Context, tx pgx.Tx, parts partitionList, r timeRange) (func(), error) {
	for _, p := range parts.ranges {
		if p.bounds.overlaps(r) {
			return nil, nil
		}
	}
	name := partitionName(k.spec.table, k.scheme.suffix(r.from))
	part, parent := quoteQualified(k.spec.schema, name), k.spec.qualified()
	if parts.defaultPartition != "" {
		// ATTACH takes this lock anyway; taking it first keeps COPYs from adding rows for r to the default
		// partition between the move below and the ATTACH, which would then fail.
		if _, err := tx.Exec(ctx, "LOCK TABLE "+parts.defaultPartition+" IN ACCESS EXCLUSIVE MODE"); err != nil {
			return nil, fmt.Errorf("partition %s: %w", part, err)
		}
	}
	if _, err := tx.Exec(ctx, "CREATE TABLE "+part+" (LIKE "+parent+
		" INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS)"); err != nil {
		return nil, fmt.Errorf("partition %s: %w", part, err)
	}
	moved := int64(0)
	if parts.defaultPartition != "" {
		inRange := " WHERE " + quoteIdent(partitionColumn) + " >= " + sqlLiteral(r.from) + " AND " + quoteIdent(partitionColumn) + " < " + sqlLiteral(r.to)
		tag, err := tx.Exec(ctx, "INSERT INTO "+part+" SELECT * FROM "+parts.defaultPartition+inRange)
		if err != nil {
			return nil, fmt.Errorf("partition %s: moving rows from the default partition: %w", part, err)
		}
		if moved = tag.RowsAffected(); moved > 0 {
			if _, err := tx.Exec(ctx, "DELETE FROM "+parts.defaultPartition+inRange); err != nil {
				return nil, fmt.Errorf("partition %s: moving rows from the default partition: %w", part, err)
			}
		}
	}
	if _, err := tx.Exec(ctx, "ALTER TABLE "+parent+" ATTACH PARTITION "+part+" FOR VALUES FROM ("+
		sqlLiteral(r.from)+") TO ("+sqlLiteral(r.to)+")"); err != nil {
		return nil, fmt.Errorf("partition %s: %w", part, err)
	}
	return func() {
		k.telemetry.partitionsCreated.Add(ctx, 1, k.telemetry.own)
		k.logger.Info("Created partition", zap.String("partition", part), zap.Time("from", r.from), zap.Time("to", r.to),
			zap.Int64("rows_moved_from_default", moved))
	}, nil
}

// dropExpired detaches and drops every range partition whose rows are all older than cutoff, and deletes the rows
// of the default partition older than cutoff.
func (k *partitionKeeper) dropExpired(ctx context.Context, tx pgx.Tx, parts partitionList, cutoff time.Time) (func(), error) {
	var dropped []string
	for _, p := range parts.ranges {
		if p.bounds.to.After(cutoff) {
			continue
		}
		if _, err := tx.Exec(ctx, "ALTER TABLE "+k.spec.qualified()+" DETACH PARTITION "+p.name+"; DROP TABLE "+p.name); err != nil {
			return nil, fmt.Errorf("partition %s: %w", p.name, err)
		}
		dropped = append(dropped, p.name)
	}
	deleted := int64(0)
	if parts.defaultPartition != "" {
		tag, err := tx.Exec(ctx, "DELETE FROM "+parts.defaultPartition+" WHERE "+quoteIdent(partitionColumn)+" < "+sqlLiteral(cutoff))
		if err != nil {
			return nil, fmt.Errorf("default partition %s: %w", parts.defaultPartition, err)
		}
		deleted = tag.RowsAffected()
	}
	if len(dropped) == 0 && deleted == 0 {
		return nil, nil
	}
	return func() {
		k.telemetry.partitionsDropped.Add(ctx, int64(len(dropped)), k.telemetry.own)
		k.logger.Info("Dropped partitions past retention", zap.Strings("partitions", dropped),
			zap.Int64("default_partition_rows_deleted", deleted), zap.Time("older_than", cutoff))
	}, nil
}

// partitionList is what the catalogs say about a table's partitions.
type partitionList struct {
	ranges []rangePartition
	// defaultPartition is the qualified, quoted name of the default partition ("" when there is none).
	defaultPartition string
}

type rangePartition struct {
	name   string // qualified and quoted
	bounds timeRange
}

const partitionsSQL = `SELECT n.nspname::text, c.relname::text, pg_get_expr(c.relpartbound, c.oid)
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE i.inhparent = to_regclass($1) ORDER BY c.relname`

// listPartitions reads the partitions of table. The session must render timestamps in UTC (see parseBound).
// Partitions with bounds other than a timestamptz range (MINVALUE, MAXVALUE) are left out: never made or dropped.
func listPartitions(ctx context.Context, q querier, table string) (partitionList, error) {
	rows, err := q.Query(ctx, partitionsSQL, table)
	if err != nil {
		return partitionList{}, err
	}
	defer rows.Close()
	var out partitionList
	for rows.Next() {
		var schema, name, bound string
		if err := rows.Scan(&schema, &name, &bound); err != nil {
			return partitionList{}, err
		}
		if bound == "DEFAULT" {
			out.defaultPartition = quoteQualified(schema, name)
			continue
		}
		if r, ok := parseBound(bound); ok {
			out.ranges = append(out.ranges, rangePartition{name: quoteQualified(schema, name), bounds: r})
		}
	}
	return out, rows.Err()
}
