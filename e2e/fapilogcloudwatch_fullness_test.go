package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sivchari/kumo"
)

// The exporter at its defaults (only the endpoint, group and stream set) under sustained load: issue 11 asks that
// at least 95% of the PutLogEvents requests be at least 95% full (10,000 events, or 1,048,576 bytes counting 26
// bytes per event), while a single record still goes out within the flush timeout (5 s).
const cloudwatchDefaultsConfig = `
receivers:
  {{.Receiver}}
exporters:
  fapilogcloudwatch:
    endpoint_url: {{.Endpoint}}
    log_group_name: {{.Group}}
    log_stream_name: fullness
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [fapilogcloudwatch]
`

// putRecorder stands between the collector and kumo: it measures every PutLogEvents request kumo accepts and
// remembers when each record (by log.record.uid, the envelope's context.message_id) was accepted.
type putRecorder struct {
	mu       sync.Mutex
	puts     []putSize
	accepted map[string]int
	at       map[string]time.Time
	upstream *httputil.ReverseProxy
}

// putSize is one accepted request against CloudWatch's limits.
type putSize struct{ events, bytes int }

func (p putSize) fullness() float64 {
	return max(float64(p.events)/10_000, float64(p.bytes)/1_048_576)
}

func (rec *putRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".PutLogEvents") {
		rec.upstream.ServeHTTP(w, r)
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	var put struct {
		LogEvents []struct {
			Message string `json:"message"`
		} `json:"logEvents"`
	}
	if err := json.Unmarshal(raw, &put); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	sw := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	rec.upstream.ServeHTTP(sw, r)
	if sw.status != http.StatusOK {
		return
	}
	size := putSize{events: len(put.LogEvents)}
	now := time.Now()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, ev := range put.LogEvents {
		size.bytes += len(ev.Message) + 26
		var env struct {
			Context struct {
				MessageID string `json:"message_id"`
			} `json:"context"`
		}
		_ = json.Unmarshal([]byte(ev.Message), &env)
		rec.accepted[env.Context.MessageID]++
		rec.at[env.Context.MessageID] = now
	}
	rec.puts = append(rec.puts, size)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

func (rec *putRecorder) snapshot() ([]putSize, map[string]int, map[string]time.Time) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	accepted, at := make(map[string]int, len(rec.accepted)), make(map[string]time.Time, len(rec.at))
	for k, v := range rec.accepted {
		accepted[k] = v
	}
	for k, v := range rec.at {
		at[k] = v
	}
	return append([]putSize(nil), rec.puts...), accepted, at
}

func TestCloudWatch_DefaultsSendFullRequestsUnderSustainedLoadAndATrickleWithinTheFlushTimeout(t *testing.T) {
	cloudwatchEnv(t)
	srv := kumo.NewServer()
	t.Cleanup(srv.Close)
	upstream, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	rec := &putRecorder{accepted: map[string]int{}, at: map[string]time.Time{}, upstream: httputil.NewSingleHostReverseProxy(upstream)}
	proxy := httptest.NewServer(rec)
	t.Cleanup(proxy.Close)
	col := Start(t, cloudwatchDefaultsConfig, map[string]any{"Endpoint": proxy.URL, "Group": fmt.Sprintf("/fapilog/e2e/full-%d", time.Now().UnixNano())})

	// Four clients, each 350 requests of 100 records (~230 bytes of envelope each) as fast as the collector
	// acknowledges them: 140,000 records, ~34 MiB, about 35 requests of which only the last is not full.
	const clients, batches, per = 4, 350, 100
	loads := make([]*AckedLoad, clients)
	for c := range loads {
		loads[c] = StartAckedLoad(t, col.GRPCEndpoint, LoadSpec{
			Prefix: fmt.Sprintf("load%d", c), Batches: batches, BatchSize: per, Interval: time.Millisecond, Deadline: 2 * time.Minute,
		})
	}
	acked := map[string]bool{}
	for _, l := range loads {
		l.Wait()
		for id := range l.Acked() {
			acked[id] = true
		}
	}
	if len(acked) != clients*batches*per {
		t.Fatalf("the collector acknowledged %d of %d records within the load's deadline:\n%s", len(acked), clients*batches*per, col.Stderr.String())
	}
	Eventually(t, 60*time.Second, func() bool { _, accepted, _ := rec.snapshot(); return len(accepted) >= len(acked) },
		"not every acknowledged record reached CloudWatch (kumo):\n%s", col.Stderr.String())

	puts, accepted, _ := rec.snapshot()
	for id := range acked {
		if accepted[id] != 1 {
			t.Fatalf("record %s was accepted %d times", id, accepted[id])
		}
	}
	full := 0
	for _, p := range puts {
		if p.events > 10_000 || p.bytes > 1_048_576 {
			t.Fatalf("a request exceeded the service limits: %d events, %d bytes", p.events, p.bytes)
		}
		if p.fullness() >= 0.95 {
			full++
		}
	}
	share := float64(full) / float64(len(puts))
	t.Logf("%d PutLogEvents requests for %d records; %d (%.1f%%) at least 95%% full; the first: %d events, %d bytes",
		len(puts), len(acked), full, 100*share, puts[0].events, puts[0].bytes)
	if share < 0.95 {
		t.Fatalf("%.1f%% of the requests were at least 95%% full, want at least 95%%", 100*share)
	}

	// A trickle: one record alone goes out on the flush timeout (5 s), not held until a request is full.
	sent := time.Now()
	col.SendGRPC(t, NumberedLogs("trickle", 1))
	Eventually(t, 10*time.Second, func() bool { _, accepted, _ := rec.snapshot(); return accepted["trickle-0"] == 1 },
		"a single record did not reach CloudWatch:\n%s", col.Stderr.String())
	_, _, at := rec.snapshot()
	if waited := at["trickle-0"].Sub(sent); waited > 6*time.Second {
		t.Fatalf("a single record took %s to go out; the flush timeout is 5 s", waited)
	} else {
		t.Logf("a single record went out after %s", waited.Round(time.Millisecond))
	}
}
