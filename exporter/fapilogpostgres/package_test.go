package fapilogpostgres

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/fapilog/fapilog-otelcol/internal/pgtest"
)

// TestMain checks for leaked goroutines, as mdatagen's generated package test does, then removes the private
// PostgreSQL cluster the tests shared (if they started one).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(pgtest.StopAndExit))
}
