package fapilogfile

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otelcol/internal/confunits"
)

// lines builds a batch of records "<prefix>-<i>" padded to size bytes each (newline included).
func lines(prefix string, n, size int) ([]byte, []int) {
	var buf []byte
	var ends []int
	for i := 0; i < n; i++ {
		rec := fmt.Sprintf("%s-%d", prefix, i)
		rec += strings.Repeat(".", size-len(rec)-1) + "\n"
		buf = append(buf, rec...)
		ends = append(ends, len(buf))
	}
	return buf, ends
}

type testFamily struct {
	dir      string
	family   family
	rotator  *rotator
	archiver *archiver
	set      *fileSet
}

func startFamily(t *testing.T, rs rotatorSettings, as archiverSettings) *testFamily {
	t.Helper()
	dir := t.TempDir()
	rs.path = filepath.Join(dir, "app.jsonl")
	if rs.writeMode == "" {
		rs.writeMode = WriteModeBuffered
	}
	if rs.location == nil {
		rs.location = time.UTC
	}
	if as.compressionLevel == 0 {
		as.compressionLevel = 5
	}
	arch := newArchiver(as, nopTelemetry(), zap.NewNop())
	set := newFileSet(rs, dir, 10, arch, nopTelemetry(), zap.NewNop(), osFileSystem)
	require.NoError(t, set.start())
	file, err := set.acquire(rs.path)
	require.NoError(t, err)
	set.release(file)
	f := &testFamily{dir: dir, family: familyOf(rs.path), rotator: file.rotator, archiver: arch, set: set}
	t.Cleanup(func() { f.stop() })
	return f
}

func (f *testFamily) stop() { _ = f.set.shutdown(context.Background()) }

// files returns the names in the directory, sorted.
func (f *testFamily) files(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(f.dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func readMaybeGzip(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	if strings.HasSuffix(path, gzipSuffix) {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		require.NoError(t, err)
		data, err = io.ReadAll(zr)
		require.NoError(t, err)
	}
	return string(data)
}

// allContent concatenates every file of the family, oldest first, the active file last.
func (f *testFamily) allContent(t *testing.T) string {
	t.Helper()
	rotated, err := f.archiver.listRotated(f.family)
	require.NoError(t, err)
	var sb strings.Builder
	for _, r := range rotated {
		sb.WriteString(readMaybeGzip(t, r.path))
	}
	if data, err := os.ReadFile(filepath.Join(f.dir, "app.jsonl")); err == nil {
		sb.Write(data)
	}
	return sb.String()
}

func TestRotate_SizeRotationNeverSplitsARecord(t *testing.T) {
	f := startFamily(t, rotatorSettings{maxBytes: 1000, flushInterval: 0}, archiverSettings{})
	buf, ends := lines("r", 25, 100) // 2500 bytes -> 10 records per file
	require.NoError(t, writeErr(f.rotator.write(context.Background(), buf, ends)))
	f.stop()

	rotated, err := f.archiver.listRotated(f.family)
	require.NoError(t, err)
	assert.Len(t, rotated, 2)
	for _, r := range rotated {
		content := readMaybeGzip(t, r.path)
		assert.Len(t, content, 1000, r.path)
		assert.True(t, strings.HasSuffix(content, "\n"))
	}
	assert.Equal(t, string(buf), f.allContent(t), "every record once, in order")
}

func TestRotate_RecordLargerThanMaxBytesGoesAloneIntoNewFile(t *testing.T) {
	f := startFamily(t, rotatorSettings{maxBytes: 1000}, archiverSettings{})
	small, smallEnds := lines("small", 3, 100)
	big, _ := lines("big", 1, 5000)
	after, _ := lines("after", 1, 100)
	batch := append(append(append([]byte{}, small...), big...), after...)
	ends := append(append([]int{}, smallEnds...), 300+5000, 300+5000+100)
	require.NoError(t, writeErr(f.rotator.write(context.Background(), batch, ends)))
	f.stop()

	rotated, err := f.archiver.listRotated(f.family)
	require.NoError(t, err)
	require.Len(t, rotated, 2)
	assert.Equal(t, string(small), readMaybeGzip(t, rotated[0].path))
	assert.Equal(t, string(big), readMaybeGzip(t, rotated[1].path), "the big record is alone in its file")
	active, _ := os.ReadFile(filepath.Join(f.dir, "app.jsonl"))
	assert.Equal(t, string(after), string(active))
}

func TestRotate_RotatedNamesAreUTCTimestampsAndUnique(t *testing.T) {
	f := startFamily(t, rotatorSettings{maxBytes: 100}, archiverSettings{})
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600))
	f.rotator.now = func() time.Time { return fixed }
	buf, ends := lines("r", 4, 100)
	require.NoError(t, writeErr(f.rotator.write(context.Background(), buf, ends)))
	assert.Equal(t, []string{"app-20260102-020405-1.jsonl", "app-20260102-020405-2.jsonl", "app-20260102-020405.jsonl", "app.jsonl"}, f.files(t))
	rotated, err := f.archiver.listRotated(f.family)
	require.NoError(t, err)
	var order []string
	for _, r := range rotated {
		order = append(order, readMaybeGzip(t, r.path)[:3])
	}
	assert.Equal(t, []string{"r-0", "r-1", "r-2"}, order, "same-second rotations keep their order")
}

