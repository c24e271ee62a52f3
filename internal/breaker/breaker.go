package breaker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.uber.org/zap"
)

// State is the position of the circuit.
type State int

const (
	// Closed lets every request through and counts consecutive failures.
	Closed State = iota
	// Open holds every request back until the recovery time has passed.
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
	return "half_open"
}

// ErrOpen is wrapped by the error a held-back request returns when the probe it waited for failed, or when the
// exporter shuts down while the circuit is open. It is retryable: the data stays with the exporter helper.
var ErrOpen = errors.New("circuit breaker open")

// ErrStopped is wrapped, with ErrOpen, by the error of a request the breaker released or refused because the
// exporter shuts down (see Stop): no probe gave that verdict.
var ErrStopped = errors.New("exporter shutting down")

// Breaker guards one backend. The zero value is not usable; a nil *Breaker (breaker disabled) lets everything
// through.
//
// While the circuit is open, a request is held back (Do blocks) instead of failing at once, until the probe that
// follows the recovery time has given its verdict: on success the request goes out, on failure it returns the
// probe's error. So the retry policy around the exporter only ever judges real answers of the backend, never time
// spent behind the circuit: an outage that ends before the probe costs no record, whatever the retry budget, and
// the queue in front of the exporter fills and pushes back on the receivers while the backend is down.
type Breaker struct {
	threshold int
	recovery  time.Duration
	logger    *zap.Logger
	now       func() time.Time
	onChange  func(from, to State)

	mu       sync.Mutex
	state    State
	failures int
	openedAt time.Time
	// opened counts openings, so that a held-back request can tell that a probe failed while it waited.
	opened uint64
	// lastFailure is the failure that (re)opened the circuit, returned to the requests held back for that probe.
	lastFailure error
	// changed is closed at every transition, waking the held-back requests; a new one replaces it.
	changed chan struct{}
	// pending transitions, reported to onChange once the lock is released.
	pending []transition
	stopped chan struct{}
	stop    sync.Once
}

type transition struct{ from, to State }

// New returns the breaker for cfg, or nil when it is disabled. onChange, when not nil, is called after every
// transition (outside the breaker's lock) so the exporter can report it in its metrics and component status.
func New(cfg Config, logger *zap.Logger, onChange func(from, to State)) *Breaker {
	if !cfg.Enabled {
		return nil
	}
	return &Breaker{
		threshold: cfg.Threshold,
		recovery:  cfg.Recovery,
		logger:    logger,
		now:       time.Now,
		onChange:  onChange,
		changed:   make(chan struct{}),
		stopped:   make(chan struct{}),
	}
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

// Stop releases every request held back by an open circuit and makes later ones return at once: called when the
// exporter shuts down, so that shutdown never waits for a probe. Requests keep their data (ErrOpen is retryable).
func (b *Breaker) Stop() {
	if b == nil {
		return
	}
	b.stop.Do(func() { close(b.stopped) })
}

// Do runs send unless the circuit is open, in which case it waits for the next probe's verdict (see Breaker).
// Only retryable failures of send count against the backend: a permanent error means the backend answered, and a
// cancelled context is the exporter's own doing. The outcome of a probe is always recorded, even if send panics,
// so the circuit cannot stay half-open.
func (b *Breaker) Do(ctx context.Context, send func(context.Context) error) error {
	if b == nil {
		return send(ctx)
	}
	b.mu.Lock()
	openedAtStart := b.opened
	b.mu.Unlock()
	for {
		a := b.admit(openedAtStart)
		switch {
		case a.err != nil:
			return a.err
		case a.send:
			return b.run(ctx, a.probe, send)
		}
		if err := b.hold(ctx, a.wait, a.changed); err != nil {
			return err
		}
	}
}

// admission is the breaker's answer to one request: send it (as the half-open probe or not), fail it, or hold it
// until changed is closed or wait has passed (wait 0: until changed).
type admission struct {
	send, probe bool
	err         error
	wait        time.Duration
	changed     chan struct{}
}

// admit decides for one request. A request whose probe failed while it waited gets that failure.
func (b *Breaker) admit(openedAtStart uint64) admission {
	b.mu.Lock()
	defer b.unlock()
	switch b.state {
	case Closed:
		return admission{send: true}
	case Open:
		if b.opened != openedAtStart {
			return admission{err: fmt.Errorf("%w: the probe failed: %w", ErrOpen, b.lastFailure)}
		}
		if b.isStopped() { // no probe while the exporter shuts down: it would hold the shutdown
			return admission{err: fmt.Errorf("%w: %w: %w", ErrOpen, ErrStopped, b.lastFailure)}
		}
		remaining := b.recovery - b.now().Sub(b.openedAt)
		if remaining <= 0 {
			b.moveTo(HalfOpen)
			return admission{send: true, probe: true}
		}
		return admission{wait: remaining, changed: b.changed}
	default: // HalfOpen: a probe is out; everyone else waits for its verdict.
		if b.isStopped() {
			return admission{err: fmt.Errorf("%w: %w: %w", ErrOpen, ErrStopped, b.lastFailure)}
		}
		return admission{changed: b.changed}
	}
}

func (b *Breaker) isStopped() bool {
	select {
	case <-b.stopped:
		return true
	default:
		return false
	}
}

// hold waits until the circuit changes, wait passes (when positive), the exporter stops or ctx ends.
func (b *Breaker) hold(ctx context.Context, wait time.Duration, changed chan struct{}) error {
	var timer <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-changed:
	case <-timer:
	case <-b.stopped:
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrOpen, ctx.Err())
	}
	return nil
}

