package lokilabel

import (
	"unicode/utf8"
)

// MaxValueLen is the longest label value fapilog sends, in characters (all ASCII once sanitised, so bytes too).
const MaxValueLen = 128

// OtherValue stands in for a label value beyond a cardinality limit. It is itself a clean value.
const OtherValue = "_other_"

// Character classes, indexed by byte: 1 = allowed in a value, 2 = allowed in a name (not first), 4 = allowed first.
var class = func() (t [256]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = 1 | 2 | 4
		t[c-'a'+'A'] = 1 | 2 | 4
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = 1 | 2
	}
	t['_'] = 1 | 2 | 4
	t['-'] = 1
	return t
}()

// ValidName reports whether name is a valid Prometheus (and so Loki) label name: [a-zA-Z_][a-zA-Z0-9_]*.
func ValidName(name string) bool {
	if name == "" || class[name[0]]&4 == 0 {
		return false
	}
	for i := 1; i < len(name); i++ {
		if class[name[i]]&2 == 0 {
			return false
		}
	}
	return true
}

// ReservedName reports whether name starts with "__", which Prometheus and Loki keep for internal labels.
func ReservedName(name string) bool {
	return len(name) >= 2 && name[0] == '_' && name[1] == '_'
}

// NameFromPath turns a dotted envelope path into a label name: every character outside [a-zA-Z0-9_] (the dots
// included) becomes "_", and a name that would start with a digit gets a leading "_". So diagnostics.service
// becomes diagnostics_service and level stays level. The result always satisfies ValidName.
func NameFromPath(path string) string {
	if ValidName(path) {
		return path
	}
	buf := make([]byte, 0, len(path)+1)
	if path == "" || class[path[0]]&4 == 0 && class[path[0]]&2 != 0 {
		buf = append(buf, '_')
	}
	for i := 0; i < len(path); {
		c := path[i]
		if c < utf8.RuneSelf {
			if class[c]&2 != 0 {
				buf = append(buf, c)
			} else {
				buf = append(buf, '_')
			}
			i++
			continue
		}
		_, size := utf8.DecodeRuneInString(path[i:])
		buf = append(buf, '_')
		i += size
	}
	return string(buf)
}

// CleanValue reports whether s is already a label value: at most MaxValueLen characters, all in [a-zA-Z0-9_-].
func CleanValue(s string) bool {
	if len(s) > MaxValueLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if class[s[i]]&1 == 0 {
			return false
		}
	}
	return true
}

// Value returns s sanitised (see AppendValue). A value that is already clean is returned as is, without
// allocating.
func Value(s string) string {
	if CleanValue(s) {
		return s
	}
	return string(AppendValue(make([]byte, 0, min(len(s), MaxValueLen)), s))
}

// AppendValue appends s sanitised as fapilog does: every character (Unicode code point; each byte of invalid
// UTF-8 counts as one) outside [a-zA-Z0-9_-] becomes "_", and the result is cut to MaxValueLen characters.
func AppendValue(dst []byte, s string) []byte {
	n := 0
	for i := 0; i < len(s) && n < MaxValueLen; n++ {
		c := s[i]
		if c < utf8.RuneSelf {
			if class[c]&1 != 0 {
				dst = append(dst, c)
			} else {
				dst = append(dst, '_')
			}
			i++
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		dst = append(dst, '_')
		i += size
	}
	return dst
}
