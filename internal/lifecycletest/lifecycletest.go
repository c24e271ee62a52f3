// Package lifecycletest holds the lifecycle checks mdatagen would generate for every component
// (generated_component_test.go), written once: create from a configuration, start, shut down; shut down without
// start; and create twice from the same configuration, as the collector does when a component is in two pipelines.
package lifecycletest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
)

// Exporter runs the lifecycle checks on the logs exporter factory f with cfg (validated first).
func Exporter(t *testing.T, f exporter.Factory, cfg component.Config) {
	t.Helper()
	require.NoError(t, componenttest.CheckConfigStruct(f.CreateDefaultConfig()))
	require.NoError(t, cfg.(interface{ Validate() error }).Validate())
	create := func() exporter.Logs {
		exp, err := f.CreateLogs(context.Background(), exportertest.NewNopSettings(f.Type()), cfg)
		require.NoError(t, err)
		return exp
	}
	t.Run("shutdown", func(t *testing.T) {
		exp := create()
		require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
		require.NoError(t, exp.ConsumeLogs(context.Background(), plog.NewLogs()), "an empty batch is accepted")
		require.NoError(t, exp.Shutdown(context.Background()))
	})
	t.Run("shutdown without start", func(t *testing.T) {
		require.NoError(t, create().Shutdown(context.Background()))
	})
	t.Run("two instances", func(t *testing.T) {
		a, b := create(), create()
		require.NoError(t, a.Shutdown(context.Background()))
		require.NoError(t, b.Shutdown(context.Background()))
	})
}

// Processor runs the lifecycle checks on the logs processor factory f with cfg (validated first).
func Processor(t *testing.T, f processor.Factory, cfg component.Config) {
	t.Helper()
	require.NoError(t, componenttest.CheckConfigStruct(f.CreateDefaultConfig()))
	require.NoError(t, cfg.(interface{ Validate() error }).Validate())
	create := func() processor.Logs {
		p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), cfg, consumertest.NewNop())
		require.NoError(t, err)
		return p
	}
	t.Run("shutdown", func(t *testing.T) {
		p := create()
		require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
		require.NoError(t, p.ConsumeLogs(context.Background(), plog.NewLogs()))
		require.NoError(t, p.Shutdown(context.Background()))
	})
	t.Run("shutdown without start", func(t *testing.T) {
		require.NoError(t, create().Shutdown(context.Background()))
	})
}
