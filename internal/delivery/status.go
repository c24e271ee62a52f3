package delivery

import (
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
)

// statusReporter reports the backend's health as the exporter's component status, only when it changes: a
// recoverable error while requests fail or the circuit is open, OK again at the first delivered request, and a
// permanent error (final in the collector's status model) when the backend refuses the configuration itself.
type statusReporter struct {
	// current is the last status reported (componentstatus.StatusOK until a failure): read without the lock on
	// the hot path, where it is almost always OK.
	current atomic.Int32
	mu      sync.Mutex
	host    component.Host
}

func (s *statusReporter) start(host component.Host) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.host = host
	s.current.Store(int32(componentstatus.StatusOK))
}

func (s *statusReporter) healthy() {
	if componentstatus.Status(s.current.Load()) == componentstatus.StatusOK {
		return
	}
	s.report(componentstatus.StatusOK, nil)
}

func (s *statusReporter) failing(err error) {
	if componentstatus.Status(s.current.Load()) == componentstatus.StatusRecoverableError {
		return
	}
	s.report(componentstatus.StatusRecoverableError, err)
}

func (s *statusReporter) refused(err error) { s.report(componentstatus.StatusPermanentError, err) }

func (s *statusReporter) report(st componentstatus.Status, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	current := componentstatus.Status(s.current.Load())
	if s.host == nil || current == st || current == componentstatus.StatusPermanentError {
		return
	}
	s.current.Store(int32(st))
	switch st {
	case componentstatus.StatusOK:
		componentstatus.ReportStatus(s.host, componentstatus.NewEvent(st))
	case componentstatus.StatusRecoverableError:
		componentstatus.ReportStatus(s.host, componentstatus.NewRecoverableErrorEvent(err))
	default:
		componentstatus.ReportStatus(s.host, componentstatus.NewPermanentErrorEvent(err))
	}
}
