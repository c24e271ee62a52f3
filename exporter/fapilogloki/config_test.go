package fapilogloki

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogloki/internal/metadata"
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
	assert.Equal(t, "http://localhost:3100", cfg.ClientConfig.Endpoint)
	assert.Equal(t, 10*time.Second, cfg.ClientConfig.Timeout)
	assert.Equal(t, StaticLabels{"service": "fapilog"}, cfg.Labels)
	assert.Equal(t, []string{"level"}, cfg.LabelKeys)
	assert.Empty(t, cfg.StructuredMetadataKeys)
	assert.Equal(t, EncodingProtobuf, cfg.Encoding)
	assert.Equal(t, 100, cfg.MaxStreamsPerRequest)
	assert.Equal(t, 1000, cfg.MaxLabelValues)
	require.True(t, cfg.QueueConfig.HasValue())
	batch := cfg.QueueConfig.Get().Batch
	require.True(t, batch.HasValue(), "batching on by default")
	assert.Equal(t, exporterhelper.RequestSizerTypeItems, batch.Get().Sizer)
	assert.EqualValues(t, 100, batch.Get().MinSize)
	assert.EqualValues(t, 100, batch.Get().MaxSize)
	assert.Equal(t, 5*time.Second, batch.Get().FlushTimeout)
	assert.True(t, cfg.CircuitBreaker.Enabled)
	assert.Equal(t, 5, cfg.CircuitBreaker.Threshold)
	assert.NoError(t, confmap.Validate(cfg), "the defaults are a valid configuration")
}

func TestUnmarshal_NothingSetKeepsDefaults(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, createDefaultConfig(), cfg)
}

func TestUnmarshal_Full(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	require.NoError(t, err)
	require.NoError(t, confmap.Validate(cfg))

	want := createDefaultConfig().(*Config)
	want.ClientConfig.Endpoint = "https://logs-prod-eu-west-0.grafana.net"
	want.ClientConfig.Timeout = 15 * time.Second
	want.ClientConfig.Headers = configopaque.MapList{{Name: "X-Extra", Value: "1"}}
	want.ClientConfig.TLS.CAFile = "/etc/ssl/ca.pem"
	want.TenantID = "team-a"
	want.AuthUsername = "123456"
	want.AuthPassword = "glc_s3cr3t"
	want.Labels = StaticLabels{"app": "checkout", "env": "prod", "version": "2"}
	want.LabelKeys = []string{"level", "diagnostics.service", "data.region"}
	want.StructuredMetadataKeys = []string{"context.trace_id", "context.correlation_id"}
	want.Encoding = EncodingJSON
	want.MaxStreamsPerRequest = 20
	want.MaxLabelValues = 500
	want.CircuitBreaker.Threshold = 3
	want.CircuitBreaker.Recovery = 10 * time.Second
	batch := want.QueueConfig.Get().Batch.Get()
	batch.MinSize, batch.MaxSize, batch.FlushTimeout = 50, 50, time.Second
	want.RetryConfig.InitialInterval = 500 * time.Millisecond
	assert.Equal(t, want, cfg)
	assert.Equal(t, "[REDACTED]", cfg.AuthPassword.String())
}

func TestUnmarshal_LabelsReplaceTheDefaultSet(t *testing.T) {
	cfg, err := loadConfig(t, "bearer")
	require.NoError(t, err)
	require.NoError(t, confmap.Validate(cfg))
	assert.Empty(t, cfg.Labels, "labels: {} removes service: fapilog")
	assert.Equal(t, []string{"level", "logger"}, cfg.LabelKeys)
	assert.Equal(t, configopaque.String("t0k3n"), cfg.AuthToken)

	full, err := loadConfig(t, "full")
	require.NoError(t, err)
	assert.NotContains(t, full.Labels, "service", "configured labels are not merged into the default")
}

func TestUnmarshal_TenantTemplate(t *testing.T) {
	cfg, err := loadConfig(t, "tenants")
	require.NoError(t, err)
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, "team-{k8s.namespace.name}", cfg.TenantID)
	assert.Equal(t, destination.Config{MaxDestinations: 50, PlaceholderDefault: "shared"}, cfg.Destinations)

	def := createDefaultConfig().(*Config)
	assert.Equal(t, 100, def.Destinations.MaxDestinations)
	assert.Equal(t, "unknown", def.Destinations.PlaceholderDefault)
}

