package httpsend

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/confighttp"
)

// A proxy password with a character the user did not percent-encode makes proxy_url unparsable: the exporter
// fails to start, and the startup error (printed by the collector) must not carry the password.
func TestNewClient_BadProxyURLErrorDoesNotPrintThePassword(t *testing.T) {
	for _, proxy := range []string{
		"http://bob:s3cr%t@proxy.example.com:3128",
		"http://bob:s3cr#t@proxy.example.com:3128",
		"http://bob:s3cr t@proxy.example.com:3128",
	} {
		cfg := confighttp.NewDefaultClientConfig()
		cfg.Endpoint = "https://logs.example.com/ingest"
		cfg.ProxyURL = proxy
		_, err := NewClient(context.Background(), &cfg, componenttest.NewNopHost(), componenttest.NewNopTelemetrySettings())
		require.Error(t, err, proxy)
		assert.NotContains(t, err.Error(), "s3cr", proxy)
	}
}
