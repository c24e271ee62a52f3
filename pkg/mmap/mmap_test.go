//go:build unix

package mmap

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

func openT(t *testing.T, path string, opts Options) *File {
	t.Helper()
	f, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func mustAppendLine(t *testing.T, f *File, s string) {
	t.Helper()
	n, err := f.AppendLine([]byte(s))
	if err != nil {
		t.Fatalf("AppendLine(%q): %v", s, err)
	}
	if n != len(s)+1 {
		t.Fatalf("AppendLine(%q) = %d, want %d", s, n, len(s)+1)
	}
}

func mustClose(t *testing.T, f *File) {
	t.Helper()
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func readT(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sizeOnDisk(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// crash drops f the way a killed process would: the mapping and descriptor
// disappear, nothing is flushed and the file keeps its mapped size.
func crash(t *testing.T, f *File) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := unix.Munmap(f.data); err != nil {
		t.Fatal(err)
	}
	if err := f.file.Close(); err != nil {
		t.Fatal(err)
	}
	f.data = nil
	f.closed = true
}

func TestOpenCreatesFileWithMode0640(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.log")
	f := openT(t, path, Options{})
	mustClose(t, f)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// The umask can only clear bits, so anything outside 0640 is our bug.
	if perm := fi.Mode().Perm(); perm&^0o640 != 0 {
		t.Fatalf("mode = %v, want at most 0640", perm)
	}
}

func TestOpenRejects(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		path string
		opts Options
	}{
		"negative InitialSize": {filepath.Join(dir, "a"), Options{InitialSize: -1}},
		"negative GrowthChunk": {filepath.Join(dir, "b"), Options{GrowthChunk: -1}},
		"negative MaxSize":     {filepath.Join(dir, "c"), Options{MaxSize: -1}},
		"negative flush bytes": {filepath.Join(dir, "d"), Options{PeriodicFlushBytes: -1}},
		"directory":            {dir, Options{}},
		"missing parent":       {filepath.Join(dir, "no", "such.log"), Options{}},
	} {
		t.Run(name, func(t *testing.T) {
			f, err := Open(tc.path, tc.opts)
			if err == nil {
				f.Close()
				t.Fatal("Open succeeded")
			}
		})
	}
}

func TestReopenAppendsAfterExistingContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	opts := Options{InitialSize: 4096, GrowthChunk: 4096}

	f := openT(t, path, opts)
	mustAppendLine(t, f, "first")
	mustClose(t, f)

	f = openT(t, path, opts)
	if got := f.Stats().Size; got != 6 {
		t.Fatalf("Size after reopen = %d, want 6", got)
	}
	mustAppendLine(t, f, "second")
	mustClose(t, f)

	if got, want := string(readT(t, path)), "first\nsecond\n"; got != want {
		t.Fatalf("content = %q, want %q", got, want)
	}
}

func TestOpenIgnoresTrailingNULs(t *testing.T) {
	nuls := func(n int) string { return strings.Repeat("\x00", n) }
	for name, tc := range map[string]struct {
		existing string
		want     int64
	}{
		"empty":                        {"", 0},
		"no tail":                      {"abc", 3},
		"short tail":                   {"abc" + nuls(10), 3},
		"tail longer than scan buffer": {"abc" + nuls(200<<10), 3},
		"content ends on buffer edge":  {strings.Repeat("x", 64<<10) + nuls(64<<10), 64 << 10},
		"only NULs":                    {nuls(70 << 10), 0},
		"inner NULs kept":              {"a\x00\x00b" + nuls(5), 4},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app.log")
			if err := os.WriteFile(path, []byte(tc.existing), 0o640); err != nil {
				t.Fatal(err)
			}
			f := openT(t, path, Options{InitialSize: 4096})
			if got := f.Stats().Size; got != tc.want {
				t.Fatalf("Size = %d, want %d", got, tc.want)
			}
			if _, err := f.Append([]byte("Z")); err != nil {
				t.Fatal(err)
			}
			mustClose(t, f)
			if got, want := string(readT(t, path)), tc.existing[:tc.want]+"Z"; got != want {
				t.Fatalf("content = %q..., want %q...", got[:min(len(got), 16)], want[:min(len(want), 16)])
			}
		})
	}
}

