package fapilogfile

import (
	"errors"
	"fmt"
	"io"
	"os"

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
	return &directWriter{file: f, path: path, size: info.Size()}, nil
}

// directWriter is the buffered mode's file: "buffered" because the batch is assembled in memory and written
// with one system call, never record by record.
type directWriter struct {
	file osFile
	path string
	size int64
}

func (w *directWriter) Write(p []byte) (int, error) {
	n, err := w.file.Write(p)
	w.size += int64(n)
	return n, err
}

func (w *directWriter) Sync() error  { return w.file.Sync() }
func (w *directWriter) Close() error { return w.file.Close() }
func (w *directWriter) Size() int64  { return w.size }

// HealthCheck notices logrotate's default create mode, which renames the file away and expects the writer to
// open the path again: otherwise every later record would go into the renamed file, which logrotate may
// compress and delete. Truncation needs no action here: O_APPEND writes follow the file's new end.
func (w *directWriter) HealthCheck() error {
	open, err := w.file.Stat()
	if err != nil {
		return err
	}
	named, err := os.Stat(w.path)
	if errors.Is(err, os.ErrNotExist) || err == nil && !os.SameFile(open, named) {
		return fmt.Errorf("%s was moved or removed: %w", w.path, mmap.ErrReplaced)
	}
	return err
}

func (w *directWriter) Truncate(size int64) error {
	if err := w.file.Truncate(size); err != nil {
		return err
	}
	w.size = size
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
