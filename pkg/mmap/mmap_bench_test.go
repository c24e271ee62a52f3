//go:build unix

package mmap_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/fapilog/fapilog-otelcol/pkg/mmap"
)

// BenchmarkAppendLine compares mmap.File with the usual alternative, a
// bufio.Writer (default 4 KiB buffer) over an *os.File, on 200-byte lines.
// Both sides start a fresh file every 64 MiB, outside the timer, so a long
// run does not fill the disk; neither side fsyncs.
func BenchmarkAppendLine(b *testing.B) {
	line := bytes.Repeat([]byte{'x'}, 200)
	linesPerFile := (64 << 20) / (len(line) + 1)

	b.Run("mmap", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "bench.log")
		open := func() *mmap.File {
			if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
				b.Fatal(err)
			}
			f, err := mmap.Open(path, mmap.Options{NoFlushOnClose: true})
			if err != nil {
				b.Fatal(err)
			}
			return f
		}
		f := open()
		b.ReportAllocs()
		b.SetBytes(int64(len(line) + 1))
		b.ResetTimer()
		for i := range b.N {
			if i > 0 && i%linesPerFile == 0 {
				b.StopTimer()
				if err := f.Close(); err != nil {
					b.Fatal(err)
				}
				f = open()
				b.StartTimer()
			}
			if _, err := f.AppendLine(line); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	})

	b.Run("bufio", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "bench.log")
		var file *os.File
		var w *bufio.Writer
		open := func() {
			var err error
			if file, err = os.Create(path); err != nil {
				b.Fatal(err)
			}
			w = bufio.NewWriter(file)
		}
		closeFile := func() {
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
			if err := file.Close(); err != nil {
				b.Fatal(err)
			}
		}
		open()
		b.ReportAllocs()
		b.SetBytes(int64(len(line) + 1))
		b.ResetTimer()
		for i := range b.N {
			if i > 0 && i%linesPerFile == 0 {
				b.StopTimer()
				closeFile()
				open()
				b.StartTimer()
			}
			if _, err := w.Write(line); err != nil {
				b.Fatal(err)
			}
			if err := w.WriteByte('\n'); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		closeFile()
	})
}
