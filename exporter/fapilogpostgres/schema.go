package fapilogpostgres

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// tableSpec is what the configuration asks of the target table.
type tableSpec struct {
	schema, table string
	createTable   bool
	useJSONB      bool
	includeRaw    bool
	ginOpclass    string
	dedup         bool
	extract       []extractField
	// partitioning is nil unless the table is to be partitioned by time (partitioning is set).
	partitioning *partitionScheme
}

func newTableSpec(c *Config) tableSpec {
	s := tableSpec{
		schema: c.SchemaName, table: c.TableName, createTable: c.CreateTable, useJSONB: c.UseJSONB,
		includeRaw: c.IncludeRawJSON, ginOpclass: c.GinOpclass, dedup: c.Deduplicate,
	}
	for _, name := range c.ExtractFields {
		f, _ := lookupExtractField(name) // names checked by Validate
		s.extract = append(s.extract, f)
	}
	if p := c.Partitioning.Get(); p != nil {
		s.partitioning = newPartitionScheme(*p)
	}
	return s
}

func quoteIdent(name string) string { return pgx.Identifier{name}.Sanitize() }

func quoteQualified(schema, table string) string { return pgx.Identifier{schema, table}.Sanitize() }

func (s *tableSpec) qualified() string { return quoteQualified(s.schema, s.table) }

// indexName is idx_<table>_<suffix> as the seed names its indexes.
func indexName(table, suffix string) string { return boundedName("idx_", table, suffix) }

// partitionName is <table>_<suffix> (logs_p20260102, logs_default).
func partitionName(table, suffix string) string { return boundedName("", table, suffix) }

// boundedName is <prefix><table>_<suffix>. A name longer than PostgreSQL's 63 bytes would be truncated by the
// server, and the names derived from a long table name would collide; such a name keeps a prefix of the table name
// plus a hash of the whole name.
func boundedName(prefix, table, suffix string) string {
	name := prefix + table + "_" + suffix
	if len(name) <= maxIdentifierBytes {
		return name
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(table))
	tail := fmt.Sprintf("_%08x_%s", h.Sum32(), suffix)
	keep := maxIdentifierBytes - len(prefix) - len(tail)
	for keep > 0 && !utf8.RuneStart(table[keep]) {
		keep--
	}
	return prefix + table[:keep] + tail
}

// Index name suffixes.
const (
	indexTimestamp     = "timestamp"
	indexLevel         = "level"
	indexCorrelationID = "correlation_id"
	indexEventGIN      = "event_gin"
	indexMessageID     = "message_id"
)

func (s *tableSpec) eventType() string {
	if s.useJSONB {
		return "JSONB"
	}
	return "JSON"
}

// extraColumns are the extracted columns that are not among the seed's fixed ones, in extract_fields order.
func (s *tableSpec) extraColumns() []extractField {
	var extra []extractField
	for _, f := range s.extract {
		if !isSeedColumn(f.name) {
			extra = append(extra, f)
		}
	}
	return extra
}

func isSeedColumn(name string) bool {
	for _, c := range seedColumns {
		if c == name {
			return true
		}
	}
	return false
}

// createSchemaSQL is the seed's CREATE SCHEMA IF NOT EXISTS.
func (s *tableSpec) createSchemaSQL() string {
	return "CREATE SCHEMA IF NOT EXISTS " + quoteIdent(s.schema)
}

// createTableSQL is the seed's CREATE TABLE, text for text; extracted fields beyond the seed's are TEXT columns
// placed before event. With the default extract_fields it is exactly the statement the seed documents. With
// partitioning, the table is partitioned by range on timestamp, and its primary key becomes (id, timestamp):
// PostgreSQL requires every unique key of a partitioned table to include the partition key.
func (s *tableSpec) createTableSQL() string {
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + s.qualified() + " (\n")
	if s.partitioning != nil {
		b.WriteString("    id BIGSERIAL,\n")
	} else {
		b.WriteString("    id BIGSERIAL PRIMARY KEY,\n")
	}
	b.WriteString("    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),\n")
	for _, name := range seedColumns {
		f, _ := lookupExtractField(name)
		b.WriteString("    " + f.name + " " + f.sqlType + ",\n")
	}
	for _, f := range s.extraColumns() {
		b.WriteString("    " + f.name + " " + f.sqlType + ",\n")
	}
	b.WriteString("    event " + s.eventType() + " NOT NULL")
	if s.partitioning != nil {
		b.WriteString(",\n    PRIMARY KEY (id, " + quoteIdent(partitionColumn) + ")\n) PARTITION BY RANGE (" + quoteIdent(partitionColumn) + ")")
		return b.String()
	}
	b.WriteString("\n)")
	return b.String()
}

// partitionColumn is the partition key of a table the exporter partitions.
const partitionColumn = "timestamp"

