package httpsend

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRedactedURL_HidesThePasswordWhateverTheURLLooksLike(t *testing.T) {
	for raw, want := range map[string]string{
		"https://alice:hunter2@logs.example.com/ingest": "https://alice:xxxxx@logs.example.com/ingest",
		"htps://alice:hunter2@logs.example.com/ingest":  "htps://alice:xxxxx@logs.example.com/ingest",
		"alice:hunter2@logs.example.com/ingest":         "xxxxx@logs.example.com/ingest",
		"https://alice:hun ter2@logs.example.com":       "https://xxxxx@logs.example.com",
		"https://logs.example.com/a@b":                  "https://logs.example.com/a@b",
		"https://logs.example.com":                      "https://logs.example.com",
	} {
		got := RedactedURL(raw)
		assert.Equal(t, want, got, raw)
		assert.NotContains(t, got, "hunter2", raw)
	}
}
