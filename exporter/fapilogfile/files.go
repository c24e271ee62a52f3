package fapilogfile

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogfile/internal/metadata"
)

// fileSet holds the exporter's files: one per resolved destination, each with its own rotation, retention and
// compression (its own family). At most maxOpen are open at once; opening another closes the least recently
// used one that no batch is writing, which opens again (appending) when written to. One timer looks after every
// open file, one archiver compresses and deletes for every family.
type fileSet struct {
	settings  rotatorSettings // path is set per file
	root      string          // the directory no file may leave
	maxOpen   int
	archiver  *archiver
	telemetry *metadata.TelemetryBuilder
	logger    *zap.Logger
	fs        fileSystem

	mu     sync.Mutex
	open   map[string]*list.Element // path -> *openFile, most recently used first in lru
	lru    list.List
	closed bool

	wake chan struct{} // a file opened: the timer may have to tick sooner
	stop chan struct{}
	done chan struct{}
}

type openFile struct {
	path    string
	rotator *rotator
	users   int // batches writing to it now; a file in use is never closed to make room
}

func newFileSet(s rotatorSettings, root string, maxOpen int, arch *archiver, tel *metadata.TelemetryBuilder, logger *zap.Logger, fs fileSystem) *fileSet {
	return &fileSet{
		settings: s, root: filepath.Clean(root), maxOpen: maxOpen, archiver: arch, telemetry: tel, logger: logger, fs: fs,
		open: map[string]*list.Element{}, wake: make(chan struct{}, 1),
	}
}

func (s *fileSet) start() error {
	err := s.telemetry.RegisterFapilogExporterFileOpenFilesCallback(func(_ context.Context, o metric.Int64Observer) error {
		o.Observe(int64(s.openFiles()))
		return nil
	})
	if err != nil {
		return err
	}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	s.archiver.start()
	go s.runTimer()
	return nil
}

// write appends a batch to the file at path, opening it if needed; see rotator.write.
func (s *fileSet) write(ctx context.Context, path string, records []byte, ends []int) (int, error) {
	f, err := s.acquire(path)
	if err != nil {
		return 0, err
	}
	defer s.release(f)
	return f.rotator.write(ctx, records, ends)
}

// acquire returns the open file at path, opening it (and closing the least recently used idle one when
// maxOpen are open) if needed.
func (s *fileSet) acquire(path string) (*openFile, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errShutDown
	}
	if e, ok := s.open[path]; ok {
		s.lru.MoveToFront(e)
		f := e.Value.(*openFile)
		f.users++
		return f, nil
	}
	if !within(s.root, path) {
		// The path-segment sanitiser makes this unreachable; it stays as the last line of defence.
		return nil, fmt.Errorf("refusing to write %q: outside %s", path, s.root)
	}
	s.makeRoom()
	settings := s.settings
	settings.path = path
	r := newRotator(settings, s.archiver, s.telemetry, s.logger)
	r.fs = s.fs
	if err := r.start(); err != nil {
		return nil, err
	}
	f := &openFile{path: path, rotator: r, users: 1}
	s.open[path] = s.lru.PushFront(f)
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return f, nil
}

// makeRoom closes idle files, least recently used first, until one more may open. Files in use stay open, so
// more than maxOpen may be open while more batches than that write at once. Closing happens under the lock: a
// second handle on the same path, opened while the first closes, would race with its final truncation (mmap).
func (s *fileSet) makeRoom() {
	for e := s.lru.Back(); e != nil && len(s.open) >= s.maxOpen; {
		f := e.Value.(*openFile)
		prev := e.Prev()
		if f.users == 0 {
			if err := f.rotator.shutdown(); err != nil {
				s.logger.Warn("Closing the least recently used log file failed", zap.String("path", f.path), zap.Error(err))
			}
			s.lru.Remove(e)
			delete(s.open, f.path)
		}
		e = prev
	}
}

func (s *fileSet) release(f *openFile) {
	s.mu.Lock()
	f.users--
	s.mu.Unlock()
}

func (s *fileSet) openFiles() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}

