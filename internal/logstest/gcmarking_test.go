package logstest

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestKeepGCMarking_RunsCollectionsUntilStoppedThenRestoresSettings(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(77))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))

	stop := KeepGCMarking()
	time.Sleep(200 * time.Millisecond)
	if ran := stop(); ran < 3 {
		t.Fatalf("%d collections in 200 ms; want the collector kept busy", ran)
	}
	if gogc := debug.SetGCPercent(77); gogc != 77 {
		t.Fatalf("GOGC is %d after stop; want it restored to 77", gogc)
	}
	if procs := runtime.GOMAXPROCS(0); procs != 1 {
		t.Fatalf("GOMAXPROCS is %d after stop; want it restored to 1", procs)
	}
}
