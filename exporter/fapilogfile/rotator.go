package fapilogfile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogfile/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/confunits"
	"github.com/fapilog/fapilog-otelcol/pkg/mmap"
)

// rotatedTimeLayout is the UTC rotation time in rotated file names; names of one file family sort chronologically.
const rotatedTimeLayout = "20060102-150405"

// rotatorSettings is what the rotator needs from the configuration.
type rotatorSettings struct {
	path          string
	writeMode     string
	maxBytes      int64
	interval      confunits.Interval
	location      *time.Location
	flushInterval time.Duration
	fsync         bool
	// waitTimeout bounds a push's wait for the file while another push writes it (the `timeout` setting).
	waitTimeout time.Duration
}

// rotator owns the active file: it writes batches, rotates by size and on interval boundaries (on a timer, so a
// quiet file still rotates at midnight), and hands rotated files to the archiver.
type rotator struct {
	settings rotatorSettings
	family   family
	archiver *archiver
	logger   *zap.Logger
	now      func() time.Time
	fs       fileSystem
	// telemetry counts rotations.
	telemetry *metadata.TelemetryBuilder

	// lock serialises the writers of the active file; a push waits for it only as long as its context allows.
	lock fileLock
	// group holds the pushes waiting for the lock; whoever takes the lock writes them all at once (groupwrite.go).
	group        writeGroup
	out          fileWriter
	nextBoundary time.Time
	closed       bool
	// lastHealthError is the last unhealthy state logged, so that a lasting one is logged once.
	lastHealthError string
	// lastStamp and lastSeq name the latest rotated file, to number several rotations within one second.
	lastStamp string
	lastSeq   int
}

func newRotator(s rotatorSettings, arch *archiver, tel *metadata.TelemetryBuilder, logger *zap.Logger) *rotator {
	return &rotator{
		settings: s, family: familyOf(s.path), lock: newFileLock(),
		archiver: arch, logger: logger, now: time.Now, fs: osFileSystem, telemetry: tel,
	}
}

// start opens the active file (appending to an existing one) and has the archiver look at the family's
// rotated files. The owner's timer calls tick between batches.
func (r *rotator) start() error {
	r.lock.wait()
	defer r.lock.release()
	// Which interval a file left by an earlier run belongs to is its modification time before the tail repair,
	// which sets it to now.
	left, leftErr := os.Stat(r.settings.path)
	if err := r.repairTail(); err != nil {
		return err
	}
	now := r.now()
	if r.settings.interval.Enabled() {
		// A file left by an earlier run that belongs to a past interval is rotated before anything new goes in.
		if info, err := os.Stat(r.settings.path); leftErr == nil && err == nil && info.Size() > 0 &&
			!r.settings.interval.Next(left.ModTime(), r.settings.location).After(now) {
			if err := r.archiveActive(left.ModTime(), reasonInterval); err != nil {
				return err
			}
		}
		r.nextBoundary = r.settings.interval.Next(now, r.settings.location)
	}
	if err := r.open(); err != nil {
		return err
	}
	r.archiver.opened(r.family)
	return nil
}

// repairTail cuts off a record an earlier process was killed in the middle of writing (see cutTornTail), before
// the file is rotated or appended to.
func (r *rotator) repairTail() error {
	torn, err := cutTornTail(r.settings.path)
	if err != nil {
		return &fileError{op: opOpen, path: r.settings.path, err: err}
	}
	switch {
	case torn.fragment > 0:
		r.logger.Warn("The log file ended in a record cut short when the collector was killed; removed it (it was never acknowledged)",
			zap.String("path", r.settings.path), zap.Int64("bytes", torn.fragment))
	case torn.noLine:
		r.logger.Warn("The log file holds no newline: it was not written by this exporter; ended it with one so that records start on their own line",
			zap.String("path", r.settings.path))
	}
	return nil
}

