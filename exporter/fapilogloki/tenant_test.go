package fapilogloki

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogloki/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/delivery"
	"github.com/fapilog/fapilog-otelcol/internal/destination"
	"github.com/fapilog/fapilog-otelcol/internal/envelope"
	"github.com/fapilog/fapilog-otelcol/internal/telemetrytest"
)

// servicesLogs returns perService records for each service (a ResourceLogs each, resource attribute service.name,
// or none for ""), with message ids "<service>-<i>" and levels cycling, so every tenant holds several streams.
func servicesLogs(perService int, services ...string) plog.Logs {
	ld := plog.NewLogs()
	for _, svc := range services {
		rl := ld.ResourceLogs().AppendEmpty()
		if svc != "" {
			rl.Resource().Attributes().PutStr("service.name", svc)
		}
		sl := rl.ScopeLogs().AppendEmpty()
		for i := range perService {
			lr := sl.LogRecords().AppendEmpty()
			lr.SetTimestamp(pcommon.NewTimestampFromTime(recordTime(i)))
			lr.SetSeverityNumber(levels[i%len(levels)])
			lr.Body().SetStr(fmt.Sprintf("%s record %d", svc, i))
			lr.Attributes().PutStr("message_id", fmt.Sprintf("%s-%d", svc, i))
		}
	}
	return ld
}

// tenantConfig routes each service to a tenant of its own.
func tenantConfig(endpoint string) *Config {
	cfg := syncConfig(endpoint)
	cfg.TenantID = "{service.name}"
	cfg.LabelKeys = []string{"level", "diagnostics.service"}
	return cfg
}

// byTenant counts, per X-Scope-OrgID of the requests answered 2xx, the message ids they delivered.
func byTenant(t *testing.T, rec *recorder) map[string]map[string]int {
	t.Helper()
	out := map[string]map[string]int{}
	for _, r := range rec.all() {
		if r.status < 200 || r.status > 299 {
			continue
		}
		tenant := r.header.Get("X-Scope-OrgID")
		if out[tenant] == nil {
			out[tenant] = map[string]int{}
		}
		for _, s := range r.streams {
			for _, e := range s.entries {
				out[tenant][e.messageID(t)]++
			}
		}
	}
	return out
}

func TestTenants_OneRequestPerTenantCarryingOnlyThatTenantsStreams(t *testing.T) {
	rec := &recorder{}
	srv := newServer(t, rec)
	o := startObserved(t, tenantConfig(srv.URL))

	// Two ResourceLogs of svc-a, around one of svc-b: one tenant still gets one request.
	ld := servicesLogs(6, "svc-a", "svc-b", "svc-c")
	late := ld.ResourceLogs().AppendEmpty()
	servicesLogs(3, "svc-a").ResourceLogs().At(0).CopyTo(late)
	for i, lr := range late.ScopeLogs().At(0).LogRecords().All() {
		lr.Attributes().PutStr("message_id", fmt.Sprintf("svc-a-late-%d", i))
	}
	require.NoError(t, o.Exporter.ConsumeLogs(context.Background(), ld))

	require.Equal(t, 3, rec.count(), "one push request per tenant")
	for _, r := range rec.all() {
		tenant := r.header.Get("X-Scope-OrgID")
		require.NotEmpty(t, tenant)
		assert.Len(t, r.streams, 3, "the tenant's three levels")
		for _, s := range r.streams {
			assert.Equal(t, tenant, s.labels["diagnostics_service"], "a request carries its tenant's streams only")
		}
	}
	got := byTenant(t, rec)
	assert.Len(t, got["svc-a"], 9)
	assert.Len(t, got["svc-b"], 6)
	assert.Len(t, got["svc-c"], 6)
	assert.EqualValues(t, 3, o.Metrics.Int(t, destination.MetricOpen))
	assert.Zero(t, o.Metrics.Int(t, destination.MetricOverflow))
}

