package fapilogpostgres

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// faultProxy is a TCP proxy in front of PostgreSQL that injects the failures a real network produces:
// refusing connections (server down), and cutting a connection after the client has sent a complete COPY
// (CopyDone) and PostgreSQL has committed it, before the client sees the answer; and it can add latency. That is the ambiguous failure
// duplicate protection exists for: the rows are stored, yet the client must assume they are not.
type faultProxy struct {
	ln     net.Listener
	target string

	// refuse closes every new connection at once.
	refuse atomic.Bool
	// cutAfterCopy is how many more COPY statements to cut after commit.
	cutAfterCopy atomic.Int32
	// cuts counts the connections cut after a committed COPY.
	cuts atomic.Int32
	// latency delays every answer of the server, as a distant server would (nanoseconds).
	latency atomic.Int64

	wg sync.WaitGroup
}

func newFaultProxy(t testing.TB, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		p.wg.Wait()
	})
	return p
}

func (p *faultProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *faultProxy) serve() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.refuse.Load() {
			_ = client.Close()
			continue
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		pair := &proxiedConn{proxy: p, client: client, server: server}
		p.wg.Add(2)
		go pair.clientToServer()
		go pair.serverToClient()
	}
}

type proxiedConn struct {
	proxy          *faultProxy
	client, server net.Conn
	// holding is set once a COPY to cut has been sent: the next answer from the server proves the commit, and
	// instead of being forwarded it closes both sides.
	holding atomic.Bool
}

func (c *proxiedConn) closeBoth() {
	_ = c.client.Close()
	_ = c.server.Close()
}

// clientToServer forwards the frontend protocol message by message, to notice CopyDone.
func (c *proxiedConn) clientToServer() {
	defer c.proxy.wg.Done()
	defer c.closeBoth()
	// Untyped startup messages: SSLRequest / GSSENCRequest (answered by the server, then the real startup
	// follows) and the StartupMessage itself.
	for {
		msg, err := readUntyped(c.client)
		if err != nil || writeAll(c.server, msg) != nil {
			return
		}
		if code := binary.BigEndian.Uint32(msg[4:8]); code != 80877103 && code != 80877104 {
			break
		}
	}
	for {
		msg, err := readTyped(c.client)
		if err != nil {
			return
		}
		if msg[0] == 'c' && c.proxy.cutAfterCopy.Add(-1) >= 0 {
			c.holding.Store(true)
		}
		if writeAll(c.server, msg) != nil {
			return
		}
	}
}

func (c *proxiedConn) serverToClient() {
	defer c.proxy.wg.Done()
	defer c.closeBoth()
	buf := make([]byte, 32<<10)
	for {
		n, err := c.server.Read(buf)
		if n > 0 {
			if c.holding.Load() {
				c.proxy.cuts.Add(1)
				return
			}
			if d := c.proxy.latency.Load(); d > 0 {
				time.Sleep(time.Duration(d))
			}
			if writeAll(c.client, buf[:n]) != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func readUntyped(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n < 8 || n > 1<<20 {
		return nil, errors.New("bad startup message length")
	}
	msg := make([]byte, n)
	copy(msg, hdr[:])
	_, err := io.ReadFull(r, msg[4:])
	return msg, err
}

func readTyped(r io.Reader) ([]byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n < 4 {
		return nil, errors.New("bad message length")
	}
	msg := make([]byte, 1+n)
	copy(msg, hdr[:])
	_, err := io.ReadFull(r, msg[5:])
	return msg, err
}

func writeAll(w io.Writer, b []byte) error {
	_, err := w.Write(b)
	return err
}
