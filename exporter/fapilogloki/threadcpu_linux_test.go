package fapilogloki

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadCPU is the CPU time the calling OS thread has used (the caller locks its goroutine to the thread). The
// benchmarks report it because on a shared machine wall time mostly measures the other tenants.
func threadCPU() time.Duration { return cpuClock(unix.CLOCK_THREAD_CPUTIME_ID) }

// processCPU is the CPU time of the whole test process: the thread's plus the garbage collector's background
// work, which runs on other threads whenever the measured code allocates.
func processCPU() time.Duration { return cpuClock(unix.CLOCK_PROCESS_CPUTIME_ID) }

func cpuClock(clock int32) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(clock, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
