package logstest

import (
	"testing"

	"go.uber.org/goleak"
)

// KeepGCMarking's stop must end the goroutine it started.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
