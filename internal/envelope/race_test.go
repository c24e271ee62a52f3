//go:build race

package envelope

// raceHeapFactor loosens heap bounds under the race detector, whose runtime counts its own allocations in
// MemStats.TotalAlloc (measured: up to 1.3x the encoder's own for a 100,000-level chain).
const raceHeapFactor = 2
