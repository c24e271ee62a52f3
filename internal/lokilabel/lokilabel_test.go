package lokilabel

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

var (
	promName   = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	cleanValue = regexp.MustCompile(`^[a-zA-Z0-9_-]*$`)
)

func TestValidName_IsThePrometheusRule(t *testing.T) {
	for _, name := range []string{"a", "_", "level", "service_name", "A9_b", "__reserved", "_1"} {
		assert.True(t, ValidName(name), name)
	}
	for _, name := range []string{"", "1a", "a-b", "a.b", "a b", "é", "a\x00", "level!", "-a"} {
		assert.False(t, ValidName(name), name)
	}
}

func TestReservedName(t *testing.T) {
	assert.True(t, ReservedName("__name__"))
	assert.True(t, ReservedName("__"))
	assert.False(t, ReservedName("_a"))
	assert.False(t, ReservedName("a__"))
}

func TestNameFromPath_DotsAndOtherCharactersBecomeUnderscores(t *testing.T) {
	tests := map[string]string{
		"level":                        "level",
		"diagnostics.service":          "diagnostics_service",
		"data.region":                  "data_region",
		"data.http.route":              "data_http_route",
		"data.x-request-id":            "data_x_request_id",
		"diagnostics.resource.k8s.pod": "diagnostics_resource_k8s_pod",
		"data.région":                  "data_r_gion",
		"9lives":                       "_9lives",
		"":                             "_",
	}
	for path, want := range tests {
		got := NameFromPath(path)
		assert.Equal(t, want, got, path)
		assert.True(t, ValidName(got), "%q -> %q is a valid name", path, got)
	}
}

func TestValue_SanitisesLikeFapilog(t *testing.T) {
	tests := map[string]string{
		"INFO":                   "INFO",
		"api-gateway":            "api-gateway",
		"my_service-2":           "my_service-2",
		"prod.eu-west":           "prod_eu-west",
		"a b/c:d":                "a_b_c_d",
		`quote"back\slash`:       "quote_back_slash",
		"héllo":                  "h_llo", // one code point, one underscore
		"世界":                     "__",    // three bytes each, still one underscore each
		"🚀go":                    "_go",   // four bytes
		"bad\xffutf8":            "bad_utf8",
		"line\nbreak\t{}":        "line_break___",
		"":                       "",
		strings.Repeat("a", 128): strings.Repeat("a", 128),
	}
	for in, want := range tests {
		assert.Equal(t, want, Value(in), "%q", in)
	}
}

func TestValue_CutTo128Characters(t *testing.T) {
	assert.Equal(t, strings.Repeat("a", 128), Value(strings.Repeat("a", 300)))
	// Cut counts characters of the input, not bytes: 200 two-byte characters give 128 underscores.
	assert.Equal(t, strings.Repeat("_", 128), Value(strings.Repeat("é", 200)))
	assert.Equal(t, strings.Repeat("a", 127)+"_", Value(strings.Repeat("a", 127)+"éééé"))
}

func TestValue_CleanInputIsReturnedWithoutCopy(t *testing.T) {
	in := strings.Repeat("abc-_", 20)
	allocs := testing.AllocsPerRun(100, func() {
		if Value(in) != in {
			t.Fatal("changed a clean value")
		}
	})
	assert.Zero(t, allocs)
	assert.Equal(t, OtherValue, Value(OtherValue), "the overflow value is itself clean")
}

func TestAppendValue_AppendsWithoutAllocatingWhenRoomIsThere(t *testing.T) {
	buf := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() {
		buf = AppendValue(buf[:0], "héllo wörld/with:many.bad chars")
	})
	assert.Zero(t, allocs)
	assert.Equal(t, "h_llo_w_rld_with_many_bad_chars", string(buf))
}

func FuzzValue(f *testing.F) {
	for _, s := range []string{"", "INFO", "héllo 世界 🚀", "bad\xff\xfe", strings.Repeat("é", 200), "a.b-c_d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := Value(s)
		if !cleanValue.MatchString(v) || len(v) > MaxValueLen {
			t.Fatalf("Value(%q) = %q is not a clean label value", s, v)
		}
		if Value(v) != v {
			t.Fatalf("Value is not idempotent on %q", s)
		}
		if want := min(utf8.RuneCountInString(s), MaxValueLen); len(v) != want {
			t.Fatalf("Value(%q) has %d characters, want %d", s, len(v), want)
		}
		if CleanValue(s) != (v == s) {
			t.Fatalf("CleanValue(%q) disagrees with Value", s)
		}
		if n := NameFromPath(s); !promName.MatchString(n) {
			t.Fatalf("NameFromPath(%q) = %q is not a valid name", s, n)
		}
	})
}
