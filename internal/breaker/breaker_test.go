package breaker

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.uber.org/zap"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestBreaker(threshold int) (*Breaker, *fakeClock) {
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	b := New(Config{Enabled: true, Threshold: threshold, Recovery: 30 * time.Second}, zap.NewNop())
	b.now = clock.now
	return b, clock
}

var errDown = errors.New("connection refused")

func fail(context.Context) error    { return errDown }
func succeed(context.Context) error { return nil }

func TestBreaker_OpensAfterThresholdConsecutiveFailures(t *testing.T) {
	b, _ := newTestBreaker(3)
	for i := 0; i < 2; i++ {
		require.ErrorIs(t, b.Do(context.Background(), fail), errDown)
	}
	require.NoError(t, b.Do(context.Background(), succeed), "a success resets the count")
	for i := 0; i < 3; i++ {
		require.ErrorIs(t, b.Do(context.Background(), fail), errDown)
	}
	assert.Equal(t, Open, b.State())

	calls := 0
	err := b.Do(context.Background(), func(context.Context) error { calls++; return nil })
	assert.ErrorIs(t, err, ErrOpen)
	assert.Zero(t, calls, "an open circuit does not touch the backend")
	assert.False(t, consumererror.IsPermanent(err), "data must stay queued: the error is retryable")
}

func TestBreaker_HalfOpenLetsExactlyOneProbeThrough(t *testing.T) {
	b, clock := newTestBreaker(1)
	require.Error(t, b.Do(context.Background(), fail))
	clock.advance(30 * time.Second)
	assert.Equal(t, HalfOpen, b.State())

	var calls atomic.Int32
	release := make(chan struct{})
	probeStarted := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- b.Do(context.Background(), func(context.Context) error {
			calls.Add(1)
			close(probeStarted)
			<-release
			return nil
		})
	}()
	<-probeStarted
	for i := 0; i < 5; i++ {
		assert.ErrorIs(t, b.Do(context.Background(), succeed), ErrOpen, "others wait for the probe's verdict")
	}
	close(release)
	require.NoError(t, <-done)
	assert.EqualValues(t, 1, calls.Load())
	assert.Equal(t, Closed, b.State(), "a successful probe closes the circuit")
	assert.NoError(t, b.Do(context.Background(), succeed))
}

func TestBreaker_FailedProbeReopensForAnotherRecoveryPeriod(t *testing.T) {
	b, clock := newTestBreaker(1)
	require.Error(t, b.Do(context.Background(), fail))
	clock.advance(31 * time.Second)
	require.ErrorIs(t, b.Do(context.Background(), fail), errDown)
	assert.Equal(t, Open, b.State())
	clock.advance(29 * time.Second)
	assert.ErrorIs(t, b.Do(context.Background(), succeed), ErrOpen)
	clock.advance(time.Second)
	assert.NoError(t, b.Do(context.Background(), succeed))
	assert.Equal(t, Closed, b.State())
}

func TestBreaker_PanickingProbeStillResolves(t *testing.T) {
	b, clock := newTestBreaker(1)
	require.Error(t, b.Do(context.Background(), fail))
	clock.advance(30 * time.Second)
	assert.Panics(t, func() {
		_ = b.Do(context.Background(), func(context.Context) error { panic("boom") })
	})
	assert.Equal(t, Open, b.State(), "the probe counted as a failure instead of leaving the circuit half-open")
	clock.advance(30 * time.Second)
	assert.NoError(t, b.Do(context.Background(), succeed))
}

func TestBreaker_PermanentErrorsDoNotOpenTheCircuit(t *testing.T) {
	b, _ := newTestBreaker(2)
	rejected := consumererror.NewPermanent(errors.New("400 bad request"))
	for i := 0; i < 5; i++ {
		assert.Error(t, b.Do(context.Background(), func(context.Context) error { return rejected }))
	}
	assert.Equal(t, Closed, b.State())
}

func TestBreaker_DisabledPassesEverythingThrough(t *testing.T) {
	b := New(Config{Enabled: false}, zap.NewNop())
	for i := 0; i < 10; i++ {
		assert.ErrorIs(t, b.Do(context.Background(), fail), errDown)
	}
	assert.Equal(t, Closed, b.State())
}

func TestConfig_Validate(t *testing.T) {
	c := NewDefaultConfig()
	require.NoError(t, c.Validate())
	c.Threshold = 0
	assert.ErrorContains(t, c.Validate(), "circuit_breaker_threshold")
	c = NewDefaultConfig()
	c.Recovery = 0
	assert.ErrorContains(t, c.Validate(), "circuit_breaker_recovery")
	c.Enabled = false
	assert.NoError(t, c.Validate())
}