func TestRotate_IntervalRotatesWithoutAnyWriteAtTheBoundary(t *testing.T) {
	iv, err := confunits.ParseInterval("1s")
	require.NoError(t, err)
	f := startFamily(t, rotatorSettings{interval: iv, flushInterval: time.Hour}, archiverSettings{})
	buf, ends := lines("before", 2, 50)
	require.NoError(t, writeErr(f.rotator.write(context.Background(), buf, ends)))
	// No further write: the timer alone must rotate at the next second boundary.
	require.Eventually(t, func() bool {
		rotated, _ := f.archiver.listRotated(f.family)
		return len(rotated) == 1
	}, 3*time.Second, 20*time.Millisecond)
	rotated, _ := f.archiver.listRotated(f.family)
	assert.Equal(t, string(buf), readMaybeGzip(t, rotated[0].path), "buffered records were flushed into the rotated file")

	// An empty active file is not rotated at the following boundaries.
	time.Sleep(1200 * time.Millisecond)
	rotated, _ = f.archiver.listRotated(f.family)
	assert.Len(t, rotated, 1)
}

func TestRotate_StaleFileFromAnEarlierIntervalIsRotatedAtStart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.jsonl")
	require.NoError(t, os.WriteFile(path, []byte("yesterday\n"), 0o640))
	yesterday := time.Now().Add(-26 * time.Hour)
	require.NoError(t, os.Chtimes(path, yesterday, yesterday))
	daily, _ := confunits.ParseInterval("daily")
	arch := newArchiver(archiverSettings{}, nopTelemetry(), zap.NewNop())
	rot := newRotator(rotatorSettings{path: path, writeMode: WriteModeBuffered, interval: daily, location: time.UTC}, arch, nopTelemetry(), zap.NewNop())
	require.NoError(t, rot.start())
	defer rot.shutdown()
	rotated, err := arch.listRotated(rot.family)
	require.NoError(t, err)
	require.Len(t, rotated, 1)
	assert.Equal(t, yesterday.UTC().Format(rotatedTimeLayout), rotated[0].rotated.Format(rotatedTimeLayout))
}

func TestRetention_MaxFilesKeepsExactlyThatMany(t *testing.T) {
	f := startFamily(t, rotatorSettings{maxBytes: 100}, archiverSettings{maxFiles: 3})
	buf, ends := lines("r", 10, 100) // 9 rotations
	require.NoError(t, writeErr(f.rotator.write(context.Background(), buf, ends)))
	f.stop()
	rotated, err := f.archiver.listRotated(f.family)
	require.NoError(t, err)
	require.Len(t, rotated, 3, "max_files counts rotated files exactly (fapilog keeps one too many)")
	assert.True(t, strings.HasPrefix(readMaybeGzip(t, rotated[0].path), "r-6"), "the newest are kept")
	assert.True(t, strings.HasPrefix(readMaybeGzip(t, rotated[2].path), "r-8"))
}

func TestRetention_MaxTotalBytesCountsEveryRotatedFile(t *testing.T) {
	f := startFamily(t, rotatorSettings{maxBytes: 100}, archiverSettings{maxTotalBytes: 350})
	buf, ends := lines("r", 8, 100)
	require.NoError(t, writeErr(f.rotator.write(context.Background(), buf, ends)))
	f.stop()
	rotated, err := f.archiver.listRotated(f.family)
	require.NoError(t, err)
	var total int64
	for _, r := range rotated {
		total += r.size
	}
	assert.Len(t, rotated, 3, "3 x 100 bytes fit in 350, 4 would not")
	assert.LessOrEqual(t, total, int64(350))
}

