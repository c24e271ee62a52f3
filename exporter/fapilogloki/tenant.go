package fapilogloki

import (
	"context"
	"errors"
	"net/http"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogloki/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/destination"
	"github.com/fapilog/fapilog-otelcol/internal/httpsend"
)

// tenants gives the tenant (X-Scope-OrgID) of each ResourceLogs: the fixed tenant_id, or the tenant_id template
// resolved from the resource's attributes by the shared destination router, which sanitises the values by Loki's
// tenant ID rules and keeps the distinct tenants under max_destinations.
type tenants struct {
	fixed  string              // tenant_id without placeholders; "" sends no header
	router *destination.Router // nil with a fixed tenant
}

func newTenants(cfg *Config, set component.TelemetrySettings, id component.ID) (*tenants, error) {
	if !hasPlaceholders(cfg.TenantID) {
		return &tenants{fixed: cfg.TenantID}, nil
	}
	tmpl, err := destination.Parse(cfg.TenantID, destination.LokiTenantID, cfg.Destinations.PlaceholderDefault)
	if err != nil {
		return nil, err
	}
	router, err := destination.NewRouter(tmpl, cfg.Destinations.MaxDestinations, set, metadata.ScopeName,
		destination.WithComponentID(id))
	if err != nil {
		return nil, err
	}
	return &tenants{router: router}, nil
}

// routed reports whether records go to tenants of their own.
func (t *tenants) routed() bool { return t.router != nil }

// of returns the tenant of a resource's records and, when they go to the default tenant because max_destinations
// is reached, the tenant they were refused (else ""): counted by countOverflow once delivered or refused for good,
// since a retry routes them again.
func (t *tenants) of(resource pcommon.Resource) (tenant, refused string) {
	if t.router == nil {
		return t.fixed, ""
	}
	return t.router.Resolve(resource)
}

// countOverflow counts records sent to the default tenant in place of refused.
func (t *tenants) countOverflow(ctx context.Context, refused string, records int) {
	if t.router != nil {
		t.router.CountOverflow(ctx, refused, records)
	}
}

func (t *tenants) shutdown() {
	if t.router != nil {
		t.router.Shutdown()
	}
}

// throttledAlone reports whether a retryable failure concerns its own tenant only, so that the requests of the
// other tenants of the push still go (delivery.Settings.Isolated): Loki answers 429 to a tenant over its own
// ingestion rate or stream limits. Anything else (503, a network error) says Loki itself is in trouble.
func (t *tenants) throttledAlone(err error) bool {
	se, ok := errors.AsType[*httpsend.StatusError](err)
	return t.routed() && ok && se.StatusCode == http.StatusTooManyRequests
}

// refusesConfig tells a refusal of the configuration (reported as a permanent component status) from one of the
// data. With tenants from the records, 401 and 403 may concern one tenant only (a gateway that knows some tenants,
// an access policy per tenant): they are counted and logged like other refusals, and do not mark the whole
// exporter as permanently failed while the other tenants are delivered.
func (t *tenants) refusesConfig(err error) bool {
	if se, ok := errors.AsType[*httpsend.StatusError](err); ok && t.routed() &&
		(se.StatusCode == http.StatusUnauthorized || se.StatusCode == http.StatusForbidden) {
		return false
	}
	return httpsend.RefusesConfig(err)
}