func TestValidate_AFixedTenantIsTheUsersOwn(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.TenantID = "7:3" // VictoriaLogs' AccountID:ProjectID: not a Loki tenant ID, but a valid header value
	assert.NoError(t, cfg.Validate())
	cfg.TenantID = "a\nb"
	assert.ErrorContains(t, cfg.Validate(), "tenant_id: must not contain control characters")
}

func TestValidate_NamesTheKey(t *testing.T) {
	tests := map[string]string{
		"bad_endpoint":                   "endpoint: must be an http:// or https:// URL",
		"bad_encoding":                   "encoding: must be one of protobuf, json",
		"compressed_protobuf":            "compression: must be empty with encoding: protobuf",
		"basic_and_bearer":               "auth_token: cannot be combined with auth_username/auth_password",
		"password_without_username":      "auth_username: must be set together with auth_password",
		"username_without_password":      "auth_password: must be set together with auth_username",
		"authorization_header_and_token": "headers: Authorization conflicts with auth_username/auth_password/auth_token",
		"tenant_header_and_tenant_id":    "headers: X-Scope-OrgID conflicts with tenant_id",
		"bad_label_name":                 `labels: "my-app" is not a valid label name`,
		"reserved_label_name":            `labels: "__name__" is reserved`,
		"empty_label_value":              `labels: value of "app" is empty`,
		"unknown_label_key":              `label_keys: "service" is not an envelope field`,
		"label_key_per_record":           `label_keys: "context.message_id" differs for every record`,
		"label_key_clashes_with_static":  `label_keys: "level" gives label "level", which labels already sets`,
		"label_keys_same_name":           `label_keys: "data.a.b" and "data.a_b" both give the name "data_a_b"`,
		"no_labels":                      "labels: must not be empty unless label_keys includes level",
		"bad_structured_metadata_key":    `structured_metadata_keys: "trace_id" is not an envelope field`,
		"negative_max_streams":           "max_streams_per_request: must not be negative",
		"negative_max_label_values":      "max_label_values: must not be negative",
		"negative_timeout":               "timeout: must not be negative",
		"bad_breaker":                    "circuit_breaker_threshold: must be at least 1",
		"tenant_unclosed_placeholder":    "tenant_id: '{' without a matching '}'",
		"tenant_bad_literal":             `tenant_id: '/' is not allowed in a Loki tenant ID`,
		"tenant_bad_default":             `placeholder_default: "no tenant" is not a valid Loki tenant ID (it would be sent as "no_tenant")`,
		"tenant_no_destinations":         "max_destinations: must be at least 1",
		"tenant_and_account_header":      "headers: AccountID would override the tenant of every request in VictoriaLogs",
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, err := loadConfig(t, name)
			require.NoError(t, err)
			assert.ErrorContains(t, confmap.Validate(cfg), want)
		})
	}
}

func TestUnmarshal_NestedLabelValueFailsNamingTheKey(t *testing.T) {
	_, err := loadConfig(t, "nested_label_value")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `labels: value of "app" must be a string`)
}

func TestValidate_JSONMayBeCompressed(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Encoding = EncodingJSON
	cfg.ClientConfig.Compression = "gzip"
	assert.NoError(t, confmap.Validate(cfg))
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	assert.NoError(t, confmap.Validate(cfg), "the queue can be turned off")
}

func TestPushURL(t *testing.T) {
	tests := map[string]string{
		"http://localhost:3100":                        "http://localhost:3100/loki/api/v1/push",
		"http://localhost:3100/":                       "http://localhost:3100/loki/api/v1/push",
		"https://loki.example.com/loki/api/v1/push":    "https://loki.example.com/loki/api/v1/push",
		"http://vl:9428/insert":                        "http://vl:9428/insert/loki/api/v1/push",
		"http://gw/tenant%2Fa/":                        "http://gw/tenant%2Fa/loki/api/v1/push",
		"http://vl:9428/insert?_stream_fields=service": "http://vl:9428/insert/loki/api/v1/push?_stream_fields=service",
	}
	for in, want := range tests {
		got, err := pushURL(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "localhost:3100", "ftp://host", "http://"} {
		_, err := pushURL(bad)
		assert.ErrorContains(t, err, "endpoint:", bad)
	}
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
