package fapilogpostgres

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogpostgres/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/breaker"
)

func unmarshalConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.MustNewIDWithName(metadata.Type.String(), name).String())
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg, confmap.Validate(cfg)
}

func TestConfig_DefaultsAreTheSeedsAndValid(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, componenttest.CheckConfigStruct(cfg))
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, "localhost", cfg.Host)
	assert.Equal(t, 5432, cfg.Port)
	assert.Equal(t, "fapilog", cfg.Database)
	assert.Equal(t, "fapilog", cfg.User)
	assert.Equal(t, configopaque.String(""), cfg.Password)
	assert.Equal(t, "logs", cfg.TableName)
	assert.Equal(t, "public", cfg.SchemaName)
	assert.True(t, cfg.CreateTable)
	assert.Equal(t, 2, cfg.MinPoolSize)
	assert.Equal(t, 10, cfg.MaxPoolSize)
	assert.Equal(t, 10*time.Second, cfg.PoolAcquireTimeout)
	assert.True(t, cfg.UseJSONB)
	assert.True(t, cfg.IncludeRawJSON)
	assert.Equal(t, []string{"timestamp", "level", "logger", "correlation_id", "message"}, cfg.ExtractFields)
	assert.True(t, cfg.Deduplicate)
	assert.Equal(t, breaker.NewDefaultConfig(), cfg.Config)
	q := cfg.QueueConfig.Get()
	require.True(t, q.Batch.HasValue(), "batching is on by default")
	assert.Equal(t, exporterhelper.RequestSizerTypeItems, q.Batch.Get().Sizer)
	assert.Equal(t, int64(defaultBatchMinSize), q.Batch.Get().MinSize)
	assert.Equal(t, int64(defaultBatchMaxSize), q.Batch.Get().MaxSize)
	assert.Equal(t, q.NumConsumers, cfg.MaxPoolSize, "one connection per queue consumer")

	empty, err := unmarshalConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, cfg, empty)
}

func TestConfig_LoadsEveryKey(t *testing.T) {
	got, err := unmarshalConfig(t, "custom")
	require.NoError(t, err)

	want := createDefaultConfig().(*Config)
	want.Host, want.Port, want.Database, want.User = "db.example.com", 6432, "logs", "fapilog_writer"
	want.Password = "s3cret"
	want.TableName, want.SchemaName, want.CreateTable = "app_logs", "observability", false
	want.MinPoolSize, want.MaxPoolSize, want.PoolAcquireTimeout = 1, 20, 5*time.Second
	want.IncludeRawJSON = false
	want.ExtractFields = []string{"timestamp", "level", "message", "service", "trace_id"}
	want.GinOpclass = GinOpclassPathOps
	want.Deduplicate = false
	want.Config = breaker.Config{Enabled: true, Threshold: 3, Recovery: 10 * time.Second}
	want.Timeout = 10 * time.Second
	q := newDefaultQueueConfig()
	batch := q.Batch.Get()
	batch.MinSize, batch.MaxSize, batch.FlushTimeout = 100, 100, 5*time.Second
	want.QueueConfig = configoptional.Some(q)
	want.RetryConfig = configretry.NewDefaultBackOffConfig()
	want.RetryConfig.InitialInterval = 500 * time.Millisecond
	want.RetryConfig.MaxElapsedTime = time.Minute
	assert.Equal(t, want, got)

	partitioned, err := unmarshalConfig(t, "partitioned")
	require.NoError(t, err)
	assert.Equal(t, &PartitioningConfig{Interval: PartitionWeek, Retention: Retention(30 * 24 * time.Hour), Premake: 2},
		partitioned.Partitioning.Get())
	defaults, err := unmarshalConfig(t, "partitioned_defaults")
	require.NoError(t, err)
	assert.Equal(t, &PartitioningConfig{Interval: PartitionDay, Premake: 4}, defaults.Partitioning.Get(),
		"daily partitions, 4 made ahead, none dropped")
	assert.False(t, want.Partitioning.HasValue(), "no partitioning unless asked for")

	dsn, err := unmarshalConfig(t, "dsn")
	require.NoError(t, err)
	assert.Equal(t, configopaque.String("postgresql://user:pass@host:5432/dbname"), dsn.DSN)
}

