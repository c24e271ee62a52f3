// Package telemetrytest reads what a component reports to the collector, for tests: its metrics through the
// OpenTelemetry SDK's manual reader, its component status through a recording host, and checks that every metric
// it emits is declared in its metadata.yaml and documented in its documentation.md.
package telemetrytest

import (
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"go.yaml.in/yaml/v3"
)

// Metrics is a component's MeterProvider and what it recorded.
type Metrics struct {
	reader   *sdkmetric.ManualReader
	provider *sdkmetric.MeterProvider
}

// NewSettings returns telemetry settings whose metrics are read by the returned Metrics.
func NewSettings(t testing.TB) (component.TelemetrySettings, *Metrics) {
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = provider.Shutdown(context.Background()) })
	set := componenttest.NewNopTelemetrySettings()
	set.MeterProvider = provider
	return set, &Metrics{reader: reader, provider: provider}
}

// Collect reads every metric recorded so far.
func (m *Metrics) Collect(t testing.TB) []metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, m.reader.Collect(context.Background(), &rm))
	var out []metricdata.Metrics
	for _, sm := range rm.ScopeMetrics {
		out = append(out, sm.Metrics...)
	}
	return out
}

// Int returns the value of the int64 sum or gauge name for the data point whose attributes include attrs (all
// points summed when attrs is empty; 0 when there is none).
func (m *Metrics) Int(t testing.TB, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	var total int64
	for _, md := range m.Collect(t) {
		if md.Name != name {
			continue
		}
		var points []metricdata.DataPoint[int64]
		switch data := md.Data.(type) {
		case metricdata.Sum[int64]:
			points = data.DataPoints
		case metricdata.Gauge[int64]:
			points = data.DataPoints
		default:
			t.Fatalf("%s is a %T, not an int64 sum or gauge", name, md.Data)
		}
		for _, p := range points {
			if hasAll(p.Attributes, attrs) {
				total += p.Value
			}
		}
	}
	return total
}

