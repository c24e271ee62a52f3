package fapilogfile

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogfile/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/confunits"
	"github.com/fapilog/fapilog-otelcol/internal/sendqueue"
)

func TestConfig_DefaultIsValidOnceAPathIsSet(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, componenttest.CheckConfigStruct(cfg))
	assert.ErrorContains(t, confmap.Validate(cfg), "path: must be set")
	cfg.Path = "x.jsonl"
	assert.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, confunits.ByteSize(10<<20), cfg.MaxBytes)
	assert.Equal(t, 5, cfg.CompressionLevel)
	assert.Equal(t, time.Second, cfg.FlushInterval)
	assert.False(t, cfg.QueueConfig.HasValue(), "no sending queue unless one is configured: pushes are synchronous")
	assert.True(t, cfg.RetryConfig.Enabled)
}

func TestConfig_AConfiguredQueueGetsTheFileDefaults(t *testing.T) {
	persistent := loadExporterConfig(t, "config.yaml", "persistent_queue")
	require.True(t, persistent.QueueConfig.HasValue(), "sending_queue: {storage: ...} turns the queue on")
	q := persistent.QueueConfig.Get()
	require.NotNil(t, q.StorageID)
	assert.Equal(t, "file_storage", q.StorageID.String())
	assert.Equal(t, 1, q.NumConsumers, "one consumer: records reach the file in the order they were queued")
	assert.Equal(t, exporterhelper.RequestSizerTypeBytes, q.Sizer)
	assert.EqualValues(t, sendqueue.DefaultQueueBytes, q.QueueSize)
	require.True(t, q.Batch.HasValue())
	assert.EqualValues(t, 100, q.Batch.Get().MinSize)
	assert.EqualValues(t, 1000, q.Batch.Get().MaxSize)
	assert.Equal(t, 200*time.Millisecond, q.Batch.Get().FlushTimeout)

	assert.False(t, loadExporterConfig(t, "config.yaml", "queue_off").QueueConfig.HasValue())
	assert.False(t, loadExporterConfig(t, "config.yaml", "").QueueConfig.HasValue())
}

