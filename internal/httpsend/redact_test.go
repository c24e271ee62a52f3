package httpsend

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A password with '/', '?' or '#' (common in generated passwords) that the user did not percent-encode makes the
// URL unparsable; the error that names the endpoint must still not print it.
func TestRedactedURL_HidesAPasswordWithSlashQuestionMarkOrHash(t *testing.T) {
	for _, raw := range []string{
		"https://alice:hunter2/x@logs.example.com/ingest",
		"https://alice:hunter2?x@logs.example.com/ingest",
		"https://alice:hunter2#x@logs.example.com/ingest",
	} {
		got := RedactedURL(raw)
		assert.NotContains(t, got, "hunter2", raw)
		assert.Contains(t, got, "logs.example.com", raw)
	}
}
