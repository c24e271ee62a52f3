package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/template"
	"time"
)

// collectorConfig is the whole configuration of every measured collector: the same receiver, processor and
// telemetry for all, only the exporter differs. memory_limiter is set as in the shipped otelcol.yaml. The pprof
// extension is enabled only when profiling (scripts/bench-e2e-profile.sh), never in measured runs.
var collectorConfig = template.Must(template.New("otelcol.yaml").Option("missingkey=error").Parse(`receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{{.GRPCPort}}
processors:
  memory_limiter:
    check_interval: 1s
    limit_percentage: 80
    spike_limit_percentage: 20
exporters:
  {{.ExporterID}}:
{{.Exporter}}
{{- if .PprofPort}}
extensions:
  pprof:
    endpoint: 127.0.0.1:{{.PprofPort}}
{{- end}}
service:
{{- if .PprofPort}}
  extensions: [pprof]
{{- end}}
  telemetry:
    metrics:
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: {{.MetricsPort}}
  pipelines:
    logs:
      receivers: [otlp]
      processors: [memory_limiter]
      exporters: [{{.ExporterID}}]
`))

// renderConfig writes the collector configuration for exporter id with settings (YAML lines, unindented).
func renderConfig(id, settings string, grpcPort, metricsPort, pprofPort int) (string, error) {
	var indented strings.Builder
	for _, line := range strings.Split(strings.TrimRight(settings, "\n"), "\n") {
		if line != "" {
			indented.WriteString("    " + line)
		}
		indented.WriteString("\n")
	}
	var out strings.Builder
	err := collectorConfig.Execute(&out, map[string]any{
		"ExporterID": id, "Exporter": strings.TrimRight(indented.String(), "\n"),
		"GRPCPort": grpcPort, "MetricsPort": metricsPort, "PprofPort": pprofPort,
	})
	return out.String(), err
}

// children are the processes this program started; they are ended when it exits, however it exits.
var children struct {
	sync.Mutex
	procs map[int]*os.Process
}

func track(p *os.Process) {
	children.Lock()
	defer children.Unlock()
	if children.procs == nil {
		children.procs = map[int]*os.Process{}
	}
	children.procs[p.Pid] = p
}

func untrack(p *os.Process) {
	children.Lock()
	defer children.Unlock()
	delete(children.procs, p.Pid)
}

func killChildren() {
	children.Lock()
	defer children.Unlock()
	for _, p := range children.procs {
		_ = p.Kill()
	}
}

// process is a started child process whose output goes to a log file.
type process struct {
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	err     error
}

func startProcess(logPath string, env []string, name string, args ...string) (*process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	track(cmd.Process)
	p := &process{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		untrack(cmd.Process)
		close(p.exited)
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM (a collector drains its queues and flushes its exporters on it) and waits up to grace
// before killing.
func (p *process) stop(grace time.Duration) error {
	if !p.running() {
		return p.err
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.err
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("%s did not stop within %s after SIGTERM (killed)", filepath.Base(p.cmd.Path), grace)
	}
}

// tail is the end of the process's log, for error messages.
func (p *process) tail() string {
	raw, _ := os.ReadFile(p.logPath)
	if len(raw) > 3000 {
		raw = raw[len(raw)-3000:]
	}
	return string(raw)
}

// collector is a running collector process.
type collector struct {
	*process
	grpcEndpoint string
	metricsURL   string
	pprofURL     string
	config       string
}

// startCollector runs binary with the configuration for exporter id in dir and waits until it is ready.
func startCollector(binary, dir, id, settings string, env []string, withPprof bool) (*collector, error) {
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	pprofPort := 0
	if withPprof {
		pprofPort = ports[2]
	}
	config, err := renderConfig(id, settings, ports[0], ports[1], pprofPort)
	if err != nil {
		return nil, err
	}
	configPath := filepath.Join(dir, "otelcol.yaml")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		return nil, err
	}
	p, err := startProcess(filepath.Join(dir, "collector.log"), env, binary, "--config", configPath)
	if err != nil {
		return nil, err
	}
	c := &collector{process: p, config: config,
		grpcEndpoint: fmt.Sprintf("127.0.0.1:%d", ports[0]),
		metricsURL:   fmt.Sprintf("http://127.0.0.1:%d/metrics", ports[1]),
		pprofURL:     fmt.Sprintf("http://127.0.0.1:%d/debug/pprof", ports[2]),
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		raw, _ := os.ReadFile(p.logPath)
		if strings.Contains(string(raw), "Everything is ready") {
			return c, nil
		}
		if !p.running() || time.Now().After(deadline) {
			_ = p.stop(5 * time.Second)
			return nil, fmt.Errorf("%s did not become ready (%v):\n%s", binary, p.err, p.tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// promMetrics is one scrape of the collector's own metrics: every series summed by name, with the _total suffix
// some Prometheus translations add removed.
type promMetrics map[string]float64

func (c *collector) metrics() (promMetrics, error) {
	resp, err := http.Get(c.metricsURL)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", c.metricsURL, resp.Status)
	}
	return parseProm(resp.Body)
}

func parseProm(r io.Reader) (promMetrics, error) {
	m := promMetrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest := line, ""
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		if strings.HasPrefix(rest, "{") {
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				return nil, fmt.Errorf("unexpected metrics line %q", line)
			}
			rest = rest[end+1:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return nil, fmt.Errorf("unexpected metrics line %q", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("unexpected metrics line %q", line)
		}
		m[strings.TrimSuffix(name, "_total")] += v
	}
	return m, sc.Err()
}

// freePorts returns n distinct TCP ports on 127.0.0.1 that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
