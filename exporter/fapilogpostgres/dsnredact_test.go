package fapilogpostgres

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
)

// A passphrase with spaces, not quoted in a key=value DSN, makes the DSN unparsable: the startup error must not
// show any word of it (pgx's reason quotes the word after which it expected "=").
func TestConfig_DSNParseErrorDoesNotShowAWordOfAnUnquotedPassphrase(t *testing.T) {
	const passphrase = "correct horse battery staple"
	for _, dsn := range []string{
		"host=db.example.com user=fapilog password=" + passphrase + " dbname=fapilog",
		"host=db.example.com user=fapilog dbname=fapilog password=" + passphrase,
	} {
		cfg := createDefaultConfig().(*Config)
		cfg.DSN = configopaque.String(dsn)
		err := cfg.Validate()
		require.ErrorContains(t, err, "dsn:", dsn)
		for _, word := range strings.Fields(passphrase) {
			assert.NotContains(t, err.Error(), word, dsn)
		}
	}
}
