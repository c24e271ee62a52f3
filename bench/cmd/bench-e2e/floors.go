package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// floor is an exporter Go benchmark that measures request building on the typical batch: encode every record,
// group, and serialize the request bodies, before the network.
type floor struct {
	exporter string
	pkg      string
	bench    string // -bench pattern, one benchmark
	// recordsPerOp converts ns/op to records/s when the benchmark reports no records/s metric itself.
	recordsPerOp float64
}

var floors = []floor{
	{"fapilogloki", "./exporter/fapilogloki", "^BenchmarkBuildPushRequest$/^protobuf$", 100},
	{"fapilogcloudwatch", "./exporter/fapilogcloudwatch", "^BenchmarkEncodeAndBuild$/^10000_records$/^one_stream$", 10_000},
}

type floorResult struct {
	floor
	recordsPerSecond []float64
	loadAverage      string // the machine's 1-minute load average once the benchmark ran: how shared the core was
	err              error
}

// measureFloors runs each floor benchmark with GOMAXPROCS 1 (-cpu 1), count times, in the repository at src.
func measureFloors(src string, count int) []floorResult {
	var out []floorResult
	for _, f := range floors {
		res := floorResult{floor: f}
		cmd := exec.Command("go", "test", "-run", "^$", "-bench", f.bench, "-benchtime", "1s", "-count",
			strconv.Itoa(count), "-cpu", "1", f.pkg)
		cmd.Dir = src
		raw, err := cmd.CombinedOutput()
		if err != nil {
			res.err = fmt.Errorf("go test %s: %v: %s", f.pkg, err, lastLines(raw, 5))
		} else if res.recordsPerSecond = parseRecordsPerSecond(raw, f.recordsPerOp); len(res.recordsPerSecond) == 0 {
			res.err = fmt.Errorf("benchmark %s not found in %s", f.bench, f.pkg)
		}
		res.loadAverage = loadAverage()
		out = append(out, res)
	}
	return out
}

// parseRecordsPerSecond reads `go test -bench` output: per result line, the records/cpu-s metric (records per
// second of CPU time: what a core can do, whatever else the machine is running), else records/s, else ns/op
// converted with recordsPerOp.
func parseRecordsPerSecond(out []byte, recordsPerOp float64) []float64 {
	var xs []float64
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		perCPUSecond, perSecond, nsPerOp := 0.0, 0.0, 0.0
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			switch fields[i+1] {
			case "records/cpu-s":
				perCPUSecond = v
			case "records/s":
				perSecond = v
			case "ns/op":
				nsPerOp = v
			}
		}
		if perCPUSecond > 0 {
			perSecond = perCPUSecond
		} else if perSecond == 0 && nsPerOp > 0 {
			perSecond = recordsPerOp * 1e9 / nsPerOp
		}
		if perSecond > 0 {
			xs = append(xs, perSecond)
		}
	}
	return xs
}

// loadAverage is the first field of /proc/loadavg, or "?" when it cannot be read.
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(raw))[0]
}

func lastLines(raw []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
