package destination

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzPathSegment checks that no value a record can carry makes a path leave its directory.
func FuzzPathSegment(f *testing.F) {
	for _, seed := range []string{"checkout", "../../etc/x", "/abs", "..", ".", "a\x00b", `..\..\win`, "a/../../b", "\xff\xfe", strings.Repeat("../", 80)} {
		f.Add(seed, "svc")
	}
	tmpl, err := Parse("/srv/logs/{a}/app-{b}.jsonl", PathSegment, "")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, v := range []string{a, b} {
			s := PathSegment.Sanitize(v)
			if v != "" && s == "" {
				t.Fatalf("Sanitize(%q) is empty", v)
			}
			if strings.ContainsAny(s, "/\\\x00") || strings.HasPrefix(s, ".") || !utf8.ValidString(s) || len(s) > 100 {
				t.Fatalf("Sanitize(%q) = %q", v, s)
			}
		}
		m := attrs("a", a, "b", b)
		name := tmpl.Name(m)
		if filepath.Clean(name) != name {
			t.Fatalf("%q is not clean: a value changed the path's structure", name)
		}
		if !strings.HasPrefix(name, "/srv/logs/") || strings.Count(name, "/") != 4 {
			t.Fatalf("%q left /srv/logs/<a>/ for a=%q b=%q", name, a, b)
		}
	})
}
