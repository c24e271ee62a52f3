package fapilogloki

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"

	"github.com/fapilog/fapilog-otelcol/internal/delivery"
)

// Loki's validation errors name the offending stream before the reason ("entry for stream '<labels>' has
// timestamp too old: ..."). With a realistic label set the labels alone fill the first 256 bytes of the answer:
// the reason must still be Loki's, not http_400.
func TestPush_RefusalReasonFoundAfterALongStreamLabelSet(t *testing.T) {
	rec := &recorder{respond: func(_ int, _ *http.Request, streams []pushedStream) (int, map[string]string, string) {
		return http.StatusBadRequest, nil, "entry for stream '" + streams[0].labelsText + "' has timestamp too old: " +
			"2020-01-01T00:00:00Z, oldest acceptable timestamp is: 2026-11-25T17:00:00Z"
	}}
	srv := newServer(t, rec)
	cfg := syncConfig(srv.URL)
	cfg.Labels = StaticLabels{
		"service":   "checkout-payments-api",
		"env":       "production-eu-west-1",
		"cluster":   "k8s-prod-eu-west-1-blue",
		"namespace": "payments-checkout",
		"team":      "payments-platform-sre",
		"component": "api-gateway-ingress-controller",
		"region":    "eu-west-1",
	}
	o := startObserved(t, cfg)
	_ = o.Exporter.ConsumeLogs(context.Background(), testLogs("m", 3))
	require.Eventually(t, func() bool { return rec.count() > 0 }, 5*time.Second, 10*time.Millisecond)
	t.Logf("Loki's answer: %d bytes before the reason", len("entry for stream '"+rec.all()[0].streams[0].labelsText+"' has "))
	assert.EqualValues(t, 3, o.Metrics.Int(t, delivery.MetricRecordsRejected, attribute.String("reason", "too_old")),
		"the records are counted under Loki's reason (http_400: %d)",
		o.Metrics.Int(t, delivery.MetricRecordsRejected, attribute.String("reason", "http_400")))
}
