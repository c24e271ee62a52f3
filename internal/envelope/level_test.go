package envelope

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/plog"
)

func TestLevelOfSeverityText(t *testing.T) {
	names := map[string]string{
		"trace": LevelTrace, "debug": LevelDebug, "info": LevelInfo, "warn": LevelWarning, "warning": LevelWarning,
		"error": LevelError, "fatal": LevelCritical, "critical": LevelCritical,
	}
	for text, want := range names {
		for _, variant := range []string{text, strings.ToUpper(text), strings.ToUpper(text[:1]) + text[1:]} {
			// The text wins over the number, whatever the number says.
			assert.Equal(t, want, levelOf(variant, plog.SeverityNumberFatal4), variant)
		}
	}
	// Texts fapilog does not know keep their name, upper-cased; near misses are not taken for a known name.
	for text, want := range map[string]string{"notice": "NOTICE", "Infos": "INFOS", "warni": "WARNI", "err": "ERR"} {
		assert.Equal(t, want, levelOf(text, plog.SeverityNumberInfo), text)
	}
}

func TestLevelOfSeverityNumber(t *testing.T) {
	for number, want := range map[plog.SeverityNumber]string{
		plog.SeverityNumberUnspecified: LevelInfo, plog.SeverityNumberTrace: LevelDebug, plog.SeverityNumberDebug4: LevelDebug,
		plog.SeverityNumberInfo: LevelInfo, plog.SeverityNumberWarn2: LevelWarning, plog.SeverityNumberError: LevelError,
		plog.SeverityNumberFatal: LevelCritical,
	} {
		assert.Equal(t, want, levelOf("", number), number.String())
	}
}

// knownLevel compares ASCII letters itself; it must find what strings.EqualFold finds, also for the characters
// that fold across byte lengths (Kelvin sign, long s, Turkish i) and for bytes one bit away from a letter.
func TestKnownLevel_MatchesEqualFold(t *testing.T) {
	names := map[string]string{
		"info": LevelInfo, "warn": LevelWarning, "warning": LevelWarning, "error": LevelError, "debug": LevelDebug,
		"trace": LevelTrace, "fatal": LevelCritical, "critical": LevelCritical,
	}
	reference := func(text string) string {
		for name, level := range names {
			if strings.EqualFold(text, name) {
				return level
			}
		}
		return ""
	}
	variants := func(c byte) []string {
		return []string{string(c), string(c - 0x20), string(c ^ 0x20 ^ 0x40), string(c &^ 0x20 &^ 0x40), "\u212a", "\u017f",
			"\u0130", "\u0131", "\xff"}
	}
	checked := 0
	for name := range names {
		for i := range len(name) {
			for _, v := range variants(name[i]) {
				text := strings.ToUpper(name[:i]) + v + name[i+1:]
				assert.Equal(t, reference(text), knownLevel(text), "%q", text)
				checked++
			}
		}
	}
	assert.Greater(t, checked, 300)
}

func BenchmarkLevelOf(b *testing.B) {
	for _, text := range []string{"Info", "ERROR", "critical", "notice-but-longer"} {
		b.Run(text, func(b *testing.B) {
			for b.Loop() {
				_ = levelOf(text, plog.SeverityNumberInfo)
			}
		})
	}
}

func TestAppendName_WritesWhatTheJSONEncoderWrites(t *testing.T) {
	for _, name := range []string{LevelTrace, LevelDebug, LevelInfo, LevelWarning, LevelError, LevelCritical,
		DefaultLogger, "app.checkout", `quote " and \ back`, "NOTICE", ""} {
		assert.Equal(t, string(appendJSONString(nil, name)), string(appendName(nil, name)), name)
	}
}
