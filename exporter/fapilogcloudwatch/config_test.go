package fapilogcloudwatch

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogcloudwatch/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/destination"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	return cfg, sub.Unmarshal(cfg)
}

func TestCreateDefaultConfig_FollowsFapilogAndIsComplete(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, componenttest.CheckConfigStruct(cfg))
	assert.Equal(t, "/fapilog/default", cfg.LogGroupName)
	assert.Equal(t, "{hostname}-{timestamp}", cfg.LogStreamName)
	assert.Equal(t, 100, cfg.Destinations.MaxDestinations, "distinct log groups, when log_group_name has placeholders")
	assert.Equal(t, "unknown", cfg.Destinations.PlaceholderDefault)
	assert.Empty(t, cfg.Region, "from AWS_REGION / AWS_DEFAULT_REGION")
	assert.True(t, cfg.CreateLogGroup)
	assert.True(t, cfg.CreateLogStream)
	assert.Zero(t, cfg.LogRetentionDays)
	assert.EqualValues(t, 262144, cfg.MaxEventSize)
	assert.Equal(t, OversizeDrop, cfg.Oversize)
	assert.Equal(t, 10*time.Second, cfg.TimeoutConfig.Timeout)
	require.True(t, cfg.QueueConfig.HasValue())
	batch := cfg.QueueConfig.Get().Batch
	require.True(t, batch.HasValue(), "batching on by default")
	assert.Equal(t, exporterhelper.RequestSizerTypeBytes, batch.Get().Sizer, "batches measured as CloudWatch measures a request")
	assert.EqualValues(t, 1_048_576, batch.Get().MinSize, "a batch goes out when it fills one PutLogEvents request")
	assert.EqualValues(t, 1_048_576, batch.Get().MaxSize, "and never holds more than one")
	assert.Equal(t, 5*time.Second, batch.Get().FlushTimeout, "fapilog batch_timeout_seconds")
	assert.Equal(t, exporterhelper.RequestSizerTypeBytes, cfg.QueueConfig.Get().Sizer, "memory bounded in bytes")
	assert.EqualValues(t, 8<<20, cfg.QueueConfig.Get().QueueSize)
	assert.True(t, cfg.CircuitBreaker.Enabled)
	assert.Equal(t, 5, cfg.CircuitBreaker.Threshold)
	assert.NoError(t, confmap.Validate(cfg), "the defaults are a working configuration")
}

func TestUnmarshal_EmptyKeepsDefaults(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, createDefaultConfig(), cfg)
}

func TestUnmarshal_Full(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	require.NoError(t, err)
	require.NoError(t, confmap.Validate(cfg))

	want := createDefaultConfig().(*Config)
	want.LogGroupName = "/myapp/production"
	want.LogStreamName = "{service.name}-{hostname}"
	want.Region = "eu-west-1"
	want.EndpointURL = "http://localhost:4566"
	want.CreateLogGroup = false
	want.MaxEventSize = 1 << 20
	want.Oversize = OversizeTruncate
	want.TimeoutConfig.Timeout = 20 * time.Second
	want.CircuitBreaker.Threshold = 3
	want.CircuitBreaker.Recovery = 10 * time.Second
	want.RetryConfig.InitialInterval = 500 * time.Millisecond
	batch := want.QueueConfig.Get().Batch.Get()
	batch.Sizer = exporterhelper.RequestSizerTypeItems
	batch.MinSize, batch.MaxSize, batch.FlushTimeout = 100, 100, time.Second
	assert.Equal(t, want, cfg)
}

func TestUnmarshal_FapilogExampleWithRetention(t *testing.T) {
	cfg, err := loadConfig(t, "retention")
	require.NoError(t, err)
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, "api-server-1", cfg.LogStreamName)
	assert.EqualValues(t, 30, cfg.LogRetentionDays)
	assert.EqualValues(t, 262144, cfg.MaxEventSize)
}

func TestUnmarshal_OneGroupPerService(t *testing.T) {
	cfg, err := loadConfig(t, "per_service")
	require.NoError(t, err)
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, "/tenants/{service.name}", cfg.LogGroupName)
	assert.Equal(t, destination.Config{MaxDestinations: 50, PlaceholderDefault: "no-service"}, cfg.Destinations)
	assert.EqualValues(t, 14, cfg.LogRetentionDays)
}

func TestValidate_NamesTheKey(t *testing.T) {
	tests := map[string]string{
		"bad_group":                        "log_group_name: ' ' is not allowed in a CloudWatch log group name",
		"empty_group":                      "log_group_name: must not be empty",
		"long_group":                       "log_group_name: must be at most 512 bytes",
		"reserved_group":                   `log_group_name: must not start with "aws/"`,
		"bad_group_placeholder_default":    `placeholder_default: "n a" is not a valid value in a CloudWatch log group name`,
		"bad_max_destinations":             "max_destinations: must be at least 1",
		"bad_stream":                       "log_stream_name: ':' is not allowed in a CloudWatch log stream name",
		"unclosed_placeholder":             "log_stream_name: '{' without a matching '}'",
		"bad_retention":                    "log_retention_days: must be 0 (never expire) or one of 1, 3, 5, 7, 14",
		"retention_without_group_creation": "log_retention_days: only applied when the exporter creates the log group",
		"event_too_large":                  "max_event_size: must be between 256 B and 1 MB",
		"event_too_small":                  "max_event_size: must be between 256 B and 1 MB",
		"bad_oversize":                     "oversize: must be one of drop, truncate",
		"bad_endpoint":                     "endpoint_url: must be an http:// or https:// URL",
		"bad_region":                       "region: must be a region name",
		"negative_timeout":                 "timeout: must not be negative",
		"bad_breaker":                      "circuit_breaker_threshold: must be at least 1",
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, err := loadConfig(t, name)
			require.NoError(t, err)
			assert.ErrorContains(t, confmap.Validate(cfg), want)
		})
	}
}

func TestLoad_NegativeMaxEventSizeFailsNamingTheKey(t *testing.T) {
	_, err := loadConfig(t, "negative_max_event_size")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "max_event_size")
	assert.Contains(t, err.Error(), "must not be negative")
}

func TestValidate_QueueCanBeTurnedOff(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	assert.NoError(t, confmap.Validate(cfg))
}

// endpoint_url with credentials in it must not have its password echoed by Validate when the URL is refused.
func TestConfig_ValidateDoesNotEchoTheEndpointURLPassword(t *testing.T) {
	for _, endpoint := range []string{"htps://alice:hunter2@vpce.example.com", "alice:hunter2@vpce.example.com"} {
		cfg := createDefaultConfig().(*Config)
		cfg.EndpointURL = endpoint
		err := cfg.Validate()
		require.ErrorContains(t, err, "endpoint_url:")
		assert.NotContains(t, err.Error(), "hunter2", endpoint)
	}
}
