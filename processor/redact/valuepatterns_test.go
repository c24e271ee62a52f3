package redact

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testJWT     = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
	testPEM     = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\nabc=\n-----END RSA PRIVATE KEY-----"
	testAWSKey  = "AKIAIOSFODNN7EXAMPLE"
	testVisa    = "4111111111111111"
	testAmex    = "378282246310005"
	testBearerT = "mF_9.B5f-4.1JqM"
)

func TestValuePatterns_Mask(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"visa", "card " + testVisa + " charged", "card [REDACTED:card_number] charged"},
		{"spaced groups", "card 4111 1111 1111 1111.", "card [REDACTED:card_number]."},
		{"dashed groups", "pan=5500-0000-0000-0004;", "pan=[REDACTED:card_number];"},
		{"amex 4-6-5", "amex 3782 822463 10005 ok", "amex [REDACTED:card_number] ok"},
		{"short leading number is not part of the card", "qty 2 4111 1111 1111 1111", "qty 2 [REDACTED:card_number]"},
		{"Luhn-invalid is left alone", "order 4111111111111112", "order 4111111111111112"},
		{"epoch nanoseconds are left alone", "ts=1700000000000000000", "ts=1700000000000000000"},
		{"glued to letters is left alone", "id x4111111111111111y", "id x4111111111111111y"},
		{"decimal fraction is left alone", "pi 3.4111111111111111", "pi 3.4111111111111111"},
		{"too long a run is left alone", "n 41111111111111111111", "n 41111111111111111111"},
		{"a word glued to the next group does not hide the card", "4111 1111 1111 1111 00A", "[REDACTED:card_number] 00A"},
		{"a word glued to a previous group does not hide the card", "x12 4111 1111 1111 1111", "x12 [REDACTED:card_number]"},
		{"aws access key", "key " + testAWSKey + " used", "key [REDACTED:aws_access_key] used"},
		{"aws key inside a word is left alone", "XAKIAIOSFODNN7EXAMPLE", "XAKIAIOSFODNN7EXAMPLE"},
		{"jwt", "token=" + testJWT + "&x=1", "token=[REDACTED:jwt]&x=1"},
		{"bearer token keeps the scheme word", "Authorization: Bearer " + testBearerT + "xyz", "Authorization: Bearer [REDACTED:bearer_token]"},
		{"bearer case-insensitive", "authorization: bearer abcdefghijklmnopqrstuvwxyz", "authorization: bearer [REDACTED:bearer_token]"},
		{"bearer jwt", "Bearer " + testJWT, "Bearer [REDACTED:bearer_token]"},
		{"prose about a bearer is left alone", "the bearer of this letter is welcome", "the bearer of this letter is welcome"},
		{"private key block", "key:\n" + testPEM + "\nend", "key:\n[REDACTED:private_key]\nend"},
		{"private key without END masks to the end", "-----BEGIN PRIVATE KEY-----\nMIIE", "[REDACTED:private_key]"},
		{"public key is left alone", "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----", "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----"},
		{"email is opt-in", "mail bob@example.com", "mail bob@example.com"},
		{"several kinds in one message", "u " + testAWSKey + " c " + testAmex + " t " + testJWT, "u [REDACTED:aws_access_key] c [REDACTED:card_number] t [REDACTED:jwt]"},
		{"nothing to find", "GET /api/v1/users/12345 200 3ms", "GET /api/v1/users/12345 200 3ms"},
	}
	p := newTestProcessor(t, testConfig(valuePatternsRedactor()))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, redactString(t, p, tt.in))
		})
	}
}

func TestValuePatterns_Email(t *testing.T) {
	p := newTestProcessor(t, testConfig(valuePatternsRedactor("email")))
	for in, want := range map[string]string{
		"mail bob.smith+tag@mail.example.co.uk now": "mail [REDACTED:email] now",
		"<a@b.io>":              "<[REDACTED:email]>",
		"user@localhost":        "user@localhost",
		"v1.2@3.4":              "v1.2@3.4",
		"no at sign":            "no at sign",
		"trailing dot a@b.com.": "trailing dot [REDACTED:email].",
	} {
		assert.Equal(t, want, redactString(t, p, in), in)
	}
}

func TestValuePatterns_CustomMask(t *testing.T) {
	rc := valuePatternsRedactor()
	rc.ValuePatterns.Mask = "<{kind}>"
	p := newTestProcessor(t, testConfig(rc))
	assert.Equal(t, "pay <card_number>", redactString(t, p, "pay "+testVisa))
}

