package fapilogpostgres

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seedDDL is the CREATE TABLE of the seed's "Table Schema" section, verbatim.
const seedDDL = `CREATE TABLE IF NOT EXISTS "public"."logs" (
    id BIGSERIAL PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    timestamp TIMESTAMPTZ,
    level VARCHAR(10),
    logger VARCHAR(255),
    correlation_id VARCHAR(64),
    message TEXT,
    event JSONB NOT NULL
)`

func defaultSpec() tableSpec {
	cfg := createDefaultConfig().(*Config)
	return newTableSpec(cfg)
}

func TestDDL_DefaultCreateTableIsTheSeedStatement(t *testing.T) {
	s := defaultSpec()
	assert.Equal(t, seedDDL, s.createTableSQL())
	assert.Equal(t, `CREATE SCHEMA IF NOT EXISTS "public"`, s.createSchemaSQL())
}

func TestDDL_SeedIndexesPlusUniqueMessageID(t *testing.T) {
	s := defaultSpec()
	var got []string
	for _, idx := range s.indexes(plainTable) {
		got = append(got, idx.sql)
	}
	assert.Equal(t, []string{
		`CREATE INDEX IF NOT EXISTS "idx_logs_timestamp" ON "public"."logs" (timestamp DESC)`,
		`CREATE INDEX IF NOT EXISTS "idx_logs_level" ON "public"."logs" (level)`,
		`CREATE INDEX IF NOT EXISTS "idx_logs_correlation_id" ON "public"."logs" (correlation_id) WHERE correlation_id IS NOT NULL`,
		`CREATE INDEX IF NOT EXISTS "idx_logs_event_gin" ON "public"."logs" USING GIN (event)`,
		`CREATE UNIQUE INDEX IF NOT EXISTS "idx_logs_message_id" ON "public"."logs" ("message_id")`,
	}, got)
}

func TestDDL_JSONHasNoGINIndexAndJSONColumn(t *testing.T) {
	s := defaultSpec()
	s.useJSONB, s.dedup = false, false
	assert.Contains(t, s.createTableSQL(), "    event JSON NOT NULL\n)")
	for _, idx := range s.indexes(plainTable) {
		assert.NotContains(t, idx.sql, "GIN")
	}
	assert.Len(t, s.indexes(plainTable), 3)
}

func TestDDL_GinOpclassPathOps(t *testing.T) {
	s := defaultSpec()
	s.ginOpclass = GinOpclassPathOps
	assert.Contains(t, s.indexes(plainTable)[3].sql, `USING GIN (event jsonb_path_ops)`)
}

func TestDDL_ExtraExtractedFieldsAreTextColumnsBeforeEvent(t *testing.T) {
	s := defaultSpec()
	cfg := createDefaultConfig().(*Config)
	cfg.ExtractFields = []string{"level", "service", "trace_id", "message"}
	s = newTableSpec(cfg)
	ddl := s.createTableSQL()
	assert.Contains(t, ddl, "    message TEXT,\n    service TEXT,\n    trace_id TEXT,\n    event JSONB NOT NULL\n)")
	// The seed's columns are always created, as fapilog does, even when not extracted.
	assert.Contains(t, ddl, "    logger VARCHAR(255),\n")
	assert.Equal(t, `ALTER TABLE "public"."logs" ADD COLUMN IF NOT EXISTS "service" TEXT`, s.addColumnSQL(s.extract[1]))
}

func TestDDL_QuotesAndDotsInNamesStayInsideTheIdentifier(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.SchemaName = `my.schema`
	cfg.TableName = `logs"; DROP TABLE users; --`
	s := newTableSpec(cfg)
	assert.True(t, strings.HasPrefix(s.createTableSQL(), `CREATE TABLE IF NOT EXISTS "my.schema"."logs""; DROP TABLE users; --" (`))
	assert.Equal(t, `CREATE INDEX IF NOT EXISTS "idx_logs""; DROP TABLE users; --_level" ON "my.schema"."logs""; DROP TABLE users; --" (level)`, s.indexes(plainTable)[1].sql)
}

func TestIndexName_LongTableNamesStayDistinctWithin63Bytes(t *testing.T) {
	assert.Equal(t, "idx_logs_timestamp", indexName("logs", indexTimestamp))
	long := strings.Repeat("é", 31) // 62 bytes
	seen := map[string]bool{}
	for _, suffix := range []string{indexTimestamp, indexLevel, indexCorrelationID, indexEventGIN, indexMessageID} {
		name := indexName(long, suffix)
		assert.LessOrEqual(t, len(name), maxIdentifierBytes, name)
		assert.True(t, strings.HasSuffix(name, "_"+suffix), name)
		assert.True(t, strings.HasPrefix(name, "idx_é"), name)
		assert.False(t, seen[name])
		seen[name] = true
		assert.True(t, strings.ToValidUTF8(name, "?") == name, "cut inside a character: %q", name)
	}
	assert.NotEqual(t, indexName(strings.Repeat("a", 63), indexLevel), indexName(strings.Repeat("a", 62)+"b", indexLevel))
}