func (b *Breaker) run(ctx context.Context, probe bool, send func(context.Context) error) (err error) {
	completed := false
	defer func() {
		if !completed {
			b.record(ctx, probe, errors.New("send panicked"))
		}
	}()
	err = send(ctx)
	completed = true
	b.record(ctx, probe, err)
	return err
}

func (b *Breaker) record(ctx context.Context, probe bool, err error) {
	b.mu.Lock()
	defer b.unlock()
	switch {
	case err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()):
		// Cancelled by the exporter (shutdown), not failed by the backend: no verdict. A probe cut short hands
		// its turn to the next request at once.
		if probe && b.state == HalfOpen {
			b.moveTo(Open)
		}
	case err == nil || consumererror.IsPermanent(err):
		b.failures = 0
		if b.state != Closed {
			b.moveTo(Closed)
			b.logger.Info("Circuit breaker closed: backend answered again")
		}
	case probe || b.state == HalfOpen:
		b.open(err)
		b.logger.Warn("Circuit breaker re-opened: probe failed; requests wait for the next probe",
			zap.Duration("recovery", b.recovery), zap.Error(err))
	default:
		b.failures++
		if b.state == Closed && b.failures >= b.threshold {
			b.open(err)
			b.logger.Warn("Circuit breaker opened: backend keeps failing; requests wait in the queue for the next probe",
				zap.Int("consecutive_failures", b.failures), zap.Duration("recovery", b.recovery), zap.Error(err))
		}
	}
}

func (b *Breaker) open(cause error) {
	b.openedAt, b.lastFailure = b.now(), cause
	b.opened++
	b.moveTo(Open)
}

// moveTo changes the state, wakes the requests held back and notes the transition for onChange. Callers hold b.mu.
func (b *Breaker) moveTo(to State) {
	if b.state == to {
		return
	}
	b.pending = append(b.pending, transition{from: b.state, to: to})
	b.state = to
	close(b.changed)
	b.changed = make(chan struct{})
}

// unlock releases b.mu, then reports the transitions made under it.
func (b *Breaker) unlock() {
	pending := b.pending
	b.pending = nil
	b.mu.Unlock()
	if b.onChange != nil {
		for _, t := range pending {
			b.onChange(t.from, t.to)
		}
	}
}