func TestConfig_BadValuesNameTheKey(t *testing.T) {
	tests := map[string]string{
		"bad_extract_fields":     `extract_fields: unknown field "severity"; must be one of timestamp, level, logger, correlation_id, message, message_id,`,
		"bad_dsn":                "dsn: cannot parse the connection string: invalid port",
		"bad_gin_opclass":        "gin_opclass: must be one of jsonb_ops, jsonb_path_ops",
		"bad_pool":               "min_pool_size: must not exceed max_pool_size (10), got 20",
		"bad_port":               "port: must be between 1 and 65535, got 70000",
		"bad_acquire_timeout":    "pool_acquire_timeout: must be a duration of at least 1ms such as 10s",
		"bad_table_name":         "table_name: must not be empty",
		"bad_breaker":            "circuit_breaker_threshold: must be at least 1",
		"bad_partition_interval": `partitioning.interval: must be one of day, week, month, got "hourly"`,
		"bad_partition_premake":  "partitioning.premake: must be between 1 and 1000, got 0",
		"bad_partition_key":      "partitioning: needs timestamp in extract_fields (the partition key)",
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := unmarshalConfig(t, name)
			require.Error(t, err)
			assert.Contains(t, err.Error(), want)
		})
	}
}

func TestConfig_BadPartitioningKeysFailToDecodeNamingThem(t *testing.T) {
	for name, want := range map[string][]string{
		"bad_partition_retention":   {"'partitioning' decoding failed", `'retention' invalid retention "2 days"`},
		"bad_partition_unknown_key": {"'partitioning' decoding failed", "has invalid keys: intervall"},
	} {
		t.Run(name, func(t *testing.T) {
			cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
			require.NoError(t, err)
			sub, err := cm.Sub(component.MustNewIDWithName(metadata.Type.String(), name).String())
			require.NoError(t, err)
			err = sub.Unmarshal(createDefaultConfig().(*Config))
			require.Error(t, err)
			for _, w := range want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestConfig_MoreBadValuesNameTheKey(t *testing.T) {
	tests := map[string]struct {
		mutate func(*Config)
		want   string
	}{
		"duplicate field":    {func(c *Config) { c.ExtractFields = []string{"level", "level"} }, `extract_fields: "level" is listed twice`},
		"long table":         {func(c *Config) { c.TableName = strings.Repeat("t", 64) }, "table_name: must be at most 63 bytes"},
		"NUL schema":         {func(c *Config) { c.SchemaName = "a\x00b" }, "schema_name: must not contain a NUL byte"},
		"no host":            {func(c *Config) { c.Host = " " }, "host: must not be empty when dsn is not set"},
		"no database":        {func(c *Config) { c.Database = "" }, "database: must not be empty when dsn is not set"},
		"no user":            {func(c *Config) { c.User = "" }, "user: must not be empty when dsn is not set"},
		"zero max pool":      {func(c *Config) { c.MaxPoolSize = 0 }, "max_pool_size: must be between 1"},
		"negative min pool":  {func(c *Config) { c.MinPoolSize = -1 }, "min_pool_size: must be between 0"},
		"gin without jsonb":  {func(c *Config) { c.UseJSONB, c.GinOpclass = false, GinOpclassPathOps }, "gin_opclass: needs use_jsonb: true"},
		"bad sslmode in dsn": {func(c *Config) { c.DSN = "postgres://u:pw@h/db?sslmode=sometimes" }, "dsn: cannot parse the connection string"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			tc.mutate(cfg)
			err := confmap.Validate(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestConfig_BadDSNErrorNeverShowsThePassword(t *testing.T) {
	for _, dsn := range []string{
		"postgres://user:hunter2@host:notaport/db",
		"postgres://user:hunter2@host/db?sslmode=sometimes",
		"postgres://user:hunter2@[::1/db",
		"host=h password=hunter2 sslmode=sometimes",
		"host=h password='hunter2 port=x",
	} {
		cfg := createDefaultConfig().(*Config)
		cfg.DSN = configopaque.String(dsn)
		err := confmap.Validate(cfg)
		require.Error(t, err, dsn)
		assert.True(t, strings.HasPrefix(err.Error(), "dsn: "), err.Error())
		assert.NotContains(t, err.Error(), "hunter2")

		_, err = NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
		require.Error(t, err, "the factory refuses it too")
		assert.NotContains(t, err.Error(), "hunter2")
	}
}

func TestConfig_DSNOverridesConnectionFieldsButPasswordFillsIn(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.DSN = "postgres://writer@db.internal:6432/app"
	cfg.Host, cfg.Password = "ignored", "from-password-key"
	pc, err := cfg.poolConfig()
	require.NoError(t, err)
	assert.Equal(t, "db.internal", pc.ConnConfig.Host)
	assert.Equal(t, uint16(6432), pc.ConnConfig.Port)
	assert.Equal(t, "app", pc.ConnConfig.Database)
	assert.Equal(t, "writer", pc.ConnConfig.User)
	assert.Equal(t, "from-password-key", pc.ConnConfig.Password)
	assert.Equal(t, int32(2), pc.MinConns)
	assert.Equal(t, int32(10), pc.MaxConns)
	assert.Equal(t, 10*time.Second, pc.ConnConfig.ConnectTimeout, "pool_acquire_timeout bounds connecting")
	assert.Equal(t, applicationName, pc.ConnConfig.RuntimeParams["application_name"])

	cfg.DSN = "postgres://writer:in-dsn@db.internal/app?connect_timeout=3"
	pc, err = cfg.poolConfig()
	require.NoError(t, err)
	assert.Equal(t, "in-dsn", pc.ConnConfig.Password, "the DSN's own password wins")
	assert.Equal(t, 3*time.Second, pc.ConnConfig.ConnectTimeout)
}

func TestConfig_IndividualFieldsAreQuotedIntoTheConnectionString(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Host, cfg.Port, cfg.Database, cfg.User = "db.example.com", 6543, "my db", `o'brien`
	cfg.Password = `p@ss w'rd\`
	pc, err := cfg.poolConfig()
	require.NoError(t, err)
	assert.Equal(t, "db.example.com", pc.ConnConfig.Host)
	assert.Equal(t, uint16(6543), pc.ConnConfig.Port)
	assert.Equal(t, "my db", pc.ConnConfig.Database)
	assert.Equal(t, `o'brien`, pc.ConnConfig.User)
	assert.Equal(t, `p@ss w'rd\`, pc.ConnConfig.Password)
}

// resolveEnvConfig resolves testdata/env.yaml the way the collector does (file + env providers).
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
	sub, err := conf.Sub(metadata.Type.String())
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	require.NoError(t, confmap.Validate(cfg))
	return cfg
}

func TestConfig_FapilogEnvironmentVariables(t *testing.T) {
	t.Setenv("FAPILOG_POSTGRES__HOST", "db.example.com")
	t.Setenv("FAPILOG_POSTGRES__PORT", "6543")
	t.Setenv("FAPILOG_POSTGRES__DATABASE", "applogs")
	t.Setenv("FAPILOG_POSTGRES__USER", "writer")
	t.Setenv("FAPILOG_POSTGRES__PASSWORD", "env-secret")
	cfg := resolveEnvConfig(t)
	assert.Equal(t, "db.example.com", cfg.Host)
	assert.Equal(t, 6543, cfg.Port)
	assert.Equal(t, "applogs", cfg.Database)
	assert.Equal(t, "writer", cfg.User)
	assert.Equal(t, configopaque.String("env-secret"), cfg.Password)
	assert.Empty(t, cfg.DSN)

	t.Setenv("FAPILOG_POSTGRES__DSN", "postgres://dsnuser:dsnpass@dsnhost:7000/dsndb")
	cfg = resolveEnvConfig(t)
	pc, err := cfg.poolConfig()
	require.NoError(t, err)
	assert.Equal(t, "dsnhost", pc.ConnConfig.Host)
	assert.Equal(t, uint16(7000), pc.ConnConfig.Port)
	assert.Equal(t, "dsndb", pc.ConnConfig.Database)
	assert.Equal(t, "dsnuser", pc.ConnConfig.User)
	assert.Equal(t, "dsnpass", pc.ConnConfig.Password)
}

func TestConfig_EnvDefaultsApplyWhenUnset(t *testing.T) {
	for _, v := range []string{"DSN", "HOST", "PORT", "DATABASE", "USER", "PASSWORD"} {
		t.Setenv("FAPILOG_POSTGRES__"+v, "") // restored after the test
		require.NoError(t, os.Unsetenv("FAPILOG_POSTGRES__"+v))
	}
	cfg := resolveEnvConfig(t)
	assert.Empty(t, cfg.DSN)
	assert.Equal(t, "localhost", cfg.Host)
	assert.Equal(t, 5432, cfg.Port)
	assert.Equal(t, "fapilog", cfg.Database)
	assert.Equal(t, "fapilog", cfg.User)
	assert.Empty(t, cfg.Password)
}
