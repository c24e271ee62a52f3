package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// persistentQueueConfig is fapilogfile with its default settings (no fsync, no flush_interval, buffered mode)
// behind a persistent queue: the configuration under which an acknowledged record must survive kill -9.
const persistentQueueConfig = `
extensions:
  file_storage:
    directory: {{.Dir}}/queue
    create_directory: true
receivers:
  {{.Receiver}}
exporters:
  fapilogfile:
    directory: {{.Dir}}/logs
    sending_queue:
      storage: file_storage
service:
  extensions: [file_storage]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [fapilogfile]
`

const (
	kill9Senders      = 4
	kill9BatchRecords = 50
	// kill9Records bounds the load: enough to mean something, small enough to drain quickly on a loaded machine.
	kill9Records = 20_000
	kill9Kills   = 3
)

// kill9Load sends numbered batches from several goroutines until told to stop, and remembers which batches the
// collector acknowledged. A refused or failed export (the collector is down, or died while answering) is not
// acknowledged: the client would retry it, and whether it arrived does not count either way.
type kill9Load struct {
	c *Collector

	mu    sync.Mutex
	sent  int      // records in export attempts
	acked []string // prefixes of acknowledged batches
	wg    sync.WaitGroup
	stop  chan struct{}
}

func startKill9Load(c *Collector) *kill9Load {
	l := &kill9Load{c: c, stop: make(chan struct{})}
	for w := 0; w < kill9Senders; w++ {
		l.wg.Add(1)
		go l.send(w)
	}
	return l
}

func (l *kill9Load) send(w int) {
	defer l.wg.Done()
	for batch := 0; ; batch++ {
		select {
		case <-l.stop:
			return
		default:
		}
		if l.ackedRecords() >= kill9Records {
			return
		}
		prefix := fmt.Sprintf("w%d_b%d", w, batch)
		l.mu.Lock()
		l.sent += kill9BatchRecords
		l.mu.Unlock()
		if err := l.c.TrySendHTTP(NumberedLogs(prefix, kill9BatchRecords), false); err != nil {
			time.Sleep(20 * time.Millisecond) // the collector is down: do not spin
			continue
		}
		l.mu.Lock()
		l.acked = append(l.acked, prefix)
		l.mu.Unlock()
	}
}

func (l *kill9Load) ackedRecords() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked) * kill9BatchRecords
}

func (l *kill9Load) finish() {
	close(l.stop)
	l.wg.Wait()
}

// TestE2E_PersistentQueueSurvivesKill9 kills the collector with SIGKILL three times while it is under load,
// restarting it each time, and checks that every record whose OTLP export was acknowledged reaches the file.
// Records written but not yet removed from the queue at a kill are written again after the restart: they are
// counted as duplicates, which at-least-once delivery allows.
func TestE2E_PersistentQueueSurvivesKill9(t *testing.T) {
	r := killUnderLoad(t, persistentQueueConfig, 90*time.Second)
	if r.missing != 0 {
		t.Fatalf("%d of %d acknowledged records missing after %d kills with SIGKILL", r.missing, r.acknowledged, kill9Kills)
	}
}

// defaultFileConfig is fapilogfile at its defaults: no sending queue, no fsync, buffered mode.
const defaultFileConfig = `
receivers:
  {{.Receiver}}
exporters:
  fapilogfile:
    directory: {{.Dir}}/logs
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [fapilogfile]
`

// TestE2E_FileDefaultsSurviveKill9WithoutAPersistentQueue does the same with fapilogfile's defaults: without a
// queue an export is acknowledged only once its records are in the kernel, so every acknowledged record is in the
// file as soon as the load ends (no time to drain anything) and, with nothing to replay at restart, none is
// written twice.
func TestE2E_FileDefaultsSurviveKill9WithoutAPersistentQueue(t *testing.T) {
	r := killUnderLoad(t, defaultFileConfig, 0)
	if r.missing != 0 {
		t.Fatalf("%d of %d acknowledged records missing after %d kills with SIGKILL", r.missing, r.acknowledged, kill9Kills)
	}
	if r.duplicated != 0 {
		t.Fatalf("%d records written twice: without a queue nothing is replayed at restart", r.duplicated)
	}
}

// kill9Result counts what a run of killUnderLoad sent, had acknowledged and found in the files.
type kill9Result struct {
	sent, acknowledged, delivered, lines, duplicated, unacknowledged, missing int
}

// killUnderLoad starts the collector with config, kills it with SIGKILL kill9Kills times while the senders are
// going, restarting it each time, then gives the files up to drain to hold every acknowledged record, stops the
// collector and counts the records in the files.
func killUnderLoad(t *testing.T, config string, drain time.Duration) kill9Result {
	c := Start(t, config, nil)
	load := startKill9Load(c)
	for kill := 1; kill <= kill9Kills; kill++ {
		// Kill while the senders are going, spread over the bounded load.
		target := kill * kill9Records / (kill9Kills + 1)
		Eventually(t, 60*time.Second, func() bool { return load.ackedRecords() >= target },
			"kill %d: the collector acknowledged only %d records", kill, load.ackedRecords())
		c.Kill(t)
		time.Sleep(100 * time.Millisecond) // let the senders hit the closed port
		c.Restart(t)
	}
	Eventually(t, 60*time.Second, func() bool { return load.ackedRecords() >= kill9Records },
		"after the last restart the collector acknowledged only %d records", load.ackedRecords())
	load.finish()

	expected := map[string]bool{}
	for _, prefix := range load.acked {
		for i := 0; i < kill9BatchRecords; i++ {
			expected[fmt.Sprintf("%s-%d", prefix, i)] = true
		}
	}
	seen, missing := countDelivered(t, filepath.Join(c.Dir, "logs"), expected)
	for deadline := time.Now().Add(drain); missing != 0 && time.Now().Before(deadline); {
		time.Sleep(250 * time.Millisecond)
		seen, missing = countDelivered(t, filepath.Join(c.Dir, "logs"), expected)
	}
	c.Stop(t)
	if drain > 0 {
		seen, missing = countDelivered(t, filepath.Join(c.Dir, "logs"), expected)
	}

	r := kill9Result{sent: load.sent, acknowledged: len(expected), delivered: len(seen), missing: missing}
	for id, n := range seen {
		r.lines += n
		r.duplicated += n - 1
		if !expected[id] {
			r.unacknowledged++
		}
	}
	t.Logf("%d kills: %d records sent, %d acknowledged, %d delivered (%d lines: %d duplicates, %d delivered without an acknowledgement), %d acknowledged lost",
		kill9Kills, r.sent, r.acknowledged, r.delivered, r.lines, r.duplicated, r.unacknowledged, r.missing)
	return r
}

// countDelivered counts the lines per record id in the log directory and how many expected ids are missing.
func countDelivered(t *testing.T, dir string, expected map[string]bool) (seen map[string]int, missing int) {
	t.Helper()
	lines, _ := ReadLogFiles(t, dir)
	seen = map[string]int{}
	for _, raw := range lines {
		var line fapilogLine
		if json.Unmarshal(raw, &line) == nil { // the line being written may be incomplete
			seen[line.Log.Context.MessageID]++
		}
	}
	for id := range expected {
		if seen[id] == 0 {
			missing++
		}
	}
	return seen, missing
}
