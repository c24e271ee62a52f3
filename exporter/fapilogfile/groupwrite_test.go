package fapilogfile

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogfile/internal/metadata"
)

// gatedFile holds its first write until released, so that pushes queue up behind it, and counts the writes and
// syncs that reach it. With failSecond, the second write stops half-way with an error, as a full disk does.
type gatedFile struct {
	osFile
	entered    chan struct{}
	release    chan struct{}
	failSecond bool

	mu            sync.Mutex
	writes, syncs int
	sizes         []int // of every write, in order
}

func (f *gatedFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	f.writes++
	n := f.writes
	f.sizes = append(f.sizes, len(p))
	f.mu.Unlock()
	switch {
	case n == 1:
		f.entered <- struct{}{}
		<-f.release
	case n == 2 && f.failSecond:
		written, _ := f.osFile.Write(p[:len(p)/2])
		return written, errors.New("no space left on device (injected)")
	}
	return f.osFile.Write(p)
}

func (f *gatedFile) Sync() error {
	f.mu.Lock()
	f.syncs++
	f.mu.Unlock()
	return f.osFile.Sync()
}

func (f *gatedFile) counts() (writes, syncs int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes, f.syncs
}

// startGated starts an exporter whose file is gated, with a first push already stuck in its write, and returns
// that push's outcome.
func startGated(t *testing.T, file *gatedFile, mutate func(*Config)) (*fileExporter, <-chan error) {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.Directory = t.TempDir()
	mutate(cfg)
	fe, err := newFileExporter(cfg, componenttest.NewNopTelemetrySettings(), component.NewID(metadata.Type))
	require.NoError(t, err)
	fe.fs.openFile = func(path string) (osFile, error) {
		f, err := osFileSystem.openFile(path)
		file.osFile = f
		return file, err
	}
	require.NoError(t, fe.start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { _ = fe.shutdown(context.Background()) })
	first := make(chan error, 1)
	go func() { first <- fe.pushLogs(context.Background(), prefixedLogs("first", 2)) }()
	select {
	case <-file.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the first push never reached its write")
	}
	return fe, first
}

// queuePushes starts one push per prefix, each with n records, and returns once all of them wait in the file's
// queue (in that order); their outcomes arrive on the returned channels.
func queuePushes(t *testing.T, fe *fileExporter, n int, prefixes ...string) []chan error {
	t.Helper()
	r := staticRotator(t, fe)
	outcomes := make([]chan error, len(prefixes))
	for i, prefix := range prefixes {
		outcomes[i] = make(chan error, 1)
		go func() { outcomes[i] <- fe.pushLogs(context.Background(), prefixedLogs(prefix, n)) }()
		require.Eventually(t, func() bool {
			r.group.mu.Lock()
			defer r.group.mu.Unlock()
			return len(r.group.queue) == i+1
		}, 5*time.Second, time.Millisecond, "push %q never queued", prefix)
	}
	return outcomes
}

func outcome(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("a push never returned")
		return nil
	}
}

func TestGroupWrite_PushesThatWaitTogetherAreWrittenWithOneWriteAndOneSync(t *testing.T) {
	file := &gatedFile{entered: make(chan struct{}, 1), release: make(chan struct{})}
	fe, first := startGated(t, file, func(cfg *Config) { cfg.Fsync = true })
	waiting := queuePushes(t, fe, 3, "a", "b", "c")

	close(file.release)
	require.NoError(t, outcome(t, first))
	for _, ch := range waiting {
		require.NoError(t, outcome(t, ch))
	}
	writes, syncs := file.counts()
	assert.Equal(t, 2, writes, "the stuck push's write, then one write for the three that waited behind it")
	assert.Equal(t, 2, syncs, "one fsync per write")
	assert.Equal(t, []string{
		"first order 0", "first order 1",
		"a order 0", "a order 1", "a order 2",
		"b order 0", "b order 1", "b order 2",
		"c order 0", "c order 1", "c order 2",
	}, familyMessages(t, fe), "every batch whole, in the order the pushes queued")
}

func TestGroupWrite_AGroupTakesAtMostMaxGroupBytesAndTheRestFollowInOrder(t *testing.T) {
	file := &gatedFile{entered: make(chan struct{}, 1), release: make(chan struct{})}
	fe, first := startGated(t, file, func(*Config) {})
	const n = 400 // records a push: over a third of maxGroupBytes, under a half
	prefixes := []string{"a", "b", "c", "d", "e"}
	waiting := queuePushes(t, fe, n, prefixes...)

	close(file.release)
	require.NoError(t, outcome(t, first))
	for _, ch := range waiting {
		require.NoError(t, outcome(t, ch))
	}
	file.mu.Lock()
	sizes := file.sizes[1:] // after the stuck push's own write
	file.mu.Unlock()
	batch := sizes[len(sizes)-1] // e's, written alone: every push encodes to the same length
	require.Greater(t, 3*batch, maxGroupBytes, "the test's pushes are large enough")
	require.LessOrEqual(t, 2*batch, maxGroupBytes)
	assert.Equal(t, []int{2 * batch, 2 * batch, batch}, sizes, "two batches a write, never over maxGroupBytes")

	want := messagesOf(prefixedLogs("first", 2))
	for _, prefix := range prefixes {
		want = append(want, messagesOf(prefixedLogs(prefix, n))...)
	}
	assert.Equal(t, want, familyMessages(t, fe), "every batch whole, in the order the pushes queued")
}

