package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fapilog/fapilog-otelcol/internal/pgtest"
)

// PostgresSchema is a schema of its own in the test process's PostgreSQL server (internal/pgtest: a private
// throwaway cluster unless FAPILOG_TEST_POSTGRES_URL names one), dropped when the test ends.
type PostgresSchema struct {
	URL  string
	Name string
	DB   *pgx.Conn
}

// NewPostgresSchema creates the schema and points fapilog's PostgreSQL variables (FAPILOG_POSTGRES__DSN,
// FAPILOG_POSTGRES__SCHEMA_NAME), which the shipped configs read, at it.
func NewPostgresSchema(t testing.TB, prefix string) *PostgresSchema {
	t.Helper()
	s := &PostgresSchema{URL: pgtest.Shared(t).URL()}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := pgx.Connect(ctx, s.URL)
	if err != nil {
		t.Fatalf("PostgreSQL not reachable at %s: %v", s.URL, err)
	}
	s.DB = db
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	s.Name = prefix + hex.EncodeToString(suffix[:])
	t.Cleanup(func() {
		if _, err := db.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{s.Name}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", s.Name, err)
		}
		_ = db.Close(context.Background())
	})
	t.Setenv("FAPILOG_POSTGRES__DSN", s.URL)
	t.Setenv("FAPILOG_POSTGRES__SCHEMA_NAME", s.Name)
	return s
}

// Table is the schema-qualified, quoted name of table.
func (s *PostgresSchema) Table(table string) string { return pgx.Identifier{s.Name, table}.Sanitize() }

// Int runs a query returning one integer; -1 when it fails (the table may not exist yet).
func (s *PostgresSchema) Int(sql string) int {
	var n int
	if err := s.DB.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		return -1
	}
	return n
}
