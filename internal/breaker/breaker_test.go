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
	"go.uber.org/goleak"
	"go.uber.org/zap"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// transitions records what the breaker reports to its owner.
type transitions struct {
	mu  sync.Mutex
	got []string
}

func (r *transitions) note(from, to State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, from.String()+"->"+to.String())
}

func (r *transitions) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

func newTestBreaker(threshold int, recovery time.Duration) (*Breaker, *transitions) {
	seen := &transitions{}
	return New(Config{Enabled: true, Threshold: threshold, Recovery: recovery}, zap.NewNop(), seen.note), seen
}

var errDown = errors.New("connection refused")

func fail(context.Context) error    { return errDown }
func succeed(context.Context) error { return nil }

// doAll starts n requests at once and returns their errors and how many reached send.
func doAll(b *Breaker, n int, send func(context.Context) error) ([]error, int32) {
	var calls atomic.Int32
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = b.Do(context.Background(), func(ctx context.Context) error {
				calls.Add(1)
				return send(ctx)
			})
		})
	}
	wg.Wait()
	return errs, calls.Load()
}

func TestBreaker_OpensAfterThresholdConsecutiveFailures(t *testing.T) {
	b, _ := newTestBreaker(3, time.Hour)
	for range 2 {
		require.ErrorIs(t, b.Do(context.Background(), fail), errDown)
	}
	require.NoError(t, b.Do(context.Background(), succeed), "a success resets the count")
	for range 3 {
		require.ErrorIs(t, b.Do(context.Background(), fail), errDown)
	}
	assert.Equal(t, Open, b.State())

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	calls := 0
	err := b.Do(ctx, func(context.Context) error { calls++; return nil })
	assert.ErrorIs(t, err, ErrOpen)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "an open circuit holds the request until its context ends")
	assert.Zero(t, calls, "an open circuit does not touch the backend")
	assert.False(t, consumererror.IsPermanent(err), "the data stays with the retry policy: the error is retryable")
}

func TestBreaker_HeldRequestsGoOutWhenTheProbeSucceeds(t *testing.T) {
	const recovery = 150 * time.Millisecond
	b, seen := newTestBreaker(1, recovery)
	opened := time.Now()
	require.Error(t, b.Do(context.Background(), fail))

	var early atomic.Int32
	errs, calls := doAll(b, 5, func(context.Context) error {
		if time.Since(opened) < recovery {
			early.Add(1)
		}
		return nil
	})
	for _, err := range errs {
		assert.NoError(t, err, "a request held during an outage that ended is delivered, not failed")
	}
	assert.EqualValues(t, 5, calls)
	assert.Zero(t, early.Load(), "nothing reached the backend before the recovery time")
	assert.Equal(t, Closed, b.State())
	assert.Equal(t, []string{"closed->open", "open->half_open", "half_open->closed"}, seen.list())
}

func TestBreaker_HeldRequestsGetTheFailedProbesVerdictWithoutTouchingTheBackend(t *testing.T) {
	b, seen := newTestBreaker(1, 100*time.Millisecond)
	require.Error(t, b.Do(context.Background(), fail))

	errs, calls := doAll(b, 5, func(context.Context) error {
		time.Sleep(20 * time.Millisecond) // the probe takes a while: the others must wait for it
		return errDown
	})
	assert.EqualValues(t, 1, calls, "exactly one probe")
	for _, err := range errs {
		assert.ErrorIs(t, err, errDown, "every held request learns the probe's failure")
		assert.False(t, consumererror.IsPermanent(err))
	}
	assert.Equal(t, Open, b.State(), "a failed probe re-opens the circuit")
	assert.Equal(t, []string{"closed->open", "open->half_open", "half_open->open"}, seen.list())
}

func TestBreaker_PanickingProbeStillResolves(t *testing.T) {
	b, _ := newTestBreaker(1, 50*time.Millisecond)
	require.Error(t, b.Do(context.Background(), fail))
	time.Sleep(60 * time.Millisecond)
	assert.Panics(t, func() {
		_ = b.Do(context.Background(), func(context.Context) error { panic("boom") })
	})
	assert.Equal(t, Open, b.State(), "the probe counted as a failure instead of leaving the circuit half-open")
	time.Sleep(60 * time.Millisecond)
	assert.NoError(t, b.Do(context.Background(), succeed))
	assert.Equal(t, Closed, b.State())
}

func TestBreaker_PermanentErrorsDoNotOpenTheCircuit(t *testing.T) {
	b, _ := newTestBreaker(2, time.Hour)
	rejected := consumererror.NewPermanent(errors.New("400 bad request"))
	for range 5 {
		assert.Error(t, b.Do(context.Background(), func(context.Context) error { return rejected }))
	}
	assert.Equal(t, Closed, b.State())
}

func TestBreaker_CancelledContextIsNotABackendFailure(t *testing.T) {
	b, seen := newTestBreaker(1, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 3 {
		assert.ErrorIs(t, b.Do(ctx, func(ctx context.Context) error { return ctx.Err() }), context.Canceled)
	}
	assert.Equal(t, Closed, b.State())
	assert.Empty(t, seen.list())
}

func TestBreaker_CancelledProbeHandsItsTurnToTheNextRequest(t *testing.T) {
	b, _ := newTestBreaker(1, 30*time.Millisecond)
	require.Error(t, b.Do(context.Background(), fail))
	time.Sleep(40 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, b.Do(ctx, func(ctx context.Context) error { return ctx.Err() }), context.Canceled)

	done := make(chan error, 1)
	go func() { done <- b.Do(context.Background(), succeed) }()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(time.Second):
		t.Fatal("the next request waited for another recovery period after a cancelled probe")
	}
	assert.Equal(t, Closed, b.State())
}

func TestBreaker_StopReleasesHeldRequestsWithARetryableError(t *testing.T) {
	b, _ := newTestBreaker(1, time.Hour)
	require.Error(t, b.Do(context.Background(), fail))

	held := make(chan error, 1)
	go func() { held <- b.Do(context.Background(), succeed) }()
	time.Sleep(20 * time.Millisecond)
	b.Stop()
	select {
	case err := <-held:
		assert.ErrorIs(t, err, ErrOpen)
		assert.ErrorIs(t, err, errDown, "the error names the failure that opened the circuit")
		assert.False(t, consumererror.IsPermanent(err), "the data is kept for after the restart")
	case <-time.After(time.Second):
		t.Fatal("Stop did not release a held request")
	}
	start := time.Now()
	assert.ErrorIs(t, b.Do(context.Background(), succeed), ErrOpen)
	assert.Less(t, time.Since(start), 100*time.Millisecond, "after Stop, an open circuit answers at once")
}

func TestBreaker_DisabledPassesEverythingThrough(t *testing.T) {
	b := New(Config{Enabled: false}, zap.NewNop(), nil)
	for range 10 {
		assert.ErrorIs(t, b.Do(context.Background(), fail), errDown)
	}
	assert.Equal(t, Closed, b.State())
	b.Stop()
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
