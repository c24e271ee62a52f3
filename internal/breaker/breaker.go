package breaker

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.uber.org/zap"
)

// State is the position of the circuit.
type State int

const (
	// Closed lets every request through and counts consecutive failures.
	Closed State = iota
	// Open rejects every request until the recovery time has passed.
	Open
	// HalfOpen lets exactly one probe through; its outcome closes or re-opens the circuit.
	HalfOpen
)

func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	}
	return "half-open"
}

// ErrOpen is wrapped by the error returned while the circuit rejects requests.
var ErrOpen = fmt.Errorf("circuit breaker open")

// Breaker guards one backend. The zero value is not usable; a nil *Breaker (breaker disabled) lets everything through.
type Breaker struct {
	threshold int
	recovery  time.Duration
	logger    *zap.Logger
	now       func() time.Time

	mu       sync.Mutex
	state    State
	failures int
	openedAt time.Time
}

// New returns the breaker for cfg, or nil when it is disabled.
func New(cfg Config, logger *zap.Logger) *Breaker {
	if !cfg.Enabled {
		return nil
	}
	return &Breaker{threshold: cfg.Threshold, recovery: cfg.Recovery, logger: logger, now: time.Now}
}

// State reports the current state (Open turns into HalfOpen once the recovery time has passed).
func (b *Breaker) State() State {
	if b == nil {
		return Closed
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == Open && b.now().Sub(b.openedAt) >= b.recovery {
		return HalfOpen
	}
	return b.state
}

// Do runs send unless the circuit is open. While open it returns at once a throttle error (retryable, with the
// delay until the next probe) so the exporter helper keeps the data and retries later. Failures of send that
// are permanent (the backend rejected the data itself) do not count against the backend's health. The outcome
// of a half-open probe is always recorded, even if send panics, so the circuit cannot stay half-open.
func (b *Breaker) Do(ctx context.Context, send func(context.Context) error) (err error) {
	if b == nil {
		return send(ctx)
	}
	probe, wait := b.admit()
	if wait > 0 {
		return exporterhelper.NewThrottleRetry(fmt.Errorf("%w: backend failed %d times in a row; next probe in %s", ErrOpen, b.threshold, wait.Round(time.Millisecond)), wait)
	}
	completed := false
	defer func() {
		if !completed {
			b.record(probe, fmt.Errorf("send panicked"))
		}
	}()
	err = send(ctx)
	completed = true
	b.record(probe, err)
	return err
}

// admit decides whether a request may go out; probe is true for the single half-open request.
func (b *Breaker) admit() (probe bool, wait time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case Closed:
		return false, 0
	case Open:
		remaining := b.recovery - b.now().Sub(b.openedAt)
		if remaining > 0 {
			return false, remaining
		}
		b.state = HalfOpen
		return true, 0
	default: // HalfOpen: a probe is in flight; everyone else waits for its verdict.
		return false, b.recovery / 10
	}
}

func (b *Breaker) record(probe bool, err error) {
	healthy := err == nil || consumererror.IsPermanent(err)
	b.mu.Lock()
	defer b.mu.Unlock()
	if healthy {
		if b.state != Closed {
			b.logger.Info("Circuit breaker closed: backend answered again")
		}
		b.state, b.failures = Closed, 0
		return
	}
	if probe || b.state == HalfOpen {
		b.state, b.openedAt = Open, b.now()
		b.logger.Warn("Circuit breaker re-opened: probe failed", zap.Duration("recovery", b.recovery), zap.Error(err))
		return
	}
	b.failures++
	if b.state == Closed && b.failures >= b.threshold {
		b.state, b.openedAt = Open, b.now()
		b.logger.Warn("Circuit breaker opened: backend keeps failing; data stays queued until it recovers",
			zap.Int("consecutive_failures", b.failures), zap.Duration("recovery", b.recovery), zap.Error(err))
	}
}