func (r *rotator) open() error {
	// Every time, not only at start: a directory removed meanwhile (by hand, by a clean-up job) is created again
	// rather than failing every retry.
	if err := os.MkdirAll(r.family.dir, directoryMode); err != nil {
		return fmt.Errorf("creating directory %s: %w", r.family.dir, err)
	}
	out, err := openFileWriter(r.fs, r.settings.path, r.settings.writeMode)
	if err != nil {
		return &fileError{op: opOpen, path: r.settings.path, err: err}
	}
	r.out = out
	return nil
}

// Steps on a file, as the write_errors metric names them.
const (
	opOpen   = "open"
	opWrite  = "write"
	opSync   = "sync"
	opRename = "rename"
)

// fileError is a failed step on a file; op says which, for the write_errors metric.
type fileError struct {
	op, path string
	err      error
}

func (e *fileError) Error() string { return e.op + " " + e.path + ": " + e.err.Error() }
func (e *fileError) Unwrap() error { return e.err }

// errShutDown is returned for a write after shutdown.
var errShutDown = errors.New("file exporter is shut down")

// writeLocked appends a batch; the caller holds the lock. ends[i] is the offset just past record i in records.
// A record never straddles two files; one larger than max_bytes goes alone into a fresh file. It returns how
// many of the batch's first records were written, which on error is fewer than len(ends): only the others must
// be retried. A record counts as written once it is in the state an acknowledgement promises: handed to the
// kernel, or on disk with fsync.
func (r *rotator) writeLocked(records []byte, ends []int) (int, error) {
	if r.closed {
		return 0, errShutDown
	}
	if r.out == nil {
		// An earlier write error closed the file; reopen so that a retry can succeed once the cause is gone.
		if err := r.open(); err != nil {
			return 0, err
		}
	}
	if r.settings.interval.Enabled() && !r.now().Before(r.nextBoundary) {
		if err := r.rotateOnBoundary(); err != nil {
			return 0, err
		}
	}
	inFile := batchInFile{start: r.out.Size()}
	spanStart, recordStart := 0, 0
	for i, end := range ends {
		if max := r.settings.maxBytes; max > 0 {
			pending := int64(recordStart - spanStart)
			if size := r.out.Size() + pending; size > 0 && size+int64(end-recordStart) > max {
				if err := r.writeSpan(records[spanStart:recordStart]); err != nil {
					return r.fail(err, ends, inFile)
				}
				if err := r.handOver(); err != nil {
					return r.fail(err, ends, inFile)
				}
				if err := r.replace(reasonSize); err != nil {
					return i, err
				}
				spanStart = recordStart
				inFile = batchInFile{first: i, offset: recordStart, start: r.out.Size()}
			}
		}
		recordStart = end
	}
	if err := r.writeSpan(records[spanStart:recordStart]); err != nil {
		return r.fail(err, ends, inFile)
	}
	if r.settings.fsync {
		if err := r.out.Sync(); err != nil {
			return r.fail(&fileError{op: opSync, path: r.settings.path, err: err}, ends, inFile)
		}
	}
	return len(ends), nil
}

// batchInFile is the part of a batch that goes into the active file: from record first, which starts at
// offset in the batch's bytes and at start in the file.
type batchInFile struct {
	first  int
	offset int
	start  int64
}

// fail handles an error in the middle of a batch. The records before the active file's part are in files
// that were closed (and synced with fsync) during rotation: written. Of the active file's part, the records
// that reached the file whole are written too, unless fsync is on and they were not synced yet. The file is cut
// back to the end of the last written record, so that neither a torn record nor a copy of one that is about
// to be retried stays behind, and closed: the next write reopens it.
func (r *rotator) fail(cause error, ends []int, in batchInFile) (int, error) {
	written := in.first
	if r.out != nil {
		// The batch was appended at the file's real end: earlier if another process cut the file since.
		in.start = max(in.start-r.out.Resync(), 0)
		keep := in.start
		if !r.settings.fsync {
			size := r.out.Size()
			for written < len(ends) {
				end := in.start + int64(ends[written]-in.offset)
				if end > size {
					break
				}
				keep = end
				written++
			}
		}
		if err := r.out.Truncate(keep); err != nil && !errors.Is(err, mmap.ErrTruncated) {
			r.logger.Warn("Cutting the log file back after a failed write failed; a torn record may stay in it",
				zap.String("path", r.settings.path), zap.Error(err))
		}
		r.abandon()
	}
	return written, cause
}

