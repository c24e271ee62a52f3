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
