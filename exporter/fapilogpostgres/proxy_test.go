package fapilogpostgres

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// faultProxy is a TCP proxy in front of PostgreSQL that injects the failures a real network produces: refusing
// connections (server down), and cutting a connection once PostgreSQL has committed a COPY, before the client sees
// the answer; and it can add latency. The cut is the ambiguous failure duplicate protection exists for: the rows
// are stored, yet the client must assume they are not.
//
// The proxy speaks the plaintext protocol only: it answers SSLRequest and GSSENCRequest with 'N' itself, as a
// server without TLS does, so that it can read the server's messages.
type faultProxy struct {
	ln     net.Listener
	target string

	// refuse closes every new connection at once.
	refuse atomic.Bool
	// cutAfterCopy is how many more COPY statements to cut after their commit.
	cutAfterCopy atomic.Int32
	// cuts counts the connections cut after a committed COPY; cutRows counts the rows those COPYs stored.
	cuts    atomic.Int32
	cutRows atomic.Int64
	// latency delays every answer of the server, as a distant server would (nanoseconds).
	latency atomic.Int64

	mu     sync.Mutex
	conns  map[*proxiedConn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func newFaultProxy(t testing.TB, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, target: target, conns: make(map[*proxiedConn]struct{})}
	p.wg.Add(1)
	go p.serve()
	// Closing the proxy closes the connections still open through it, so that a test that failed before shutting
	// its exporter down ends instead of waiting for the pool's idle connections.
	t.Cleanup(p.close)
	return p
}

func (p *faultProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *faultProxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.closeBoth()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// down makes the server unreachable through the proxy: new connections are refused and open ones are cut, as when
// the server or the network fails.
func (p *faultProxy) down() {
	p.refuse.Store(true)
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.closeBoth()
	}
}

// up lets connections through again.
func (p *faultProxy) up() { p.refuse.Store(false) }

// takeCut uses up one of the cuts asked for in cutAfterCopy, if any is left.
func (p *faultProxy) takeCut() bool {
	for {
		n := p.cutAfterCopy.Load()
		if n <= 0 {
			return false
		}
		if p.cutAfterCopy.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

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
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			pair.closeBoth()
			return
		}
		p.conns[pair] = struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		go pair.clientToServer()
		go pair.serverToClient()
	}
}

type proxiedConn struct {
	proxy          *faultProxy
	client, server net.Conn
}

func (c *proxiedConn) closeBoth() {
	_ = c.client.Close()
	_ = c.server.Close()
}

func (c *proxiedConn) done() {
	c.closeBoth()
	c.proxy.mu.Lock()
	delete(c.proxy.conns, c)
	c.proxy.mu.Unlock()
	c.proxy.wg.Done()
}

// Request codes of the untyped messages a client may send before its StartupMessage.
const (
	sslRequestCode    = 80877103
	gssEncRequestCode = 80877104
)

// clientToServer answers the encryption requests itself, then forwards the StartupMessage and everything after
// it unchanged.
func (c *proxiedConn) clientToServer() {
	defer c.done()
	for {
		msg, err := readUntyped(c.client)
		if err != nil {
			return
		}
		if code := binary.BigEndian.Uint32(msg[4:8]); code == sslRequestCode || code == gssEncRequestCode {
			if writeAll(c.client, []byte{'N'}) != nil {
				return
			}
			continue
		}
		if writeAll(c.server, msg) != nil {
			return
		}
		break
	}
	_, _ = io.Copy(c.server, c.client)
}

// serverToClient forwards the backend protocol message by message, following each COPY: CopyInResponse ('G')
// starts it, CommandComplete ('C') ends it successfully, ReadyForQuery ('Z') ends the query and tells whether a
// transaction block is open. A COPY that ran outside a transaction block was committed before PostgreSQL sent its
// CommandComplete; that is where the cut happens, instead of forwarding the answer. (PostgreSQL cannot send the
// CommandComplete before it has the whole COPY: the client's CopyDone is not needed to decide.)
func (c *proxiedConn) serverToClient() {
	defer c.done()
	r := bufio.NewReaderSize(&latencyReader{r: c.server, latency: &c.proxy.latency}, 32<<10)
	w := bufio.NewWriterSize(c.client, 32<<10)
	inCopy, autocommit := false, false
	for {
		msg, err := readTyped(r)
		if err != nil {
			_ = w.Flush()
			return
		}
		switch msg[0] {
		case 'G':
			inCopy = true
		case 'C':
			if inCopy && autocommit && c.proxy.takeCut() {
				c.proxy.cutRows.Add(commandTagRows(msg))
				c.proxy.cuts.Add(1)
				_ = w.Flush() // what came before the commit's answer, the client gets
				return
			}
			inCopy = false
		case 'Z':
			inCopy, autocommit = false, len(msg) > 5 && msg[5] == 'I'
		}
		if _, err := w.Write(msg); err != nil {
			return
		}
		// Forward what has arrived as it arrives; a multi-message answer still goes out in one write.
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return
			}
		}
	}
}

// commandTagRows is the row count of a CommandComplete message such as "COPY 1000".
func commandTagRows(msg []byte) int64 {
	tag := bytes.TrimRight(msg[5:], "\x00")
	n, _ := strconv.ParseInt(string(tag[bytes.LastIndexByte(tag, ' ')+1:]), 10, 64)
	return n
}

// latencyReader delays each read that returns data by latency nanoseconds.
type latencyReader struct {
	r       io.Reader
	latency *atomic.Int64
}

func (l *latencyReader) Read(b []byte) (int, error) {
	n, err := l.r.Read(b)
	if d := l.latency.Load(); n > 0 && d > 0 {
		time.Sleep(time.Duration(d))
	}
	return n, err
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