// defaultPartitionSQL creates the default partition: it holds the rows no range partition covers (records from
// before the oldest partition or after the newest, such as those of a client with a wrong clock), so that no
// record is ever refused for its timestamp.
func (s *tableSpec) defaultPartitionSQL() string {
	return "CREATE TABLE IF NOT EXISTS " + quoteQualified(s.schema, partitionName(s.table, "default")) +
		" PARTITION OF " + s.qualified() + " DEFAULT"
}

// addColumnSQL adds an extracted column an existing table lacks (create_table only).
func (s *tableSpec) addColumnSQL(f extractField) string {
	return "ALTER TABLE " + s.qualified() + " ADD COLUMN IF NOT EXISTS " + quoteIdent(f.name) + " " + f.sqlType
}

// indexDDL is one index create_table makes.
type indexDDL struct {
	name string
	sql  string
}

// indexes are the seed's four indexes (GIN only with JSONB) plus, with deduplicate, the unique message_id index,
// which on a partitioned table includes the partition key (dedupKey).
func (s *tableSpec) indexes(t tableInfo) []indexDDL {
	tbl := s.qualified()
	mk := func(suffix, def string, unique bool) indexDDL {
		name := indexName(s.table, suffix)
		kw := "CREATE INDEX IF NOT EXISTS "
		if unique {
			kw = "CREATE UNIQUE INDEX IF NOT EXISTS "
		}
		return indexDDL{name: name, sql: kw + quoteIdent(name) + " ON " + tbl + " " + def}
	}
	idx := []indexDDL{
		mk(indexTimestamp, "(timestamp DESC)", false),
		mk(indexLevel, "(level)", false),
		mk(indexCorrelationID, "(correlation_id) WHERE correlation_id IS NOT NULL", false),
	}
	if s.useJSONB {
		opclass := ""
		if s.ginOpclass != GinOpclassDefault {
			opclass = " " + s.ginOpclass
		}
		idx = append(idx, mk(indexEventGIN, "USING GIN (event"+opclass+")", false))
	}
	if s.dedup {
		idx = append(idx, mk(indexMessageID, "("+quoteList(t.dedupKey())+")", true))
	}
	return idx
}

func quoteList(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = quoteIdent(n)
	}
	return strings.Join(quoted, ", ")
}

// tableInfo is what the catalogs say about the table itself.
type tableInfo struct {
	exists      bool
	partitioned bool
	// strategy is pg_partitioned_table.partstrat ("r" for range); partitionKey its key columns.
	strategy     string
	partitionKey []string
}

// dedupKey is the key of the unique index duplicate protection uses: message_id, plus on a partitioned table its
// partition key, which PostgreSQL requires in every unique index of a partitioned table.
func (t tableInfo) dedupKey() []string {
	key := []string{messageIDColumn}
	for _, c := range t.partitionKey {
		if c != messageIDColumn {
			key = append(key, c)
		}
	}
	return key
}

// partitionedByTimestamp reports whether the table is partitioned the way partitioning needs it.
func (t tableInfo) partitionedByTimestamp() bool {
	return t.partitioned && t.strategy == "r" && len(t.partitionKey) == 1 && t.partitionKey[0] == partitionColumn
}

const tableInfoSQL = `SELECT c.relkind = 'p', COALESCE(pt.partstrat::text, ''),
	COALESCE((SELECT array_agg(a.attname::text ORDER BY k.ord)
		FROM unnest(pt.partattrs::int2[]) WITH ORDINALITY AS k(attnum, ord)
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum), '{}')
FROM pg_class c LEFT JOIN pg_partitioned_table pt ON pt.partrelid = c.oid
WHERE c.oid = to_regclass($1)`

func inspectTable(ctx context.Context, q querier, qualified string) (tableInfo, error) {
	rows, err := q.Query(ctx, tableInfoSQL, qualified)
	if err != nil {
		return tableInfo{}, err
	}
	defer rows.Close()
	var t tableInfo
	for rows.Next() {
		t.exists = true
		if err := rows.Scan(&t.partitioned, &t.strategy, &t.partitionKey); err != nil {
			return tableInfo{}, err
		}
	}
	return t, rows.Err()
}

// tableColumn is one row of information_schema.columns.
type tableColumn struct {
	name       string
	dataType   string
	maxChars   int
	nullable   bool
	hasDefault bool
}

const columnsSQL = `SELECT column_name::text, data_type::text, COALESCE(character_maximum_length, 0)::int,
	is_nullable = 'YES', (column_default IS NOT NULL OR is_identity = 'YES' OR is_generated <> 'NEVER')
FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`

func inspectColumns(ctx context.Context, q querier, schema, table string) ([]tableColumn, error) {
	rows, err := q.Query(ctx, columnsSQL, schema, table)
	if err != nil {
		return nil, err
	}
	var cols []tableColumn
	for rows.Next() {
		var c tableColumn
		if err := rows.Scan(&c.name, &c.dataType, &c.maxChars, &c.nullable, &c.hasDefault); err != nil {
			rows.Close()
			return nil, err
		}
		cols = append(cols, c)
	}
	return cols, rows.Err()
}

