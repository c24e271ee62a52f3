package destination

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Kind is the naming rules of one kind of destination: which characters a placeholder's value keeps (the
// others become '_'), how long a value and the whole name may be, and what the whole name must not be. Values
// come from records, so from anyone who can send one: a Kind makes every value safe, never rejects it.
type Kind struct {
	name string
	// keep reports whether a value keeps r; the others become '_'.
	keep func(r rune) bool
	// lower folds ASCII upper case to lower case first.
	lower bool
	// noLeadingDot turns a value's leading '.' into '_'.
	noLeadingDot bool
	// maxValueBytes cuts each value; maxBytes cuts the whole name (0: no limit). Cuts fall on a rune boundary.
	maxValueBytes, maxBytes int
	// maxSegmentBytes bounds each '/'-separated segment of a name with placeholders (0: no limit): the values of
	// a segment share what its literal text leaves of it.
	maxSegmentBytes int
	// literal checks the template's own text (trusted configuration, but it must still make a valid name).
	literal func(text string) error
	// finish fixes the whole name: a reserved prefix, a name that must not be "." or "..".
	finish func(name []byte) []byte
}

// String is the kind's name, for error messages.
func (k Kind) String() string { return k.name }

var (
	// PathSegment is a value inside one segment of a file path: ASCII letters, digits, '-', '_' and '.', never
	// a leading '.' (so never "." or ".." and no hidden file), at most 100 bytes, and the values of one segment
	// together at most what its literal text leaves of 223 bytes (room for a rotated file's suffix,
	// "-YYYYmmdd-HHMMSS-N.gz.tmp", within NAME_MAX, 255). A value can therefore never add a separator, climb out
	// of its directory, name an absolute path or make a name the file system refuses. The template's literal
	// text is the configured path itself: anything but NUL.
	PathSegment = Kind{
		name:            "path segment",
		keep:            func(r rune) bool { return isASCIIAlnum(r) || r == '-' || r == '_' || r == '.' },
		noLeadingDot:    true,
		maxValueBytes:   100,
		maxSegmentBytes: 255 - 32,
		literal:         func(text string) error { return forbid(text, "\x00") },
	}

	// LokiTenantID is an X-Scope-OrgID value as Loki, Mimir and Cortex validate it (dskit tenant.ValidTenantID):
	// ASCII letters, digits and ! - _ . * ' ( ), at most 150 bytes, never "." or "..". '|' (which separates the
	// tenants of a multi-tenant query) is not among them.
	LokiTenantID = Kind{
		name:     "Loki tenant ID",
		keep:     func(r rune) bool { return isASCIIAlnum(r) || strings.ContainsRune("!-_.*'()", r) },
		maxBytes: 150,
		finish:   notDotOrDotDot,
	}

	// CloudWatchLogGroup is a log group name as CreateLogGroup accepts it: ASCII letters, digits and _ - / . #,
	// 1 to 512 bytes, not starting with "aws/" (reserved for AWS services).
	CloudWatchLogGroup = Kind{
		name:     "CloudWatch log group name",
		keep:     func(r rune) bool { return isASCIIAlnum(r) || strings.ContainsRune("_-/.#", r) },
		maxBytes: 512,
		finish: func(name []byte) []byte {
			if strings.HasPrefix(string(name), "aws/") {
				name[0] = '_'
			}
			return name
		},
	}

	// CloudWatchLogStream is a log stream name: any characters but ':' and '*', 1 to 512 bytes.
	CloudWatchLogStream = Kind{
		name:     "CloudWatch log stream name",
		keep:     func(r rune) bool { return r != ':' && r != '*' && r != utf8.RuneError },
		maxBytes: 512,
	}

	// PostgresIdentifier is a table or schema name that needs no quoting and survives it unchanged: lower-case
	// ASCII letters, digits and '_', starting with a letter or '_', at most 63 bytes (NAMEDATALEN - 1; PostgreSQL
	// would cut a longer one silently). Callers still quote it (pgx.Identifier) as a matter of course.
	PostgresIdentifier = Kind{
		name:     "PostgreSQL identifier",
		keep:     func(r rune) bool { return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' },
		lower:    true,
		maxBytes: 63,
		finish: func(name []byte) []byte {
			if len(name) > 0 && name[0] >= '0' && name[0] <= '9' {
				name = append([]byte{'_'}, name...)
				name = truncateUTF8(name, 63)
			}
			return name
		},
	}
)

// Sanitize returns value as this kind keeps it in a name: the form a placeholder's value takes. It never
// returns an empty string for a non-empty value.
func (k Kind) Sanitize(value string) string {
	return string(k.appendValue(nil, value, k.maxValueBytes))
}

// appendValue appends value, sanitised and cut to limit bytes (0: no limit), to dst.
func (k Kind) appendValue(dst []byte, value string, limit int) []byte {
	start := len(dst)
	for i, r := range value {
		if r == utf8.RuneError {
			// Invalid UTF-8 reaches keep as RuneError too; one '_' per bad byte sequence.
			if _, size := utf8.DecodeRuneInString(value[i:]); size <= 1 {
				dst = append(dst, '_')
				continue
			}
		}
		if k.lower && r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		if !k.keep(r) {
			dst = append(dst, '_')
			continue
		}
		if r == '.' && len(dst) == start && k.noLeadingDot {
			dst = append(dst, '_') // no ".", "..", or hidden file
			continue
		}
		dst = utf8.AppendRune(dst, r)
	}
	if limit > 0 {
		dst = truncateUTF8(dst, start+limit)
	}
	return dst
}

// validLiteral checks a template's literal text.
func (k Kind) validLiteral(text string) error {
	if k.literal != nil {
		return k.literal(text)
	}
	for _, r := range text {
		if r == utf8.RuneError || !k.keep(r) {
			return fmt.Errorf("%q is not allowed in a %s", r, k.name)
		}
	}
	return nil
}

func forbid(text, chars string) error {
	if i := strings.IndexAny(text, chars); i >= 0 {
		return fmt.Errorf("%q is not allowed", text[i])
	}
	return nil
}

func notDotOrDotDot(name []byte) []byte {
	if s := string(name); s == "." || s == ".." {
		for i := range name {
			name[i] = '_'
		}
	}
	return name
}

func isASCIIAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
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
