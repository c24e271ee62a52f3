package destination

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestKind_SanitizeByEachDestinationsRules(t *testing.T) {
	tests := []struct {
		kind        Kind
		value, want string
	}{
		{PathSegment, "checkout", "checkout"},
		{PathSegment, "Payments-EU_2.v1", "Payments-EU_2.v1"},
		{PathSegment, "../../etc/x", "_._.._etc_x"},
		{PathSegment, "/abs", "_abs"},
		{PathSegment, "..", "_."},
		{PathSegment, ".", "_"},
		{PathSegment, ".hidden", "_hidden"},
		{PathSegment, "a\x00b", "a_b"},
		{PathSegment, `a\b`, "a_b"},
		{PathSegment, "svc name", "svc_name"},
		{PathSegment, "zahlungsdienst-ü", "zahlungsdienst-_"},
		{PathSegment, "bad\xffutf8", "bad_utf8"},
		{PathSegment, strings.Repeat("x", 300), strings.Repeat("x", 100)},

		{LokiTenantID, "team-a", "team-a"},
		{LokiTenantID, "team a|team b", "team_a_team_b"},
		{LokiTenantID, "(prod)!*'.x", "(prod)!*'.x"},
		{LokiTenantID, "a/b", "a_b"},

		{CloudWatchLogGroup, "/fapilog/checkout", "/fapilog/checkout"},
		{CloudWatchLogGroup, "svc#1 (eu)", "svc#1__eu_"},
		{CloudWatchLogGroup, "é", "_"},

		{CloudWatchLogStream, "svc:a*b", "svc_a_b"},
		{CloudWatchLogStream, "héllo wörld/1", "héllo wörld/1"},

		{PostgresIdentifier, "Checkout-Service", "checkout_service"},
		{PostgresIdentifier, "svc$1", "svc_1"},
		{PostgresIdentifier, "ünïcode", "_n_code"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.kind.Sanitize(tt.value), "%s(%q)", tt.kind, tt.value)
	}
}

func TestKind_WholeNameRules(t *testing.T) {
	name := func(kind Kind, template string, value string) string {
		tmpl, err := Parse(template, kind, "")
		if err != nil {
			t.Fatal(err)
		}
		return string(tmpl.AppendName(nil, attrs("k", value)))
	}
	assert.Equal(t, "_", name(LokiTenantID, "{k}", "."), "a tenant is never '.'")
	assert.Equal(t, "__", name(LokiTenantID, "{k}", ".."), "nor '..'")
	assert.Equal(t, "...", name(LokiTenantID, "{k}", "..."), "'...' is a valid tenant")
	assert.Len(t, name(LokiTenantID, "{k}", strings.Repeat("t", 400)), 150)

	assert.Equal(t, "_ws/lambda/x", name(CloudWatchLogGroup, "{k}", "aws/lambda/x"), "aws/ is reserved for AWS")
	assert.Len(t, name(CloudWatchLogGroup, "/g/{k}", strings.Repeat("g", 600)), 512)
	assert.Len(t, name(CloudWatchLogStream, "x{k}", strings.Repeat("é", 400)), 511, "cut at a rune boundary")

	assert.Equal(t, "_2024_logs", name(PostgresIdentifier, "{k}_logs", "2024"), "an identifier starts with a letter or _")
	long := name(PostgresIdentifier, "logs_{k}", strings.Repeat("a", 100))
	assert.Len(t, long, 63, "NAMEDATALEN - 1: PostgreSQL would cut it silently")
}
