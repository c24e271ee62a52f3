package fapiloghttp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/fapilog/fapilog-otelcol/internal/breaker"
)

// An endpoint that failed, opened the circuit, and now swallows requests without answering (a blackholed host).
// The circuit's recovery time has passed when the collector shuts down: draining the queue must not send a probe
// and wait for the client timeout.
func TestExport_ShutdownWithAnOpenCircuitSendsNoProbe(t *testing.T) {
	var requests atomic.Int32
	gone := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		select { // blackholed
		case <-gone:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(gone) })

	cfg := fastRetryConfig(srv.URL)
	cfg.RetryConfig.Enabled = false
	cfg.ClientConfig.Timeout = 10 * time.Second
	cfg.QueueConfig.Get().Batch.Get().FlushTimeout = 200 * time.Millisecond
	cfg.CircuitBreaker = breaker.Config{Enabled: true, Threshold: 1, Recovery: 100 * time.Millisecond}
	f := NewFactory()
	exp, err := f.CreateLogs(context.Background(), exportertest.NewNopSettings(f.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))

	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("a", 1)))
	require.Eventually(t, func() bool { return requests.Load() == 1 }, 5*time.Second, 5*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // the recovery time has passed

	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("b", 1)))
	start := time.Now()
	require.NoError(t, exp.Shutdown(context.Background()))
	assert.Less(t, time.Since(start), 2*time.Second, "shutdown waited for a probe")
	assert.EqualValues(t, 1, requests.Load(), "a probe went out during shutdown")
}
