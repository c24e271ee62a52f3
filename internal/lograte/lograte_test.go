package lograte

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestGate_OneLinePerInterval(t *testing.T) {
	var g Gate
	start := time.Unix(1_000, 0)
	assert.True(t, g.Allow(start, time.Minute), "the first line passes")
	assert.False(t, g.Allow(start.Add(59*time.Second), time.Minute))
	assert.True(t, g.Allow(start.Add(time.Minute), time.Minute), "a minute later")
	assert.False(t, g.Allow(start.Add(time.Minute+time.Second), time.Minute))
}

func TestGate_ConcurrentCallersLetOneThrough(t *testing.T) {
	var g Gate
	var passed atomic.Int64
	now := time.Now()
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if g.Allow(now, time.Minute) {
				passed.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.EqualValues(t, 1, passed.Load())
}
