// Written by hand in the shape of mdatagen's generated_package_test.go (mdatagen is not served by the module proxy
// here): no goroutine left behind by any test of the package.

package fapilogpostgres

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/fapilog/fapilog-otelcol/internal/pgtest"
)

// TestMain checks for leaked goroutines, then removes the private PostgreSQL cluster the tests shared (if they
// started one).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(pgtest.StopAndExit))
}