func TestRetention_MaxAgeDeletesOlderRotatedFiles(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	for _, name := range []string{"app-20260601-000000.jsonl.gz", "app-20260609-000000.jsonl", "app-20260610-110000.jsonl", "other-20200101-000000.jsonl", "app.jsonl"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("x\n"), 0o640))
	}
	arch := newArchiver(archiverSettings{maxAge: 48 * time.Hour}, nopTelemetry(), zap.NewNop())
	arch.now = func() time.Time { return now }
	arch.enforceRetention(family{dir: dir, base: "app", ext: ".jsonl"})
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"app-20260609-000000.jsonl", "app-20260610-110000.jsonl", "other-20200101-000000.jsonl", "app.jsonl"}, names,
		"only the family's rotated files older than max_age go; the active file and other families stay")
}

func TestCompression_GzipDecompressesToTheSameLines(t *testing.T) {
	f := startFamily(t, rotatorSettings{maxBytes: 1000}, archiverSettings{compress: true})
	buf, ends := lines("r", 30, 100)
	require.NoError(t, writeErr(f.rotator.write(context.Background(), buf, ends)))
	f.stop()
	for _, name := range f.files(t) {
		if name == "app.jsonl" {
			continue
		}
		assert.True(t, strings.HasSuffix(name, ".jsonl.gz"), "rotated file %s compressed, no leftovers", name)
	}
	assert.Equal(t, string(buf), f.allContent(t))
}

func TestCompression_FailureKeepsTheUncompressedFile(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "app-20260102-030405.jsonl")
	require.NoError(t, os.WriteFile(src, []byte("keep me\n"), 0o640))
	// A directory where the temporary archive must go makes compression fail.
	require.NoError(t, os.Mkdir(src+gzipSuffix+".tmp", 0o750))
	assert.Error(t, gzipFile(src, 5, nil))
	data, err := os.ReadFile(src)
	require.NoError(t, err)
	assert.Equal(t, "keep me\n", string(data))
	assert.NoFileExists(t, src+gzipSuffix)
}

func TestWrite_ErrorsSurfaceAndAreRetryable(t *testing.T) {
	arch := newArchiver(archiverSettings{}, nopTelemetry(), zap.NewNop())
	rot := newRotator(rotatorSettings{path: "/dev/full", writeMode: WriteModeBuffered, location: time.UTC}, arch, nopTelemetry(), zap.NewNop())
	require.NoError(t, rot.start())
	defer rot.shutdown()
	buf, ends := lines("r", 3, 100)
	_, err := rot.write(context.Background(), buf, ends)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no space left on device")
	// The next attempt reopens the file and fails again with the real cause, not a stale buffered error.
	assert.ErrorContains(t, writeErr(rot.write(context.Background(), buf, ends)), "no space left on device")
}

func TestWrite_EveryBatchIsInTheFileWhenWriteReturns(t *testing.T) {
	for _, mode := range []string{WriteModeBuffered, WriteModeMmap} {
		t.Run(mode, func(t *testing.T) {
			// The default flush_interval: records no longer wait for it, so that a batch acknowledged to a
			// persistent queue survives a kill -9 that follows at once.
			f := startFamily(t, rotatorSettings{writeMode: mode, flushInterval: time.Second}, archiverSettings{})
			buf, ends := lines("r", 2, 60)
			require.NoError(t, writeErr(f.rotator.write(context.Background(), buf, ends)))
			data, err := os.ReadFile(filepath.Join(f.dir, "app.jsonl"))
			require.NoError(t, err)
			assert.Equal(t, string(buf), strings.TrimRight(string(data), "\x00"), "read by another process before any flush or close")
		})
	}
}

func TestWrite_MmapModeWritesTheSameBytesAndRotates(t *testing.T) {
	f := startFamily(t, rotatorSettings{writeMode: WriteModeMmap, maxBytes: 1000}, archiverSettings{})
	buf, ends := lines("r", 25, 100)
	require.NoError(t, writeErr(f.rotator.write(context.Background(), buf, ends)))
	f.stop()
	assert.Equal(t, string(buf), f.allContent(t), "no NUL padding, nothing lost")
}

