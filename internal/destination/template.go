package destination

import (
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// DefaultPlaceholderValue stands in for a placeholder whose resource attribute is missing or empty, unless
// the exporter configures another: a destination name cannot be empty, and a record without the attribute
// must still be delivered. It is the CloudWatch exporter's value for log stream names.
const DefaultPlaceholderValue = "unknown"

// Template is a destination name with {placeholders}: literal text, and {key} for the value of the resource
// attribute key ({service.name}, {deployment.environment.name}, ...), sanitised by the template's Kind. It is
// the syntax of the CloudWatch exporter's log_stream_name. A Template is immutable and safe for concurrent
// use.
type Template struct {
	parts []part
	kind  Kind
	// fallback replaces a missing or empty attribute, and every placeholder of the default destination.
	fallback string
}

type part struct {
	text string // literal text, or the attribute key when attr is set
	attr bool
	max  int // the most bytes of a placeholder's value (0: no limit)
}

// Parse parses template for destinations of kind. fallback ("" means DefaultPlaceholderValue) replaces a
// placeholder whose attribute is missing or empty; it must be a valid value of kind as it stands.
func Parse(template string, kind Kind, fallback string) (*Template, error) {
	if fallback == "" {
		fallback = DefaultPlaceholderValue
	}
	if kind.Sanitize(fallback) != fallback {
		return nil, fmt.Errorf("default value %q is not a valid %s value (it would become %q)", fallback, kind, kind.Sanitize(fallback))
	}
	t := &Template{kind: kind, fallback: fallback}
	for s := template; s != ""; {
		open, end := strings.IndexByte(s, '{'), strings.IndexByte(s, '}')
		if end >= 0 && (open < 0 || end < open) {
			return nil, errors.New("'}' without a matching '{'")
		}
		if open < 0 {
			t.parts = append(t.parts, part{text: s})
			break
		}
		if open > 0 {
			t.parts = append(t.parts, part{text: s[:open]})
		}
		if end < 0 {
			return nil, fmt.Errorf("'{' without a matching '}' in %q", s[open:])
		}
		key := s[open+1 : end]
		if key == "" || strings.ContainsRune(key, '{') {
			return nil, fmt.Errorf("placeholder %q must name a resource attribute, e.g. {service.name}", s[open:end+1])
		}
		t.parts = append(t.parts, part{text: key, attr: true})
		s = s[end+1:]
	}
	if len(t.parts) == 0 {
		return nil, errors.New("must not be empty")
	}
	for _, p := range t.parts {
		if p.attr {
			continue
		}
		if err := kind.validLiteral(p.text); err != nil {
			return nil, err
		}
	}
	if static, ok := t.Static(); ok && kind.maxBytes > 0 && len(static) > kind.maxBytes {
		return nil, fmt.Errorf("must be at most %d bytes", kind.maxBytes)
	}
	if err := t.limitValues(); err != nil {
		return nil, err
	}
	return t, nil
}

// limitValues sets the most bytes of each placeholder's value: the kind's maxValueBytes, and with
// maxSegmentBytes an equal share of what the literal text of the placeholder's segment leaves.
func (t *Template) limitValues() error {
	for i := range t.parts {
		if t.parts[i].attr {
			t.parts[i].max = t.kind.maxValueBytes
		}
	}
	if t.kind.maxSegmentBytes <= 0 {
		return nil
	}
	literal, placeholders, first := 0, 0, 0 // of the segment that starts in parts[first]
	end := func(last int) error {
		if placeholders == 0 {
			return nil
		}
		share := (t.kind.maxSegmentBytes - literal) / placeholders
		if share < 1 {
			return fmt.Errorf("a file name with placeholders must have at most %d bytes of literal text", t.kind.maxSegmentBytes-placeholders)
		}
		for i := first; i <= last; i++ {
			if t.parts[i].attr && (t.parts[i].max == 0 || share < t.parts[i].max) {
				t.parts[i].max = share
			}
		}
		return nil
	}
	for i, p := range t.parts {
		if p.attr {
			placeholders++
			continue
		}
		text := p.text
		for {
			slash := strings.IndexByte(text, '/')
			if slash < 0 {
				break
			}
			literal += slash
			if err := end(i); err != nil {
				return err
			}
			literal, placeholders, first, text = 0, 0, i, text[slash+1:]
		}
		literal += len(text)
	}
	return end(len(t.parts) - 1)
}

// Bind replaces the placeholders named in values (values an exporter knows itself, such as the CloudWatch
// exporter's {hostname} and {timestamp}) by those values, sanitised like an attribute's.
func (t *Template) Bind(values map[string]string) *Template {
	out := &Template{kind: t.kind, fallback: t.fallback}
	for _, p := range t.parts {
		if v, ok := values[p.text]; ok && p.attr {
			if v == "" {
				v = t.fallback
			}
			p = part{text: t.kind.Sanitize(v)}
		}
		if n := len(out.parts); n > 0 && !p.attr && !out.parts[n-1].attr {
			out.parts[n-1].text += p.text
			continue
		}
		out.parts = append(out.parts, p)
	}
	return out
}

// Static returns the name when the template has no placeholder: every record goes to the same destination,
// and an exporter can skip routing altogether.
func (t *Template) Static() (string, bool) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.attr {
			return "", false
		}
		b.WriteString(p.text)
	}
	return b.String(), true
}

// Keys returns the resource attribute keys the template reads, in order.
func (t *Template) Keys() []string {
	var keys []string
	for _, p := range t.parts {
		if p.attr {
			keys = append(keys, p.text)
		}
	}
	return keys
}

// LiteralPrefix is the template's text before its first placeholder (all of it when it has none). For a path,
// the directory it ends in is one no resolved name can leave.
func (t *Template) LiteralPrefix() string {
	if len(t.parts) > 0 && !t.parts[0].attr {
		return t.parts[0].text
	}
	return ""
}

// AppendName appends the destination name for a resource with attributes attrs to dst. It allocates nothing
// when dst has room.
func (t *Template) AppendName(dst []byte, attrs pcommon.Map) []byte {
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
			value = t.fallback
		}
		dst = t.kind.appendValue(dst, value, p.max)
	}
	return t.finish(dst, start)
}

// Name is AppendName as a string.
func (t *Template) Name(attrs pcommon.Map) string { return string(t.AppendName(nil, attrs)) }

// DefaultName is the default destination: every placeholder replaced by the fallback value. Records beyond
// max_destinations go there.
func (t *Template) DefaultName() string {
	var dst []byte
	for _, p := range t.parts {
		if p.attr {
			dst = t.kind.appendValue(dst, t.fallback, p.max)
		} else {
			dst = append(dst, p.text...)
		}
	}
	return string(t.finish(dst, 0))
}

// finish applies the kind's whole-name rules to dst[start:].
func (t *Template) finish(dst []byte, start int) []byte {
	if t.kind.maxBytes > 0 {
		dst = truncateUTF8(dst, start+t.kind.maxBytes)
	}
	if t.kind.finish != nil {
		name := t.kind.finish(dst[start:len(dst):len(dst)])
		dst = append(dst[:start], name...)
	}
	return dst
}
