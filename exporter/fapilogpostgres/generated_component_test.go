// Written by hand in the shape of mdatagen's generated_component_test.go (mdatagen is not served by the module
// proxy here): the component's lifecycle.

package fapilogpostgres

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/fapilog/fapilog-otelcol/internal/lifecycletest"
)

func TestComponentLifecycle(t *testing.T) {
	t.Run("reachable server", func(t *testing.T) {
		// metadata.yaml's tests.config, pointed at the test's own server and a schema of the test's own.
		cfg := testConfig(t, newTestSchema(t, connectTestDB(t)))
		lifecycletest.Exporter(t, NewFactory(), cfg)
	})
	t.Run("unreachable server", func(t *testing.T) {
		// The collector starts and waits for the database (README, "The table").
		cfg := createDefaultConfig().(*Config)
		cfg.DSN = configopaque.String(dsnThrough(t, closedPort(t)))
		cfg.PoolAcquireTimeout = 200 * time.Millisecond
		lifecycletest.Exporter(t, NewFactory(), cfg)
	})
	t.Run("partitioned table", func(t *testing.T) {
		cfg := testConfig(t, newTestSchema(t, connectTestDB(t)))
		cfg.Partitioning.GetOrInsertDefault()
		lifecycletest.Exporter(t, NewFactory(), cfg)
	})
}
