package fapilogfile

import (
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

const gzipSuffix = ".gz"

// archiverSettings is what the archiver needs from the configuration.
type archiverSettings struct {
	dir, base, ext   string
	compress         bool
	compressionLevel int
	maxFiles         int
	maxTotalBytes    int64
	maxAge           time.Duration
}

// archiver compresses rotated files and enforces retention in one background goroutine, so that neither ever
// blocks a write. Work is serialised: retention always sees the result of the compression before it.
type archiver struct {
	settings archiverSettings
	logger   *zap.Logger
	now      func() time.Time

	mu      sync.Mutex
	pending []string // rotated files waiting for compression
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

func newArchiver(s archiverSettings, logger *zap.Logger) *archiver {
	return &archiver{settings: s, logger: logger, now: time.Now, wake: make(chan struct{}, 1)}
}

func (a *archiver) start() {
	a.stop, a.done = make(chan struct{}), make(chan struct{})
	go a.run()
	a.signal()
}

// rotated queues a freshly rotated file.
func (a *archiver) rotated(path string) {
	a.mu.Lock()
	a.pending = append(a.pending, path)
	a.mu.Unlock()
	a.signal()
}

func (a *archiver) signal() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *archiver) run() {
	defer close(a.done)
	for {
		select {
		case <-a.wake:
			a.work()
		case <-a.stop:
			a.work() // finish what rotation queued before shutdown
			return
		}
	}
}

func (a *archiver) work() {
	a.mu.Lock()
	pending := a.pending
	a.pending = nil
	a.mu.Unlock()
	if a.settings.compress {
		for _, path := range pending {
			if err := gzipFile(path, a.settings.compressionLevel); err != nil {
				a.logger.Warn("Compressing a rotated log file failed; keeping it uncompressed", zap.String("file", path), zap.Error(err))
			}
		}
	}
	a.enforceRetention()
}

// shutdown waits for queued compression and retention to finish.
func (a *archiver) shutdown() {
	if a.stop == nil {
		return
	}
	close(a.stop)
	<-a.done
	a.stop = nil
}

// gzipFile writes path.gz next to path and removes path. On any failure the partial archive is removed and
// the original kept.
func gzipFile(path string, level int) (err error) {
	tmp := path + gzipSuffix + ".tmp"
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		return err
	}
	zw, err := gzip.NewWriterLevel(dst, level)
	if err != nil {
		_ = dst.Close()
		return err
	}
	_, copyErr := io.Copy(zw, src)
	if err = errors.Join(copyErr, zw.Close(), dst.Sync(), dst.Close()); err != nil {
		return err
	}
	if err = os.Rename(tmp, path+gzipSuffix); err != nil {
		return err
	}
	return os.Remove(path)
}

// rotatedFile is one file of the family <base>-<time>[-N]<ext>[.gz].
type rotatedFile struct {
	path    string
	rotated time.Time
	seq     int
	size    int64
}

// listRotated returns the family's rotated files, oldest first.
func (a *archiver) listRotated() ([]rotatedFile, error) {
	entries, err := os.ReadDir(a.settings.dir)
	if err != nil {
		return nil, err
	}
	var files []rotatedFile
	for _, de := range entries {
		name := de.Name()
		stamp, seq, ok := a.parseRotatedName(name)
		if !ok || !de.Type().IsRegular() {
			continue
		}
		info, err := de.Info()
		if err != nil {
			continue // removed meanwhile
		}
		files = append(files, rotatedFile{path: filepath.Join(a.settings.dir, name), rotated: stamp, seq: seq, size: info.Size()})
	}
	slices.SortFunc(files, func(x, y rotatedFile) int {
		if c := x.rotated.Compare(y.rotated); c != 0 {
			return c
		}
		return x.seq - y.seq
	})
	return files, nil
}

func (a *archiver) parseRotatedName(name string) (time.Time, int, bool) {
	rest, ok := strings.CutPrefix(name, a.settings.base+"-")
	if !ok {
		return time.Time{}, 0, false
	}
	rest = strings.TrimSuffix(rest, gzipSuffix)
	if rest, ok = strings.CutSuffix(rest, a.settings.ext); !ok || len(rest) < len(rotatedTimeLayout) {
		return time.Time{}, 0, false
	}
	stamp, err := time.Parse(rotatedTimeLayout, rest[:len(rotatedTimeLayout)])
	if err != nil {
		return time.Time{}, 0, false
	}
	seq := 0
	if tail := rest[len(rotatedTimeLayout):]; tail != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tail, "-"))
		if err != nil || !strings.HasPrefix(tail, "-") || n < 1 {
			return time.Time{}, 0, false
		}
		seq = n
	}
	return stamp, seq, true
}

// enforceRetention deletes the oldest rotated files until max_files, max_total_bytes and max_age all hold,
// counting every rotated file (compressed or not); the active file is never touched.
func (a *archiver) enforceRetention() {
	s := a.settings
	if s.maxFiles <= 0 && s.maxTotalBytes <= 0 && s.maxAge <= 0 {
		return
	}
	files, err := a.listRotated()
	if err != nil {
		a.logger.Warn("Listing rotated log files for retention failed", zap.String("dir", s.dir), zap.Error(err))
		return
	}
	var total int64
	for _, f := range files {
		total += f.size
	}
	now := a.now()
	for i, f := range files {
		remaining := len(files) - i
		tooMany := s.maxFiles > 0 && remaining > s.maxFiles
		tooBig := s.maxTotalBytes > 0 && total > s.maxTotalBytes
		tooOld := s.maxAge > 0 && now.Sub(f.rotated) > s.maxAge
		if !tooMany && !tooBig && !tooOld {
			break // files are oldest first: the rest are newer and fit
		}
		if err := os.Remove(f.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			a.logger.Warn("Deleting an expired rotated log file failed", zap.String("file", f.path), zap.Error(err))
			continue
		}
		total -= f.size
	}
}
