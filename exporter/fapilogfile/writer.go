package fapilogfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/fapilog/fapilog-otelcol/pkg/mmap"
)

const (
	fileMode      = 0o640
	directoryMode = 0o750
)

// osFile is the part of *os.File the buffered mode uses; tests substitute one that fails on demand.
type osFile interface {
	io.Writer
	Sync() error
	Truncate(size int64) error
	Stat() (os.FileInfo, error)
	Close() error
	SyscallConn() (syscall.RawConn, error)
}

// fileSystem is how the rotator reaches the disk: the seam through which tests make each step fail.
type fileSystem struct {
	openFile func(path string) (osFile, error)
	rename   func(from, to string) error
}

var osFileSystem = fileSystem{
	openFile: func(path string) (osFile, error) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, fileMode)
		if err != nil {
			return nil, err
		}
		return f, nil
	},
	rename: os.Rename,
}

// fileWriter is the active file under one of the two write modes. A write reaches the kernel before it
// returns (write(2), or a store into a shared mapping): a batch is acknowledged only once a crash of the
// collector process can no longer lose it. There is no write buffer across batches; each batch is already one
// contiguous buffer, written with one call per file it goes into.
type fileWriter interface {
	// Write appends p; n bytes reached the file even when err is not nil.
	Write(p []byte) (n int, err error)
	// Sync makes everything written so far durable.
	Sync() error
	Close() error
	// Size is the file's length.
	Size() int64
	// Truncate cuts the file back to size after a failed batch, so that no torn or unconfirmed record stays.
	Truncate(size int64) error
	// Resync adopts the file's length when another process cut it (logrotate's copytruncate, `> file`) and
	// returns by how much it shrank, 0 when it did not.
	Resync() int64
	// HealthCheck reports a file another process moved or removed (mmap.ErrReplaced) or, in mmap mode,
	// shrank (mmap.ErrTruncated): the exporter then opens the path again.
	HealthCheck() error
}

func openFileWriter(fs fileSystem, path, mode string) (fileWriter, error) {
	if mode == WriteModeMmap {
		f, err := mmap.Open(path, mmap.Options{})
		if err != nil {
			return nil, err
		}
		return mmapWriter{f}, nil
	}
	f, err := fs.openFile(path)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	// A collector killed with the file open left its reserved blocks behind: counting them as reserved lets Close
	// release them.
	return &directWriter{file: f, path: path, size: info.Size(), reserved: allocatedEnd(info)}, nil
}

// directWriter is the buffered mode's file: "buffered" because the batch is assembled in memory and written
// with one system call, never record by record.
//
// It reserves the file's disk blocks a megabyte ahead of its end (fallocate with FALLOC_FL_KEEP_SIZE, as
// systemd-journald does for its journals): a write into reserved blocks skips the filesystem's per-block
// allocation work (ext4's delayed-allocation reservation and quota accounting), which was a sixth of the CPU of
// a 29,600-byte append (BenchmarkAppendBySize) and less fragmentation besides. The file's size, and so what
// readers see, is only what was written; the reserved blocks beyond it are released when the file is closed.
type directWriter struct {
	file osFile
	path string
	size int64
	// reserved is the end of the blocks reserved so far; noReserve is set once the filesystem refused (no
	// fallocate support, or no space for a whole step): the file then grows as it is written, as without.
	reserved  int64
	noReserve bool
}

// reserveStep is how far ahead blocks are reserved: one fallocate call per step, and at most a step of disk
// space beyond the end of the active file.
const reserveStep = 1 << 20

func (w *directWriter) Write(p []byte) (int, error) {
	if end := w.size + int64(len(p)); end > w.reserved && !w.noReserve {
		w.reserve(end)
	}
	n, err := w.file.Write(p)
	w.size += int64(n)
	return n, err
}

// reserve reserves blocks from the end of what is reserved (or written) to the next step boundary after end. A
// refusal only turns reserving off for this file; the write itself is what reports a full disk.
func (w *directWriter) reserve(end int64) {
	from := max(w.reserved, w.size)
	to := (end/reserveStep + 1) * reserveStep
	conn, err := w.file.SyscallConn()
	if err == nil {
		err = reserveBlocks(conn, from, to-from)
	}
	if err != nil {
		w.noReserve = true
		return
	}
	w.reserved = to
}

func (w *directWriter) Sync() error { return w.file.Sync() }
func (w *directWriter) Size() int64 { return w.size }

// Resync: O_APPEND writes follow a file another process cut, but the size counted here would not, and a failed
// batch cut back to it would regrow the file with NUL bytes. The cut released the reserved blocks too.
func (w *directWriter) Resync() int64 {
	info, err := w.file.Stat()
	if err != nil {
		return 0
	}
	return w.adoptShrunk(info)
}

// adoptShrunk takes the length of the open file (as info, its fstat, says) when another process cut it, and
// returns by how much it shrank.
func (w *directWriter) adoptShrunk(info os.FileInfo) int64 {
	if info.Size() >= w.size {
		return 0
	}
	shrunk := w.size - info.Size()
	w.size, w.reserved = info.Size(), allocatedEnd(info)
	return shrunk
}

// Close releases the reserved blocks beyond the file's end first: a closed file (rotated, or idle) takes no more
// disk than its bytes. Cutting the file at its own size frees them; it is done only when the file still has the
// size this writer gave it, so that a file another process truncated (logrotate's copytruncate) is not cut back
// to a length it no longer has.
func (w *directWriter) Close() error {
	if w.reserved > w.size {
		if info, err := w.file.Stat(); err == nil && info.Size() == w.size {
			_ = w.file.Truncate(w.size)
		}
	}
	return w.file.Close()
}

// HealthCheck notices logrotate's default create mode, which renames the file away and expects the writer to
// open the path again: otherwise every later record would go into the renamed file, which logrotate may
// compress and delete. A truncation needs no reopen (O_APPEND writes follow the file's new end); the check only
// adopts the new length, so that max_bytes counts from it.
func (w *directWriter) HealthCheck() error {
	open, err := w.file.Stat()
	if err != nil {
		return err
	}
	w.adoptShrunk(open) // after copytruncate, max_bytes counts from the file's new length
	named, err := os.Stat(w.path)
	if errors.Is(err, os.ErrNotExist) || err == nil && !os.SameFile(open, named) {
		return fmt.Errorf("%s was moved or removed: %w", w.path, mmap.ErrReplaced)
	}
	return err
}

// Truncate cuts the file back; the blocks beyond the new end are released with it, so reserving starts again.
func (w *directWriter) Truncate(size int64) error {
	if err := w.file.Truncate(size); err != nil {
		return err
	}
	w.size, w.reserved = size, size
	return nil
}

// mmapWriter appends through pkg/mmap: every append is in the page cache at once, so a crash of the collector
// process (not of the machine) loses nothing even without fsync.
type mmapWriter struct{ f *mmap.File }

func (w mmapWriter) Write(p []byte) (int, error) {
	n, err := w.f.Append(p)
	if err != nil {
		return n, fmt.Errorf("mmap append: %w", err)
	}
	return n, nil
}

func (w mmapWriter) Sync() error               { return w.f.Sync() }
func (w mmapWriter) Close() error              { return w.f.Close() }
func (w mmapWriter) Size() int64               { return w.f.Stats().Size }
func (w mmapWriter) Truncate(size int64) error { return w.f.Truncate(size) }
func (w mmapWriter) HealthCheck() error        { return w.f.HealthCheck() }

// Resync: a mapping over a shrunk file cannot be written; HealthCheck reports it and the file is opened again.
func (w mmapWriter) Resync() int64 { return 0 }
