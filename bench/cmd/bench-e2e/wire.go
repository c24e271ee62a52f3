package main

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// countingListener counts every byte its connections read: on a server, the bytes its clients sent on the wire
// (HTTP headers and bodies, or PostgreSQL protocol messages), after any compression the client applied.
type countingListener struct {
	net.Listener
	bytes *atomic.Int64
}

func listenCounting(bytes *atomic.Int64) (*countingListener, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &countingListener{Listener: l, bytes: bytes}, nil
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, bytes: l.bytes}, nil
}

type countingConn struct {
	net.Conn
	bytes *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.bytes.Add(int64(n))
	return n, err
}

// tcpProxy forwards connections to a server in another process (VictoriaLogs, PostgreSQL) and counts the bytes
// the collector sends it.
type tcpProxy struct {
	ln       *countingListener
	upstream string
	mu       sync.Mutex
	conns    []net.Conn
	closed   bool
	wg       sync.WaitGroup
}

func startProxy(upstream string, bytes *atomic.Int64) (*tcpProxy, error) {
	ln, err := listenCounting(bytes)
	if err != nil {
		return nil, err
	}
	p := &tcpProxy{ln: ln, upstream: upstream}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) serve() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.upstream)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			client.Close()
			server.Close()
			return
		}
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			_, _ = io.Copy(server, client) // reads from the counting side
			closeWrite(server)
		}()
		go func() {
			defer p.wg.Done()
			_, _ = io.Copy(client, server)
			closeWrite(client)
		}()
	}
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	if cc, ok := c.(*countingConn); ok {
		closeWrite(cc.Conn)
	}
}

func (p *tcpProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