func loadExporterConfig(t *testing.T, file, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", file))
	require.NoError(t, err)
	cfg := createDefaultConfig()
	sub, err := cm.Sub(component.MustNewIDWithName(metadata.Type.String(), name).String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	require.NoError(t, confmap.Validate(cfg))
	return cfg.(*Config)
}

func TestConfig_LoadsEveryKey(t *testing.T) {
	full := loadExporterConfig(t, "config.yaml", "full")
	assert.Equal(t, "/var/log/myapp/api.log", full.filePath())
	assert.Equal(t, FormatText, full.Format)
	assert.Equal(t, int64(5<<20), int64(full.MaxBytes))
	assert.Equal(t, confunits.Interval{Period: 24 * time.Hour, Keyword: "daily"}, full.Interval)
	assert.True(t, full.LocalTime)
	assert.Equal(t, 7, full.MaxFiles)
	assert.Equal(t, confunits.ByteSize(1<<30), full.MaxTotalBytes)
	assert.Equal(t, 168*time.Hour, full.MaxAge)
	assert.True(t, full.CompressRotated)
	assert.Equal(t, 9, full.CompressionLevel)
	assert.Zero(t, full.FlushInterval)
	assert.True(t, full.Fsync)
	assert.Equal(t, WriteModeMmap, full.WriteMode)
	assert.Equal(t, 10*time.Second, full.Timeout)
	assert.Equal(t, 500*time.Millisecond, full.RetryConfig.InitialInterval)
	assert.EqualValues(t, 500, full.QueueConfig.Get().Batch.Get().MaxSize)

	def := loadExporterConfig(t, "config.yaml", "")
	assert.Equal(t, "./logs/app.jsonl", def.filePath())
	assert.Equal(t, FormatJSON, def.Format)

	console := loadExporterConfig(t, "config.yaml", "console")
	assert.Equal(t, FormatPretty, console.Format)
	assert.Equal(t, ColorsAlways, console.Colors)
}

func TestConfig_TenantKeysLoad(t *testing.T) {
	cfg := loadExporterConfig(t, "config.yaml", "tenants")
	assert.Equal(t, "/var/log/tenants/{service.name}/{deployment.environment.name}.jsonl", cfg.filePath())
	assert.Equal(t, 200, cfg.Destinations.MaxDestinations)
	assert.Equal(t, "none", cfg.Destinations.PlaceholderDefault)
	assert.Equal(t, 64, cfg.MaxOpenFiles)
	tmpl, err := cfg.pathTemplate()
	require.NoError(t, err)
	assert.Equal(t, "/var/log/tenants", rootOf(tmpl))
	assert.Equal(t, "/var/log/tenants/none/none.jsonl", tmpl.DefaultName())

	def := createDefaultConfig().(*Config)
	assert.Equal(t, 100, def.Destinations.MaxDestinations)
	assert.Equal(t, "unknown", def.Destinations.PlaceholderDefault)
	assert.Equal(t, 100, def.MaxOpenFiles)
}

func TestConfig_SeedFactoryParametersAreAliases(t *testing.T) {
	cfg := loadExporterConfig(t, "config.yaml", "seed_aliases")
	assert.Equal(t, confunits.ByteSize(5<<20), cfg.MaxBytes, "rotation replaces max_bytes' default of 10 MB")
	assert.Equal(t, 7, cfg.MaxFiles)
	assert.True(t, cfg.CompressRotated)
	assert.Equal(t, FormatText, cfg.Format)
}

// An alias alone replaces its key's default whatever its value; an alias and its key both given must agree.
func TestConfig_SeedAliasesReplaceDefaultsAndConflictOnlyWithTheirKeyGiven(t *testing.T) {
	load := func(t *testing.T, raw map[string]any) *Config {
		t.Helper()
		cfg := createDefaultConfig().(*Config)
		require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(cfg))
		return cfg
	}
	for _, rotation := range []any{"5 MB", 0, "10 MB"} {
		cfg := load(t, map[string]any{"path": "logs/app.log", "rotation": rotation})
		require.NoError(t, cfg.Validate(), "rotation: %v", rotation)
		want := map[any]confunits.ByteSize{"5 MB": 5 << 20, 0: 0, "10 MB": 10 << 20}[rotation]
		assert.Equal(t, want, cfg.MaxBytes, "rotation: %v", rotation)
	}
	cfg := load(t, map[string]any{"path": "logs/app.log", "compression": false, "mode": "json", "retention": 0})
	require.NoError(t, cfg.Validate())
	assert.False(t, cfg.CompressRotated)
	assert.Zero(t, cfg.MaxFiles)

	for name, tc := range map[string]struct {
		raw  map[string]any
		want string
	}{
		"rotation":    {map[string]any{"rotation": "5 MB", "max_bytes": "1 MB"}, "rotation: conflicts with max_bytes"},
		"retention":   {map[string]any{"retention": 3, "max_files": 4}, "retention: conflicts with max_files"},
		"compression": {map[string]any{"compression": true, "compress_rotated": false}, "compression: conflicts with compress_rotated"},
		"mode":        {map[string]any{"mode": "text", "format": "json"}, "mode: conflicts with format"},
	} {
		tc.raw["path"] = "logs/app.log"
		assert.ErrorContains(t, load(t, tc.raw).Validate(), tc.want, name)
	}
	same := load(t, map[string]any{"path": "logs/app.log", "rotation": "1 MB", "max_bytes": "1 MB", "mode": "text", "format": "text"})
	assert.NoError(t, same.Validate(), "an alias equal to its key is no conflict")
}

func TestConfig_FapilogEnvironmentVariablesThroughEnvExpansion(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("FAPILOG_FILE__DIRECTORY", dir)
	t.Setenv("FAPILOG_FILE__MAX_BYTES", "1 MB")
	t.Setenv("FAPILOG_FILE__MAX_FILES", "3")
	t.Setenv("FAPILOG_FILE__COMPRESS_ROTATED", "true")
	t.Setenv("FAPILOG_FILE__INTERVAL_SECONDS", "daily")
	cfg := resolveEnvConfig(t)
	assert.Equal(t, filepath.Join(dir, "fapilog.jsonl"), cfg.filePath())
	assert.Equal(t, int64(1<<20), int64(cfg.MaxBytes))
	assert.Equal(t, 3, cfg.MaxFiles)
	assert.True(t, cfg.CompressRotated)
	assert.Equal(t, "daily", cfg.Interval.Keyword)

	t.Setenv("FAPILOG_FILE__MAX_BYTES", "2097152")
	t.Setenv("FAPILOG_FILE__INTERVAL_SECONDS", "3600")
	cfg = resolveEnvConfig(t)
	assert.Equal(t, int64(2<<20), int64(cfg.MaxBytes))
	assert.Equal(t, time.Hour, cfg.Interval.Period)
}

