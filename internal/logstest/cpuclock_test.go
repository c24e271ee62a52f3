package logstest

import (
	"runtime"
	"testing"
	"time"
)

// The benchmarks divide these clocks by the records they encoded, so they must advance with work done on the
// thread and count nothing of the time it spends asleep.
func TestCPUClocks_CountWorkNotSleep(t *testing.T) {
	if runtime.GOOS != "linux" {
		if ThreadCPU() != 0 || ProcessCPU() != 0 {
			t.Fatal("outside Linux the clocks report 0, so that benchmarks fall back to wall time")
		}
		return
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	thread, process := ThreadCPU(), ProcessCPU()
	time.Sleep(50 * time.Millisecond)
	if slept := ThreadCPU() - thread; slept > 20*time.Millisecond {
		t.Fatalf("the thread clock advanced %v during a 50 ms sleep", slept)
	}
	thread = ThreadCPU()
	for deadline, giveUp := thread+20*time.Millisecond, time.Now().Add(5*time.Second); ThreadCPU() < deadline && time.Now().Before(giveUp); {
	}
	if worked := ThreadCPU() - thread; worked < 20*time.Millisecond {
		t.Fatalf("the thread clock advanced %v over 20 ms of work", worked)
	}
	if ProcessCPU()-process < 20*time.Millisecond {
		t.Fatal("the process clock does not include the thread's work")
	}
}
