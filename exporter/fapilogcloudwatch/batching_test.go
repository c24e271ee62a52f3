package fapilogcloudwatch

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
)

// These tests run the exporter as the collector does, through exporterhelper with its queue and batching at the
// defaults, against kumo behind the recording endpoint.

// queuedConfig is the default configuration (queue and batching included) pointed at endpoint, with fast retries.
func queuedConfig(endpoint, group string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.EndpointURL = endpoint
	cfg.LogGroupName = group
	cfg.LogStreamName = "app-1"
	cfg.RetryConfig.InitialInterval = 10 * time.Millisecond
	cfg.RetryConfig.MaxInterval = 50 * time.Millisecond
	return cfg
}

// clientRequest is one request of a client such as telemetrygen: per records of about 450 bytes of envelope
// (a 200-byte message), ids "<prefix>-<from>" onwards, stamped now.
func clientRequest(prefix string, from, per int) plog.Logs {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	now := time.Now()
	for i := from; i < from+per; i++ {
		appendRecord(sl, prefix, i, now, strings.Repeat("order accepted for processing; ", 7)[:200])
	}
	return ld
}

// consumeUntilQueued hands ld to the exporter as a receiver does, and, like a client, sends it again while the
// queue is full (bounded: 30 s).
func consumeUntilQueued(t *testing.T, exp exporter.Logs, ld plog.Logs) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := exp.ConsumeLogs(context.Background(), ld)
		if err == nil {
			return
		}
		require.ErrorIs(t, err, exporterhelper.ErrQueueIsFull)
		require.True(t, time.Now().Before(deadline), "the queue stayed full for 30 s")
		time.Sleep(5 * time.Millisecond)
	}
}

// fullness is how close a request came to a PutLogEvents limit: the larger share of 10,000 events or
// 1,048,576 bytes (26 per event included), as the side-by-side suite measures it.
func fullness(put *recordedPut) float64 {
	size := 0
	for _, ev := range put.Events {
		size += len(ev.Message) + eventOverhead
	}
	return max(float64(len(put.Events))/maxEventsPerRequest, float64(size)/maxRequestBytes)
}

// Issue 11: under sustained load at least 95% of the PutLogEvents requests are at least 95% full. Clients send
// 100-record requests (as telemetrygen does) as fast as the queue takes them; the default batching fills each
// request to CloudWatch's 1 MiB before it goes, and only the last partial batch goes out on the flush timeout
// (the default 5 s: the test takes that long at its end).
func TestQueue_SustainedLoadSendsFullRequests(t *testing.T) {
	_, rec, group := recordedStream(t, "app-1")
	exp := startExporter(t, queuedConfig(rec.URL, group), observe(t).set)

	const clients, requests, per = 3, 300, 100 // 90,000 records, about 36 MiB
	var (
		wg     sync.WaitGroup
		wantMu sync.Mutex
		want   = map[string]string{}
	)
	for c := range clients {
		wg.Go(func() {
			for r := range requests {
				ld := clientRequest(fmt.Sprintf("c%d", c), r*per, per)
				envelopes := envelopeJSON(ld)
				wantMu.Lock()
				maps.Copy(want, envelopes)
				wantMu.Unlock()
				consumeUntilQueued(t, exp, ld)
			}
		})
	}
	wg.Wait()
	require.Eventually(t, func() bool { return len(rec.accepted()) == clients*requests*per }, 60*time.Second, 20*time.Millisecond,
		"every record is delivered")

	rec.requireWithinLimits(t)
	accepted := rec.accepted()
	for c := range clients {
		for i := range requests * per {
			require.Equal(t, 1, accepted[fmt.Sprintf("c%d-%d", c, i)], "record c%d-%d once", c, i)
		}
	}
	puts := rec.allPuts()
	full := 0
	for _, put := range puts {
		if fullness(put) >= 0.95 {
			full++
		}
		// The bodies of delivered requests are recycled for the next ones: every message must still be its
		// record's envelope when it is sent.
		for _, ev := range put.Events {
			require.Equal(t, want[messageID(ev.Message)], ev.Message)
		}
	}
	share := float64(full) / float64(len(puts))
	t.Logf("%d PutLogEvents requests, %d (%.1f%%) at least 95%% full; the first holds %d events", len(puts), full, 100*share, len(puts[0].Events))
	assert.GreaterOrEqual(t, share, 0.95, "at least 95%% of the requests are at least 95%% full")
	assert.LessOrEqual(t, len(puts)-full, 1, "only the tail of the load, sent on the flush timeout, is partial")
	assert.GreaterOrEqual(t, len(puts), 35, "36 MiB cannot go in fewer than 36 requests of 1 MiB")
}

// A trickle still goes out: a single record is sent within the default flush timeout (5 s, fapilog's
// batch_timeout_seconds), not held until a request is full.
func TestQueue_SingleRecordGoesOutWithinTheFlushTimeout(t *testing.T) {
	_, rec, group := recordedStream(t, "app-1")
	cfg := queuedConfig(rec.URL, group)
	flush := cfg.QueueConfig.Get().Batch.Get().FlushTimeout
	require.Equal(t, 5*time.Second, flush, "the default")
	exp := startExporter(t, cfg, observe(t).set)

	sent := time.Now()
	require.NoError(t, exp.ConsumeLogs(context.Background(), clientRequest("one", 0, 1)))
	require.Eventually(t, func() bool { return rec.accepted()["one-0"] == 1 }, flush+2*time.Second, 10*time.Millisecond,
		"delivered within the flush timeout")
	elapsed := time.Since(sent)
	t.Logf("delivered after %s", elapsed)
	assert.Less(t, elapsed, flush+time.Second)
	assert.Len(t, rec.allPuts(), 1)
}

