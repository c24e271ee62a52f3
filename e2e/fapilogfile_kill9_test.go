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
	c := Start(t, persistentQueueConfig, nil)
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
	for deadline, missing := time.Now().Add(90*time.Second), -1; missing != 0 && time.Now().Before(deadline); {
		time.Sleep(250 * time.Millisecond)
		_, missing = countDelivered(t, filepath.Join(c.Dir, "logs"), expected)
	}
	c.Stop(t)
	seen, missing := countDelivered(t, filepath.Join(c.Dir, "logs"), expected)

	lines, duplicated, unacknowledged := 0, 0, 0
	for id, n := range seen {
		lines += n
		duplicated += n - 1
		if !expected[id] {
			unacknowledged++
		}
	}
	t.Logf("%d kills: %d records sent, %d acknowledged, %d delivered (%d lines: %d duplicates, %d delivered without an acknowledgement), %d acknowledged lost",
		kill9Kills, load.sent, len(expected), len(seen), lines, duplicated, unacknowledged, missing)
	if missing != 0 {
		t.Fatalf("%d of %d acknowledged records missing after %d kills with SIGKILL", missing, len(expected), kill9Kills)
	}
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