func TestConfig_EnvDefaultsApplyWhenUnset(t *testing.T) {
	cfg := resolveEnvConfig(t)
	assert.Equal(t, filepath.Join("logs", "fapilog.jsonl"), cfg.filePath())
	assert.Equal(t, int64(10<<20), int64(cfg.MaxBytes))
	assert.Equal(t, 5, cfg.MaxFiles)
	assert.False(t, cfg.CompressRotated)
	assert.False(t, cfg.Interval.Enabled())
}

func resolveEnvConfig(t *testing.T) *Config {
	t.Helper()
	resolver, err := confmap.NewResolver(confmap.ResolverSettings{
		URIs:              []string{"file:" + filepath.Join("testdata", "env.yaml")},
		ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory(), envprovider.NewFactory()},
		DefaultScheme:     "env",
	})
	require.NoError(t, err)
	conf, err := resolver.Resolve(context.Background())
	require.NoError(t, err)
	sub, err := conf.Sub("fapilogfile")
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	require.NoError(t, confmap.Validate(cfg))
	return cfg
}

func TestConfig_BadValuesNameTheKey(t *testing.T) {
	tests := map[string]struct {
		mutate func(*Config)
		key    string
	}{
		"format":            {func(c *Config) { c.Format = "xml" }, "format: must be one of json, text, pretty"},
		"colors":            {func(c *Config) { c.Colors = "rainbow" }, "colors: must be one of auto, always, never"},
		"write_mode":        {func(c *Config) { c.WriteMode = "direct" }, "write_mode: must be one of buffered, mmap"},
		"both paths":        {func(c *Config) { c.Directory = "/tmp" }, "path: set either path or directory"},
		"max_files":         {func(c *Config) { c.MaxFiles = -1 }, "max_files: must not be negative"},
		"max_age":           {func(c *Config) { c.MaxAge = -time.Hour }, "max_age: must not be negative"},
		"compression_level": {func(c *Config) { c.CompressionLevel = 11 }, "compression_level: must be between 1 and 9"},
		"flush_interval":    {func(c *Config) { c.FlushInterval = -1 }, "flush_interval: must not be negative"},
		"interval":          {func(c *Config) { c.Interval = confunits.Interval{Period: time.Millisecond} }, "interval: must be at least 1s"},
		"mode":              {func(c *Config) { m := "pretty"; c.Mode = &m }, "mode: must be one of json, text"},
		"mode conflict":     {func(c *Config) { m := "text"; c.Mode = &m; c.Format = FormatPretty }, "mode: conflicts with format"},
		"rotation conflict": {func(c *Config) { r := confunits.ByteSize(1); c.Rotation = &r }, "rotation: conflicts with max_bytes"},
		"prefix":            {func(c *Config) { c.Path = ""; c.Directory = "d"; c.FilenamePrefix = "a/b" }, "filename_prefix: must not contain"},
		"stdout rotation":   {func(c *Config) { c.Path = PathStdout; c.CompressRotated = true }, "path: stdout cannot be rotated"},
		"stdout mmap":       {func(c *Config) { c.Path = PathStdout; c.WriteMode = WriteModeMmap }, "write_mode: mmap needs a file"},
		"gzip path":         {func(c *Config) { c.Path = "logs/{service.name}.gz" }, "path: must not end in .gz"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.Path = "app.jsonl"
			tt.mutate(cfg)
			assert.ErrorContains(t, confmap.Validate(cfg), tt.key)
		})
	}
}

func TestConfig_BadSizeStringFailsToLoad(t *testing.T) {
	cfg := createDefaultConfig()
	err := confmap.NewFromStringMap(map[string]any{"path": "x", "max_bytes": "10 parsecs"}).Unmarshal(cfg)
	assert.ErrorContains(t, err, "max_bytes")
}