func hasAll(set attribute.Set, attrs []attribute.KeyValue) bool {
	for _, kv := range attrs {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

// AssertDeclared checks that every metric recorded so far under the component's scope name (its
// metadata.ScopeName: metrics of the collector's own helpers, exporterhelper or confighttp, are theirs to declare)
// is declared under telemetry.metrics in the metadata.yaml at metadataPath (without mdatagen's otelcol_ prefix, with
// the same description and unit) and has a section in the documentation.md beside it.
func (m *Metrics) AssertDeclared(t testing.TB, scopeName, metadataPath string) {
	t.Helper()
	raw, err := os.ReadFile(metadataPath)
	require.NoError(t, err)
	var md struct {
		Telemetry struct {
			Metrics map[string]struct {
				Description string   `yaml:"description"`
				Unit        string   `yaml:"unit"`
				Attributes  []string `yaml:"attributes"`
			} `yaml:"metrics"`
		} `yaml:"telemetry"`
		Attributes map[string]struct {
			Enum []string `yaml:"enum"`
		} `yaml:"attributes"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &md))
	doc, err := os.ReadFile(strings.TrimSuffix(metadataPath, "metadata.yaml") + "documentation.md")
	require.NoError(t, err, "documentation.md beside metadata.yaml")
	var emitted []metricdata.Metrics
	var rm metricdata.ResourceMetrics
	require.NoError(t, m.reader.Collect(context.Background(), &rm))
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name == scopeName {
			emitted = append(emitted, sm.Metrics...)
		}
	}
	require.NotEmpty(t, emitted, "nothing was recorded under %s: the check would prove nothing", scopeName)
	for _, e := range emitted {
		key := strings.TrimPrefix(e.Name, "otelcol_")
		decl, ok := md.Telemetry.Metrics[key]
		require.True(t, ok, "%s is emitted but %s does not declare %q", e.Name, metadataPath, key)
		require.Equal(t, strings.TrimSpace(decl.Description), e.Description, "description of %s", key)
		require.Equal(t, decl.Unit, e.Unit, "unit of %s", key)
		require.Contains(t, string(doc), "### "+e.Name+"\n", "documentation.md documents %s", e.Name)
		section := docSection(string(doc), e.Name)
		for _, attr := range decl.Attributes {
			require.Contains(t, section, "| "+attr+" |", "documentation.md lists attribute %s of %s", attr, e.Name)
		}
		for _, set := range attributeSets(t, e.Data) {
			for _, kv := range set.ToSlice() {
				key := string(kv.Key)
				require.Contains(t, decl.Attributes, key, "%s carries attribute %s, which %s does not declare for it", e.Name, key, metadataPath)
				if enum := md.Attributes[key].Enum; len(enum) > 0 {
					require.Contains(t, enum, kv.Value.Emit(), "%s=%s on %s is not in the enum of %s", key, kv.Value.Emit(), e.Name, metadataPath)
				}
			}
		}
	}
}

// docSection is the part of documentation.md about one metric: from its heading to the next.
func docSection(doc, metric string) string {
	_, after, _ := strings.Cut(doc, "### "+metric+"\n")
	section, _, _ := strings.Cut(after, "\n### ")
	return section
}

// attributeSets lists the attribute sets of a metric's data points (the exporters record sums and gauges).
func attributeSets(t testing.TB, data metricdata.Aggregation) []attribute.Set {
	switch d := data.(type) {
	case metricdata.Sum[int64]:
		return setsOf(d.DataPoints)
	case metricdata.Sum[float64]:
		return setsOf(d.DataPoints)
	case metricdata.Gauge[int64]:
		return setsOf(d.DataPoints)
	case metricdata.Gauge[float64]:
		return setsOf(d.DataPoints)
	}
	require.Failf(t, "unexpected aggregation", "%T: teach attributeSets to read it", data)
	return nil
}

func setsOf[N int64 | float64](points []metricdata.DataPoint[N]) []attribute.Set {
	sets := make([]attribute.Set, len(points))
	for i, dp := range points {
		sets[i] = dp.Attributes
	}
	return sets
}

// StatusHost is a component.Host that records the component status reported to it.
type StatusHost struct {
	component.Host
	mu     sync.Mutex
	events []*componentstatus.Event
}

// NewStatusHost returns a host without extensions that records status events.
func NewStatusHost() *StatusHost { return &StatusHost{Host: componenttest.NewNopHost()} }

// Report implements componentstatus.Reporter.
func (h *StatusHost) Report(ev *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, ev)
}

// Statuses lists the statuses reported so far, in order.
func (h *StatusHost) Statuses() []componentstatus.Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]componentstatus.Status, len(h.events))
	for i, ev := range h.events {
		out[i] = ev.Status()
	}
	return out
}

// Last is the last status reported (StatusNone when none was).
func (h *StatusHost) Last() componentstatus.Status {
	s := h.Statuses()
	if len(s) == 0 {
		return componentstatus.StatusNone
	}
	return s[len(s)-1]
}

// Seen reports whether st was reported at least once.
func (h *StatusHost) Seen(st componentstatus.Status) bool { return slices.Contains(h.Statuses(), st) }

// Observed is an exporter started as the collector starts it, with everything it reports: its logs, its metrics
// (its own, the delivery path's and exporterhelper's) and its component status.
type Observed struct {
	Exporter exporter.Logs
	Logs     *observer.ObservedLogs
	Metrics  *Metrics
	Host     *StatusHost
}

// StartExporter validates cfg, builds the logs exporter with f (component ID: the bare type, so metric series carry
// exporter=<type>), starts it with a status-recording host and shuts it down when the test ends.
func StartExporter(t testing.TB, f exporter.Factory, cfg component.Config) *Observed {
	t.Helper()
	require.NoError(t, cfg.(interface{ Validate() error }).Validate())
	core, logs := observer.New(zapcore.DebugLevel)
	set := exportertest.NewNopSettings(f.Type())
	set.ID = component.NewID(f.Type())
	var metrics *Metrics
	set.TelemetrySettings, metrics = NewSettings(t)
	set.Logger = zap.New(core)
	exp, err := f.CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	host := NewStatusHost()
	require.NoError(t, exp.Start(context.Background(), host))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
	return &Observed{Exporter: exp, Logs: logs, Metrics: metrics, Host: host}
}
