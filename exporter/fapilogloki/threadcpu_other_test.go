//go:build !linux

package fapilogloki

import "time"

// threadCPU is not measured outside Linux; the benchmarks then report wall time only.
func threadCPU() time.Duration { return 0 }
