package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
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
	otherCores       float64 // CPU the rest of the machine used while the benchmark ran, in cores: how shared it was
	err              error
}

// measureFloors runs each floor benchmark with GOMAXPROCS 1 (-cpu 1), count times, in the repository at src.
// The test binary is built first and runs once the machine is quiet: the network section's destinations
// (PostgreSQL's checkpointer, VictoriaLogs' merges) and the compiler would otherwise share the cores with it.
func measureFloors(src string, count int) []floorResult {
	var out []floorResult
	bin, err := os.MkdirTemp("", "bench-e2e-floors-")
	if err != nil {
		return []floorResult{{err: err}}
	}
	defer os.RemoveAll(bin)
	for i, f := range floors {
		res := floorResult{floor: f}
		res.recordsPerSecond, res.otherCores, res.err = runFloor(src, filepath.Join(bin, strconv.Itoa(i)+".test"), f, count)
		out = append(out, res)
	}
	return out
}

// runFloor builds f's test binary at testBinary, waits for a quiet machine and runs the benchmark count times;
// it returns the records per CPU-second of each run and the cores the rest of the machine used meanwhile.
func runFloor(src, testBinary string, f floor, count int) ([]float64, float64, error) {
	build := exec.Command("go", "test", "-c", "-o", testBinary, f.pkg)
	build.Dir = src
	if raw, err := build.CombinedOutput(); err != nil {
		return nil, 0, fmt.Errorf("go test -c %s: %v: %s", f.pkg, err, lastLines(raw, 5))
	}
	waitForQuiet(0.1, 30*time.Second)
	run := exec.Command(testBinary, "-test.run", "^$", "-test.bench", f.bench, "-test.benchtime", "1s",
		"-test.count", strconv.Itoa(count), "-test.cpu", "1")
	run.Dir = filepath.Join(src, f.pkg) // as go test runs it: testdata relative to the package
	busy0, err := machineBusySeconds()
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	raw, err := run.CombinedOutput()
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %v: %s", f.pkg, err, lastLines(raw, 5))
	}
	wall := time.Since(start).Seconds()
	busy1, err := machineBusySeconds()
	if err != nil {
		return nil, 0, err
	}
	own := (run.ProcessState.UserTime() + run.ProcessState.SystemTime()).Seconds()
	xs := parseRecordsPerSecond(raw, f.recordsPerOp)
	if len(xs) == 0 {
		return nil, 0, fmt.Errorf("benchmark %s not found in %s", f.bench, f.pkg)
	}
	return xs, max(0, busy1-busy0-own) / wall, nil
}

// waitForQuiet returns once the machine's busy CPU over one second is below cores (in cores), or after limit.
func waitForQuiet(cores float64, limit time.Duration) {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); {
		before, err := machineBusySeconds()
		if err != nil {
			return
		}
		time.Sleep(time.Second)
		after, err := machineBusySeconds()
		if err != nil || after-before < cores {
			return
		}
	}
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

func lastLines(raw []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
