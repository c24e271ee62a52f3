package fapilogfile

import (
	"bufio"
	"fmt"
	"os"

	"github.com/fapilog/fapilog-otelcol/pkg/mmap"
)

const (
	fileMode      = 0o640
	directoryMode = 0o750
	// writeBufferSize lets a typical batch go out in one write syscall.
	writeBufferSize = 256 << 10
)

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
}

func openFileWriter(path, mode string) (fileWriter, error) {
	if mode == WriteModeMmap {
		f, err := mmap.Open(path, mmap.Options{})
		if err != nil {
			return nil, err
		}
		return mmapWriter{f}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, fileMode)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return &bufferedWriter{file: f, buf: bufio.NewWriterSize(f, writeBufferSize), size: info.Size()}, nil
}

type bufferedWriter struct {
	file *os.File
	buf  *bufio.Writer
	size int64
}

func (w *bufferedWriter) Write(p []byte) (int, error) {
	n, err := w.buf.Write(p)
	w.size += int64(n)
	return n, err
}

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

func (w *bufferedWriter) Size() int64 { return w.size }

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

func (w mmapWriter) Flush() error { return nil }
func (w mmapWriter) Sync() error  { return w.f.Sync() }
func (w mmapWriter) Close() error { return w.f.Close() }
func (w mmapWriter) Size() int64  { return w.f.Stats().Size }
