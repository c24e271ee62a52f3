package fapiloghttp

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/fapilog/fapilog-otelcol/exporter/fapiloghttp/internal/metadata"
)

func loadConfig(t *testing.T, file, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", file))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg
}

func TestCreateDefaultConfig_FollowsFapilogAndIsComplete(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, componenttest.CheckConfigStruct(cfg))
	assert.Equal(t, ModeHTTP, cfg.Mode)
	assert.Equal(t, FormatArray, cfg.BatchFormat)
	assert.Equal(t, "logs", cfg.BatchWrapperKey)
	assert.Equal(t, SignatureHMAC, cfg.SignatureMode)
	assert.Equal(t, 5*time.Second, cfg.ClientConfig.Timeout)
	assert.Equal(t, configcompression.Type(""), cfg.ClientConfig.Compression, "webhook receivers rarely decompress")
	require.True(t, cfg.QueueConfig.HasValue())
	batch := cfg.QueueConfig.Get().Batch
	require.True(t, batch.HasValue(), "batching on by default")
	assert.Equal(t, exporterhelper.RequestSizerTypeItems, batch.Get().Sizer)
	assert.EqualValues(t, 100, batch.Get().MinSize)
	assert.EqualValues(t, 100, batch.Get().MaxSize)
	assert.Equal(t, 5*time.Second, batch.Get().FlushTimeout)
	assert.True(t, cfg.CircuitBreaker.Enabled)
	assert.Equal(t, 5, cfg.CircuitBreaker.Threshold)
	// The only thing a user must provide is the endpoint.
	assert.ErrorContains(t, confmap.Validate(cfg), "endpoint: must be set")
	cfg.ClientConfig.Endpoint = "http://localhost:8080/logs"
	assert.NoError(t, confmap.Validate(cfg))
}

func TestUnmarshal_EndpointOnlyKeepsDefaults(t *testing.T) {
	cfg := loadConfig(t, "config.yaml", "")
	want := createDefaultConfig().(*Config)
	want.ClientConfig.Endpoint = "https://logs.example.com/ingest"
	assert.Equal(t, want, cfg)
	assert.NoError(t, confmap.Validate(cfg))
}

func TestUnmarshal_Full(t *testing.T) {
	cfg := loadConfig(t, "config.yaml", "full")
	require.NoError(t, confmap.Validate(cfg))

	want := createDefaultConfig().(*Config)
	want.ClientConfig.Endpoint = "https://logs.example.com/ingest"
	want.ClientConfig.Headers = configopaque.MapList{{Name: "Authorization", Value: "Bearer abc"}}
	want.ClientConfig.Timeout = 10 * time.Second
	want.ClientConfig.Compression = configcompression.TypeGzip
	want.ClientConfig.TLS.CAFile = "/etc/ssl/ca.pem"
	want.BatchFormat = FormatWrapped
	want.BatchWrapperKey = "records"
	want.MaxRequestBytes = 1 << 20
	want.RetryMaxAttempts = 3
	want.CircuitBreaker.Threshold = 3
	want.CircuitBreaker.Recovery = 10 * time.Second
	batch := want.QueueConfig.Get().Batch.Get()
	batch.MinSize, batch.MaxSize, batch.FlushTimeout = 50, 50, time.Second
	want.RetryConfig.InitialInterval = time.Second
	assert.Equal(t, want, cfg)
}

func TestUnmarshal_Webhook(t *testing.T) {
	cfg := loadConfig(t, "config.yaml", "webhook")
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, ModeWebhook, cfg.Mode)
	assert.Equal(t, configopaque.String("s3cr3t"), cfg.Secret)
	assert.Equal(t, SignatureHMAC, cfg.SignatureMode)
	assert.Equal(t, FormatNDJSON, cfg.BatchFormat)
	assert.NotContains(t, cfg.Secret.String(), "s3cr3t", "the secret prints as [REDACTED]")

	legacy := loadConfig(t, "config.yaml", "legacy_header")
	require.NoError(t, confmap.Validate(legacy))
	assert.Equal(t, SignatureHeader, legacy.SignatureMode)
}

