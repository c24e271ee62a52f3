package breaker

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// After Stop an open circuit answers at once, also once its recovery time has passed: no probe goes out while the
// exporter shuts down (it would hold the shutdown for as long as the backend takes to fail it).
func TestBreaker_NoProbeAfterStop(t *testing.T) {
	b, _ := newTestBreaker(1, 20*time.Millisecond)
	_ = b.Do(context.Background(), fail)
	time.Sleep(30 * time.Millisecond) // the recovery time has passed: the next request would be the probe
	b.Stop()
	sent := false
	err := b.Do(context.Background(), func(context.Context) error { sent = true; return nil })
	assert.False(t, sent, "a probe went out after Stop")
	assert.ErrorIs(t, err, ErrOpen)
}
