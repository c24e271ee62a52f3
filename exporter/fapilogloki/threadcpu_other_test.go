//go:build !linux

package fapilogloki

import "time"

// threadCPU and processCPU are not measured outside Linux; the benchmarks then report wall time only.
func threadCPU() time.Duration { return 0 }

func processCPU() time.Duration { return 0 }
