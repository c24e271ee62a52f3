package fapilogcloudwatch

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func streamName(t *testing.T, template string, attrs map[string]any) string {
	t.Helper()
	tmpl, err := parseStreamTemplate(template)
	require.NoError(t, err)
	bound := tmpl.bind("web-1", time.Unix(1767323045, 0))
	m := pcommon.NewMap()
	require.NoError(t, m.FromRaw(attrs))
	return string(bound.appendName(nil, m))
}

func TestStreamName_DefaultIsHostnameDashStartSeconds(t *testing.T) {
	assert.Equal(t, "web-1-1767323045", streamName(t, "", nil))
	assert.Equal(t, "web-1-1767323045", streamName(t, "{hostname}-{timestamp}", nil))
	tmpl, _ := parseStreamTemplate("")
	name, static := tmpl.bind("web-1", time.Unix(1767323045, 0)).static()
	assert.True(t, static, "the default does not depend on the resource")
	assert.Equal(t, "web-1-1767323045", name)
}

func TestStreamName_PlaceholdersComeFromResourceAttributes(t *testing.T) {
	attrs := map[string]any{"service.name": "checkout", "deployment.environment.name": "prod", "k8s.pod.uid": 42}
	assert.Equal(t, "checkout/prod/42", streamName(t, "{service.name}/{deployment.environment.name}/{k8s.pod.uid}", attrs))
	assert.Equal(t, "app-checkout-web-1", streamName(t, "app-{service.name}-{hostname}", attrs))

	tmpl, _ := parseStreamTemplate("{service.name}")
	_, static := tmpl.bind("h", time.Now()).static()
	assert.False(t, static)
}

func TestStreamName_MissingOrEmptyAttributeBecomesUnknown(t *testing.T) {
	assert.Equal(t, "unknown-x", streamName(t, "{service.name}-x", nil))
	assert.Equal(t, "unknown-x", streamName(t, "{service.name}-x", map[string]any{"service.name": ""}))
}

func TestStreamName_ForbiddenCharactersInValuesBecomeUnderscores(t *testing.T) {
	assert.Equal(t, "svc_a_b_c", streamName(t, "{service.name}", map[string]any{"service.name": "svc:a*b:c"}))
}

func TestStreamName_CutTo512BytesAtARuneBoundary(t *testing.T) {
	name := streamName(t, "x{service.name}", map[string]any{"service.name": strings.Repeat("é", 400)})
	assert.Len(t, name, 511, "x + 255 two-byte runes: the 256th would end at byte 513")
}

func TestParseStreamTemplate_RejectsMalformedTemplates(t *testing.T) {
	for template, want := range map[string]string{
		"app-{service.name":      "'{' without a matching '}'",
		"app-}":                  "'}' without a matching '{'",
		"app-{}":                 "must name a resource attribute",
		"app:1":                  "must not contain ':' or '*'",
		"app*":                   "must not contain ':' or '*'",
		strings.Repeat("a", 513): "at most 512 bytes",
	} {
		_, err := parseStreamTemplate(template)
		assert.ErrorContains(t, err, want, template)
	}
}
