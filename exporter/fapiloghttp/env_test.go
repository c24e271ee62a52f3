package fapiloghttp

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otelcol/exporter/fapiloghttp/webhook"
)

var fapilogHTTPEnv = []string{
	"FAPILOG_HTTP__ENDPOINT", "FAPILOG_HTTP__TIMEOUT_SECONDS", "FAPILOG_HTTP__RETRY_MAX_ATTEMPTS",
	"FAPILOG_HTTP__BATCH_SIZE", "FAPILOG_HTTP__BATCH_TIMEOUT_SECONDS", "FAPILOG_HTTP__BATCH_FORMAT",
	"FAPILOG_HTTP__BATCH_WRAPPER_KEY", "WEBHOOK_URL", "WEBHOOK_SECRET",
}

// unmarshalExample resolves example.yaml the way the collector does (file provider, env provider, env as the
// default scheme) and unmarshals the configuration of exporter id, without validating it.
func unmarshalExample(t *testing.T, id string) *Config {
	t.Helper()
	resolver, err := confmap.NewResolver(confmap.ResolverSettings{
		URIs:              []string{"file:example.yaml"},
		ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory(), envprovider.NewFactory()},
		DefaultScheme:     "env",
		ProviderSettings:  confmap.ProviderSettings{Logger: zap.NewNop()},
	})
	require.NoError(t, err)
	conf, err := resolver.Resolve(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() { _ = resolver.Shutdown(context.Background()) })
	sub, err := conf.Sub("exporters::" + id)
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg
}

func resolveExample(t *testing.T, id string) *Config {
	t.Helper()
	cfg := unmarshalExample(t, id)
	require.NoError(t, confmap.Validate(cfg))
	return cfg
}

func unsetFapilogEnv(t *testing.T) {
	for _, name := range fapilogHTTPEnv {
		t.Setenv(name, "x") // registers the restore
		require.NoError(t, os.Unsetenv(name))
	}
}

func TestExampleConfig_WithoutEnvironmentIsTheDefault(t *testing.T) {
	unsetFapilogEnv(t)
	cfg := resolveExample(t, "fapiloghttp")
	want := createDefaultConfig().(*Config)
	want.ClientConfig.Endpoint = "http://localhost:8080/logs"
	assert.Equal(t, want, cfg, "the defaults in example.yaml are the exporter's own")

	hook := resolveExample(t, "fapiloghttp/webhook")
	assert.Equal(t, ModeWebhook, hook.Mode)
	assert.Equal(t, configopaque.String(""), hook.Secret)
}

func TestExampleConfig_FapilogEnvironmentVariables(t *testing.T) {
	unsetFapilogEnv(t)
	t.Setenv("FAPILOG_HTTP__ENDPOINT", "https://logs.example.com/ingest")
	t.Setenv("FAPILOG_HTTP__TIMEOUT_SECONDS", "2.5")
	t.Setenv("FAPILOG_HTTP__RETRY_MAX_ATTEMPTS", "3")
	t.Setenv("FAPILOG_HTTP__BATCH_SIZE", "50")
	t.Setenv("FAPILOG_HTTP__BATCH_TIMEOUT_SECONDS", "0.5")
	t.Setenv("FAPILOG_HTTP__BATCH_FORMAT", "wrapped")
	t.Setenv("FAPILOG_HTTP__BATCH_WRAPPER_KEY", "entries")
	t.Setenv("WEBHOOK_SECRET", "from-env")

	cfg := resolveExample(t, "fapiloghttp")
	assert.Equal(t, "https://logs.example.com/ingest", cfg.ClientConfig.Endpoint)
	assert.Equal(t, 2500*time.Millisecond, cfg.ClientConfig.Timeout)
	assert.Equal(t, 3, cfg.RetryMaxAttempts)
	batch := cfg.QueueConfig.Get().Batch.Get()
	assert.EqualValues(t, 50, batch.MinSize)
	assert.EqualValues(t, 50, batch.MaxSize)
	assert.Equal(t, 500*time.Millisecond, batch.FlushTimeout)
	assert.Equal(t, FormatWrapped, cfg.BatchFormat)
	assert.Equal(t, "entries", cfg.BatchWrapperKey)
	assert.Less(t, cfg.retryConfig().MaxElapsedTime, cfg.RetryConfig.MaxElapsedTime, "3 attempts, not 300s of retries")

	assert.Equal(t, configopaque.String("from-env"), resolveExample(t, "fapiloghttp/webhook").Secret)

	t.Setenv("FAPILOG_HTTP__BATCH_FORMAT", "xml")
	assert.ErrorContains(t, confmap.Validate(unmarshalExample(t, "fapiloghttp")), "batch_format: must be one of array, ndjson, wrapped")
}

// The resolved example drives a real exporter: batches of FAPILOG_HTTP__BATCH_SIZE records, flushed after
// FAPILOG_HTTP__BATCH_TIMEOUT_SECONDS, in FAPILOG_HTTP__BATCH_FORMAT; and the webhook signs with WEBHOOK_SECRET.
func TestExampleConfig_EnvironmentDrivesTheExporter(t *testing.T) {
	rec, hooks := &recorder{}, &recorder{}
	srv, hookSrv := newServer(t, rec), newServer(t, hooks)
	unsetFapilogEnv(t)
	t.Setenv("FAPILOG_HTTP__ENDPOINT", srv.URL+"/ingest")
	t.Setenv("FAPILOG_HTTP__BATCH_SIZE", "3")
	t.Setenv("FAPILOG_HTTP__BATCH_TIMEOUT_SECONDS", "0.2")
	t.Setenv("FAPILOG_HTTP__BATCH_FORMAT", "ndjson")
	t.Setenv("WEBHOOK_URL", hookSrv.URL)
	t.Setenv("WEBHOOK_SECRET", "from-env")

	exp, _ := startExporter(t, resolveExample(t, "fapiloghttp"))
	hookCfg := resolveExample(t, "fapiloghttp/webhook")
	hookCfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]() // deliver each call at once
	hook, _ := startExporter(t, hookCfg)
	ld := testLogs("m", 7)
	for i := range 7 {
		// Each exporter gets its own copy: the batcher may move records out of what it is given.
		require.NoError(t, exp.ConsumeLogs(context.Background(), recordsBetween(ld, i, i+1)))
		require.NoError(t, hook.ConsumeLogs(context.Background(), recordsBetween(ld, i, i+1)))
	}
	require.Eventually(t, func() bool { return len(rec.delivered(t)) == 7 }, 5*time.Second, 20*time.Millisecond)
	var sizes []int
	for _, r := range rec.all() {
		assert.Equal(t, "application/x-ndjson", r.header.Get("Content-Type"))
		sizes = append(sizes, len(decodeBody(t, r.header.Get("Content-Type"), r.body)))
	}
	assert.Equal(t, []int{3, 3, 1}, sizes, "batches of 3; the last one flushed by the timeout")

	requireEachOnce(t, hooks.delivered(t), "m", 7)
	for _, r := range hooks.all() {
		require.NoError(t, webhook.Verify([]byte("from-env"), r.header.Get(webhook.TimestampHeader), r.raw,
			r.header.Get(webhook.SignatureHeader), 0))
	}
}
