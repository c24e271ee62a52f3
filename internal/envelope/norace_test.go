//go:build !race

package envelope

// raceHeapFactor is 1 without the race detector: heap bounds hold as measured (see race_test.go).
const raceHeapFactor = 1