// A tenant comes from the records, so from anyone who can send one: its value is sanitised by Loki's tenant ID
// rules (dskit's: ASCII letters, digits and ! - _ . * ' ( ), at most 150 bytes, never "." or ".."); a record
// without the attribute goes to placeholder_default.
func TestTenants_ValuesAreSanitisedByLokisRules(t *testing.T) {
	rec := &recorder{}
	srv := newServer(t, rec)
	cfg := tenantConfig(srv.URL)
	cfg.TenantID = "team-{service.name}"
	cfg.Destinations.PlaceholderDefault = "shared"
	o := startObserved(t, cfg)

	long := strings.Repeat("x", 200)
	require.NoError(t, o.Exporter.ConsumeLogs(context.Background(),
		servicesLogs(1, "../etc/passwd", "a|b c/d", "é", "(ok)!*'", "", long)))
	var tenants []string
	for _, r := range rec.all() {
		tenants = append(tenants, r.header.Get("X-Scope-OrgID"))
	}
	assert.ElementsMatch(t, []string{"team-.._etc_passwd", "team-a_b_c_d", "team-_", "team-(ok)!*'", "team-shared",
		"team-" + long[:145]}, tenants)
	for _, tenant := range tenants {
		assert.LessOrEqual(t, len(tenant), 150)
		assert.NotContains(t, tenant, "|", "'|' separates the tenants of a multi-tenant query")
	}

	// A whole value of "." or ".." would be a path segment in some storage backends: never sent as such.
	dot := tenantConfig(srv.URL)
	o = startObserved(t, dot)
	before := rec.count()
	require.NoError(t, o.Exporter.ConsumeLogs(context.Background(), servicesLogs(1, ".", "..")))
	var dots []string
	for _, r := range rec.all()[before:] {
		dots = append(dots, r.header.Get("X-Scope-OrgID"))
	}
	assert.ElementsMatch(t, []string{"_", "__"}, dots)
}

// max_destinations caps the distinct tenants since start; the records of further tenants go to the default
// tenant (every placeholder replaced by placeholder_default), each record once, and the overflow metric counts them.
func TestTenants_MaxDestinationsSendsFurtherTenantsToTheDefaultAndCountsThem(t *testing.T) {
	rec := &recorder{}
	srv := newServer(t, rec)
	cfg := tenantConfig(srv.URL)
	cfg.Destinations.MaxDestinations = 2
	o := startObserved(t, cfg)

	require.NoError(t, o.Exporter.ConsumeLogs(context.Background(), servicesLogs(4, "a", "b", "c", "d")))
	later := servicesLogs(4, "e", "a")
	for _, rl := range later.ResourceLogs().All() {
		for i, lr := range rl.ScopeLogs().At(0).LogRecords().All() {
			svc, _ := rl.Resource().Attributes().Get("service.name")
			lr.Attributes().PutStr("message_id", fmt.Sprintf("%s-later-%d", svc.Str(), i))
		}
	}
	require.NoError(t, o.Exporter.ConsumeLogs(context.Background(), later))
	got := byTenant(t, rec)
	assert.Len(t, got, 3, "a, b and the default tenant")
	assert.Len(t, got["a"], 8, "a keeps its tenant")
	assert.Len(t, got["b"], 4)
	assert.Len(t, got["unknown"], 12, "c, d and e")
	for tenant, ids := range got {
		for id, n := range ids {
			assert.Equal(t, 1, n, "%s in %s", id, tenant)
		}
	}
	assert.EqualValues(t, 12, o.Metrics.Int(t, destination.MetricOverflow, attribute.String("exporter", "fapilogloki")),
		"the series carries the exporter's component ID")
	assert.EqualValues(t, 3, o.Metrics.Int(t, destination.MetricOpen), "two tenants plus the default")
	assert.Equal(t, 1, o.Logs.FilterMessageSnippet("max_destinations reached").Len(), "one warning a minute")
	o.Metrics.AssertDeclared(t, metadata.ScopeName, "metadata.yaml")
}

// The tenant is resolved again at every attempt (exporterhelper retries the records still to deliver), but a
// record sent to the default tenant is counted as overflow once, when its request is delivered.
func TestTenants_OverflowIsCountedOncePerRecordAcrossRetries(t *testing.T) {
	var failed atomic.Bool
	rec := &recorder{respond: func(_ int, r *http.Request, _ []pushedStream) (int, map[string]string, string) {
		if r.Header.Get("X-Scope-OrgID") == "unknown" && failed.CompareAndSwap(false, true) {
			return http.StatusServiceUnavailable, nil, "ingester unavailable"
		}
		return http.StatusNoContent, nil, ""
	}}
	srv := newServer(t, rec)
	cfg := tenantConfig(srv.URL)
	cfg.RetryConfig = fastRetryConfig(srv.URL).RetryConfig
	cfg.Destinations.MaxDestinations = 1
	o := startObserved(t, cfg)

	require.NoError(t, o.Exporter.ConsumeLogs(context.Background(), servicesLogs(4, "a", "b")))
	require.True(t, failed.Load(), "the default tenant's first request failed and was retried")
	assert.Len(t, byTenant(t, rec)["unknown"], 4, "b's records, in the default tenant")
	assert.EqualValues(t, 4, o.Metrics.Int(t, destination.MetricOverflow))
}

