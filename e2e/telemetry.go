package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Sample is one series of the collector's own metrics, as its Prometheus endpoint exposes it.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Samples is one scrape of the collector's own metrics.
type Samples []Sample

// ScrapeMetrics reads the collector's Prometheus endpoint at 127.0.0.1:port (configured with a
// service.telemetry.metrics.readers pull exporter); nil when it does not answer (not started yet, or stopped).
func ScrapeMetrics(t testing.TB, port int) Samples {
	t.Helper()
	// No keep-alive: nothing of the scrape outlives the test.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil
	}
	var out Samples
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		space := strings.LastIndexByte(line, ' ')
		if space < 0 {
			t.Fatalf("unexpected exposition line %q", line)
		}
		v, err := strconv.ParseFloat(line[space+1:], 64)
		if err != nil {
			t.Fatalf("unexpected value in %q", line)
		}
		s := Sample{Name: line[:space], Labels: map[string]string{}, Value: v}
		if open := strings.IndexByte(line, '{'); open >= 0 && open < space {
			s.Name = line[:open]
			for _, pair := range splitLabels(line[open+1 : strings.LastIndexByte(line[:space], '}')]) {
				if k, v, ok := strings.Cut(pair, "="); ok {
					s.Labels[k] = strings.Trim(v, `"`)
				}
			}
		}
		out = append(out, s)
	}
	return out
}

// splitLabels splits `a="x",b="y,z"` at the commas between labels.
func splitLabels(s string) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// Sum adds up the series of name (with or without the _total suffix of counters) whose labels include labels
// ("key", "value" pairs).
func (s Samples) Sum(name string, labels ...string) float64 {
	total := 0.0
	for _, sample := range s {
		if sample.Name != name && sample.Name != name+"_total" {
			continue
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			if sample.Labels[labels[i]] != labels[i+1] {
				match = false
			}
		}
		if match {
			total += sample.Value
		}
	}
	return total
}
