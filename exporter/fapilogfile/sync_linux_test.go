package fapilogfile

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// /dev/full fails every write with ENOSPC: a disk that stays full.
func TestExporter_ByDefaultALastingWriteFailureGoesBackToTheCallerWithinItsDeadline(t *testing.T) {
	exp, _, _ := startDefault(t, func(cfg *Config) { cfg.Path, cfg.MaxBytes = "/dev/full", 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	began := time.Now()
	err := exp.ConsumeLogs(ctx, testLogs(3))
	require.ErrorIs(t, err, syscall.ENOSPC, "not queued and acknowledged: the client keeps the records and retries")
	assert.Less(t, time.Since(began), 2*time.Second, "the retry does not wait past the request's deadline")
}
