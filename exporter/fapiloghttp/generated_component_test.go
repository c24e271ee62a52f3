// Written by hand in the shape of mdatagen's generated_component_test.go (mdatagen is not served by the module
// proxy here): the component's lifecycle, and no goroutine left behind by any test of the package.

package fapiloghttp

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/fapilog/fapilog-otelcol/internal/lifecycletest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestComponentLifecycle(t *testing.T) {
	for _, name := range []string{"", "webhook", "legacy_header"} {
		t.Run("config "+name, func(t *testing.T) {
			lifecycletest.Exporter(t, NewFactory(), loadConfig(t, "config.yaml", name))
		})
	}
}
