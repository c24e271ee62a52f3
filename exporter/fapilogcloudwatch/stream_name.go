package fapilogcloudwatch

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

const (
	// defaultLogStreamName is fapilog's default, {hostname}-{timestamp}: the collector's host name and the unix
	// seconds at which the exporter started, so each collector process writes its own stream.
	defaultLogStreamName = "{" + placeholderHostname + "}-{" + placeholderTimestamp + "}"

	placeholderHostname  = "hostname"
	placeholderTimestamp = "timestamp"

	// missingAttributeValue stands in for a placeholder whose resource attribute is absent or empty: a stream
	// name cannot be empty and an unset attribute must not make the record undeliverable.
	missingAttributeValue = "unknown"

	// maxNameLen is CloudWatch's limit for log group and log stream names.
	maxNameLen = 512
)

// streamTemplate is log_stream_name parsed into literal text and {placeholders}. {hostname} and {timestamp} are
// fapilog's names for the collector's host name and the exporter's start time (unix seconds); any other {key} is
// the value of the resource attribute key, so records of different resources may go to different streams.
type streamTemplate struct {
	parts []templatePart
}

type templatePart struct {
	text string // literal text, or the attribute key when attr is set
	attr bool
}

// parseStreamTemplate parses log_stream_name ("" means the default). Literal text must be a valid part of a
// stream name: no ':' or '*'.
func parseStreamTemplate(s string) (streamTemplate, error) {
	if s == "" {
		s = defaultLogStreamName
	}
	var t streamTemplate
	for s != "" {
		open, end := strings.IndexByte(s, '{'), strings.IndexByte(s, '}')
		if end >= 0 && (open < 0 || end < open) {
			return streamTemplate{}, errors.New("'}' without a matching '{'")
		}
		if open < 0 {
			t.parts = append(t.parts, templatePart{text: s})
			break
		}
		if open > 0 {
			t.parts = append(t.parts, templatePart{text: s[:open]})
		}
		if end < 0 {
			return streamTemplate{}, fmt.Errorf("'{' without a matching '}' in %q", s[open:])
		}
		key := s[open+1 : end]
		if key == "" || strings.ContainsRune(key, '{') {
			return streamTemplate{}, fmt.Errorf("placeholder %q must name a resource attribute, e.g. {service.name}", s[open:end+1])
		}
		t.parts = append(t.parts, templatePart{text: key, attr: true})
		s = s[end+1:]
	}
	literal := 0
	for _, p := range t.parts {
		if p.attr {
			continue
		}
		if strings.ContainsAny(p.text, ":*") {
			return streamTemplate{}, fmt.Errorf("must not contain ':' or '*' (got %q)", p.text)
		}
		literal += len(p.text)
	}
	if literal > maxNameLen {
		return streamTemplate{}, fmt.Errorf("must be at most %d bytes", maxNameLen)
	}
	return t, nil
}

// bind replaces {hostname} and {timestamp} by their values and joins adjacent literal parts.
func (t streamTemplate) bind(hostname string, start time.Time) streamTemplate {
	var out streamTemplate
	for _, p := range t.parts {
		switch {
		case p.attr && p.text == placeholderHostname:
			p = templatePart{text: string(appendNamePart(nil, hostname))}
		case p.attr && p.text == placeholderTimestamp:
			p = templatePart{text: strconv.FormatInt(start.Unix(), 10)}
		}
		if n := len(out.parts); n > 0 && !p.attr && !out.parts[n-1].attr {
			out.parts[n-1].text += p.text
			continue
		}
		out.parts = append(out.parts, p)
	}
	return out
}

// static returns the stream name when it does not depend on the resource.
func (t streamTemplate) static() (string, bool) {
	switch {
	case len(t.parts) == 0:
		return "", false
	case len(t.parts) == 1 && !t.parts[0].attr:
		return t.parts[0].text, true
	}
	for _, p := range t.parts {
		if p.attr {
			return "", false
		}
	}
	var b strings.Builder
	for _, p := range t.parts {
		b.WriteString(p.text)
	}
	return b.String(), true
}

// appendName appends the stream name for a resource with attributes attrs to dst.
func (t streamTemplate) appendName(dst []byte, attrs pcommon.Map) []byte {
	start := len(dst)
	for _, p := range t.parts {
		if !p.attr {
			dst = append(dst, p.text...)
			continue
		}
		value := ""
		if v, ok := attrs.Get(p.text); ok {
			if v.Type() == pcommon.ValueTypeStr {
				value = v.Str()
			} else {
				value = v.AsString()
			}
		}
		if value == "" {
			value = missingAttributeValue
		}
		dst = appendNamePart(dst, value)
	}
	return truncateUTF8(dst, start+maxNameLen)
}

// appendNamePart appends value with the characters a stream name cannot hold (':' and '*') replaced by '_'.
func appendNamePart(dst []byte, value string) []byte {
	for i := 0; i < len(value); i++ {
		c := value[i]
		if c == ':' || c == '*' {
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}

// truncateUTF8 cuts b to at most limit bytes without splitting a UTF-8 sequence.
func truncateUTF8(b []byte, limit int) []byte {
	if len(b) <= limit {
		return b
	}
	for limit > 0 && !utf8.RuneStart(b[limit]) {
		limit--
	}
	return b[:limit]
}
