// Written by hand in the shape of mdatagen's generated_component_test.go (mdatagen is not served by the module
// proxy here): the component's lifecycle, and no goroutine left behind by any test of the package.

package fapilogloki

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/fapilog/fapilog-otelcol/internal/lifecycletest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestComponentLifecycle(t *testing.T) {
	// "full" names a CA file that does not exist here: start would fail on it, as it should.
	for _, name := range []string{"", "bearer", "tenants"} {
		t.Run("config "+name, func(t *testing.T) {
			cfg, err := loadConfig(t, name)
			require.NoError(t, err)
			lifecycletest.Exporter(t, NewFactory(), cfg)
		})
	}
}
