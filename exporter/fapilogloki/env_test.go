package fapilogloki

import (
	"context"
	"encoding/base64"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.uber.org/zap"
)

var fapilogLokiEnv = []string{
	"FAPILOG_LOKI__URL", "FAPILOG_LOKI__TENANT_ID", "FAPILOG_LOKI__AUTH_USERNAME", "FAPILOG_LOKI__AUTH_PASSWORD",
	"FAPILOG_LOKI__AUTH_TOKEN",
}

// unmarshalExample resolves example.yaml the way the collector does (file provider, env provider, env as the
// default scheme) and unmarshals the fapilogloki exporter's configuration, without validating it.
func unmarshalExample(t *testing.T) *Config {
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
	sub, err := conf.Sub("exporters::fapilogloki")
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg
}

func unsetFapilogEnv(t *testing.T) {
	for _, name := range fapilogLokiEnv {
		t.Setenv(name, "x") // registers the restore
		require.NoError(t, os.Unsetenv(name))
	}
}

func TestExampleConfig_WithoutEnvironmentIsTheDefault(t *testing.T) {
	unsetFapilogEnv(t)
	cfg := unmarshalExample(t)
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, createDefaultConfig(), cfg, "the defaults in example.yaml are the exporter's own")
}

func TestExampleConfig_FapilogEnvironmentVariables(t *testing.T) {
	unsetFapilogEnv(t)
	t.Setenv("FAPILOG_LOKI__URL", "https://logs-prod-eu-west-0.grafana.net")
	t.Setenv("FAPILOG_LOKI__TENANT_ID", "42")          // numeric: stays the string "42"
	t.Setenv("FAPILOG_LOKI__AUTH_USERNAME", "0123456") // Grafana Cloud user ids are numbers; the leading 0 stays
	t.Setenv("FAPILOG_LOKI__AUTH_PASSWORD", "glc_s3cr3t")

	cfg := unmarshalExample(t)
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, "https://logs-prod-eu-west-0.grafana.net", cfg.ClientConfig.Endpoint)
	assert.Equal(t, "42", cfg.TenantID)
	assert.Equal(t, "0123456", cfg.AuthUsername)
	assert.Equal(t, configopaque.String("glc_s3cr3t"), cfg.AuthPassword)
	assert.Empty(t, cfg.AuthToken)

	t.Setenv("FAPILOG_LOKI__AUTH_TOKEN", "tok")
	assert.ErrorContains(t, confmap.Validate(unmarshalExample(t)), "auth_token: cannot be combined with auth_username/auth_password")
}

// The resolved example drives a real exporter: URL, tenant and bearer token from the environment.
func TestExampleConfig_EnvironmentDrivesTheExporter(t *testing.T) {
	rec := &recorder{}
	srv := newServer(t, rec)
	unsetFapilogEnv(t)
	t.Setenv("FAPILOG_LOKI__URL", srv.URL+"/insert")
	t.Setenv("FAPILOG_LOKI__TENANT_ID", "team-a")
	t.Setenv("FAPILOG_LOKI__AUTH_TOKEN", "t0k3n")

	cfg := unmarshalExample(t)
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]() // deliver each call at once
	exp, _ := startExporter(t, cfg)
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("m", 3)))
	got := rec.all()[0]
	assert.Equal(t, "/insert/loki/api/v1/push", got.path)
	assert.Equal(t, "team-a", got.header.Get("X-Scope-OrgID"))
	assert.Equal(t, "Bearer t0k3n", got.header.Get("Authorization"))
	requireEachOnce(t, rec.delivered(t), "m", 3)

	unsetFapilogEnv(t)
	t.Setenv("FAPILOG_LOKI__URL", srv.URL)
	t.Setenv("FAPILOG_LOKI__AUTH_USERNAME", "user")
	t.Setenv("FAPILOG_LOKI__AUTH_PASSWORD", "pw")
	cfg = unmarshalExample(t)
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	exp, _ = startExporter(t, cfg)
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("b", 1)))
	got = rec.all()[1]
	assert.Equal(t, "Basic "+base64.StdEncoding.EncodeToString([]byte("user:pw")), got.header.Get("Authorization"))
	assert.Empty(t, got.header.Get("X-Scope-OrgID"), "no tenant: no header")
}
