package logstest

import (
	"runtime"
	"runtime/debug"
)

// KeepGCMarking keeps the garbage collector marking until the returned stop is called, as it is for much of the
// time in a collector under load: a goroutine holds a heap of pointers for the collector to trace and keeps
// replacing them, with GOGC lowered so that one cycle follows another, and GOMAXPROCS at least 2 so that the
// collector runs beside the benchmark goroutine even under -cpu 1. Code measured meanwhile pays the write barrier
// that marking turns on for every pointer stored into the heap, which a benchmark of code that allocates nothing
// never sees otherwise. A benchmark goroutine locked to its thread still measures its own work alone with
// ThreadCPU; the collector's and the goroutine's work runs on other threads. stop restores GOGC and GOMAXPROCS
// and returns the number of collections that completed meanwhile.
func KeepGCMarking() (stop func() (collections uint32)) {
	procs := runtime.GOMAXPROCS(0)
	runtime.GOMAXPROCS(max(procs, 2))
	gogc := debug.SetGCPercent(1)
	start := collections()
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		type node struct{ next, other *node }
		live := make([]*node, 1<<18) // 8 MiB of nodes to trace, each pointing at two others
		for i := range live {
			live[i] = &node{}
		}
		for i := 0; ; i++ {
			if i%4096 == 0 {
				select {
				case <-done:
					return
				default:
				}
			}
			j := i % len(live)
			live[j] = &node{next: live[(j*7+1)%len(live)], other: live[(j*13+5)%len(live)]}
		}
	}()
	return func() uint32 {
		close(done)
		<-finished
		debug.SetGCPercent(gogc)
		runtime.GOMAXPROCS(procs)
		return collections() - start
	}
}

func collections() uint32 {
	var stats runtime.MemStats
	runtime.ReadMemStats(&stats)
	return stats.NumGC
}
