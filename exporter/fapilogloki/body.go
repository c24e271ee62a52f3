package fapilogloki

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// requestBody is the body of one push request. Bodies are reused from request to request, which spares the
// garbage collector an allocation per request of 10 KB (protobuf) to 100 KB (JSON) for 100 typical records.
//
// net/http may read a request's body after Client.Do has returned, and closes it when it is done, possibly from
// another goroutine while a read is under way (HTTP/2): so a body is reference counted. Its sender holds one
// reference until send returns; each reader handed to the HTTP client (the request's Body, and each copy GetBody
// makes for a retry inside Do) holds one until it is closed; the last release returns the body to its pool. A
// reader's Read and Close exclude each other and a read after Close finds nothing, so no reader can see the
// buffer once it may be reused. A reader never closed (a middleware that replaces the body without closing it)
// only leaves its buffer to the garbage collector.
type requestBody struct {
	buf  []byte
	refs atomic.Int32
	pool *bodyPool
}

// bodyPool holds the request bodies of one exporter, so that they are sized for its encoding.
type bodyPool struct{ pool sync.Pool }

// get returns an empty body with room for at least size bytes, held by its caller.
func (p *bodyPool) get(size int) *requestBody {
	b, _ := p.pool.Get().(*requestBody)
	if b == nil {
		b = &requestBody{pool: p}
	}
	if cap(b.buf) < size {
		b.buf = make([]byte, 0, size)
	}
	b.buf = b.buf[:0]
	b.refs.Store(1)
	return b
}

// release drops a reference; the last one returns the body to its pool.
func (b *requestBody) release() {
	switch refs := b.refs.Add(-1); {
	case refs == 0:
		b.pool.pool.Put(b)
	case refs < 0:
		panic("fapilogloki: request body released more often than held")
	}
}

// open returns a reader of the body for the HTTP client; it holds a reference until it is closed.
func (b *requestBody) open() io.ReadCloser {
	b.refs.Add(1)
	r := &bodyReader{body: b}
	r.reader.Reset(b.buf)
	return r
}

var errBodyClosed = errors.New("request body read after close")

type bodyReader struct {
	mu     sync.Mutex
	reader bytes.Reader
	body   *requestBody // nil once closed
}

func (r *bodyReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.body == nil {
		return 0, errBodyClosed
	}
	return r.reader.Read(p)
}

func (r *bodyReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.body != nil {
		r.reader.Reset(nil)
		r.body.release()
		r.body = nil
	}
	return nil
}