func TestWrite_AppendsToAnExistingFileAfterRestart(t *testing.T) {
	for _, mode := range []string{WriteModeBuffered, WriteModeMmap} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.jsonl")
			for run := 0; run < 2; run++ {
				arch := newArchiver(archiverSettings{}, nopTelemetry(), zap.NewNop())
				rot := newRotator(rotatorSettings{path: path, writeMode: mode, location: time.UTC}, arch, nopTelemetry(), zap.NewNop())
				require.NoError(t, rot.start())
				buf, ends := lines(fmt.Sprintf("run%d", run), 2, 50)
				require.NoError(t, writeErr(rot.write(context.Background(), buf, ends)))
				require.NoError(t, rot.shutdown())
			}
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, 200, len(data))
			assert.True(t, strings.HasPrefix(string(data), "run0-0") && strings.Contains(string(data), "run1-1"))
		})
	}
}

// writeErr keeps the error of a write whose written count the test does not need.
func writeErr(_ int, err error) error { return err }

func TestCompression_ShutdownReturnsByItsDeadlineAndKeepsTheFileUncompressed(t *testing.T) {
	dir := t.TempDir()
	rotated := filepath.Join(dir, "app-20260102-030405.jsonl")
	require.NoError(t, os.WriteFile(rotated, []byte("complete record\n"), 0o640))
	arch := newArchiver(archiverSettings{compress: true, compressionLevel: 5}, nopTelemetry(), zap.NewNop())
	started := make(chan struct{})
	arch.compress = func(path string, level int, abort <-chan struct{}) error {
		close(started)
		<-abort // a compression far longer than the shutdown deadline
		return gzipFile(path, level, abort)
	}
	arch.start()
	arch.opened(familyOf(filepath.Join(dir, "app.jsonl")))
	<-started

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	begin := time.Now()
	arch.shutdown(ctx)
	assert.Less(t, time.Since(begin), time.Second, "shutdown honours its deadline")
	data, err := os.ReadFile(rotated)
	require.NoError(t, err)
	assert.Equal(t, "complete record\n", string(data))
	assert.NoFileExists(t, rotated+gzipSuffix)
	assert.NoFileExists(t, rotated+gzipSuffix+tmpSuffix, "the partial archive is removed")
}

func TestCompression_LeftoversAreCompressedAtTheNextStart(t *testing.T) {
	dir := t.TempDir()
	rotated := filepath.Join(dir, "app-20260102-030405.jsonl")
	require.NoError(t, os.WriteFile(rotated, []byte("left by the last run\n"), 0o640))
	require.NoError(t, os.WriteFile(rotated+gzipSuffix+tmpSuffix, []byte("partial"), 0o640))
	done := filepath.Join(dir, "app-20260101-000000.jsonl.gz")
	require.NoError(t, os.WriteFile(done, []byte("already compressed"), 0o640))
	arch := newArchiver(archiverSettings{compress: true, compressionLevel: 5}, nopTelemetry(), zap.NewNop())
	arch.start()
	arch.opened(familyOf(filepath.Join(dir, "app.jsonl")))
	arch.shutdown(context.Background()) // waits for the queued work
	assert.NoFileExists(t, rotated)
	assert.NoFileExists(t, rotated+gzipSuffix+tmpSuffix)
	assert.Equal(t, "left by the last run\n", readMaybeGzip(t, rotated+gzipSuffix))
	data, err := os.ReadFile(done)
	require.NoError(t, err)
	assert.Equal(t, "already compressed", string(data), "a compressed file is left alone")
}

func TestCompression_AbortedCompressionKeepsTheOriginal(t *testing.T) {
	src := filepath.Join(t.TempDir(), "app-20260102-030405.jsonl")
	require.NoError(t, os.WriteFile(src, bytes.Repeat([]byte("x"), 1<<20), 0o640))
	abort := make(chan struct{})
	close(abort)
	assert.ErrorIs(t, gzipFile(src, 5, abort), errCompressionAborted)
	assert.FileExists(t, src)
	assert.NoFileExists(t, src+gzipSuffix)
	assert.NoFileExists(t, src+gzipSuffix+tmpSuffix)
}