func (r *rotator) writeSpan(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if _, err := r.out.Write(p); err != nil {
		return &fileError{op: opWrite, path: r.settings.path, err: err}
	}
	return nil
}

// abandon closes a file that failed a write; the next write reopens it, so a retry starts from a clean state.
func (r *rotator) abandon() {
	_ = r.out.Close()
	r.out = nil
}

// rotateOnBoundary moves the boundary on only once the rotation succeeded, so that a failed one (a rename
// refused) is tried again by the retried write or the next tick instead of the next interval's records going
// into this interval's file. An empty file is not rotated: no empty rotated files.
func (r *rotator) rotateOnBoundary() error {
	next := r.settings.interval.Next(r.now(), r.settings.location)
	if r.out.Size() > 0 {
		if err := r.rotate(reasonInterval); err != nil {
			return err
		}
	}
	r.nextBoundary = next
	return nil
}

// rotate closes the active file, renames it to its rotated name and opens a fresh one.
func (r *rotator) rotate(reason string) error {
	if err := r.handOver(); err != nil {
		r.abandon()
		return err
	}
	return r.replace(reason)
}

// handOver makes sure the active file's records are written before it is rotated: with fsync they must be on
// disk; otherwise the kernel has them already. Once it succeeded, every record in the file is written,
// whatever fails next.
func (r *rotator) handOver() error {
	if !r.settings.fsync {
		return nil
	}
	if err := r.out.Sync(); err != nil {
		return &fileError{op: opSync, path: r.settings.path, err: err}
	}
	return nil
}

// replace closes the (handed over) active file, renames it to its rotated name and opens a fresh one. On
// error no file is open; the next write reopens the active path and appends.
func (r *rotator) replace(reason string) error {
	if err := r.out.Close(); err != nil {
		// Nothing is left to lose: every byte is in the kernel (and synced with fsync).
		r.logger.Warn("Closing the log file for rotation failed", zap.String("path", r.settings.path), zap.Error(err))
	}
	r.out = nil
	if err := r.archiveActive(r.now(), reason); err != nil {
		return err
	}
	return r.open()
}