func TestGrowAcrossManyChunks(t *testing.T) {
	const chunk = 4096
	path := filepath.Join(t.TempDir(), "grow.log")
	f := openT(t, path, Options{InitialSize: chunk, GrowthChunk: chunk})

	var want bytes.Buffer
	for i := 0; want.Len() < 100<<10; i++ {
		line := fmt.Sprintf("%06d %s", i, strings.Repeat("abcdefghij", i%37))
		mustAppendLine(t, f, line)
		want.WriteString(line + "\n")
		if i == 50 {
			// Larger than several chunks at once: must grow by a multiple.
			big := bytes.Repeat([]byte{'B'}, 3*chunk+123)
			if _, err := f.Append(big); err != nil {
				t.Fatal(err)
			}
			want.Write(big)
		}
	}

	st := f.Stats()
	if st.Size != int64(want.Len()) {
		t.Fatalf("Size = %d, want %d", st.Size, want.Len())
	}
	if st.Grows < 10 {
		t.Fatalf("Grows = %d, want the mapping to have grown many times", st.Grows)
	}
	if st.MappedSize%chunk != 0 || st.MappedSize < st.Size || st.MappedSize-st.Size >= chunk {
		t.Fatalf("MappedSize = %d for Size %d, want the smallest multiple of %d that fits", st.MappedSize, st.Size, chunk)
	}
	if got := sizeOnDisk(t, path); got != st.MappedSize {
		t.Fatalf("file size while open = %d, want MappedSize %d", got, st.MappedSize)
	}

	mustClose(t, f)
	if got := readT(t, path); !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("content differs from what was appended (got %d bytes, want %d)", len(got), want.Len())
	}
}

func TestMaxSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "capped.log")
	f := openT(t, path, Options{MaxSize: 100})

	first := bytes.Repeat([]byte{'a'}, 60)
	if _, err := f.Append(first); err != nil {
		t.Fatal(err)
	}
	// 40 bytes plus the newline is one byte too many: the line must be
	// rejected whole, not written without its newline.
	n, err := f.AppendLine(bytes.Repeat([]byte{'b'}, 40))
	if !errors.Is(err, ErrMaxSize) || n != 0 {
		t.Fatalf("AppendLine over MaxSize = %d, %v; want 0, ErrMaxSize", n, err)
	}
	if got := f.Stats().Size; got != 60 {
		t.Fatalf("Size after rejected append = %d, want 60", got)
	}
	last := bytes.Repeat([]byte{'c'}, 40)
	if _, err := f.Append(last); err != nil {
		t.Fatalf("append reaching exactly MaxSize: %v", err)
	}
	if _, err := f.Append([]byte{'d'}); !errors.Is(err, ErrMaxSize) {
		t.Fatalf("append past MaxSize: err = %v, want ErrMaxSize", err)
	}
	if st := f.Stats(); st.MappedSize > 100 || st.Appends != 2 {
		t.Fatalf("Stats = %+v, want MappedSize <= MaxSize and 2 appends", st)
	}
	mustClose(t, f)

	if got, want := readT(t, path), append(first, last...); !bytes.Equal(got, want) {
		t.Fatalf("content = %q, want %q", got, want)
	}

	// Existing content counts towards the limit.
	f = openT(t, path, Options{MaxSize: 100})
	if _, err := f.Append([]byte{'e'}); !errors.Is(err, ErrMaxSize) {
		t.Fatalf("append to a full reopened file: err = %v, want ErrMaxSize", err)
	}
}

func TestCrashAfterSyncKeepsSyncedBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crash.log")
	opts := Options{InitialSize: 4096, GrowthChunk: 4096}
	f := openT(t, path, opts)

	var synced bytes.Buffer
	for i := 0; synced.Len() < 5000; i++ {
		line := fmt.Sprintf("record %04d %s", i, strings.Repeat("z", 40))
		mustAppendLine(t, f, line)
		synced.WriteString(line + "\n")
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	crash(t, f)

	// The premise of the test: the crashed file carries a NUL tail.
	raw := readT(t, path)
	if len(raw) != 8192 || !bytes.HasPrefix(raw, synced.Bytes()) ||
		len(bytes.Trim(raw[synced.Len():], "\x00")) != 0 {
		t.Fatalf("crashed file: %d bytes, want 8192 = synced data + NULs", len(raw))
	}

	f = openT(t, path, opts)
	if got := f.Stats().Size; got != int64(synced.Len()) {
		t.Fatalf("Size after crash = %d, want %d synced bytes", got, synced.Len())
	}
	mustAppendLine(t, f, "after crash")
	mustClose(t, f)

	want := synced.String() + "after crash\n"
	if got := string(readT(t, path)); got != want {
		t.Fatalf("content after recovery: %d bytes, NUL at %d; want %d bytes, no NUL",
			len(got), strings.IndexByte(got, 0), len(want))
	}
}

func TestCloseTruncatesAndIsIdempotent(t *testing.T) {
	for _, noFlush := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoFlushOnClose=%v", noFlush), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "close.log")
			f := openT(t, path, Options{NoFlushOnClose: noFlush})
			if got := sizeOnDisk(t, path); got != defaultInitialSize {
				t.Fatalf("file size while open = %d, want the %d-byte mapping", got, defaultInitialSize)
			}
			if _, err := f.Append([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			mustClose(t, f)
			if got := sizeOnDisk(t, path); got != 5 {
				t.Fatalf("file size after Close = %d, want 5", got)
			}
			if err := f.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if _, err := f.Append([]byte("x")); !errors.Is(err, ErrClosed) {
				t.Fatalf("Append after Close: err = %v, want ErrClosed", err)
			}
			if _, err := f.AppendLine([]byte("x")); !errors.Is(err, ErrClosed) {
				t.Fatalf("AppendLine after Close: err = %v, want ErrClosed", err)
			}
			if err := f.Sync(); !errors.Is(err, ErrClosed) {
				t.Fatalf("Sync after Close: err = %v, want ErrClosed", err)
			}
			st := f.Stats()
			if !st.Closed || st.Size != 5 || st.MappedSize != 0 || st.Path != path {
				t.Fatalf("Stats after Close = %+v", st)
			}
			if got := string(readT(t, path)); got != "hello" {
				t.Fatalf("content = %q, want %q", got, "hello")
			}
		})
	}
}