// An interval rotation that fails (a rename refused) is tried again by the retried write: the new interval's
// records never go into the previous interval's file.
func TestRotator_FailedIntervalRotationIsRetriedByTheNextWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.jsonl")
	hourly, err := confunits.ParseInterval("hourly")
	require.NoError(t, err)
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	arch := newArchiver(archiverSettings{}, nopTelemetry(), zap.NewNop())
	rot := newRotator(rotatorSettings{path: path, writeMode: WriteModeBuffered, interval: hourly, location: time.UTC},
		arch, nopTelemetry(), zap.NewNop())
	rot.now = func() time.Time { return now }
	rot.fs = (&faults{failRename: 1}).fileSystem() // the first rotation's rename fails, once
	require.NoError(t, rot.start())
	defer rot.shutdown()
	tenOClock, tenEnds := lines("ten", 3, 50)
	require.NoError(t, writeErr(rot.write(context.Background(), tenOClock, tenEnds)))

	now = now.Add(time.Hour + time.Second)
	elevenOClock, elevenEnds := lines("eleven", 3, 50)
	_, err = rot.write(context.Background(), elevenOClock, elevenEnds)
	require.ErrorIs(t, err, errInjected, "the rotation's rename fails")
	require.NoError(t, writeErr(rot.write(context.Background(), elevenOClock, elevenEnds)), "the retry")

	rotated, err := arch.listRotated(rot.family)
	require.NoError(t, err)
	require.Len(t, rotated, 1, "the 10:00 interval is rotated once the fault is gone")
	old, err := os.ReadFile(rotated[0].path)
	require.NoError(t, err)
	assert.Equal(t, string(tenOClock), string(old))
	active, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(elevenOClock), string(active), "the active file holds only the 11:00 interval")
}

// startOnYesterdaysFile starts a daily rotator on path, which an earlier run last wrote 26 hours ago, and returns
// the family's rotated files after the start.
func startOnYesterdaysFile(t *testing.T, path string) []rotatedFile {
	t.Helper()
	yesterday := time.Now().Add(-26 * time.Hour)
	require.NoError(t, os.Chtimes(path, yesterday, yesterday))
	daily, err := confunits.ParseInterval("daily")
	require.NoError(t, err)
	arch := newArchiver(archiverSettings{}, nopTelemetry(), zap.NewNop())
	rot := newRotator(rotatorSettings{path: path, writeMode: WriteModeBuffered, interval: daily, location: time.UTC},
		arch, nopTelemetry(), zap.NewNop())
	require.NoError(t, rot.start())
	require.NoError(t, rot.shutdown())
	rotated, err := arch.listRotated(rot.family)
	require.NoError(t, err)
	return rotated
}

// A collector killed mid-write leaves a torn record (buffered) or NUL padding (mmap) after its last whole record;
// repairing that tail must not make yesterday's file look like today's, or its records would stay in the active
// file with the new ones.
func TestRotator_FileOfAPastIntervalWithARepairedTailIsRotatedAtStart(t *testing.T) {
	for name, tail := range map[string]string{
		"torn record":      `{"log":{"mess`,
		"mmap NUL padding": string(make([]byte, 4096)),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app.jsonl")
			require.NoError(t, os.WriteFile(path, []byte("yesterday 1\nyesterday 2\n"+tail), fileMode))
			rotated := startOnYesterdaysFile(t, path)
			require.Len(t, rotated, 1, "yesterday's file is rotated at start")
			data, err := os.ReadFile(rotated[0].path)
			require.NoError(t, err)
			assert.Equal(t, "yesterday 1\nyesterday 2\n", string(data), "whole records only")
		})
	}
}

