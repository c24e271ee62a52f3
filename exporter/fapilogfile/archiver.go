package fapilogfile

import (
	"compress/gzip"
	"context"
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

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogfile/internal/metadata"
)

const (
	gzipSuffix = ".gz"
	// tmpSuffix marks an archive being written; it becomes .gz only once complete.
	tmpSuffix = ".tmp"
)

// errCompressionAborted is why a compression stopped when shutdown ran out of time.
var errCompressionAborted = errors.New("compression interrupted by shutdown")

// archiverSettings is what the archiver needs from the configuration.
type archiverSettings struct {
	compress         bool
	compressionLevel int
	maxFiles         int
	maxTotalBytes    int64
	maxAge           time.Duration
}

// family is one active file and its rotated files: <dir>/<base><ext> and <dir>/<base>-<time>[-N]<ext>[.gz].
type family struct {
	dir, base, ext string
}

// familyOf is the family whose active file is path.
func familyOf(path string) family {
	dir, name := filepath.Split(path)
	ext := filepath.Ext(name)
	return family{dir: filepath.Clean(dir), base: strings.TrimSuffix(name, ext), ext: ext}
}

// archiveJob is a rotated file to compress, or (path "") a family opened: compress what an earlier run left
// uncompressed. Retention follows either.
type archiveJob struct {
	family family
	path   string
}

// archiver compresses rotated files and enforces retention in one background goroutine for every family of the
// exporter, so that neither ever blocks a write. Work is serialised: retention always sees the result of the
// compression before it.
type archiver struct {
	settings archiverSettings
	logger   *zap.Logger
	now      func() time.Time
	// telemetry counts compression failures and retention removals.
	telemetry *metadata.TelemetryBuilder
	// compress is gzipFile; tests replace it to control how long a compression takes.
	compress func(path string, level int, abort <-chan struct{}) error

	mu      sync.Mutex
	pending []archiveJob
	wake    chan struct{}
	stop    chan struct{}
	// abort interrupts a compression when shutdown runs out of time.
	abort chan struct{}
	done  chan struct{}
}

func newArchiver(s archiverSettings, tel *metadata.TelemetryBuilder, logger *zap.Logger) *archiver {
	return &archiver{settings: s, telemetry: tel, logger: logger, now: time.Now, compress: gzipFile, wake: make(chan struct{}, 1)}
}

func (a *archiver) start() {
	a.stop, a.abort, a.done = make(chan struct{}), make(chan struct{}), make(chan struct{})
	go a.run()
	a.signal()
}

// opened queues a family's first look: rotated files an earlier run could not compress before its shutdown
// deadline (or before a crash) are compressed, and retention is enforced.
func (a *archiver) opened(f family) { a.queue(archiveJob{family: f}) }

// rotated queues a freshly rotated file of family f.
func (a *archiver) rotated(f family, path string) { a.queue(archiveJob{family: f, path: path}) }

func (a *archiver) queue(job archiveJob) {
	a.mu.Lock()
	a.pending = append(a.pending, job)
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
	for i, job := range pending {
		var toCompress []string
		switch {
		case !a.settings.compress:
		case job.path != "":
			// Gone already when an earlier job's sweep (a family opened again compresses every rotated file it
			// finds) took it, or retention deleted it: nothing failed.
			if exists(job.path) {
				toCompress = []string{job.path}
			}
		default:
			toCompress = a.uncompressedLeftovers(job.family)
		}
		for _, path := range toCompress {
			err := a.compress(path, a.settings.compressionLevel, a.abort)
			if errors.Is(err, errCompressionAborted) {
				a.logger.Warn("Shutdown deadline reached; rotated log files stay uncompressed until the next start",
					zap.String("file", path), zap.Int("jobs_left", len(pending)-i-1))
				return
			}
			if err != nil {
				a.telemetry.FapilogExporterFileCompressionFailures.Add(context.Background(), 1)
				a.logger.Warn("Compressing a rotated log file failed; keeping it uncompressed", zap.String("file", path), zap.Error(err))
			}
		}
		a.enforceRetention(job.family)
	}
}

// uncompressedLeftovers returns the family's rotated files that are not compressed, oldest first, and removes
// partial archives an interrupted compression left behind.
func (a *archiver) uncompressedLeftovers(f family) []string {
	files, err := a.listRotated(f)
	if err != nil {
		a.logger.Warn("Listing rotated log files to compress failed", zap.String("dir", f.dir), zap.Error(err))
		return nil
	}
	var paths []string
	for _, rf := range files {
		if strings.HasSuffix(rf.path, gzipSuffix) {
			continue
		}
		if err := os.Remove(rf.path + gzipSuffix + tmpSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			a.logger.Warn("Removing a partial archive failed", zap.String("file", rf.path+gzipSuffix+tmpSuffix), zap.Error(err))
		}
		paths = append(paths, rf.path)
	}
	return paths
}