func TestConcurrentAppendLines(t *testing.T) {
	const writers, perWriter = 8, 2000
	path := filepath.Join(t.TempDir(), "concurrent.log")
	// Small chunks so that grows (remaps) race with appends.
	f := openT(t, path, Options{InitialSize: 4096, GrowthChunk: 8192})

	line := func(w, i int) string {
		return fmt.Sprintf("w%d-%05d-%s", w, i, strings.Repeat(string(rune('a'+w)), 10+(i*7+w)%250))
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				if _, err := f.AppendLine([]byte(line(w, i))); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := f.Stats().Appends; got != writers*perWriter {
		t.Fatalf("Appends = %d, want %d", got, writers*perWriter)
	}
	mustClose(t, f)

	content := string(readT(t, path))
	if !strings.HasSuffix(content, "\n") {
		t.Fatal("content does not end with a newline")
	}
	next := make([]int, writers) // each writer's lines must also stay in order
	for _, got := range strings.Split(strings.TrimSuffix(content, "\n"), "\n") {
		var w, i int
		if _, err := fmt.Sscanf(got, "w%d-%05d-", &w, &i); err != nil || w < 0 || w >= writers {
			t.Fatalf("malformed line %q", got)
		}
		if i != next[w] || got != line(w, i) {
			t.Fatalf("writer %d: got line %q, want %q", w, got, line(w, next[w]))
		}
		next[w]++
	}
	for w, n := range next {
		if n != perWriter {
			t.Fatalf("writer %d: found %d lines, want %d", w, n, perWriter)
		}
	}
}

func TestHealthCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "health.log")
	f := openT(t, path, Options{InitialSize: 4096})
	if err := f.HealthCheck(); err != nil {
		t.Fatalf("HealthCheck on open file: %v", err)
	}

	moved := filepath.Join(dir, "rotated.log")
	if err := os.Rename(path, moved); err != nil {
		t.Fatal(err)
	}
	if err := f.HealthCheck(); !errors.Is(err, ErrReplaced) {
		t.Fatalf("HealthCheck after the file was renamed away: err = %v, want ErrReplaced", err)
	}
	if err := os.WriteFile(path, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := f.HealthCheck(); !errors.Is(err, ErrReplaced) {
		t.Fatalf("HealthCheck after the path was replaced by another file: err = %v, want ErrReplaced", err)
	}
	if err := os.Rename(moved, path); err != nil {
		t.Fatal(err)
	}
	if err := f.HealthCheck(); err != nil {
		t.Fatalf("HealthCheck after moving the file back: %v", err)
	}

	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.HealthCheck(); !errors.Is(err, ErrTruncated) {
		t.Fatalf("HealthCheck after external truncation: err = %v, want ErrTruncated", err)
	}
	if err := f.Close(); !errors.Is(err, ErrTruncated) {
		t.Fatalf("Close after external truncation: err = %v, want ErrTruncated", err)
	}
	if err := f.HealthCheck(); !errors.Is(err, ErrClosed) {
		t.Fatalf("HealthCheck after Close: err = %v, want ErrClosed", err)
	}
}

func TestPeriodicFlush(t *testing.T) {
	line := strings.Repeat("p", 249) // 250 bytes with the newline

	f := openT(t, filepath.Join(t.TempDir(), "periodic.log"), Options{PeriodicFlushBytes: 1000})
	for range 10 {
		mustAppendLine(t, f, line)
	}
	if got := f.Stats().Flushes; got != 2 {
		t.Fatalf("Flushes after 2500 bytes = %d, want 2", got)
	}
	// Sync flushes everything, so the count restarts from it.
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		mustAppendLine(t, f, line)
	}
	if got := f.Stats().Flushes; got != 2 {
		t.Fatalf("Flushes 750 bytes after Sync = %d, want 2", got)
	}
	mustAppendLine(t, f, line)
	if st := f.Stats(); st.Flushes != 3 || st.Syncs != 1 {
		t.Fatalf("Stats = %+v, want 3 flushes and 1 sync", st)
	}

	off := openT(t, filepath.Join(t.TempDir(), "off.log"), Options{})
	for range 10 {
		mustAppendLine(t, off, line)
	}
	if got := off.Stats().Flushes; got != 0 {
		t.Fatalf("Flushes with PeriodicFlushBytes=0 = %d, want 0", got)
	}
}

func TestEmptyAppendIsNoOp(t *testing.T) {
	f := openT(t, filepath.Join(t.TempDir(), "empty.log"), Options{})
	if n, err := f.Append(nil); n != 0 || err != nil {
		t.Fatalf("Append(nil) = %d, %v", n, err)
	}
	if st := f.Stats(); st.Appends != 0 || st.Size != 0 {
		t.Fatalf("Stats after empty append = %+v", st)
	}
}

func TestAppendLineDoesNotAllocate(t *testing.T) {
	f := openT(t, filepath.Join(t.TempDir(), "alloc.log"), Options{PeriodicFlushBytes: 4096})
	line := bytes.Repeat([]byte{'x'}, 200)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := f.AppendLine(line); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("AppendLine allocates %.1f times per call, want 0", allocs)
	}
}