// A rotator created for a file an earlier one rotated within the same second (a tenant's file opened again after
// max_open_files closed it) continues that second's numbering: reusing a number retention freed would name the
// newest rotated file as the oldest, and retention would then delete it first.
func TestRotator_ReopenedFileContinuesTheSecondsNumbering(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.jsonl")
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	arch := newArchiver(archiverSettings{}, nopTelemetry(), zap.NewNop())
	open := func() *rotator {
		rot := newRotator(rotatorSettings{path: path, writeMode: WriteModeBuffered, maxBytes: 100, location: time.UTC},
			arch, nopTelemetry(), zap.NewNop())
		rot.now = func() time.Time { return now }
		require.NoError(t, rot.start())
		return rot
	}
	write := func(rot *rotator, records string) {
		for _, r := range records {
			line, ends := lines(string(r), 1, 100)
			require.NoError(t, writeErr(rot.write(context.Background(), line, ends)))
		}
	}
	first := open()
	write(first, "abc") // a rotated as app-20260301-100000, b as -1; c stays active
	require.NoError(t, first.shutdown())
	require.NoError(t, os.Remove(filepath.Join(dir, "app-20260301-100000.jsonl")), "retention deletes the oldest")

	second := open()
	write(second, "d") // c is rotated
	require.NoError(t, second.shutdown())

	rotated, err := arch.listRotated(familyOf(path))
	require.NoError(t, err)
	var got []string
	for _, rf := range rotated {
		data, err := os.ReadFile(rf.path)
		require.NoError(t, err)
		got = append(got, filepath.Base(rf.path)+": "+string(data[:1]))
	}
	assert.Equal(t, []string{"app-20260301-100000-1.jsonl: b", "app-20260301-100000-2.jsonl: c"}, got, "oldest first")
}

func TestRotate_RecordLargerThanMaxBytesIntoAnEmptyFileLeavesNoEmptyRotatedFile(t *testing.T) {
	f := startFamily(t, rotatorSettings{maxBytes: 1000}, archiverSettings{})
	big, _ := lines("big", 1, 5000)
	after, _ := lines("after", 1, 100)
	batch := append(append([]byte{}, big...), after...)
	require.NoError(t, writeErr(f.rotator.write(context.Background(), batch, []int{5000, 5100})))
	f.stop()

	rotated, err := f.archiver.listRotated(f.family)
	require.NoError(t, err)
	require.Len(t, rotated, 1, "the empty active file is written into, not rotated away empty")
	assert.Equal(t, string(big), readMaybeGzip(t, rotated[0].path))
	active, _ := os.ReadFile(filepath.Join(f.dir, "app.jsonl"))
	assert.Equal(t, string(after), string(active))
}

func TestRetention_MaxTotalBytesKeepsFilesThatFillItExactly(t *testing.T) {
	f := startFamily(t, rotatorSettings{maxBytes: 100}, archiverSettings{maxTotalBytes: 300})
	buf, ends := lines("r", 8, 100) // 7 rotated files of 100 bytes
	require.NoError(t, writeErr(f.rotator.write(context.Background(), buf, ends)))
	f.stop()
	rotated, err := f.archiver.listRotated(f.family)
	require.NoError(t, err)
	assert.Len(t, rotated, 3, "max_total_bytes is a ceiling the rotated files may reach: 3 x 100 bytes are at 300")
}

// retentionLeaves runs retention with s over a directory holding names (a trailing "/" makes a directory) and
// returns what is left.
func retentionLeaves(t *testing.T, s archiverSettings, names ...string) []string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range names {
		if dirName, ok := strings.CutSuffix(name, "/"); ok {
			require.NoError(t, os.Mkdir(filepath.Join(dir, dirName), 0o750))
			continue
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("x\n"), 0o640))
	}
	arch := newArchiver(s, nopTelemetry(), zap.NewNop())
	arch.enforceRetention(family{dir: dir, base: "app", ext: ".jsonl"})
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	return left
}

func TestRetention_LeavesADirectoryNamedLikeARotatedFile(t *testing.T) {
	left := retentionLeaves(t, archiverSettings{maxFiles: 1},
		"app-20260601-000000.jsonl/", "app-20260602-000000.jsonl", "app-20260603-000000.jsonl", "app.jsonl")
	assert.ElementsMatch(t, []string{"app-20260601-000000.jsonl", "app-20260603-000000.jsonl", "app.jsonl"}, left,
		"only rotated files count and go: the directory stays, the older rotated file goes")
}

func TestRetention_LeavesAFileWhoseSequenceNumberTheExporterNeverGives(t *testing.T) {
	left := retentionLeaves(t, archiverSettings{maxFiles: 1},
		"app-20260601-000000-0.jsonl", "app-20260602-000000.jsonl", "app-20260603-000000.jsonl", "app.jsonl")
	assert.ElementsMatch(t, []string{"app-20260601-000000-0.jsonl", "app-20260603-000000.jsonl", "app.jsonl"}, left,
		"a -0 suffix is not one of the family's rotated names (numbering starts at -1)")
}
