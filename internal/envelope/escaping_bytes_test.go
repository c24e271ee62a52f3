package envelope

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each control character is escaped wherever it stands, also alone inside a long run of plain ASCII, which the
// writer skips eight and sixteen bytes at a time.
func TestEnvelope_EveryControlCharacterIsEscapedInsideLongPlainText(t *testing.T) {
	pad := strings.Repeat("a", 20)
	for c := 0; c < 0x20; c++ {
		for _, in := range []string{pad + string(rune(c)) + pad, string(rune(c)) + pad, pad + string(rune(c))} {
			got := appendJSONString(nil, in)
			require.True(t, json.Valid(got), "byte %#x written raw: %q", c, got)
			var back string
			require.NoError(t, json.Unmarshal(got, &back))
			assert.Equal(t, in, back, "byte %#x", c)
		}
	}
}

// Each byte that cannot start a UTF-8 sequence on its own is written as U+FFFD, so that the output is valid UTF-8.
func TestEnvelope_EveryLoneNonASCIIByteBecomesTheReplacementCharacter(t *testing.T) {
	for c := 0x80; c <= 0xff; c++ {
		in := "x" + string([]byte{byte(c)}) + "y"
		got := appendJSONString(nil, in)
		require.True(t, utf8.Valid(got), "byte %#x written raw: %q", c, got)
		assert.Equal(t, "\"x\uFFFDy\"", string(got), "byte %#x", c)
	}
}
