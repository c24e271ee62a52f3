package logstest

import (
	"time"

	"golang.org/x/sys/unix"
)

// ThreadCPU is the CPU time the calling OS thread has used. A benchmark that reports it locks its goroutine to
// the thread (runtime.LockOSThread) and reads the clock before and after the loop: on a shared machine wall time
// mostly measures the other tenants, the thread's CPU time only the code measured. It is 0 where the clock cannot
// be read.
func ThreadCPU() time.Duration { return cpuClock(unix.CLOCK_THREAD_CPUTIME_ID) }

// ProcessCPU is the CPU time of the whole process: the benchmark thread's plus what runs on other threads for
// it, the garbage collector's background marking in particular, or a loopback server's. It is 0 where the
// clock cannot be read.
func ProcessCPU() time.Duration { return cpuClock(unix.CLOCK_PROCESS_CPUTIME_ID) }

func cpuClock(clock int32) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(clock, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
