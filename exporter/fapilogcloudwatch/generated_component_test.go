// Written by hand in the shape of mdatagen's generated_component_test.go (mdatagen is not served by the module
// proxy here): the component's lifecycle, and no goroutine left behind by any test of the package.

package fapilogcloudwatch

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.uber.org/goleak"

	"github.com/fapilog/fapilog-otelcol/internal/lifecycletest"
)

// TestMain fails the package when a test leaves a goroutine behind. The one exception is kumo's: importing the
// emulator runs its DynamoDB store's constructor in an init function, which starts the TTL reaper for the life of
// the process (kumo v0.33.1, internal/service/dynamodb/storage.go). It is not ours and no test can stop it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/sivchari/kumo/internal/service/dynamodb.(*MemoryStorage).ttlReaper"))
}

// TestComponentLifecycle runs with metadata.yaml's tests.config and the valid configurations of
// testdata/config.yaml; the region comes from the environment, as in a deployment.
func TestComponentLifecycle(t *testing.T) {
	awsTestEnv(t)
	cm, err := confmaptest.LoadConf("metadata.yaml")
	require.NoError(t, err)
	sub, err := cm.Sub("tests::config")
	require.NoError(t, err)
	fromMetadata := createDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(fromMetadata))
	t.Run("metadata.yaml", func(t *testing.T) { lifecycletest.Exporter(t, NewFactory(), fromMetadata) })
	for _, name := range []string{"", "full", "retention", "per_service"} {
		cfg, err := loadConfig(t, name)
		require.NoError(t, err)
		t.Run("testdata "+name, func(t *testing.T) { lifecycletest.Exporter(t, NewFactory(), cfg) })
	}
}