func TestTruncateTakesBackAppendsForGood(t *testing.T) {
	path := filepath.Join(t.TempDir(), "truncate.log")
	opts := Options{InitialSize: 4096}
	f := openT(t, path, opts)
	mustAppendLine(t, f, "kept")
	mustAppendLine(t, f, "taken back")
	if err := f.Truncate(5); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(6); err == nil {
		t.Fatal("Truncate extended the content")
	}
	// A crash right now must not resurrect the dropped line: it is zeroed in the page cache.
	crash(t, f)
	f = openT(t, path, opts)
	if got := f.Stats().Size; got != 5 {
		t.Fatalf("Size after crash = %d, want 5", got)
	}
	mustAppendLine(t, f, "next")
	mustClose(t, f)
	if got, want := string(readT(t, path)), "kept\nnext\n"; got != want {
		t.Fatalf("content = %q, want %q", got, want)
	}
	if err := f.Truncate(0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Truncate after Close: err = %v, want ErrClosed", err)
	}
}

// TestExternalTruncationIsAnErrorNotACrash is logrotate's copytruncate (or
// `> file`) under a live File: stores into pages past the new end would raise
// SIGBUS and kill the program.
func TestExternalTruncationIsAnErrorNotACrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "copytruncate.log")
	opts := Options{InitialSize: 4096, GrowthChunk: 4096}
	f := openT(t, path, opts)
	mustAppendLine(t, f, "before the truncation")
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}

	if _, err := f.AppendLine([]byte("lands in a page past the end")); !errors.Is(err, ErrTruncated) {
		t.Fatalf("AppendLine after truncation: err = %v, want ErrTruncated", err)
	}
	if _, err := f.Append(bytes.Repeat([]byte{'g'}, 10_000)); !errors.Is(err, ErrTruncated) {
		t.Fatalf("an append that must grow the mapping: err = %v, want ErrTruncated", err)
	}
	if err := f.Sync(); !errors.Is(err, ErrTruncated) {
		t.Fatalf("Sync after truncation: err = %v, want ErrTruncated", err)
	}
	if err := f.Truncate(0); !errors.Is(err, ErrTruncated) {
		t.Fatalf("Truncate after truncation: err = %v, want ErrTruncated", err)
	}
	if err := f.Close(); !errors.Is(err, ErrTruncated) {
		t.Fatalf("Close after truncation: err = %v, want ErrTruncated", err)
	}
	if got := sizeOnDisk(t, path); got != 0 {
		t.Fatalf("file size after Close = %d, want 0: Close must not refill the truncated file", got)
	}

	f = openT(t, path, opts)
	mustAppendLine(t, f, "after reopening")
	mustClose(t, f)
	if got, want := string(readT(t, path)), "after reopening\n"; got != want {
		t.Fatalf("content = %q, want %q (no hole, nothing from before)", got, want)
	}
}

// A GrowthChunk near MaxInt64 ("grow straight to MaxSize") must not overflow the growth arithmetic.
func TestGrow_HugeGrowthChunkIsCappedByMaxSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chunk.log")
	f := openT(t, path, Options{InitialSize: 4096, GrowthChunk: math.MaxInt64, MaxSize: 1 << 20})
	if _, err := f.Append(bytes.Repeat([]byte{'x'}, 5000)); err != nil {
		t.Fatalf("an append that needs one growth, capped at MaxSize: %v", err)
	}
	if got := f.Stats().MappedSize; got != 1<<20 {
		t.Fatalf("mapped %d bytes, want MaxSize", got)
	}
}

// Another process shrinks the file to a length inside the mapping (keeping every appended byte): an append that
// crosses the new end fails, and leaves none of its bytes behind.
func TestAppend_AfterAnOutsideShrinkIsAllOrNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "torn.log")
	f := openT(t, path, Options{InitialSize: 2 * pageSize, GrowthChunk: pageSize})
	if _, err := f.Append(bytes.Repeat([]byte{'a'}, int(pageSize)-1000)); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, pageSize); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Append(bytes.Repeat([]byte{'B'}, 3000)); !errors.Is(err, ErrTruncated) {
		t.Fatalf("err = %v, want ErrTruncated", err)
	}
	_ = f.Close()
	if n := bytes.Count(readT(t, path), []byte{'B'}); n > 0 {
		t.Fatalf("the failed append left %d of its 3000 bytes in the file", n)
	}
}