// plainTable is an existing table that is not partitioned; uniqueOnMessageID its unique index on message_id.
var (
	plainTable        = tableInfo{exists: true}
	uniqueOnMessageID = [][]string{{"id"}, {"message_id"}}
)

// seedColumnsAsInformationSchema are the seed table's columns as information_schema.columns reports them.
func seedColumnsAsInformationSchema(withMessageID bool) []tableColumn {
	cols := []tableColumn{
		{name: "id", dataType: "bigint", hasDefault: true},
		{name: "created_at", dataType: "timestamp with time zone", hasDefault: true},
		{name: "timestamp", dataType: "timestamp with time zone", nullable: true},
		{name: "level", dataType: "character varying", maxChars: 10, nullable: true},
		{name: "logger", dataType: "character varying", maxChars: 255, nullable: true},
		{name: "correlation_id", dataType: "character varying", maxChars: 64, nullable: true},
		{name: "message", dataType: "text", nullable: true},
		{name: "event", dataType: "jsonb"},
	}
	if withMessageID {
		cols = append(cols, tableColumn{name: "message_id", dataType: "text", nullable: true})
	}
	return cols
}

func TestPlan_SeedTableWithUniqueMessageIDCopiesEventFirstAndDeduplicates(t *testing.T) {
	s := defaultSpec()
	p, err := buildPlan(&s, seedColumnsAsInformationSchema(true), plainTable, uniqueOnMessageID)
	require.NoError(t, err)
	assert.Equal(t, `COPY "public"."logs" ("event", "timestamp", "level", "logger", "correlation_id", "message", "message_id") FROM STDIN (FORMAT binary)`, p.copySQL)
	assert.True(t, p.dedup)
	assert.Equal(t, `INSERT INTO "public"."logs" ("event", "timestamp", "level", "logger", "correlation_id", "message", "message_id") SELECT "event", "timestamp", "level", "logger", "correlation_id", "message", "message_id" FROM pg_temp.fapilog_stage ON CONFLICT ("message_id") DO NOTHING`, p.mergeSQL)
	assert.Contains(t, p.stageSQL, `"level" character varying(10)`)
	assert.Equal(t, 10, p.columns[2].maxChars)
	assert.Empty(t, p.warnings)
}

func TestPlan_TableWithoutMessageIDFallsBackToPlainCopyWithWarning(t *testing.T) {
	s := defaultSpec()
	s.createTable = false
	p, err := buildPlan(&s, seedColumnsAsInformationSchema(false), plainTable, nil)
	require.NoError(t, err)
	assert.False(t, p.dedup)
	assert.NotContains(t, p.copySQL, "message_id")
	require.Len(t, p.warnings, 1)
	assert.Contains(t, p.warnings[0], "deduplicate is on")
	assert.Contains(t, p.warnings[0], `CREATE UNIQUE INDEX IF NOT EXISTS "idx_logs_message_id"`)

	// A message_id column without a unique index is written, but cannot arbitrate ON CONFLICT.
	p, err = buildPlan(&s, seedColumnsAsInformationSchema(true), plainTable, nil)
	require.NoError(t, err)
	assert.False(t, p.dedup)
	assert.Contains(t, p.copySQL, `"message_id"`)
	assert.Len(t, p.warnings, 1)
}

func TestPlan_MismatchedTablesAreStartupErrors(t *testing.T) {
	tests := map[string]struct {
		mutate func(s *tableSpec, cols []tableColumn) []tableColumn
		want   string
	}{
		"missing table": {func(s *tableSpec, _ []tableColumn) []tableColumn { s.createTable = false; return nil },
			`table "public"."logs" does not exist (create_table is false)`},
		"missing column": {func(_ *tableSpec, c []tableColumn) []tableColumn { return append(c[:3], c[4:]...) },
			`has no column "level" (extract_fields names it)`},
		"wrong type": {func(_ *tableSpec, c []tableColumn) []tableColumn { c[4].dataType = "integer"; return c },
			`column "logger" is integer; it must be text, varchar or char`},
		"timestamp as text": {func(_ *tableSpec, c []tableColumn) []tableColumn { c[2].dataType = "text"; return c },
			`column "timestamp" is text; it must be timestamptz or timestamp`},
		"json column with use_jsonb": {func(_ *tableSpec, c []tableColumn) []tableColumn { c[7].dataType = "json"; return c },
			`column "event" is json but use_jsonb is true`},
		"jsonb column without use_jsonb": {func(s *tableSpec, c []tableColumn) []tableColumn { s.useJSONB = false; return c },
			`column "event" is jsonb but use_jsonb is false`},
		"no event": {func(_ *tableSpec, c []tableColumn) []tableColumn { return c[:7] }, `has no column "event"`},
		"unfillable NOT NULL": {func(_ *tableSpec, c []tableColumn) []tableColumn {
			return append(c, tableColumn{name: "app", dataType: "text"})
		}, `column "app" is NOT NULL without a default`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := defaultSpec()
			cols := tc.mutate(&s, seedColumnsAsInformationSchema(true))
			_, err := buildPlan(&s, cols, plainTable, uniqueOnMessageID)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
