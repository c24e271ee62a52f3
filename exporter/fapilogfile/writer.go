package fapilogfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/fapilog/fapilog-otelcol/pkg/mmap"
)

const (
	fileMode      = 0o640
	directoryMode = 0o750
	// writeBufferSize lets a typical batch go out in one write syscall.
	writeBufferSize = 256 << 10
)

// osFile is the part of *os.File the buffered writer uses; tests substitute one that fails on demand.
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

// fileWriter is the active file under one of the two write modes.
type fileWriter interface {
	Write(p []byte) (int, error)
	// Flush hands buffered bytes to the kernel.
	Flush() error
	// Sync makes everything written so far durable.
	Sync() error
	Close() error
	// Size is the file's length including buffered bytes.
	Size() int64
	// Committed is the length of the file as the kernel has it: what a crash of the process keeps.
	Committed() int64
	// Truncate cuts the file back to size after a failed batch, so that no torn or unconfirmed record stays.
	Truncate(size int64) error
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
	w := &bufferedWriter{file: countingFile{osFile: f, n: info.Size()}}
	w.buf = bufio.NewWriterSize(&w.file, writeBufferSize)
	return w, nil
}

// countingFile counts the bytes the kernel accepted, even from a write that failed half-way.
type countingFile struct {
	osFile
	n int64
}

func (c *countingFile) Write(p []byte) (int, error) {
	n, err := c.osFile.Write(p)
	c.n += int64(n)
	return n, err
}

type bufferedWriter struct {
	file countingFile
	buf  *bufio.Writer
}

func (w *bufferedWriter) Write(p []byte) (int, error) { return w.buf.Write(p) }

func (w *bufferedWriter) Flush() error { return w.buf.Flush() }

func (w *bufferedWriter) Sync() error {
	if err := w.buf.Flush(); err != nil {
		return err
	}
	return w.file.Sync()
}

func (w *bufferedWriter) Close() error {
	flushErr := w.buf.Flush()
	closeErr := w.file.Close()
	if flushErr != nil {
		return flushErr
	}
	return closeErr
}

func (w *bufferedWriter) Size() int64      { return w.file.n + int64(w.buf.Buffered()) }
func (w *bufferedWriter) Committed() int64 { return w.file.n }

// Truncate drops whatever is still buffered (the writer is closed after a failure anyway) and cuts the file.
func (w *bufferedWriter) Truncate(size int64) error {
	if size > w.file.n {
		return errors.New("truncate: cannot extend the file")
	}
	w.buf.Reset(io.Discard)
	if err := w.file.Truncate(size); err != nil {
		return err
	}
	w.file.n = size
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

func (w mmapWriter) Flush() error              { return nil }
func (w mmapWriter) Sync() error               { return w.f.Sync() }
func (w mmapWriter) Close() error              { return w.f.Close() }
func (w mmapWriter) Size() int64               { return w.f.Stats().Size }
func (w mmapWriter) Committed() int64          { return w.f.Stats().Size }
func (w mmapWriter) Truncate(size int64) error { return w.f.Truncate(size) }
