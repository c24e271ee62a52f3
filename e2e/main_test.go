package e2e

import (
	"testing"

	"github.com/fapilog/fapilog-otelcol/internal/pgtest"
)

// TestMain removes the private PostgreSQL cluster the tests shared, if they started one.
func TestMain(m *testing.M) {
	pgtest.StopAndExit(m.Run())
}
