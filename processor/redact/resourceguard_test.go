package redact

import (
	"context"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// A resource with more attributes than max_keys_scanned is over the limit for each of its records: the README's
// "a resource over a limit counts each of its records", for the key budget as for the depth.
func TestTelemetry_AResourceOverMaxKeysCountsEachOfItsRecords(t *testing.T) {
	for _, action := range []GuardrailAction{GuardrailReplaceSubtree, GuardrailWarn} {
		t.Run(string(action), func(t *testing.T) {
			cfg := testConfig()
			cfg.MaxKeysScanned = 3
			cfg.OnGuardrailExceeded = action
			p := newObservedProcessor(t, cfg)

			ld := plog.NewLogs()
			rl := ld.ResourceLogs().AppendEmpty()
			for i := range 5 {
				rl.Resource().Attributes().PutStr("k"+strconv.Itoa(i), "v")
			}
			lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
			lrs.AppendEmpty().Body().SetStr("a")
			lrs.AppendEmpty().Body().SetStr("b")

			_, err := p.processLogs(context.Background(), ld)
			require.NoError(t, err)
			assert.Equal(t, map[string]int64{"action=" + string(action) + ",guardrail=max_keys_scanned": 2},
				p.counter(t, metricGuardrailHits))
		})
	}
}
