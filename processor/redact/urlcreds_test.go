package redact

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestURLCredentials_Strings(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		// fapilog behaviour
		{"user and password", "https://user:pass@example.com/path?q=1#frag", "https://example.com/path?q=1#frag"},
		{"user only (whole userinfo goes, as fapilog)", "ssh://git@github.com/org/repo.git", "ssh://github.com/org/repo.git"},
		{"port kept", "postgres://app:s3cret@db.internal:5432/app", "postgres://db.internal:5432/app"},
		{"empty user", "redis://:s3cret@cache:6379/0", "redis://cache:6379/0"},
		{"'@' inside the password: the last '@' of the authority ends userinfo", "http://user:p@ss@host/x", "http://host/x"},
		{"no credentials", "https://example.com/a@b", "https://example.com/a@b"},
		{"'@' in the query is not userinfo", "https://example.com/path?email=a@b.com", "https://example.com/path?email=a@b.com"},
		{"an e-mail address is not a URL", "contact bob@example.com", "contact bob@example.com"},
		{"scheme-relative", "//u:p@cdn.example.com/x", "//cdn.example.com/x"},
		{"empty userinfo left alone", "http://@host/x", "http://@host/x"},
		{"a triple slash starts a path, not an authority", "file:///u@h", "file:///u@h"},
		{"empty host: stripping once is stable", "00//000@/0@0", "00///0@0"},
		{"mongodb multi-host", "mongodb://u:p@h1:27017,h2:27017/db?replicaSet=rs", "mongodb://h1:27017,h2:27017/db?replicaSet=rs"},
		// our deliberate differences from fapilog
		{"embedded in longer text", "connecting to amqps://guest:guest@mq:5671/vhost (attempt 2)", "connecting to amqps://mq:5671/vhost (attempt 2)"},
		{"several URLs", "a=http://u:p@h1/ b=ftp://x:y@h2/ c", "a=http://h1/ b=ftp://h2/ c"},
		{"IPv6 brackets kept", "http://u:p@[2001:DB8::1]:8080/x", "http://[2001:DB8::1]:8080/x"},
		{"host case kept", "https://u:p@Example.COM/Path", "https://Example.COM/Path"},
		{"quoted in JSON text", `{"dsn":"mysql://root:pw@tcp(db:3306)/x"}`, `{"dsn":"mysql://tcp(db:3306)/x"}`},
		{"unknown scheme too (as urlsplit)", "custom+proto://u:p@h/", "custom+proto://h/"},
	}
	p := newTestProcessor(t, testConfig()) // default: url_credentials only
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, redactString(t, p, tt.in))
		})
	}
}

func TestURLCredentials_AllFapilogSchemes(t *testing.T) {
	p := newTestProcessor(t, testConfig())
	for _, scheme := range []string{
		"http", "https", "ftp", "ftps", "ssh", "git", "svn", "postgres", "postgresql", "mysql", "mongodb",
		"mongodb+srv", "mssql", "cockroachdb", "redis", "rediss", "amqp", "amqps", "nats", "ldap", "ldaps", "smtp",
		"smtps", "HTTPS",
	} {
		in := "dsn " + scheme + "://admin:Pa55w0rd@host.example:1234/db done"
		assert.Equal(t, "dsn "+scheme+"://host.example:1234/db done", redactString(t, p, in), scheme)
	}
}

func TestURLCredentials_MaxStringLength(t *testing.T) {
	url := "https://u:p@h/"
	atLimit := url + strings.Repeat("x", 4096-len(url))
	overLimit := atLimit + "x"
	p := newTestProcessor(t, testConfig())
	assert.Equal(t, "https://h/"+strings.Repeat("x", 4096-len(url)), redactString(t, p, atLimit))
	assert.Equal(t, overLimit, redactString(t, p, overLimit), "longer strings are skipped, as fapilog does")

	// The limit counts characters, not bytes.
	multi := url + strings.Repeat("é", 4096-len(url))
	assert.Equal(t, "https://h/"+strings.Repeat("é", 4096-len(url)), redactString(t, p, multi))

	unlimited := newTestProcessor(t, testConfig(urlCreds(0)))
	assert.Equal(t, "https://h/"+strings.Repeat("x", 4097-len(url)), redactString(t, unlimited, overLimit))
}

func TestURLCredentials_EveryStringOfTheRecord(t *testing.T) {
	p := newTestProcessor(t, testConfig())
	got := run(t, p,
		map[string]any{"db": "postgres://u:p@db/x", "nested": map[string]any{"list": []any{"redis://:pw@r:6379"}}},
		map[string]any{"message": "GET https://a:b@h/", "n": int64(1)},
		map[string]any{"endpoint": "https://svc:tok@collector:4318"},
	)
	assert.Equal(t, map[string]any{"db": "postgres://db/x", "nested": map[string]any{"list": []any{"redis://r:6379"}}}, got.attrs)
	assert.Equal(t, map[string]any{"message": "GET https://h/", "n": int64(1)}, got.body)
	assert.Equal(t, map[string]any{"endpoint": "https://collector:4318"}, got.resource)
}

func TestURLCredentials_NoAllocationWithoutAt(t *testing.T) {
	u := &urlCredentials{maxLen: 4096}
	buf := make([]byte, 0, 64)
	s := strings.Repeat("plain log line without credentials ", 5)
	allocs := testing.AllocsPerRun(100, func() { _, _, buf = u.apply(s, buf) })
	assert.Zero(t, allocs)
}