func TestUnmarshal_WebhookSendsOneRecordPerRequestUnlessBatchingIsAskedFor(t *testing.T) {
	batchOf := func(name string) (int64, int64) {
		b := loadConfig(t, "config.yaml", name).QueueConfig.Get().Batch.Get()
		return b.MinSize, b.MaxSize
	}
	minSize, maxSize := batchOf("webhook")
	assert.EqualValues(t, 1, minSize, "fapilog's webhook sink sends each record alone")
	assert.EqualValues(t, 1, maxSize)
	minSize, maxSize = batchOf("webhook_batched")
	assert.EqualValues(t, 20, minSize, "batching stays an explicit choice")
	assert.EqualValues(t, 20, maxSize, "max_size follows an explicit min_size")
	minSize, maxSize = batchOf("")
	assert.EqualValues(t, 100, minSize, "http mode keeps its batches")
	assert.EqualValues(t, 100, maxSize)
}

func TestValidate_NamesTheKey(t *testing.T) {
	tests := map[string]string{
		"no_endpoint":                 "endpoint: must be set",
		"bad_endpoint":                "endpoint: must be an http:// or https:// URL",
		"bad_format":                  "batch_format: must be one of array, ndjson, wrapped",
		"bad_mode":                    "mode: must be one of http, webhook",
		"bad_signature_mode":          "signature_mode: must be one of hmac, header",
		"empty_wrapper_key":           "batch_wrapper_key: must not be empty",
		"secret_without_webhook":      "secret: only used with mode: webhook",
		"header_mode_without_secret":  "secret: required when signature_mode is header",
		"negative_retry_max_attempts": "retry_max_attempts: must not be negative",
		"negative_timeout":            "timeout: must not be negative",
		"bad_breaker":                 "circuit_breaker_threshold: must be at least 1",
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := loadConfig(t, "config.yaml", name)
			assert.ErrorContains(t, confmap.Validate(cfg), want)
		})
	}
}

func TestLoad_NegativeMaxRequestBytesFailsNamingTheKey(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, "negative_max_request_bytes").String())
	require.NoError(t, err)
	err = sub.Unmarshal(createDefaultConfig())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "max_request_bytes")
	assert.Contains(t, err.Error(), "must not be negative")
}

func TestRetryConfig_MaxAttemptsBecomesATimeBudget(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, cfg.RetryConfig, cfg.retryConfig(), "0 keeps the collector's time-based policy")

	cfg.RetryConfig.InitialInterval = time.Second
	cfg.RetryConfig.RandomizationFactor = 0.5
	cfg.RetryConfig.Multiplier = 2
	cfg.RetryConfig.MaxInterval = 3 * time.Second
	cfg.ClientConfig.Timeout = 5 * time.Second
	cfg.RetryMaxAttempts = 4
	// Three waits before attempts 2..4, each at most interval*(1+0.5) plus a full timeout for the attempt before it:
	// (1.5+5) + (3+5) + (4.5+5), the third interval capped at max_interval 3s.
	r := cfg.retryConfig()
	assert.True(t, r.Enabled)
	assert.Equal(t, 24*time.Second, r.MaxElapsedTime)
	assert.Equal(t, time.Second, r.InitialInterval, "only the budget changes")

	cfg.RetryMaxAttempts = 1
	assert.False(t, cfg.retryConfig().Enabled, "one attempt means no retry")

	cfg.RetryMaxAttempts = 3
	cfg.RetryConfig.Enabled = false
	assert.False(t, cfg.retryConfig().Enabled, "retry_on_failure.enabled: false wins")
}

func TestValidate_DefaultQueueAndRetrySectionsPass(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = "https://logs.example.com/ingest"
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	assert.NoError(t, confmap.Validate(cfg), "the queue can be turned off")
}

// An endpoint carrying basic-auth credentials (https://user:token@host, the form Grafana Cloud and Promtail
// users write) must not have its password echoed by Validate when the URL is refused.
func TestConfig_ValidateDoesNotEchoTheEndpointPassword(t *testing.T) {
	for _, endpoint := range []string{
		"htps://alice:hunter2@logs.example.com/ingest", // scheme typo
		"alice:hunter2@logs.example.com/ingest",        // scheme left out
	} {
		cfg := createDefaultConfig().(*Config)
		cfg.ClientConfig.Endpoint = endpoint
		err := cfg.Validate()
		require.ErrorContains(t, err, "endpoint:")
		assert.NotContains(t, err.Error(), "hunter2", endpoint)
	}
}
