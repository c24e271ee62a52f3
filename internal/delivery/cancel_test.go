package delivery

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"

	"github.com/fapilog/fapilog-otelcol/internal/breaker"
)

// A request held behind the open circuit whose push is given up (a client that hung up, shutdown) was not failed
// by any probe: it counts as cancelled, as a request cut short in flight does, not as circuit_open.
func TestDeliver_HeldRequestWhoseCallerGaveUpCountsAsCancelled(t *testing.T) {
	f := newFixture(t, Settings{Breaker: breaker.Config{Enabled: true, Threshold: 1, Recovery: time.Hour}})
	fail := func(context.Context, int) (Result, error) { return Result{}, errDown }
	require.Error(t, f.d.Deliver(context.Background(), logsOf(1), evenSplit(1, 1), fail))
	require.Equal(t, breaker.Open, f.d.breaker.State())

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	require.Error(t, f.d.Deliver(ctx, logsOf(2), evenSplit(2, 1), fail))

	assert.EqualValues(t, 1, f.metrics.Int(t, MetricRequests, attribute.String("outcome", "cancelled")))
	assert.Zero(t, f.metrics.Int(t, MetricRequests, attribute.String("outcome", "circuit_open")),
		"no probe failed it: the circuit has not even been probed")
}

// Shutdown releases a held request: that is the exporter giving up, not a probe's verdict.
func TestDeliver_HeldRequestReleasedByShutdownCountsAsCancelled(t *testing.T) {
	f := newFixture(t, Settings{Breaker: breaker.Config{Enabled: true, Threshold: 1, Recovery: time.Hour}})
	fail := func(context.Context, int) (Result, error) { return Result{}, errDown }
	require.Error(t, f.d.Deliver(context.Background(), logsOf(1), evenSplit(1, 1), fail))

	done := make(chan error, 1)
	go func() { done <- f.d.Deliver(context.Background(), logsOf(2), evenSplit(2, 1), fail) }()
	time.Sleep(20 * time.Millisecond)
	f.d.Shutdown()
	select {
	case err := <-done:
		require.ErrorIs(t, err, breaker.ErrOpen)
	case <-time.After(2 * time.Second):
		t.Fatal("shutdown did not release the held push")
	}
	assert.EqualValues(t, 1, f.metrics.Int(t, MetricRequests, attribute.String("outcome", "cancelled")))
	assert.Zero(t, f.metrics.Int(t, MetricRequests, attribute.String("outcome", "circuit_open")))
}
