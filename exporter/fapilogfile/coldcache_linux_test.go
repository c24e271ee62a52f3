package fapilogfile

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/fapilog/fapilog-otelcol/internal/logstest"
)

// BenchmarkPushBatch100ColdCache measures what a push costs inside a loaded collector rather than in a tight
// loop: between two pushes the collector's receivers and GC walk megabytes of memory, which evicts the kernel's
// write path (page cache, ext4, memory cgroup) and the encoder from the CPU caches. Each push here follows a
// walk over 8 MiB (the "cold" runs) or nothing ("warm"), and only the push's own CPU time is counted. Writing to
// /dev/null leaves out the kernel's copy into the page cache: file minus /dev/null is the file write's share.
func BenchmarkPushBatch100ColdCache(b *testing.B) {
	ld := testLogs(100)
	for _, dest := range []string{"file", "dev_null"} {
		for _, churn := range []int{0, 8 << 20} {
			name := dest + "/warm"
			if churn > 0 {
				name = dest + "/cold"
			}
			b.Run(name, func(b *testing.B) {
				cfg := createDefaultConfig().(*Config)
				cfg.Path, cfg.MaxBytes = "/dev/null", 0
				if dest == "file" {
					cfg.Path = filepath.Join(b.TempDir(), "app.jsonl")
				}
				fe := startPushPath(b, cfg)
				// The push runs on this goroutine; pinned to one thread, that thread's CPU time is the push's.
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				working := make([]byte, churn)
				var pushCPU time.Duration
				var sum byte
				for b.Loop() {
					for i := 0; i < len(working); i += 64 {
						working[i]++
						sum += working[i]
					}
					before := logstest.ThreadCPU()
					if err := fe.pushLogs(context.Background(), ld); err != nil {
						b.Fatal(err)
					}
					pushCPU += logstest.ThreadCPU() - before
				}
				b.ReportMetric(float64(pushCPU.Nanoseconds())/float64(b.N), "push-cpu-ns/op")
				b.ReportMetric(float64(pushCPU.Nanoseconds())/float64(b.N*ld.LogRecordCount()), "push-cpu-ns/record")
				if sum == 1 { // keeps the walk from being optimised away; never true in practice
					b.Log(sum)
				}
			})
		}
	}
}

// BenchmarkAppendBySize is the kernel's side of a push alone: appending to a file with write(2), the same bytes
// per op in calls of different sizes. 29,600 bytes is one telemetrygen request as this exporter encodes it (100
// records of 296 bytes: what make bench-e2e writes per request), 59,200 two of them written together (group
// commit), 32,768 and 262,144 sizes aligned to the file's offset. Linux's page cache gives a write folios as
// large as its length and the offset's alignment allow, and each folio costs a fixed amount (allocation, LRU,
// memory cgroup, ext4's block reservation), so the CPU per byte falls with larger and aligned writes. What it
// shows: acknowledging each request once it is in the kernel costs what writes of one request's size cost;
// only grouping (concurrent requests) makes them larger. Each size is written to a plain *os.File ("os_file")
// and through the exporter's own writer ("writer", which reserves the file's blocks ahead of its end).
func BenchmarkAppendBySize(b *testing.B) {
	const perOp = 1 << 20
	for _, size := range []int{29600, 32768, 59200, 262144} {
		for _, through := range []string{"os_file", "writer"} {
			b.Run(strconv.Itoa(size)+"/"+through, func(b *testing.B) {
				path := filepath.Join(b.TempDir(), "append.jsonl")
				var out appender
				var err error
				if through == "writer" {
					out, err = openFileWriter(osFileSystem, path, WriteModeBuffered)
				} else {
					out, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, fileMode)
				}
				if err != nil {
					b.Fatal(err)
				}
				defer out.Close()
				benchmarkAppend(b, out, size, perOp)
			})
		}
	}
}

// appender is what BenchmarkAppendBySize writes to: an *os.File or a fileWriter.
type appender interface {
	Write(p []byte) (int, error)
	Truncate(size int64) error
	Close() error
}

func benchmarkAppend(b *testing.B, out appender, size, perOp int) {
	chunk := make([]byte, size)
	for i := range chunk {
		chunk[i] = 'a' + byte(i%26)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var cpu time.Duration
	for b.Loop() {
		before := logstest.ThreadCPU()
		for written := 0; written < perOp; written += size {
			if _, err := out.Write(chunk); err != nil {
				b.Fatal(err)
			}
		}
		cpu += logstest.ThreadCPU() - before
		// A fresh file now and then keeps the page cache from growing by gigabytes.
		if err := out.Truncate(0); err != nil {
			b.Fatal(err)
		}
	}
	written := float64(b.N) * float64((perOp+size-1)/size*size)
	b.ReportMetric(float64(cpu.Nanoseconds())/written*1024, "cpu-ns/KiB")
	b.ReportMetric(float64(cpu.Nanoseconds())/written*29600, "cpu-ns/29600B")
}
