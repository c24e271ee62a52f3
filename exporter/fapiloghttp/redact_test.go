package fapiloghttp

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A generated password often holds '/' (base64); left unencoded in the endpoint, the URL no longer parses and the
// collector's startup error must name the endpoint without the password.
func TestConfig_ValidateDoesNotEchoAPasswordHoldingASlash(t *testing.T) {
	for _, endpoint := range []string{
		"https://alice:hunter2/x@logs.example.com/ingest",
		"https://alice:hunter2?x@logs.example.com/ingest",
		"https://alice:hunter2#x@logs.example.com/ingest",
	} {
		cfg := createDefaultConfig().(*Config)
		cfg.ClientConfig.Endpoint = endpoint
		err := cfg.Validate()
		require.ErrorContains(t, err, "endpoint:")
		assert.NotContains(t, err.Error(), "hunter2", endpoint)
	}
}