// uniqueKeysSQL lists the key columns of the table's unique, immediate, non-partial indexes on plain columns: the
// only kind ON CONFLICT (columns) can use as its arbiter.
const uniqueKeysSQL = `SELECT array_agg(a.attname::text ORDER BY k.ord)
FROM pg_index i
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indimmediate AND i.indisvalid
	AND i.indpred IS NULL AND i.indexprs IS NULL AND k.ord <= i.indnkeyatts
GROUP BY i.indexrelid`

func inspectUniqueKeys(ctx context.Context, q querier, qualified string) ([][]string, error) {
	rows, err := q.Query(ctx, uniqueKeysSQL, qualified)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys [][]string
	for rows.Next() {
		var key []string
		if err := rows.Scan(&key); err != nil {
			return nil, err
		}
		keys = append(keys, key)
	}
	return keys, rows.Err()
}

// querier is what the catalog queries need of a *pgx.Conn or a pgx.Tx.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// ensureTable runs create_table: it creates only what is missing (so a writer that does not own an existing
// table is not asked for privileges it lacks), under an advisory lock so that collectors starting together do
// not race on CREATE TABLE.
func ensureTable(ctx context.Context, conn *pgx.Conn, s *tableSpec) (created []string, err error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", "fapilogpostgres:"+s.qualified()); err != nil {
		return nil, err
	}
	var schemaExists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", s.schema).Scan(&schemaExists); err != nil {
		return nil, err
	}
	exec := func(what, sql string) error {
		if _, err := tx.Exec(ctx, sql); err != nil {
			return fmt.Errorf("create_table: %s: %w", what, err)
		}
		created = append(created, what)
		return nil
	}
	if !schemaExists {
		if err := exec("schema "+quoteIdent(s.schema), s.createSchemaSQL()); err != nil {
			return nil, err
		}
	}
	cols, err := inspectColumns(ctx, tx, s.schema, s.table)
	if err != nil {
		return nil, err
	}
	if len(cols) == 0 {
		if err := exec("table "+s.qualified(), s.createTableSQL()); err != nil {
			return nil, err
		}
		if cols, err = inspectColumns(ctx, tx, s.schema, s.table); err != nil {
			return nil, err
		}
	}
	info, err := inspectTable(ctx, tx, s.qualified())
	if err != nil {
		return nil, err
	}
	if s.partitioning != nil {
		if err := s.checkPartitioned(info); err != nil {
			return nil, err
		}
		var hasDefault bool
		if err := tx.QueryRow(ctx, "SELECT partdefid <> 0 FROM pg_partitioned_table WHERE partrelid = to_regclass($1)",
			s.qualified()).Scan(&hasDefault); err != nil {
			return nil, err
		}
		if !hasDefault {
			if err := exec("default partition "+quoteIdent(partitionName(s.table, "default")), s.defaultPartitionSQL()); err != nil {
				return nil, err
			}
		}
	}
	have := make(map[string]bool, len(cols))
	for _, c := range cols {
		have[c.name] = true
	}
	missing := s.extraColumns()
	if s.dedup {
		f, _ := lookupExtractField(messageIDColumn)
		missing = append(missing, f)
	}
	for _, f := range missing {
		if !have[f.name] {
			have[f.name] = true
			if err := exec("column "+quoteIdent(f.name), s.addColumnSQL(f)); err != nil {
				return nil, err
			}
		}
	}
	existing := map[string]bool{}
	rows, err := tx.Query(ctx, "SELECT indexname::text FROM pg_indexes WHERE schemaname = $1", s.schema)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return nil, err
		}
		existing[name] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, idx := range s.indexes(info) {
		if !existing[idx.name] {
			if err := exec("index "+quoteIdent(idx.name), idx.sql); err != nil {
				return nil, err
			}
		}
	}
	return created, tx.Commit(ctx)
}

// checkPartitioned refuses, when partitioning is set, a table that is not partitioned by range on timestamp: an
// existing table is never converted (that rewrites every row under an exclusive lock).
func (s *tableSpec) checkPartitioned(t tableInfo) error {
	switch {
	case !t.partitioned:
		return mismatch("partitioning is set but table %s exists and is not partitioned: it is left as it is. "+
			"Use a new table_name (the exporter creates it partitioned) or migrate the rows into a partitioned table (README, Partitioning)", s.qualified())
	case !t.partitionedByTimestamp():
		return mismatch("partitioning is set but table %s is partitioned by %s (strategy %s), not by range on %q",
			s.qualified(), strings.Join(t.partitionKey, ", "), t.strategy, partitionColumn)
	}
	return nil
}

func (s *tableSpec) extracts(name string) bool {
	for _, f := range s.extract {
		if f.name == name {
			return true
		}
	}
	return false
}