// A ResourceLogs without records (OTLP allows it) has nothing to send: it never takes one of max_destinations.
func TestTenants_EmptyResourceTakesNoTenant(t *testing.T) {
	rec := &recorder{}
	srv := newServer(t, rec)
	cfg := tenantConfig(srv.URL)
	cfg.Destinations.MaxDestinations = 1
	o := startObserved(t, cfg)

	ld := servicesLogs(0, "ghost")
	servicesLogs(2, "real").ResourceLogs().At(0).CopyTo(ld.ResourceLogs().AppendEmpty())
	require.NoError(t, o.Exporter.ConsumeLogs(context.Background(), ld))
	got := byTenant(t, rec)
	assert.Len(t, got["real"], 2, "the only tenant with records keeps its own")
	assert.Empty(t, got["unknown"])
	assert.EqualValues(t, 1, o.Metrics.Int(t, destination.MetricOpen))
}

// Loki answers 429 to a tenant over its own limits: the other tenants of the push are delivered at once, and only
// the throttled tenant's records are retried.
func TestTenants_OneThrottledTenantDoesNotHoldTheOthersBack(t *testing.T) {
	var throttled atomic.Bool
	rec := &recorder{respond: func(_ int, r *http.Request, _ []pushedStream) (int, map[string]string, string) {
		if r.Header.Get("X-Scope-OrgID") == "noisy" && throttled.CompareAndSwap(false, true) {
			return http.StatusTooManyRequests, nil, "Ingestion rate limit exceeded for user noisy"
		}
		return http.StatusNoContent, nil, ""
	}}
	srv := newServer(t, rec)
	cfg := tenantConfig(srv.URL)
	cfg.RetryConfig = fastRetryConfig(srv.URL).RetryConfig
	o := startObserved(t, cfg)

	require.NoError(t, o.Exporter.ConsumeLogs(context.Background(), servicesLogs(3, "noisy", "quiet-1", "quiet-2")))
	var order []string
	for _, r := range rec.all() {
		order = append(order, r.header.Get("X-Scope-OrgID"))
	}
	assert.Equal(t, []string{"noisy", "quiet-1", "quiet-2", "noisy"}, order,
		"the quiet tenants go in the same attempt; the retry carries the throttled tenant alone")
	got := byTenant(t, rec)
	for _, tenant := range []string{"noisy", "quiet-1", "quiet-2"} {
		assert.Len(t, got[tenant], 3, tenant)
	}
	assert.EqualValues(t, 3, o.Metrics.Int(t, delivery.MetricRecordsRetried))
	assert.False(t, o.Host.Seen(componentstatus.StatusRecoverableError), "one throttled tenant is no failing Loki")
}

// With tenants from the records, a 401 or 403 may concern one tenant: it is counted and logged, the others are
// delivered, and the component is not marked as permanently failed.
func TestTenants_OneTenantRefusedIsCountedWithoutFailingTheComponent(t *testing.T) {
	rec := &recorder{respond: func(_ int, r *http.Request, _ []pushedStream) (int, map[string]string, string) {
		if r.Header.Get("X-Scope-OrgID") == "stranger" {
			return http.StatusForbidden, nil, "tenant not allowed"
		}
		return http.StatusNoContent, nil, ""
	}}
	srv := newServer(t, rec)
	o := startObserved(t, tenantConfig(srv.URL))
	require.NoError(t, o.Exporter.ConsumeLogs(context.Background(), servicesLogs(2, "known", "stranger")))
	assert.Len(t, byTenant(t, rec)["known"], 2)
	assert.EqualValues(t, 2, o.Metrics.Int(t, delivery.MetricRecordsRejected, attribute.String("reason", "http_403")))
	assert.False(t, o.Host.Seen(componentstatus.StatusPermanentError))

	fixed := syncConfig(srv.URL)
	fixed.TenantID = "stranger"
	o = startObserved(t, fixed)
	require.Error(t, o.Exporter.ConsumeLogs(context.Background(), servicesLogs(2, "known")))
	assert.Equal(t, componentstatus.StatusPermanentError, o.Host.Last(), "a fixed tenant refused is the configuration refused")
}

func TestBuild_RoutingKnownTenantsAllocatesNothing(t *testing.T) {
	cfg := tenantConfig("http://localhost:3100")
	require.NoError(t, cfg.Validate())
	set, _ := telemetrytest.NewSettings(t)
	tn, err := newTenants(cfg, set, component.NewID(metadata.Type))
	require.NoError(t, err)
	t.Cleanup(tn.shutdown)
	rb := newRequestBuilder(cfg, newLabeler(cfg, set.Logger, nopTelemetry()), tn)
	ld := servicesLogs(30, "a", "b", "c", "a")
	var b batch
	var e envelope.Entry
	now := time.Now()
	rb.build(ld, now, &e, &b)
	require.Len(t, b.tenants, 3)
	allocs := testing.AllocsPerRun(20, func() { rb.build(ld, now, &e, &b) })
	assert.Zero(t, allocs)
}
