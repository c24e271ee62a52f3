package e2e

import (
	"net"
	"net/http"
	"testing"
	"time"
)

// stoppableServer serves an HTTP handler on one fixed address and can go away and come back, as a real server
// does: while stopped, connections are refused.
type stoppableServer struct {
	addr    string
	handler http.Handler
	srv     *http.Server
}

func startStoppableServer(t *testing.T, handler http.Handler) *stoppableServer {
	t.Helper()
	s := &stoppableServer{addr: "127.0.0.1:0", handler: handler}
	s.start(t)
	t.Cleanup(s.stop)
	return s
}

func (s *stoppableServer) start(t *testing.T) {
	t.Helper()
	var l net.Listener
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if l, err = net.Listen("tcp", s.addr); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("listening on %s again: %v", s.addr, err)
	}
	s.addr = l.Addr().String()
	s.srv = &http.Server{Handler: s.handler, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(l) }()
}

func (s *stoppableServer) stop() {
	if s.srv != nil {
		_ = s.srv.Close()
		s.srv = nil
	}
}