// rotators returns the open files' rotators, for the timer.
func (s *fileSet) rotators() []*rotator {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*rotator, 0, len(s.open))
	for e := s.lru.Front(); e != nil; e = e.Next() {
		out = append(out, e.Value.(*openFile).rotator)
	}
	return out
}

// runTimer ticks every open file when it needs it: every flush_interval, and at its next interval boundary.
func (s *fileSet) runTimer() {
	defer close(s.done)
	timer := time.NewTimer(s.untilNextTick(nil))
	defer timer.Stop()
	for {
		var rotators []*rotator
		select {
		case <-s.stop:
			return
		case <-s.wake:
			rotators = s.rotators()
		case <-timer.C:
			rotators = s.rotators()
			for _, r := range rotators {
				r.tick()
			}
		}
		timer.Reset(s.untilNextTick(rotators)) // no stale tick since Go 1.23

	}
}

func (s *fileSet) untilNextTick(rotators []*rotator) time.Duration {
	wait := defaultFlushInterval
	if s.settings.flushInterval > 0 {
		wait = s.settings.flushInterval
	}
	for _, r := range rotators {
		wait = min(wait, r.untilNextTick())
	}
	return wait
}

// shutdown closes every file, then waits for the archiver until ctx is done.
func (s *fileSet) shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var errs []error
	for e := s.lru.Front(); e != nil; e = e.Next() {
		errs = append(errs, e.Value.(*openFile).rotator.shutdown())
	}
	s.open = map[string]*list.Element{}
	s.lru.Init()
	s.mu.Unlock()
	if s.stop != nil {
		close(s.stop)
		<-s.done
	}
	s.archiver.shutdown(ctx)
	return errors.Join(errs...)
}

// within reports whether path lies inside root.
func within(root, path string) bool {
	rel, err := filepath.Rel(root, filepath.Clean(path))
	return err == nil && !filepath.IsAbs(rel) && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// notLikeRotated returns path with its file name changed, if need be, so that it does not end like a rotated
// file (<base>-<YYYYmmdd-HHMMSS>[-N]<ext>): with a placeholder in the file name, one tenant's active file could
// otherwise be taken for a rotated file of another tenant whose name is a prefix of it, and deleted by that
// tenant's retention. The '-' before the time stamp becomes '_'. Names that need no change are returned as is,
// without allocating.
func notLikeRotated(path string) string {
	slash := strings.LastIndexByte(path, '/') + 1
	name := path[slash:]
	// A rotated file is also named <base>-<time>[-N]<ext>.gz once compressed, and <...>.gz.tmp while it is being
	// compressed: a value can end in those when the placeholder ends the file name.
	for _, rest := range [...]string{name, strings.TrimSuffix(name, gzipSuffix), strings.TrimSuffix(name, gzipSuffix+tmpSuffix)} {
		base := rest[:len(rest)-len(filepath.Ext(rest))]
		if cut := rotatedSuffixStart(base); cut >= 0 {
			b := []byte(path)
			b[slash+cut] = '_'
			return string(b)
		}
	}
	return path
}

// rotatedSuffixStart returns the index of the '-' that starts a rotated suffix -<YYYYmmdd-HHMMSS>[-N] at the end
// of base, or -1.
func rotatedSuffixStart(base string) int {
	stampEnd := len(base)
	if i := strings.LastIndexByte(base, '-'); i >= 0 && i+1 < len(base) && allDigits(base[i+1:]) {
		if looksLikeStamp(base, len(base)) {
			return len(base) - len(rotatedTimeLayout) - 1
		}
		stampEnd = i // the -N of several rotations within a second
	}
	if looksLikeStamp(base, stampEnd) {
		return stampEnd - len(rotatedTimeLayout) - 1
	}
	return -1
}

// looksLikeStamp reports whether base[:end] ends with -DDDDDDDD-DDDDDD.
func looksLikeStamp(base string, end int) bool {
	start := end - len(rotatedTimeLayout) - 1
	if start < 0 || base[start] != '-' {
		return false
	}
	stamp := base[start+1 : end]
	return allDigits(stamp[:8]) && stamp[8] == '-' && allDigits(stamp[9:])
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
