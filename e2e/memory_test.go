package e2e

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stalledHTTPConfig is fapiloghttp with its defaults only: what bounds memory when the backend stalls is the
// default sending queue.
const stalledHTTPConfig = `
receivers:
  {{.Receiver}}
exporters:
  fapiloghttp:
    endpoint: {{.Endpoint}}
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [fapiloghttp]
`

// peakRSS samples a process's resident memory until stop is closed and returns the highest value seen, in bytes.
func peakRSS(pid int, stop <-chan struct{}) func() int64 {
	var peak atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if rss := statusKB(pid, "VmHWM:"); rss*1024 > peak.Load() {
				peak.Store(rss * 1024)
			}
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return func() int64 { <-done; return peak.Load() }
}

// statusKB reads one "<Key> <n> kB" line of /proc/<pid>/status.
func statusKB(pid int, key string) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// The backend stalls (it accepts requests and never answers) while clients send 8192-record requests as fast as
// the collector takes them: memory stays bounded by the default sending queue's byte size, the receiver refuses
// what does not fit (clients keep it and retry), and once the backend answers again everything acknowledged is
// delivered.
func TestE2E_StalledBackendKeepsMemoryBoundedAndLosesNothingAcknowledged(t *testing.T) {
	release := make(chan struct{})
	var releaseOnce sync.Once
	unstall := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unstall)
	received := &endpoint{accepted: map[string]int{}}
	backend := startStoppableServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
			received.ServeHTTP(w, r)
		case <-r.Context().Done():
		}
	}))
	c := Start(t, stalledHTTPConfig, map[string]any{"Endpoint": "http://" + backend.addr + "/ingest"})

	stop := make(chan struct{})
	peak := peakRSS(c.cmd.Process.Pid, stop)
	const senders, batches, batchSize = 4, 20, 8192
	loads := make([]*AckedLoad, senders)
	for i := range loads {
		loads[i] = StartAckedLoad(t, c.GRPCEndpoint, LoadSpec{Prefix: fmt.Sprintf("mem%d", i), Batches: batches,
			BatchSize: batchSize, Interval: time.Millisecond, Deadline: 4 * time.Minute})
	}
	time.Sleep(25 * time.Second)
	acked, tries := 0, 0
	for _, l := range loads {
		acked += len(l.Acked())
		tries += l.Tries()
	}
	stalledPeak := statusKB(c.cmd.Process.Pid, "VmHWM:") * 1024
	t.Logf("backend stalled for 25 s: %d records acknowledged, %d export attempts (%d refused), peak RSS %d MiB",
		acked, tries, tries-acked/batchSize, stalledPeak>>20)
	if tries <= acked/batchSize {
		t.Errorf("the receiver never refused a request: the queue is not bounded")
	}

	unstall()
	want := map[string]bool{}
	for _, l := range loads {
		l.Wait()
		for id := range l.Acked() {
			want[id] = true
		}
	}
	deadline := time.Now().Add(3 * time.Minute)
	var got map[string]int
	for {
		got, _ = received.snapshot()
		if len(got) >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	close(stop)
	maxRSS := peak()
	lost := 0
	for id := range want {
		if got[id] == 0 {
			lost++
		}
	}
	t.Logf("%d of %d records acknowledged, %d delivered, %d lost; peak RSS %d MiB", len(want), senders*batches*batchSize, len(got), lost, maxRSS>>20)
	if lost > 0 {
		t.Errorf("%d acknowledged records lost", lost)
	}
	if len(want) != senders*batches*batchSize {
		t.Errorf("only %d of %d records were acknowledged once the backend answered", len(want), senders*batches*batchSize)
	}
	if maxRSS > 200<<20 {
		t.Errorf("peak RSS %d MiB, over 200 MiB", maxRSS>>20)
	}
}
