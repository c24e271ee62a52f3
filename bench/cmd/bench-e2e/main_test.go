package main

import (
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestCountJSONRecords_CountsTopLevelElementsWhateverTheStringsHold(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want int64
	}{
		{"empty array", `[]`, 0},
		{"empty body", ``, 0},
		{"one object", `[{"a":1}]`, 1},
		{"nested and tricky strings", `[{"m":"a, b] [c","d":{"x":[1,2,{"y":"}"}]}}, {"m":"quote \" , ]"}, {"e":"\\"}]`, 3},
		{"scalars", `[1, "two", null, true]`, 4},
		{"ndjson", "{\"a\":1}\n{\"b\":2}\n\n{\"c\":[1,2]}\n", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := countJSONRecords([]byte(tc.body)); got != tc.want {
				t.Fatalf("countJSONRecords(%s) = %d, want %d", tc.body, got, tc.want)
			}
		})
	}
}

func TestParseProm_SumsEverySeriesOfAMetricAndDropsTotal(t *testing.T) {
	m, err := parseProm(strings.NewReader(`# HELP otelcol_exporter_sent_log_records Number of log records sent.
# TYPE otelcol_exporter_sent_log_records counter
otelcol_exporter_sent_log_records_total{exporter="a",otel_scope_name="x y"} 1200
otelcol_exporter_sent_log_records_total{exporter="b"} 34
otelcol_receiver_accepted_log_records{receiver="otlp",transport="grpc"} 1.5e+06
otelcol_process_uptime 12.5 1700000000000
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := m["otelcol_exporter_sent_log_records"]; got != 1234 {
		t.Fatalf("sent = %v, want 1234", got)
	}
	if got := m["otelcol_receiver_accepted_log_records"]; got != 1.5e6 {
		t.Fatalf("accepted = %v, want 1500000", got)
	}
	if got := m["otelcol_process_uptime"]; got != 12.5 {
		t.Fatalf("uptime = %v, want 12.5 (the timestamp is not the value)", got)
	}
}

func TestParseRecordsPerSecond_PrefersTheBenchmarksOwnMetricElseConvertsNsPerOp(t *testing.T) {
	out := []byte(`goos: linux
BenchmarkEncodeAndBuild/10000_records/one_stream   36   32173626 ns/op   236.81 MB/s   761.9 bytes/record   310814 records/s   7678042 B/op   1 allocs/op
BenchmarkBuildPushRequest/protobuf   7405   400000 ns/op   188.82 MB/s   9698 body_B   9728 B/op   1 allocs/op
PASS
`)
	got := parseRecordsPerSecond(out, 100)
	if len(got) != 2 || got[0] != 310814 || math.Abs(got[1]-250000) > 1e-6 {
		t.Fatalf("got %v, want [310814 250000]", got)
	}
	cpu := []byte("BenchmarkBuildPushRequest/protobuf   7405   1500 ns/op   700000 records/s   861000 records/cpu-s   0 B/op\n")
	if got := parseRecordsPerSecond(cpu, 1); len(got) != 1 || got[0] != 861000 {
		t.Fatalf("got %v, want [861000]: CPU time wins over a loaded machine's wall time", got)
	}
}

func TestRenderConfig_IsYAMLWithTheExporterSettingsUnderItsID(t *testing.T) {
	text, err := renderConfig("fapilogfile", "path: /tmp/x/app.jsonl\nmax_bytes: 0\n", 1, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Exporters  map[string]map[string]any `yaml:"exporters"`
		Extensions map[string]map[string]any `yaml:"extensions"`
		Service    struct {
			Extensions []string `yaml:"extensions"`
			Pipelines  map[string]struct {
				Receivers, Processors, Exporters []string
			} `yaml:"pipelines"`
		} `yaml:"service"`
	}
	if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
		t.Fatalf("%v:\n%s", err, text)
	}
	if got := cfg.Exporters["fapilogfile"]["path"]; got != "/tmp/x/app.jsonl" {
		t.Fatalf("exporter path = %v:\n%s", got, text)
	}
	p := cfg.Service.Pipelines["logs"]
	if strings.Join(p.Receivers, ",") != "otlp" || strings.Join(p.Processors, ",") != "memory_limiter" ||
		strings.Join(p.Exporters, ",") != "fapilogfile" {
		t.Fatalf("pipeline = %+v", p)
	}
	if cfg.Extensions["pprof"]["endpoint"] != "127.0.0.1:3" || cfg.Service.Extensions[0] != "pprof" {
		t.Fatalf("pprof not enabled on port 3:\n%s", text)
	}

	// Nop has no settings; measured runs have no pprof.
	text, err = renderConfig("nop", "", 1, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
		t.Fatalf("%v:\n%s", err, text)
	}
	if strings.Contains(text, "pprof") {
		t.Fatalf("pprof enabled in a measured run:\n%s", text)
	}
}

func TestCPUSecondsAndRSS_ReadThisProcess(t *testing.T) {
	before, err := cpuSeconds(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	ruBefore := rusageSeconds(t)
	// Spin until getrusage says this process used 200 ms more CPU (bounded: the machine may be shared).
	for deadline := time.Now().Add(10 * time.Second); rusageSeconds(t)-ruBefore < 0.2 && time.Now().Before(deadline); {
	}
	after, err := cpuSeconds(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	want := rusageSeconds(t) - ruBefore
	if got := after - before; math.Abs(got-want) > 0.05 {
		t.Fatalf("/proc says %.2f CPU-s, getrusage %.2f", got, want)
	}
	now, err := rss(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	peak, err := peakRSS(os.Getpid()) // after: the high-water mark can only have grown since
	if err != nil {
		t.Fatal(err)
	}
	if now <= 0 || peak < now {
		t.Fatalf("RSS %d, peak %d", now, peak)
	}
}

func rusageSeconds(t *testing.T) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func TestPairedRatios_DividesRunsOfTheSameRound(t *testing.T) {
	a := []*runResult{{round: 1, reported: 200, cpu: 1}, {round: 2, reported: 300, cpu: 1}}
	b := []*runResult{{round: 2, reported: 100, cpu: 1}, {round: 1, reported: 100, cpu: 1}}
	got := pairedRatios(a, b, (*runResult).recordsPerCPU)
	if len(got) != 2 || got[0] != 2 || got[1] != 3 {
		t.Fatalf("got %v, want [2 3]", got)
	}
	if s := spread(got, fixed(2)); s != "2.50 (2.00–3.00)" {
		t.Fatalf("spread = %q", s)
	}
	if s := thousands(1234567.4); s != "1,234,567" {
		t.Fatalf("thousands = %q", s)
	}
}

func TestCloudWatchRecorder_CountsAcceptedAndRefusedPutLogEvents(t *testing.T) {
	var target cloudwatchTarget
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("X-Test-Refuse") {
		case "typed":
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"com.amazonaws.logs#ResourceNotFoundException","message":"no stream"}`))
			return
		case "untyped":
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	srv := httptest.NewServer(target.record(upstream))
	defer srv.Close()
	put := func(body, refuse string) {
		req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Target", "Logs_20140328.PutLogEvents")
		req.Header.Set("X-Test-Refuse", refuse)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	put(`{"logEvents":[{"message":"abc","timestamp":1},{"message":"de","timestamp":2}]}`, "")
	put(`{"logEvents":[{"message":"abc","timestamp":1}]}`, "typed")   // an AWS error answer
	put(`{"logEvents":[{"message":"abc","timestamp":1}]}`, "untyped") // an error without an AWS type
	put(`{"logEvents":[`, "")                                         // a body that is not a request

	want := putLogEvents{events: 2, bytes: 3 + 2 + 2*cwPerEventOverhead}
	if len(target.requests) != 1 || target.requests[0] != want {
		t.Fatalf("accepted requests = %+v, want [%+v]", target.requests, want)
	}
	wantRefused := map[string]int{"ResourceNotFoundException": 1, "HTTP 503": 1, "malformed request": 1}
	if !maps.Equal(target.refused, wantRefused) {
		t.Fatalf("refused = %v, want %v", target.refused, wantRefused)
	}
	if delivered, err := target.delivered(); err != nil || delivered != 2 {
		t.Fatalf("delivered = %d, %v; want 2 records", delivered, err)
	}

	r := &runResult{extra: map[string]float64{}}
	target.summarize(r)
	if r.extra["cw_refused"] != 3 || r.extra["cw_refused:ResourceNotFoundException"] != 1 {
		t.Fatalf("run result = %v, want 3 refused, 1 of them ResourceNotFoundException", r.extra)
	}
	other := &runResult{extra: map[string]float64{"cw_refused": 1, "cw_refused:ResourceNotFoundException": 1}}
	got := refusalsByReason([]*runResult{r, other})
	wantReasons := " (by answer, all runs together: HTTP 503 1, ResourceNotFoundException 2, malformed request 1)"
	if got != wantReasons {
		t.Fatalf("refusalsByReason = %q, want %q", got, wantReasons)
	}
}

func TestVerdict_NamesTheSideOfAMissedBound(t *testing.T) {
	for _, tc := range []struct {
		value, bound float64
		atMost       bool
		want         string
	}{
		{0.85, 0.85, false, "meets"},
		{0.84, 0.85, false, "**below**"},
		{1.00, 1.00, true, "meets"},
		{1.01, 1.00, true, "**above**"},
		{math.NaN(), 1.00, true, "not measured"},
	} {
		if got := verdict(tc.value, tc.bound, tc.atMost); got != tc.want {
			t.Errorf("verdict(%v, %v, atMost=%v) = %q, want %q", tc.value, tc.bound, tc.atMost, got, tc.want)
		}
	}
}