// archiveActive renames the (closed) active file to <base>-<UTC time>[-N]<ext> and queues it for compression
// and retention.
func (r *rotator) archiveActive(at time.Time, reason string) error {
	stamp := at.UTC().Format(rotatedTimeLayout)
	if r.lastStamp == "" {
		// A rotator just created (at start, or for a tenant's file opened again after max_open_files closed it)
		// learns from the directory which numbers an earlier one gave in this second.
		r.lastStamp, r.lastSeq = stamp, r.highestSeqOnDisk(stamp)
	}
	n := 0
	if stamp == r.lastStamp {
		// Continue the second's sequence rather than reuse a number that retention has freed, which would
		// put a newer file before older ones.
		n = r.lastSeq + 1
	}
	for ; ; n++ {
		name := r.family.base + "-" + stamp
		if n > 0 {
			name += "-" + strconv.Itoa(n)
		}
		target := filepath.Join(r.family.dir, name+r.family.ext)
		if exists(target) || exists(target+gzipSuffix) {
			continue
		}
		if err := r.fs.rename(r.settings.path, target); err != nil {
			return &fileError{op: opRename, path: r.settings.path, err: err}
		}
		r.lastStamp, r.lastSeq = stamp, n
		r.telemetry.FapilogExporterFileRotations.Add(context.Background(), 1, reasonAttribute(reason))
		r.archiver.rotated(r.family, target)
		return nil
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// highestSeqOnDisk is the highest sequence number of the family's rotated files of the second stamp, -1 when
// there is none.
func (r *rotator) highestSeqOnDisk(stamp string) int {
	highest := -1
	entries, err := os.ReadDir(r.family.dir)
	if err != nil {
		return highest // the rename's own check (exists) still avoids every name taken
	}
	for _, e := range entries {
		if at, seq, ok := r.family.parseRotatedName(e.Name()); ok && at.Format(rotatedTimeLayout) == stamp {
			highest = max(highest, seq)
		}
	}
	return highest
}

// tick looks after the active file between batches, every flush_interval (the file set's timer calls it): it
// rotates at interval boundaries even when nothing is written (fapilog only checks on write) and reopens a file
// another process moved or truncated.
func (r *rotator) tick() {
	r.lock.wait()
	defer r.lock.release()
	if r.closed || r.out == nil {
		return
	}
	if r.settings.interval.Enabled() && !r.now().Before(r.nextBoundary) {
		if err := r.rotateOnBoundary(); err != nil {
			r.logger.Error("Interval rotation failed; retrying on the next write", zap.Error(err))
		}
	}
	if r.out != nil {
		r.checkHealth()
	}
}

// checkHealth opens the path again when another process moved, removed or (in mmap mode) shrank the active
// file: logrotate's create and copytruncate modes, `> file`. Other failures (a filesystem remounted read-only)
// are logged once each; writes report them too.
func (r *rotator) checkHealth() {
	err := r.out.HealthCheck()
	var reason string
	switch {
	case err == nil:
		r.lastHealthError = ""
		return
	case errors.Is(err, mmap.ErrTruncated):
		reason = reasonTruncated
	case errors.Is(err, mmap.ErrReplaced):
		reason = reasonReplaced
	default:
		if msg := err.Error(); msg != r.lastHealthError {
			r.lastHealthError = msg
			r.logger.Error("The active log file is unhealthy", zap.String("path", r.settings.path), zap.Error(err))
		}
		return
	}
	r.logger.Warn("The active log file was changed by another process; opening it again (use the exporter's own rotation rather than logrotate's copytruncate)",
		zap.String("path", r.settings.path), zap.String("reason", reason), zap.Error(err))
	r.abandon()
	r.telemetry.FapilogExporterFileReopens.Add(context.Background(), 1, reasonAttribute(reason))
	if err := r.open(); err != nil {
		r.logger.Error("Opening the log file again failed; retrying on the next write", zap.Error(err))
	}
}

// checkPeriod is flush_interval; 0, which used to mean "no write buffer", keeps the default period.
func (r *rotator) checkPeriod() time.Duration {
	if r.settings.flushInterval > 0 {
		return r.settings.flushInterval
	}
	return defaultFlushInterval
}

// untilNextTick is how long the timer may wait before this file needs a tick.
func (r *rotator) untilNextTick() time.Duration {
	wait := r.checkPeriod()
	r.lock.wait()
	defer r.lock.release()
	if r.settings.interval.Enabled() && !r.closed {
		if untilBoundary := r.nextBoundary.Sub(r.now()); untilBoundary < wait {
			wait = max(untilBoundary, time.Millisecond)
		}
	}
	return wait
}

// shutdown closes the active file (synced first with fsync). The file set calls it at shutdown and when the
// file is the least recently used one and another must open.
func (r *rotator) shutdown() error {
	r.lock.wait()
	defer r.lock.release()
	if r.closed {
		return nil
	}
	r.closed = true
	var err error
	if r.out != nil {
		if r.settings.fsync {
			err = r.out.Sync()
		}
		err = errors.Join(err, r.out.Close())
		r.out = nil
	}
	return err
}
