package redact

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The README leaves alone digits glued to a decimal point; a '.' after a word ("No.") is not a decimal point.
func TestValuePatterns_CardAfterAbbreviationDot(t *testing.T) {
	p := newTestProcessor(t, testConfig(valuePatternsRedactor()))
	for in, want := range map[string]string{
		"Card No.4111111111111111 charged":    "Card No.[REDACTED:card_number] charged",
		"Card No.4111 1111 1111 1111 charged": "Card No.[REDACTED:card_number] charged",
		"amount 1.4111111111111111":           "amount 1.4111111111111111", // a decimal: left alone
	} {
		assert.Equal(t, want, redactString(t, p, in), in)
	}
}
