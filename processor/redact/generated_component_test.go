// Written by hand in the shape of the component tests mdatagen generates (mdatagen is not served by the module
// proxy here), extended to every valid configuration of testdata/config.yaml. The factory type and config struct
// checks of that shape are in processor_test.go and config_test.go.

package redact

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/fapilog/fapilog-otelcol/processor/redact/internal/metadata"
)

type contextCapturingConsumer struct{ capturedCtx context.Context }

func (*contextCapturingConsumer) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

func (c *contextCapturingConsumer) ConsumeLogs(ctx context.Context, _ plog.Logs) error {
	c.capturedCtx = ctx
	return nil
}

type ccpKey struct{}

// lifecycleConfigs are the configurations the lifecycle runs with: metadata.yaml's tests.config (the
// default) and the valid entries of testdata/config.yaml.
func lifecycleConfigs(t *testing.T) map[string]component.Config {
	cm, err := confmaptest.LoadConf("metadata.yaml")
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig()
	sub, err := cm.Sub("tests::config")
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(&cfg))
	configs := map[string]component.Config{"metadata.yaml": cfg}
	for _, name := range []string{"", "full", "off", "null_entry_defaults"} {
		c, err := loadConfig(t, name)
		require.NoError(t, err)
		configs["testdata/"+component.NewIDWithName(metadata.Type, name).String()] = c
	}
	return configs
}

func TestComponentLifecycle(t *testing.T) {
	factory := NewFactory()
	for name, cfg := range lifecycleConfigs(t) {
		t.Run(name+"-shutdown", func(t *testing.T) {
			c, err := factory.CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg,
				&contextCapturingConsumer{})
			require.NoError(t, err)
			require.NoError(t, c.Shutdown(context.Background()))
		})
		t.Run(name+"-lifecycle", func(t *testing.T) {
			next := &contextCapturingConsumer{}
			c, err := factory.CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, next)
			require.NoError(t, err)
			require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
			ctx := context.WithValue(context.Background(), ccpKey{}, "test-value")
			require.NotPanics(t, func() {
				err = c.ConsumeLogs(ctx, generateLifecycleTestLogs())
			})
			require.NoError(t, err)
			require.Same(t, ctx, next.capturedCtx)
			require.NoError(t, c.Shutdown(context.Background()))
		})
	}
}

func generateLifecycleTestLogs() plog.Logs {
	logs := plog.NewLogs()
	rl := logs.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("resource", "R1")
	l := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	l.Body().SetStr("test log message")
	l.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	return logs
}
