package droplog

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestReporter_CountsEveryDropAndRateLimitsLogs(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	set := componenttest.NewNopTelemetrySettings()
	set.Logger = zap.New(core)
	r := New(set, "test")
	now := time.Unix(1_800_000_000, 0)
	r.now = func() time.Time { return now }

	for i := 0; i < 100; i++ {
		r.Drop(context.Background(), "event too large", 1)
	}
	r.Drop(context.Background(), "invalid", 2)
	assert.EqualValues(t, 102, r.Total())
	assert.Equal(t, 2, logs.Len(), "one line per reason within the interval")

	now = now.Add(logInterval)
	r.Drop(context.Background(), "event too large", 1)
	assert.Equal(t, 3, logs.Len())
	last := logs.All()[2].ContextMap()
	assert.EqualValues(t, 99, last["dropped_since_last_log"], "the suppressed drops are reported with the next line")
}
