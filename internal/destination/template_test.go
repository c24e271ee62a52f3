package destination

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func attrs(kv ...any) pcommon.Map {
	m := pcommon.NewMap()
	for i := 0; i+1 < len(kv); i += 2 {
		_ = m.PutEmpty(kv[i].(string)).FromRaw(kv[i+1])
	}
	return m
}

func TestTemplate_PlaceholdersComeFromResourceAttributes(t *testing.T) {
	tmpl, err := Parse("/var/log/{service.name}/{deployment.environment.name}-{k8s.pod.uid}.jsonl", PathSegment, "")
	require.NoError(t, err)
	assert.Equal(t, "/var/log/checkout/prod-42.jsonl",
		tmpl.Name(attrs("service.name", "checkout", "deployment.environment.name", "prod", "k8s.pod.uid", 42)))
	assert.Equal(t, []string{"service.name", "deployment.environment.name", "k8s.pod.uid"}, tmpl.Keys())
	assert.Equal(t, "/var/log/", tmpl.LiteralPrefix())
	_, static := tmpl.Static()
	assert.False(t, static)
}

func TestTemplate_MissingOrEmptyAttributeTakesTheDefault(t *testing.T) {
	tmpl, err := Parse("{service.name}-x", CloudWatchLogStream, "")
	require.NoError(t, err)
	assert.Equal(t, "unknown-x", tmpl.Name(attrs()))
	assert.Equal(t, "unknown-x", tmpl.Name(attrs("service.name", "")))
	own, err := Parse("{service.name}-x", CloudWatchLogStream, "no-service")
	require.NoError(t, err)
	assert.Equal(t, "no-service-x", own.Name(attrs()))
	assert.Equal(t, "no-service-x", own.DefaultName())
}

func TestTemplate_WithoutPlaceholdersIsStatic(t *testing.T) {
	tmpl, err := Parse("/fapilog/default", CloudWatchLogGroup, "")
	require.NoError(t, err)
	name, static := tmpl.Static()
	assert.True(t, static)
	assert.Equal(t, "/fapilog/default", name)
	assert.Equal(t, name, tmpl.Name(attrs("service.name", "x")))
}

func TestTemplate_BindFixesExporterKnownPlaceholders(t *testing.T) {
	tmpl, err := Parse("{hostname}-{timestamp}/{service.name}", CloudWatchLogStream, "")
	require.NoError(t, err)
	bound := tmpl.Bind(map[string]string{"hostname": "web:1", "timestamp": "1767323045"})
	assert.Equal(t, "web_1-1767323045/checkout", bound.Name(attrs("service.name", "checkout")), "bound values are sanitised too")
	assert.Equal(t, []string{"service.name"}, bound.Keys())
	name, static := tmpl.Bind(map[string]string{"hostname": "h", "timestamp": "1", "service.name": "s"}).Static()
	assert.True(t, static)
	assert.Equal(t, "h-1/s", name)
}

func TestParse_RejectsMalformedTemplatesAndBadDefaults(t *testing.T) {
	for _, tt := range []struct {
		template string
		kind     Kind
		fallback string
		want     string
	}{
		{"app-{service.name", PathSegment, "", "'{' without a matching '}'"},
		{"app-}", PathSegment, "", "'}' without a matching '{'"},
		{"app-{}", PathSegment, "", "must name a resource attribute"},
		{"", LokiTenantID, "", "must not be empty"},
		{"logs/{x}", LokiTenantID, "", `'/' is not allowed in a Loki tenant ID`},
		{"Logs_{x}", PostgresIdentifier, "", `'L' is not allowed in a PostgreSQL identifier`},
		{"a:{x}", CloudWatchLogStream, "", `':' is not allowed`},
		{"/var/log/a\x00{x}", PathSegment, "", `is not allowed`},
		{"{x}", PathSegment, "../up", `default value "../up" is not a valid path segment value`},
		{"{x}", PostgresIdentifier, "Unknown", `not a valid PostgreSQL identifier value`},
	} {
		_, err := Parse(tt.template, tt.kind, tt.fallback)
		assert.ErrorContains(t, err, tt.want, "%q", tt.template)
	}
}

func TestTemplate_AppendNameDoesNotAllocate(t *testing.T) {
	tmpl, err := Parse("/var/log/{service.name}/app.jsonl", PathSegment, "")
	require.NoError(t, err)
	a := attrs("service.name", "checkout", "host.name", "web-1")
	buf := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(1000, func() { buf = tmpl.AppendName(buf[:0], a) })
	assert.Zero(t, allocs)
}

// The values of one file or directory name share what NAME_MAX (255) leaves once the literal text and a rotated
// file's suffix are counted; a value alone is still cut to 100 bytes, and other names are not affected.
func TestTemplate_PathValuesOfOneNameShareNAMEMAX(t *testing.T) {
	tmpl, err := Parse("/var/log/{a}/{b}_{c}_{d}.jsonl", PathSegment, "")
	require.NoError(t, err)
	long := strings.Repeat("x", 300)
	name := tmpl.Name(attrs("a", long, "b", long, "c", long, "d", long))
	segments := strings.Split(name, "/")
	require.Len(t, segments, 5)
	assert.Len(t, segments[3], 100, "a directory with one placeholder: the value's own cut")
	assert.LessOrEqual(t, len(segments[4]), 255-32, "three values and their literal text in one file name")
	assert.Equal(t, "/var/log/x/y_z_w.jsonl", tmpl.Name(attrs("a", "x", "b", "y", "c", "z", "d", "w")), "short values are whole")

	_, err = Parse("/var/log/"+strings.Repeat("n", 223)+"{a}.jsonl", PathSegment, "")
	assert.ErrorContains(t, err, "literal text", "no room left for the value")
}
