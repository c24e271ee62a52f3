// Written by hand in the shape of mdatagen's generated_component_test.go (mdatagen is not served by the module
// proxy here): the component's lifecycle with every configuration it ships or tests, and no goroutine left behind
// by any test of the package.

package fapilogfile

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.uber.org/goleak"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogfile/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/lifecycletest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// inTempDir moves a configuration's files into a fresh directory, so that starting it touches nothing else.
func inTempDir(t *testing.T, cfg *Config) *Config {
	switch {
	case cfg.isConsole():
	case cfg.Directory != "":
		cfg.Directory = filepath.Join(t.TempDir(), filepath.Base(cfg.Directory)) // keeps a placeholder
	default:
		cfg.Path = filepath.Join(t.TempDir(), filepath.Base(cfg.Path))
	}
	return cfg
}

func TestComponentLifecycle(t *testing.T) {
	cm, err := confmaptest.LoadConf("metadata.yaml")
	require.NoError(t, err)
	tests, err := cm.Sub("tests::config")
	require.NoError(t, err)
	fromMetadata := createDefaultConfig().(*Config)
	require.NoError(t, tests.Unmarshal(fromMetadata))
	configs := map[string]*Config{"metadata.yaml": fromMetadata}
	for _, name := range []string{"", "full", "seed_aliases", "console", "tenants"} {
		configs["testdata "+name] = loadExporterConfig(t, "config.yaml", name)
	}
	for _, format := range []string{FormatJSON, FormatText, FormatPretty} {
		for _, mode := range []string{WriteModeBuffered, WriteModeMmap} {
			cfg := createDefaultConfig().(*Config)
			cfg.Path, cfg.Format, cfg.WriteMode = "app.log", format, mode
			configs[format+"/"+mode] = cfg
		}
	}
	for name, cfg := range configs {
		t.Run(name, func(t *testing.T) {
			lifecycletest.Exporter(t, NewFactory(), inTempDir(t, cfg))
		})
	}
}

func TestComponentLifecycle_ShutdownHonoursItsDeadlineWithWorkQueued(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Directory = t.TempDir()
	cfg.MaxBytes, cfg.CompressRotated, cfg.CompressionLevel = 2<<10, true, 9
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs(2000)))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	begin := time.Now()
	require.NoError(t, exp.Shutdown(ctx))
	assert.Less(t, time.Since(begin), 3*time.Second)
}