func TestGroupWrite_AGroupCutShortFailsOnlyTheRecordsNotWritten(t *testing.T) {
	file := &gatedFile{entered: make(chan struct{}, 1), release: make(chan struct{}), failSecond: true}
	fe, first := startGated(t, file, func(*Config) {})
	const n = 4
	prefixes := []string{"a", "b", "c"}
	waiting := queuePushes(t, fe, n, prefixes...)

	close(file.release)
	require.NoError(t, outcome(t, first))
	// The group's write stops half-way: within b's records (a's end at a third, c's start at two thirds).
	var retry []string
	acknowledged := []string{"first order 0", "first order 1"}
	for i, ch := range waiting {
		err := outcome(t, ch)
		all := messagesOf(prefixedLogs(prefixes[i], n))
		var partial consumererror.Logs
		switch {
		case err == nil:
			acknowledged = append(acknowledged, all...)
		case errors.As(err, &partial):
			rest := messagesOf(partial.Data())
			require.NotEmpty(t, rest)
			acknowledged = append(acknowledged, all[:len(all)-len(rest)]...)
			assert.Equal(t, all[len(all)-len(rest):], rest, "the records to retry are the batch's last ones")
			retry = append(retry, rest...)
		default:
			retry = append(retry, all...)
		}
		switch prefixes[i] {
		case "a":
			assert.NoError(t, err, "a batch wholly written before the failure is acknowledged")
		case "b":
			assert.ErrorAs(t, err, &partial, "the batch the failure cut is retried from its first unwritten record")
		case "c":
			assert.Error(t, err)
			assert.False(t, errors.As(err, &partial), "a batch of which nothing was written is retried as it is")
		}
	}
	assert.Equal(t, acknowledged, familyMessages(t, fe), "the file holds exactly what was acknowledged, no torn line")
	assert.Len(t, append(acknowledged, retry...), 2+n*len(prefixes), "every record either written or handed back")
}

func messagesOf(ld plog.Logs) []string {
	var out []string
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				out = append(out, lr.Body().Str())
			}
		}
	}
	return out
}

func TestGroupWrite_APushThatGivesUpWhileQueuedIsLeftOut(t *testing.T) {
	file := &gatedFile{entered: make(chan struct{}, 1), release: make(chan struct{})}
	fe, first := startGated(t, file, func(*Config) {})
	waiting := queuePushes(t, fe, 2, "a")
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() { gaveUp <- fe.pushLogs(ctx, prefixedLogs("gave-up", 2)) }()
	r := staticRotator(t, fe)
	require.Eventually(t, func() bool {
		r.group.mu.Lock()
		defer r.group.mu.Unlock()
		return len(r.group.queue) == 2
	}, 5*time.Second, time.Millisecond)
	cancel()
	err := outcome(t, gaveUp)
	require.ErrorIs(t, err, context.Canceled)

	close(file.release)
	require.NoError(t, outcome(t, first))
	require.NoError(t, outcome(t, waiting[0]))
	assert.Equal(t, []string{"first order 0", "first order 1", "a order 0", "a order 1"}, familyMessages(t, fe),
		"the push that gave up is not in the file: its client retries it")
}

func TestGroupWrite_ABatchWhoseLastRecordWasNotWrittenIsNotAcknowledged(t *testing.T) {
	file := &gatedFile{entered: make(chan struct{}, 1), release: make(chan struct{}), failSecond: true}
	fe, first := startGated(t, file, func(*Config) {})
	// Three batches of two records of one length: the group's write stops half-way, after b's first record.
	waiting := queuePushes(t, fe, 2, "a", "b", "c")
	close(file.release)
	require.NoError(t, outcome(t, first))

	require.NoError(t, outcome(t, waiting[0]))
	err := outcome(t, waiting[1])
	var partial consumererror.Logs
	require.ErrorAs(t, err, &partial, "b's second record is not in the file: b must not be acknowledged")
	assert.Equal(t, []string{"b order 1"}, messagesOf(partial.Data()), "only b's unwritten record is retried")
	assert.Error(t, outcome(t, waiting[2]))
	assert.Equal(t, []string{"first order 0", "first order 1", "a order 0", "a order 1", "b order 0"}, familyMessages(t, fe))
}
