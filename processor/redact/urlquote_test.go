package redact

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// "'" is an RFC 3986 sub-delim, legal in userinfo (and Python's urlsplit keeps it in the netloc): a password
// holding one must be removed whole.
func TestURLCredentials_QuoteInPassword(t *testing.T) {
	p := newTestProcessor(t, testConfig())
	for in, want := range map[string]string{
		"postgres://admin:pa'ss@db:5432/x":       "postgres://db:5432/x",
		"postgres://admin:p@'ss@db:5432/x":       "postgres://db:5432/x",
		"dsn='postgres://admin:pa'ss@db:5432/x'": "dsn='postgres://db:5432/x'",
		"url='postgres://admin:pass@db'":         "url='postgres://db'",
	} {
		assert.Equal(t, want, redactString(t, p, in), in)
	}
}
