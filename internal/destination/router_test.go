package destination

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/goleak"

	"github.com/fapilog/fapilog-otelcol/internal/telemetrytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testScope = "github.com/fapilog/fapilog-otelcol/internal/destination/test"

func resource(service string) pcommon.Resource {
	r := pcommon.NewResource()
	if service != "" {
		r.Attributes().PutStr("service.name", service)
	}
	return r
}

func newTestRouter(t *testing.T, max int) (*Router, *telemetrytest.Metrics) {
	t.Helper()
	tmpl, err := Parse("/logs/{service.name}.jsonl", PathSegment, "")
	require.NoError(t, err)
	set, metrics := telemetrytest.NewSettings(t)
	r, err := NewRouter(tmpl, max, set, testScope)
	require.NoError(t, err)
	t.Cleanup(r.Shutdown)
	return r, metrics
}

// route resolves a resource's destination and counts its records as overflow when they go to the default one, as
// an exporter does once they are delivered.
func route(ctx context.Context, r *Router, res pcommon.Resource, records int) string {
	name, refused := r.Resolve(res)
	if refused != "" {
		r.CountOverflow(ctx, refused, records)
	}
	return name
}

func TestRouter_CapSendsFurtherDestinationsToTheDefaultAndCountsThem(t *testing.T) {
	r, metrics := newTestRouter(t, 3)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		want := fmt.Sprintf("/logs/svc-%d.jsonl", i)
		if i >= 3 {
			want = "/logs/unknown.jsonl"
		}
		assert.Equal(t, want, route(ctx, r, resource(fmt.Sprintf("svc-%d", i)), 10), "service %d", i)
	}
	assert.Equal(t, "/logs/svc-1.jsonl", route(ctx, r, resource("svc-1"), 10), "an admitted destination stays")
	assert.Equal(t, "/logs/unknown.jsonl", route(ctx, r, resource(""), 7), "a missing attribute goes to the default, which is no overflow")
	assert.Equal(t, "/logs/unknown.jsonl", route(ctx, r, resource("svc-4"), 10), "still over the cap")

	assert.EqualValues(t, 30, metrics.Int(t, MetricOverflow), "records of svc-3 and svc-4 (twice)")
	assert.EqualValues(t, 4, metrics.Int(t, MetricOpen), "three destinations plus the default")
	assert.Equal(t, 4, r.Destinations())
}

func TestRouter_TheDefaultDoesNotCountAgainstTheCap(t *testing.T) {
	r, metrics := newTestRouter(t, 1)
	ctx := context.Background()
	assert.Equal(t, "/logs/unknown.jsonl", route(ctx, r, resource(""), 1))
	assert.Equal(t, "/logs/a.jsonl", route(ctx, r, resource("a"), 1))
	assert.Equal(t, "/logs/unknown.jsonl", route(ctx, r, resource("b"), 1))
	assert.EqualValues(t, 1, metrics.Int(t, MetricOverflow))
}

func TestRouter_SanitisedValuesShareADestination(t *testing.T) {
	r, _ := newTestRouter(t, 10)
	ctx := context.Background()
	assert.Equal(t, "/logs/a_b.jsonl", route(ctx, r, resource("a/b"), 1))
	assert.Equal(t, "/logs/a_b.jsonl", route(ctx, r, resource("a b"), 1))
	assert.Equal(t, 1, r.Destinations())
}

func TestRouter_RoutingAKnownDestinationDoesNotAllocate(t *testing.T) {
	r, _ := newTestRouter(t, 10)
	res := resource("checkout")
	ctx := context.Background()
	route(ctx, r, res, 1)
	assert.Zero(t, testing.AllocsPerRun(1000, func() { route(ctx, r, res, 1) }))
}

func TestNewRouter_RejectsACapBelowOne(t *testing.T) {
	tmpl, err := Parse("{service.name}", LokiTenantID, "")
	require.NoError(t, err)
	set, _ := telemetrytest.NewSettings(t)
	_, err = NewRouter(tmpl, 0, set, testScope)
	assert.ErrorContains(t, err, "max_destinations")
}

func TestConfig_ValidateNamesTheKey(t *testing.T) {
	assert.NoError(t, NewDefaultConfig().Validate())
	assert.ErrorContains(t, Config{MaxDestinations: 0, PlaceholderDefault: "x"}.Validate(), "max_destinations: must be at least 1")
	assert.ErrorContains(t, Config{MaxDestinations: 1}.Validate(), "placeholder_default: must not be empty")
}

func BenchmarkRoute(b *testing.B) {
	tmpl, err := Parse("/var/log/{service.name}/app.jsonl", PathSegment, "")
	require.NoError(b, err)
	set, _ := telemetrytest.NewSettings(b)
	r, err := NewRouter(tmpl, 100, set, testScope)
	require.NoError(b, err)
	defer r.Shutdown()
	res := resource("checkout")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		route(ctx, r, res, 100)
	}
}
