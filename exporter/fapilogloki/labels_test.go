package fapilogloki

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/fapilog/fapilog-otelcol/internal/lokilabel"
)

func TestValueGuard_KnownValuesKeepFlowingAfterTheCap(t *testing.T) {
	g := newValueGuard("user", 2, zap.NewNop(), nopTelemetry())
	assert.Equal(t, "a", g.admit("a"))
	assert.Equal(t, "b", g.admitBytes([]byte("b")))
	assert.Equal(t, lokilabel.OtherValue, g.admit("c"), "a third value is over the cap")
	assert.Equal(t, lokilabel.OtherValue, g.admitBytes([]byte("d")))
	assert.Equal(t, "a", g.admit("a"), "values seen before the cap keep their stream")
	assert.Equal(t, "b", g.admitBytes([]byte("b")))
}

func TestValueGuard_NoCapPassesEveryValue(t *testing.T) {
	g := newValueGuard("user", 0, zap.NewNop(), nopTelemetry())
	for _, v := range []string{"a", "b", "c", "d"} {
		assert.Equal(t, v, g.admit(v))
		assert.Equal(t, v, g.admitBytes([]byte(v)))
	}
	assert.Empty(t, g.seen, "nothing is remembered without a cap")
}

func TestValueGuard_WarnsAtMostOncePerInterval(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	g := newValueGuard("data_user", 1, zap.New(core), nopTelemetry())
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	g.now = func() time.Time { return now }
	g.admit("kept")
	g.admit("x1")
	require.Equal(t, 1, logs.Len(), "the first replaced value warns")
	assert.EqualValues(t, 1, logs.All()[0].ContextMap()["values_replaced_since_last_warning"])
	now = now.Add(30 * time.Second)
	g.admit("x2")
	g.admit("x3")
	assert.Equal(t, 1, logs.Len(), "no second warning within a minute")
	now = now.Add(31 * time.Second)
	g.admit("x4")
	require.Equal(t, 2, logs.Len())
	w := logs.All()[1].ContextMap()
	assert.EqualValues(t, 3, w["values_replaced_since_last_warning"], "the quiet ones are counted in the next warning")
	assert.Equal(t, "data_user", w["label"])
	assert.EqualValues(t, 1, w["max_label_values"])
}

func TestValueGuard_KnownValuesCostNoAllocation(t *testing.T) {
	g := newValueGuard("user", 10, zap.NewNop(), nopTelemetry())
	g.admit("known")
	b := []byte("known")
	allocs := testing.AllocsPerRun(100, func() {
		_ = g.admit("known")
		_ = g.admitBytes(b)
	})
	assert.Zero(t, allocs)
}

func TestLabeler_SortsLabelsAndSanitisesStaticValues(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Labels = StaticLabels{"zone": "eu west", "app": "api"}
	cfg.LabelKeys = []string{"level", "data.region"}
	l := newLabeler(cfg, zap.NewNop(), nopTelemetry())
	var names []string
	for _, d := range l.defs {
		names = append(names, d.name)
	}
	assert.Equal(t, []string{"app", "data_region", "level", "zone"}, names)
	assert.Equal(t, "eu_west", l.defs[3].value)
	assert.Equal(t, -1, l.defs[0].dynamic)
	assert.Equal(t, 1, l.defs[1].dynamic)
	assert.Equal(t, 0, l.defs[2].dynamic)
}
