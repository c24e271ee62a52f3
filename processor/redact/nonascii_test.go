package redact

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// field_blocker names are documented as case-insensitive; a configured name with a non-ASCII capital letter
// must block the very key it names, and its other cases.
func TestFieldBlocker_NonASCIICaseInsensitive(t *testing.T) {
	p := newTestProcessor(t, testConfig(fieldBlocker([]string{"Пароль", "ÜBERWEISUNG"}, nil)))
	got := run(t, p, map[string]any{
		"Пароль": "s1", "пароль": "s2", "ПАРОЛЬ": "s3", "überweisung": "s4", "ÜBERWEISUNG": "s5",
		"user.Пароль": "s6",
	}, nil, nil)
	for k, v := range got.attrs {
		assert.Equal(t, defaultBlockerReplacement, v, "key %q", k)
	}
}
