package e2e

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

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

// TestE2E_FileDefaultsSurviveKill9WithoutAPersistentQueue kills the collector with SIGKILL three times under
// load, as TestE2E_PersistentQueueSurvivesKill9 does, but with fapilogfile's defaults: without a queue an
// export is acknowledged only once its records are in the kernel, so every acknowledged record is in the file
// and, with nothing left to replay at restart, none is written twice.
func TestE2E_FileDefaultsSurviveKill9WithoutAPersistentQueue(t *testing.T) {
	c := Start(t, defaultFileConfig, nil)
	load := startKill9Load(c)
	for kill := 1; kill <= kill9Kills; kill++ {
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
	// No waiting for a queue to drain: what was acknowledged is in the file already.
	seen, missing := countDelivered(t, filepath.Join(c.Dir, "logs"), expected)
	c.Stop(t)

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
	if duplicated != 0 {
		t.Fatalf("%d records written twice: without a queue nothing is replayed at restart", duplicated)
	}
}
