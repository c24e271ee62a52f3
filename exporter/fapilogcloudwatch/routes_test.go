package fapilogcloudwatch

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/otel/attribute"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogcloudwatch/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/destination"
	"github.com/fapilog/fapilog-otelcol/internal/telemetrytest"
)

func resourceWith(attrs map[string]any) pcommon.Resource {
	r := pcommon.NewResource()
	_ = r.Attributes().FromRaw(attrs)
	return r
}

// names resolves the group and stream of a resource with attrs.
func names(t *testing.T, r *routes, attrs map[string]any) (group, stream string) {
	t.Helper()
	res := resourceWith(attrs)
	group, _ = r.groupOf(res)
	return group, r.stream.Name(res.Attributes())
}

func TestRoutes_DefaultStreamIsHostnameDashStartSeconds(t *testing.T) {
	group, stream := names(t, routesFor(t, "/fapilog/default", ""), nil)
	assert.Equal(t, "/fapilog/default", group)
	assert.Equal(t, "web-1-1767323045", stream)
	assert.False(t, routesFor(t, "/fapilog/default", "").routed(), "a fixed group needs no routing")
}

func TestRoutes_PlaceholdersComeFromResourceAttributes(t *testing.T) {
	attrs := map[string]any{"service.name": "checkout", "deployment.environment.name": "prod", "k8s.pod.uid": 42}
	r := routesFor(t, "/tenants/{deployment.environment.name}/{service.name}", "{service.name}/{k8s.pod.uid}-{hostname}")
	group, stream := names(t, r, attrs)
	assert.Equal(t, "/tenants/prod/checkout", group)
	assert.Equal(t, "checkout/42-web-1", stream)
	assert.True(t, r.routed())

	r = routesFor(t, "/hosts/{hostname}", "app")
	group, _ = names(t, r, attrs)
	assert.Equal(t, "/hosts/web-1", group, "{hostname} is the collector's host in a group name too")
	assert.False(t, r.routed(), "fixed once {hostname} is known")
}

func TestRoutes_MissingOrEmptyAttributeTakesThePlaceholderDefault(t *testing.T) {
	r := routesFor(t, "/tenants/{service.name}", "{service.name}-x")
	for _, attrs := range []map[string]any{nil, {"service.name": ""}} {
		group, stream := names(t, r, attrs)
		assert.Equal(t, "/tenants/unknown", group)
		assert.Equal(t, "unknown-x", stream)
	}
	own := routesFor(t, "/tenants/{service.name}", "{service.name}-x", func(c *Config) { c.Destinations.PlaceholderDefault = "no-service" })
	group, stream := names(t, own, nil)
	assert.Equal(t, "/tenants/no-service", group)
	assert.Equal(t, "no-service-x", stream)
}

// A record names its group; whatever it holds, the name is one CloudWatch accepts: [\.\-_/#A-Za-z0-9], 1 to 512
// bytes, never the reserved aws/ prefix.
func TestRoutes_GroupNamesFollowCloudWatchsRulesWhateverTheRecordHolds(t *testing.T) {
	r := routesFor(t, "{service.name}", "s")
	for value, want := range map[string]string{
		"checkout":           "checkout",
		"../../etc/x":        "../../etc/x", // a group name is no path: dots and slashes are allowed characters
		"team a:billing*v2":  "team_a_billing_v2",
		"héllo wörld":        "h_llo_w_rld",
		"nul\x00byte":        "nul_byte",
		"aws/lambda/f":       "_ws/lambda/f",
		"{service.name}":     "_service.name_",
		"#ops/eu-1_blue.bak": "#ops/eu-1_blue.bak",
	} {
		group, _ := names(t, r, map[string]any{"service.name": value})
		assert.Equal(t, want, group, "%q", value)
	}
	long, _ := names(t, r, map[string]any{"service.name": strings.Repeat("a", 600)})
	assert.Len(t, long, 512)
}

func TestRoutes_StreamNamesLoseOnlyColonAndStarAndAreCutAtARuneBoundary(t *testing.T) {
	r := routesFor(t, "/g", "x{service.name}")
	_, stream := names(t, r, map[string]any{"service.name": "svc:a*b:c"})
	assert.Equal(t, "xsvc_a_b_c", stream)
	_, stream = names(t, r, map[string]any{"service.name": strings.Repeat("é", 400)})
	assert.Len(t, stream, 511, "x + 255 two-byte runes: the 256th would end at byte 513")
}

func TestRoutes_MaxDestinationsSendsFurtherGroupsToTheDefault(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.LogGroupName = "/tenants/{service.name}"
	cfg.Destinations.MaxDestinations = 3
	set := exportertest.NewNopSettings(metadata.Type)
	set.ID = component.MustNewIDWithName(metadata.Type.String(), "tenants")
	var metrics *telemetrytest.Metrics
	set.TelemetrySettings, metrics = telemetrytest.NewSettings(t)
	r, err := newRoutes(cfg, set, "h", builderNow)
	require.NoError(t, err)
	t.Cleanup(r.shutdown)
	for i := range 5 {
		want, wantRefused := fmt.Sprintf("/tenants/svc-%d", i), ""
		if i >= 3 {
			want, wantRefused = "/tenants/unknown", fmt.Sprintf("/tenants/svc-%d", i)
		}
		group, refused := r.groupOf(resourceWith(map[string]any{"service.name": fmt.Sprintf("svc-%d", i)}))
		assert.Equal(t, want, group)
		assert.Equal(t, wantRefused, refused)
	}
	group, refused := r.groupOf(resourceWith(map[string]any{"service.name": "svc-1"}))
	assert.Equal(t, "/tenants/svc-1", group, "an admitted group stays")
	assert.Empty(t, refused)
	tenants := attribute.String("exporter", "fapilogcloudwatch/tenants")
	assert.Zero(t, metrics.Int(t, destination.MetricOverflow, tenants), "records are counted once handled, not when routed")
	r.countOverflow(context.Background(), "/tenants/svc-3", 20)
	assert.EqualValues(t, 20, metrics.Int(t, destination.MetricOverflow, tenants), "series carry the component ID")
	assert.EqualValues(t, 4, metrics.Int(t, destination.MetricOpen, tenants), "three groups and the default")
}