// shutdown waits for queued compression and retention to finish, or until ctx is done: then the compression
// under way is abandoned (its partial archive removed) and the files still waiting stay uncompressed; the next
// start compresses them. No record is lost either way: an uncompressed rotated file is complete.
func (a *archiver) shutdown(ctx context.Context) {
	if a.stop == nil {
		return
	}
	close(a.stop)
	select {
	case <-a.done:
	case <-ctx.Done():
		close(a.abort)
		<-a.done
	}
	a.stop = nil
}

// gzipFile writes path.gz next to path and removes path. On any failure, or when abort is closed, the partial
// archive is removed and the original kept.
func gzipFile(path string, level int, abort <-chan struct{}) (err error) {
	tmp := path + gzipSuffix + tmpSuffix
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
	_, copyErr := io.Copy(zw, abortableReader{r: src, abort: abort})
	if err = errors.Join(copyErr, zw.Close(), dst.Sync(), dst.Close()); err != nil {
		return err
	}
	if err = os.Rename(tmp, path+gzipSuffix); err != nil {
		return err
	}
	return os.Remove(path)
}

// abortableReader stops a copy between two reads once abort is closed; io.Copy reads 32 KiB at a time, so a
// compression stops within a millisecond or so.
type abortableReader struct {
	r     io.Reader
	abort <-chan struct{}
}

func (ar abortableReader) Read(p []byte) (int, error) {
	select {
	case <-ar.abort:
		return 0, errCompressionAborted
	default:
		return ar.r.Read(p)
	}
}

// rotatedFile is one file of the family <base>-<time>[-N]<ext>[.gz].
type rotatedFile struct {
	path    string
	rotated time.Time
	seq     int
	size    int64
}

// listRotated returns the family's rotated files, oldest first.
func (a *archiver) listRotated(fam family) ([]rotatedFile, error) {
	entries, err := os.ReadDir(fam.dir)
	if err != nil {
		return nil, err
	}
	var files []rotatedFile
	for _, de := range entries {
		name := de.Name()
		stamp, seq, ok := fam.parseRotatedName(name)
		if !ok || !de.Type().IsRegular() {
			continue
		}
		info, err := de.Info()
		if err != nil {
			continue // removed meanwhile
		}
		files = append(files, rotatedFile{path: filepath.Join(fam.dir, name), rotated: stamp, seq: seq, size: info.Size()})
	}
	slices.SortFunc(files, func(x, y rotatedFile) int {
		if c := x.rotated.Compare(y.rotated); c != 0 {
			return c
		}
		return x.seq - y.seq
	})
	return files, nil
}

func (fam family) parseRotatedName(name string) (time.Time, int, bool) {
	rest, ok := strings.CutPrefix(name, fam.base+"-")
	if !ok {
		return time.Time{}, 0, false
	}
	rest = strings.TrimSuffix(rest, gzipSuffix)
	if rest, ok = strings.CutSuffix(rest, fam.ext); !ok || len(rest) < len(rotatedTimeLayout) {
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
func (a *archiver) enforceRetention(fam family) {
	s := a.settings
	if s.maxFiles <= 0 && s.maxTotalBytes <= 0 && s.maxAge <= 0 {
		return
	}
	files, err := a.listRotated(fam)
	if err != nil {
		a.logger.Warn("Listing rotated log files for retention failed", zap.String("dir", fam.dir), zap.Error(err))
		return
	}
	var total int64
	for _, f := range files {
		total += f.size
	}
	now := a.now()
	for i, f := range files {
		var reason string
		switch {
		case s.maxFiles > 0 && len(files)-i > s.maxFiles:
			reason = reasonMaxFiles
		case s.maxTotalBytes > 0 && total > s.maxTotalBytes:
			reason = reasonMaxTotalBytes
		case s.maxAge > 0 && now.Sub(f.rotated) > s.maxAge:
			reason = reasonMaxAge
		default:
			return // files are oldest first: the rest are newer and fit
		}
		if err := os.Remove(f.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			a.logger.Warn("Deleting an expired rotated log file failed", zap.String("file", f.path), zap.Error(err))
			continue
		}
		a.telemetry.FapilogExporterFileFilesRemoved.Add(context.Background(), 1, reasonAttribute(reason))
		total -= f.size
	}
}