func TestValuePatterns_IntegerCardNumbers(t *testing.T) {
	p := newTestProcessor(t, testConfig(valuePatternsRedactor()))
	got := run(t, p, map[string]any{"pan": int64(4111111111111111), "count": int64(4111), "ts": int64(1700000000000000000)}, int64(5500000000000004), nil)
	assert.Equal(t, map[string]any{"pan": "[REDACTED:card_number]", "count": int64(4111), "ts": int64(1700000000000000000)}, got.attrs)
	assert.Equal(t, "[REDACTED:card_number]", got.body)
}

// The scanner reads at most 16 digit groups at a time: a card that starts among the last of them and ends after
// them is still found, whatever number of groups precedes it.
func TestValuePatterns_CardAfterALongRunOfDigitGroups(t *testing.T) {
	p := newTestProcessor(t, testConfig(valuePatternsRedactor()))
	for before := 10; before <= 20; before++ {
		prefix := strings.Repeat("100 ", before)
		assert.Equal(t, prefix+"[REDACTED:card_number]", redactString(t, p, prefix+"4111 1111 1111 1111"), "%d groups before", before)
	}
}

func TestValuePatterns_Hash(t *testing.T) {
	p := newTestProcessor(t, testConfig(hashedValuePatterns()))
	a := redactString(t, p, "card "+testVisa)
	b := redactString(t, p, "card 4111 1111 1111 1111")
	require.True(t, strings.HasPrefix(a, "card [HASHED:card_number:"), a)
	assert.Len(t, strings.TrimSuffix(strings.TrimPrefix(a, "card [HASHED:card_number:"), "]"), 16)
	assert.Equal(t, a, b, "the same card hashes the same however it is spaced")
	assert.Equal(t, a, redactString(t, p, a), "hashing is idempotent")

	other := hashedValuePatterns()
	other.ValuePatterns.HashKey = "another-key-another-key-another-key!"
	assert.NotEqual(t, a, redactString(t, newTestProcessor(t, testConfig(other)), "card "+testVisa), "the key matters")

	jwt := redactString(t, p, testJWT)
	assert.Regexp(t, `^\[HASHED:jwt:[0-9a-f]{16}\]$`, jwt)
}

func TestValuePatterns_MaskIsIdempotent(t *testing.T) {
	p := newTestProcessor(t, testConfig(valuePatternsRedactor("card_number", "aws_access_key", "jwt", "bearer_token", "private_key", "email")))
	in := "a " + testVisa + " b Bearer " + testBearerT + "xyz c " + testPEM + " d x@y.org e " + testAWSKey
	once := redactString(t, p, in)
	assert.Equal(t, once, redactString(t, p, once))
	for _, secret := range []string{testVisa, testBearerT, "MIIEowIBAAKCAQEA7", "x@y.org", testAWSKey} {
		assert.NotContains(t, once, secret)
	}
}

func TestValuePatterns_NoAllocationWhenNothingFound(t *testing.T) {
	vp := newValuePatterns(&ValuePatternsConfig{Detect: valueKinds, Action: actionMask, Mask: defaultValueMask})
	s := "2026-01-02T03:04:05Z GET /api/v1/users/12345?expand=true 200 in 3ms from 10.0.0.1 - everything nominal, " +
		"request id 9f86d081884c7d65 bearer of good news, user alice at example dot com"
	buf := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() {
		var found kindSet
		_, found, buf = vp.apply(s, buf)
		if found != 0 {
			t.Fatal("unexpected match")
		}
	})
	assert.Zero(t, allocs)
}

func TestLuhn(t *testing.T) {
	for _, n := range []string{"4111111111111111", "5500000000000004", "378282246310005", "6011111111111117", "4111 1111 1111 1111"} {
		assert.True(t, luhnValid(n), n)
	}
	for _, n := range []string{"4111111111111112", "1234567812345678"} {
		assert.False(t, luhnValid(n), n)
	}
}

func TestValuePatterns_ShortestMatchesAreFound(t *testing.T) {
	p := newTestProcessor(t, testConfig(valuePatternsRedactor(valueKinds...)))
	for in, want := range map[string]string{
		"eyJhbGciOi.e3":               "[REDACTED:jwt]",
		"-----BEGIN PRIVATE KEY-----": "[REDACTED:private_key]",
		"a@b.co":                      "[REDACTED:email]",
		"4111111111119":               "[REDACTED:card_number]",
		"Bearer abcdefghij12":         "Bearer [REDACTED:bearer_token]",
		testAWSKey:                    "[REDACTED:aws_access_key]",
	} {
		assert.Equal(t, want, redactString(t, p, in), in)
	}
}
