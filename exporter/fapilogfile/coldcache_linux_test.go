package fapilogfile

import (
	"context"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
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
					before := threadCPUTime()
					if err := fe.pushLogs(context.Background(), ld); err != nil {
						b.Fatal(err)
					}
					pushCPU += threadCPUTime() - before
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

// threadCPUTime is the calling thread's user and system CPU time.
func threadCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