// The queue discards requests of size 0: a request whose records were all dropped as too large still reaches the
// push that reports them.
func TestQueue_RequestOfOversizeRecordsOnlyIsReported(t *testing.T) {
	_, rec, group := recordedStream(t, "app-1")
	cfg := queuedConfig(rec.URL, group)
	cfg.QueueConfig.Get().Batch.Get().FlushTimeout = 50 * time.Millisecond
	exp, obs := startObserved(t, cfg)

	ld := clientRequest("huge", 0, 2)
	for _, lr := range ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().All() {
		lr.Body().SetStr(strings.Repeat("x", int(defaultMaxEventSize)))
	}
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
	require.Eventually(t, func() bool { return obs.rejected(t)["record_too_large"] == 2 }, 5*time.Second, 10*time.Millisecond)
	assert.Empty(t, rec.allPuts(), "nothing to send")
}

// memoryStorage is a storage extension keeping its data in memory, shared by the exporters a test starts one
// after the other as by a collector restarting on the same disk.
type memoryStorage struct {
	component.StartFunc
	component.ShutdownFunc
	mu   sync.Mutex
	data map[string][]byte
}

func (s *memoryStorage) GetClient(context.Context, component.Kind, component.ID, string) (storage.Client, error) {
	return memoryClient{s}, nil
}

type memoryClient struct{ s *memoryStorage }

func (c memoryClient) Get(ctx context.Context, key string) ([]byte, error) {
	op := storage.GetOperation(key)
	err := c.Batch(ctx, op)
	return op.Value, err
}

func (c memoryClient) Set(ctx context.Context, key string, value []byte) error {
	return c.Batch(ctx, storage.SetOperation(key, value))
}

func (c memoryClient) Delete(ctx context.Context, key string) error {
	return c.Batch(ctx, storage.DeleteOperation(key))
}

func (c memoryClient) Batch(_ context.Context, ops ...*storage.Operation) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	for _, op := range ops {
		switch op.Type {
		case storage.Get:
			op.Value = c.s.data[op.Key]
		case storage.Set:
			c.s.data[op.Key] = append([]byte(nil), op.Value...)
		case storage.Delete:
			delete(c.s.data, op.Key)
		default:
			return errors.New("unknown operation")
		}
	}
	return nil
}

func (memoryClient) Close(context.Context) error { return nil }

// storageHost offers one storage extension.
type storageHost struct {
	id  component.ID
	ext *memoryStorage
}

func (h storageHost) GetExtensions() map[component.ID]component.Component {
	return map[component.ID]component.Component{h.id: h.ext}
}

// With sending_queue.storage the queue holds the encoded events: records queued while CloudWatch is down survive
// the exporter's shutdown and are delivered after a restart, each once, with the same messages.
func TestQueue_PersistentQueueDeliversAfterARestart(t *testing.T) {
	_, rec, group := recordedStream(t, "app-1")
	var downMu sync.Mutex
	down := true
	rec.inject = func(action string, _ int, _ *recordedPut) *fault {
		downMu.Lock()
		defer downMu.Unlock()
		if action == "PutLogEvents" && down {
			return awsError(503, "ServiceUnavailableException", "down")
		}
		return nil
	}
	host := storageHost{id: component.MustNewID("memory_storage"), ext: &memoryStorage{data: map[string][]byte{}}}
	cfg := queuedConfig(rec.URL, group)
	cfg.QueueConfig.Get().StorageID = &host.id
	cfg.QueueConfig.Get().Batch.Get().FlushTimeout = 50 * time.Millisecond
	require.NoError(t, cfg.Validate())

	const pushes, per = 3, 100
	want := map[string]string{}
	first, err := NewFactory().CreateLogs(context.Background(), observe(t).set, cfg)
	require.NoError(t, err)
	require.NoError(t, first.Start(context.Background(), host))
	for p := range pushes {
		ld := clientRequest("kept", p*per, per)
		for id, env := range envelopeJSON(ld) {
			want[id] = env
		}
		require.NoError(t, first.ConsumeLogs(context.Background(), ld))
	}
	require.Eventually(t, func() bool { return len(rec.allPuts()) > 0 }, 10*time.Second, 10*time.Millisecond, "tried while down")
	require.NoError(t, first.Shutdown(context.Background()))
	assert.Empty(t, rec.accepted(), "nothing delivered before the restart")

	downMu.Lock()
	down = false
	downMu.Unlock()
	second, err := NewFactory().CreateLogs(context.Background(), observe(t).set, cfg)
	require.NoError(t, err)
	require.NoError(t, second.Start(context.Background(), host))
	t.Cleanup(func() { require.NoError(t, second.Shutdown(context.Background())) })
	require.Eventually(t, func() bool { return len(rec.accepted()) == pushes*per }, 20*time.Second, 10*time.Millisecond,
		"every record queued before the restart is delivered")
	time.Sleep(100 * time.Millisecond)
	exactlyOnce(t, rec.accepted(), "kept", pushes*per)
	for _, put := range rec.allPuts() {
		if put.status != 200 {
			continue
		}
		for _, ev := range put.Events {
			assert.Equal(t, want[messageID(ev.Message)], ev.Message, "the message encoded before the restart")
		}
	}
	rec.requireWithinLimits(t)
}
