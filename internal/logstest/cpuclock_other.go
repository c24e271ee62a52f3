//go:build !linux

package logstest

import "time"

// ThreadCPU is not measured outside Linux: it returns 0, and benchmarks then report wall time only.
func ThreadCPU() time.Duration { return 0 }

// ProcessCPU is not measured outside Linux: it returns 0, and benchmarks then report wall time only.
func ProcessCPU() time.Duration { return 0 }
