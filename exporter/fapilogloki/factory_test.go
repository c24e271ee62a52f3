package fapilogloki

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogloki/internal/metadata"
)

func TestFactory_TypeAndStability(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, component.MustNewType("fapilogloki"), f.Type())
	assert.Equal(t, component.StabilityLevelAlpha, f.LogsStability())
}

func TestFactory_CreateStartShutdownWithoutTraffic(t *testing.T) {
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), createDefaultConfig())
	require.NoError(t, err, "the defaults alone make a working exporter (http://localhost:3100)")
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, exp.Shutdown(context.Background()))
}

func TestFactory_CreateRejectsABadEndpoint(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = "localhost:3100"
	_, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	assert.ErrorContains(t, err, "endpoint")
}

func TestFactory_StartFailsOnUnreadableCAFile(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = "https://127.0.0.1:1"
	cfg.ClientConfig.TLS = configtls.ClientConfig{Config: configtls.Config{CAFile: "/does/not/exist.pem"}}
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	assert.Error(t, exp.Start(context.Background(), componenttest.NewNopHost()))
}
