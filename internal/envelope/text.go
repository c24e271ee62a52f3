package envelope

import (
	"strings"
	"time"
)

// AppendText appends the envelope as one key=value line: top-level keys sorted, objects as compact JSON, and
// strings bare unless they contain a space, '=', a quote, a control character or are empty, in which case they
// are JSON-quoted so the line stays parseable.
func (e *Entry) AppendText(dst []byte) []byte {
	dst = append(dst, "context="...)
	dst = e.appendContext(dst)
	dst = append(dst, " data="...)
	dst = e.appendData(dst)
	dst = append(dst, " diagnostics="...)
	dst = e.appendDiagnostics(dst)
	dst = append(dst, " level="...)
	dst = appendTextString(dst, e.level)
	dst = append(dst, " logger="...)
	dst = appendTextString(dst, e.logger)
	dst = append(dst, " message="...)
	dst = appendTextString(dst, e.Message())
	if e.tags.ok() {
		dst = append(dst, " tags="...)
		dst = e.appendField(dst, e.tags)
	}
	dst = append(dst, " timestamp="...)
	dst = e.isoTime.appendTimestamp(dst, e.timestamp)
	return append(dst, '\n')
}

func appendTextString(dst []byte, s string) []byte {
	if s == "" || strings.ContainsFunc(s, needsTextQuoting) {
		return appendJSONString(dst, s)
	}
	return append(dst, s...)
}

func needsTextQuoting(r rune) bool {
	return r <= ' ' || r == '=' || r == '"' || r == '\\' || r == 0x7f || r == '\u2028' || r == '\u2029' || r == '\uFFFD'
}

// PrettyOptions control the console rendering.
type PrettyOptions struct {
	// Colors wraps the level in ANSI colour codes.
	Colors bool
	// Location is the time zone of the printed time; nil means time.Local.
	Location *time.Location
}
