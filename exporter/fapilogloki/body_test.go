package fapilogloki

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogloki/internal/metadata"
)

func TestRequestBody_HeldUntilTheSenderAndEveryReaderLetGo(t *testing.T) {
	var pool bodyPool
	b := pool.get(4)
	b.buf = append(b.buf, "data"...)
	first, retry := b.open(), b.open()
	b.release()
	assert.EqualValues(t, 2, b.refs.Load(), "the readers still hold it after send returned")

	got, err := io.ReadAll(first)
	require.NoError(t, err)
	assert.Equal(t, "data", string(got))
	require.NoError(t, first.Close())
	require.NoError(t, first.Close(), "closing twice releases once")
	assert.EqualValues(t, 1, b.refs.Load())
	_, err = first.Read(make([]byte, 4))
	assert.ErrorIs(t, err, errBodyClosed, "a read after close never sees the buffer")

	require.NoError(t, retry.Close())
	assert.Zero(t, b.refs.Load(), "back in the pool")
	assert.Panics(t, b.release, "a release too many is a bug, not a silent double reuse")
}

// lateReader is an HTTP transport that answers at once and reads each request's body later, from another
// goroutine, as net/http may once Client.Do has returned.
type lateReader struct {
	wg     sync.WaitGroup
	mu     sync.Mutex
	bodies [][]byte
}

func (rt *lateReader) RoundTrip(req *http.Request) (*http.Response, error) {
	rt.wg.Go(func() {
		time.Sleep(2 * time.Millisecond) // the push has returned and released its reference by now
		body, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err == nil {
			rt.mu.Lock()
			rt.bodies = append(rt.bodies, body)
			rt.mu.Unlock()
		}
	})
	return &http.Response{StatusCode: http.StatusNoContent, Body: http.NoBody, Header: http.Header{}, Request: req}, nil
}

// Bodies are reused only once the HTTP client has closed them: concurrent pushes whose bodies are read after
// the pushes returned still find each its own records, every record exactly once.
func TestPush_BodiesReadAfterThePushReturnedAreIntact(t *testing.T) {
	cfg := syncConfig("http://127.0.0.1:1")
	e, err := newLogsExporter(cfg, exportertest.NewNopSettings(metadata.Type))
	require.NoError(t, err)
	require.NoError(t, e.start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, e.shutdown(context.Background())) })
	rt := &lateReader{}
	e.transport.client = &http.Client{Transport: rt}

	const pushers, pushes, records = 4, 25, 30
	var wg sync.WaitGroup
	for p := range pushers {
		wg.Go(func() {
			for i := range pushes {
				assert.NoError(t, e.push(context.Background(), testLogs(fmt.Sprintf("p%d.%d", p, i), records)))
			}
		})
	}
	wg.Wait()
	rt.wg.Wait()

	ids := map[string]int{}
	for _, body := range rt.bodies {
		for _, s := range decodeProtobufBody(t, body) {
			for _, en := range s.entries {
				ids[en.messageID(t)]++
			}
		}
	}
	assert.Len(t, ids, pushers*pushes*records)
	for p := range pushers {
		for i := range pushes {
			for r := range records {
				require.Equal(t, 1, ids[fmt.Sprintf("p%d.%d-%d", p, i, r)], "record p%d.%d-%d", p, i, r)
			}
		}
	}
}
