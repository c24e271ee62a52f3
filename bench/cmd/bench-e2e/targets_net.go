package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sivchari/kumo"
)

// netTarget holds what every network exporter's run shares: the collector binary (ours) and the bytes the
// collector sent to the destination.
type netTarget struct {
	bin  string
	wire atomic.Int64
}

func (t *netTarget) binary() string                 { return t.bin }
func (t *netTarget) wireBytes() int64               { return t.wire.Load() }
func (t *netTarget) reported(m promMetrics) float64 { return m[metricExporterSent] }

// networkTargets are ours with each network exporter at its defaults, pointed at a local destination.
func networkTargets(o *options) []target {
	return []target{
		&httpTarget{netTarget: netTarget{bin: o.distribution}},
		&lokiTarget{netTarget: netTarget{bin: o.distribution}, victoriaLogs: o.victoriaLogs},
		&postgresTarget{netTarget: netTarget{bin: o.distribution}, copyBatch: o.pgCopyBatch},
		&cloudwatchTarget{netTarget: netTarget{bin: o.distribution}},
	}
}

// httpTarget: fapiloghttp posting to a receiver in this process that counts records and bytes.
type httpTarget struct {
	netTarget
	records atomic.Int64
	failure atomic.Pointer[string]
	srv     *http.Server
}

func (t *httpTarget) name() string       { return "fapiloghttp" }
func (t *httpTarget) exporterID() string { return "fapiloghttp" }
func (t *httpTarget) summary() string {
	return "`fapiloghttp`, its defaults, to a local HTTP receiver in the bench process that counts records and answers 200"
}

func (t *httpTarget) setup(string) (string, []string, error) {
	t.wire.Store(0)
	t.records.Store(0)
	t.failure.Store(nil)
	t.srv = nil
	ln, err := listenCounting(&t.wire)
	if err != nil {
		return "", nil, err
	}
	t.srv = &http.Server{Handler: t, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = t.srv.Serve(ln) }()
	return fmt.Sprintf("endpoint: http://%s/ingest\n", ln.Addr()), nil, nil
}

func (t *httpTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			t.fail(err.Error())
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	default:
		t.fail("unsupported Content-Encoding " + enc)
		http.Error(w, "unsupported Content-Encoding", http.StatusUnsupportedMediaType)
		return
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		t.fail(err.Error())
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	t.records.Add(countJSONRecords(raw))
	w.WriteHeader(http.StatusOK)
}

func (t *httpTarget) fail(msg string) { t.failure.CompareAndSwap(nil, &msg) }

func (t *httpTarget) delivered() (int64, error) {
	if msg := t.failure.Load(); msg != nil {
		return 0, fmt.Errorf("the HTTP receiver refused a request: %s", *msg)
	}
	return t.records.Load(), nil
}

func (t *httpTarget) finish(*runResult) {
	if t.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = t.srv.Shutdown(ctx)
}

// countJSONRecords counts the records of a batch body without decoding them: the elements of a JSON array
// (fapiloghttp's array format), else the non-empty lines (ndjson).
func countJSONRecords(body []byte) int64 {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return 0
	}
	if body[0] != '[' {
		var n int64
		for line := range bytes.SplitSeq(body, []byte{'\n'}) {
			if len(bytes.TrimSpace(line)) > 0 {
				n++
			}
		}
		return n
	}
	var (
		n              int64
		depth          int
		inString, esc  bool
		sawTopLevelVal bool
	)
	for _, c := range body {
		switch {
		case inString:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
			if depth == 1 {
				sawTopLevelVal = true
			}
		case c == '[' || c == '{':
			depth++
			if depth == 2 {
				sawTopLevelVal = true
			}
		case c == ']' || c == '}':
			depth--
		case c == ',' && depth == 1:
			n++
		case depth == 1 && c > ' ':
			sawTopLevelVal = true
		}
	}
	if sawTopLevelVal {
		n++
	}
	return n
}

// lokiTarget: fapilogloki pushing to VictoriaLogs (a Loki-push-compatible server, started for the run on a
// free port) through a byte-counting proxy.
type lokiTarget struct {
	netTarget
	victoriaLogs string
	vl           *process
	vlAddr       string
	dataDir      string
	proxy        *tcpProxy
}

func (t *lokiTarget) name() string       { return "fapilogloki" }
func (t *lokiTarget) exporterID() string { return "fapilogloki" }
func (t *lokiTarget) summary() string {
	return "`fapilogloki`, its defaults (protobuf + snappy), to VictoriaLogs v1.52.1's Loki push API"
}

func (t *lokiTarget) setup(dir string) (string, []string, error) {
	t.wire.Store(0)
	t.vl, t.proxy = nil, nil
	ports, err := freePorts(1)
	if err != nil {
		return "", nil, err
	}
	t.vlAddr = fmt.Sprintf("127.0.0.1:%d", ports[0])
	t.dataDir = filepath.Join(dir, "victoria-logs-data")
	t.vl, err = startProcess(filepath.Join(dir, "victoria-logs.log"), nil, t.victoriaLogs,
		"-httpListenAddr="+t.vlAddr, "-storageDataPath="+t.dataDir, "-loggerLevel=WARN")
	if err != nil {
		return "", nil, err
	}
	if err := waitHTTP("http://"+t.vlAddr+"/health", t.vl); err != nil {
		return "", nil, err
	}
	if t.proxy, err = startProxy(t.vlAddr, &t.wire); err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("endpoint: http://%s/insert/loki/api/v1/push\n", t.proxy.addr()), nil, nil
}

func (t *lokiTarget) delivered() (int64, error) {
	base := "http://" + t.vlAddr
	if resp, err := http.Get(base + "/internal/force_flush"); err != nil {
		return 0, err
	} else {
		resp.Body.Close()
	}
	resp, err := http.PostForm(base+"/select/logsql/query", url.Values{"query": {"* | stats count() rows"}})
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out struct {
		Rows string `json:"rows"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(bytes.TrimSpace(raw), &out) != nil {
		return 0, fmt.Errorf("VictoriaLogs count query: %s: %s", resp.Status, raw)
	}
	return strconv.ParseInt(out.Rows, 10, 64)
}

func (t *lokiTarget) finish(*runResult) {
	if t.proxy != nil {
		t.proxy.close()
	}
	if t.vl != nil {
		_ = t.vl.stop(20 * time.Second)
		_ = os.RemoveAll(t.dataDir)
	}
}

// waitHTTP polls url until it answers 200 while p runs.
func waitHTTP(u string, p *process) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if !p.running() || time.Now().After(deadline) {
			_ = p.stop(5 * time.Second)
			return fmt.Errorf("%s did not answer on %s: %v\n%s", filepath.Base(p.cmd.Path), u, err, p.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// postgresTarget: fapilogpostgres loading into a table of its own (create_table, the default) in a schema made
// for the run and dropped after it, on internal/pgtest's server (see postgresURL), through a byte-counting proxy. After each run the same rows are loaded again
// with pgx.CopyFrom into the same (truncated) table: the floor the exporter is held to.
type postgresTarget struct {
	netTarget
	copyBatch int
	conn      *pgx.Conn
	schema    string
	proxy     *tcpProxy
	runs      int
}

const postgresTable = "app_logs"

func (t *postgresTarget) name() string       { return "fapilogpostgres" }
func (t *postgresTarget) exporterID() string { return "fapilogpostgres" }
func (t *postgresTarget) summary() string {
	return "`fapilogpostgres`, its defaults (create_table, jsonb, dedup index) except a 32 MiB `sending_queue` (default " +
		"8 MiB), to PostgreSQL, a schema per run"
}

// postgresQueueBytes holds a whole run's records: PostgreSQL takes them more slowly than two telemetrygen
// processes send, so with the default 8 MiB the receiver refuses some once the queue is full, and telemetrygen's
// retry backoff (seconds) would be measured as the exporter's rate instead of what the exporter can insert.
const postgresQueueBytes = 32 << 20

func (t *postgresTarget) setup(string) (string, []string, error) {
	t.wire.Store(0)
	t.conn, t.proxy = nil, nil
	dsn, err := postgresURL()
	if err != nil {
		return "", nil, err
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if t.conn, err = pgx.ConnectConfig(ctx, cfg); err != nil {
		return "", nil, fmt.Errorf("PostgreSQL at %s: %w", dsn, err)
	}
	if err := t.checkpoint(ctx); err != nil {
		return "", nil, err
	}
	t.runs++
	t.schema = fmt.Sprintf("bench_e2e_%d_%d", os.Getpid(), t.runs)
	if t.proxy, err = startProxy(fmt.Sprintf("%s:%d", cfg.Host, cfg.Port), &t.wire); err != nil {
		return "", nil, err
	}
	_, port, _ := strings.Cut(t.proxy.addr(), ":")
	settings := fmt.Sprintf("host: 127.0.0.1\nport: %s\ndatabase: %q\nuser: %q\nschema_name: %s\ntable_name: %s\n"+
		"sending_queue:\n  queue_size: %d\n", port, cfg.Database, cfg.User, t.schema, postgresTable, postgresQueueBytes)
	if cfg.Password != "" {
		settings += fmt.Sprintf("password: %q\n", cfg.Password)
	}
	return settings, nil, nil
}

func (t *postgresTarget) table() string {
	return pgx.Identifier{t.schema, postgresTable}.Sanitize()
}

func (t *postgresTarget) delivered() (int64, error) {
	var n int64
	err := t.conn.QueryRow(context.Background(), "SELECT count(*) FROM "+t.table()).Scan(&n)
	return n, err
}

func (t *postgresTarget) finish(r *runResult) {
	ctx := context.Background()
	if r.err == nil {
		rate, err := t.copyAgain(ctx)
		if err != nil {
			r.err = fmt.Errorf("pgx.CopyFrom of the same rows: %w", err)
		} else {
			r.extra["pgx_copy_rows_per_s"] = rate
		}
	}
	if t.proxy != nil {
		t.proxy.close()
	}
	if t.conn != nil {
		if _, err := t.conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{t.schema}.Sanitize()+" CASCADE"); err != nil && r.err == nil {
			r.err = fmt.Errorf("dropping the bench schema %s: %w", t.schema, err)
		}
		t.conn.Close(ctx)
	}
}

// copyAgain reads back the rows the exporter loaded (the columns it writes: those without a default), empties
// the table and loads them again with pgx.CopyFrom in batches of the exporter's default batch size, on one
// connection through the same counting proxy; it returns that load's rows per second.
func (t *postgresTarget) copyAgain(ctx context.Context) (float64, error) {
	rows, err := t.conn.Query(ctx, `SELECT column_name::text, data_type::text FROM information_schema.columns
		WHERE table_schema = $1 AND table_name = $2 AND column_default IS NULL AND is_identity = 'NO'
		AND is_generated = 'NEVER' ORDER BY ordinal_position`, t.schema, postgresTable)
	if err != nil {
		return 0, err
	}
	var columns, selects []string
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return 0, err
		}
		columns = append(columns, name)
		sel := pgx.Identifier{name}.Sanitize()
		if typ == "jsonb" || typ == "json" {
			sel += "::text" // read back as the JSON text the exporter sent, passed to CopyFrom as bytes
		}
		selects = append(selects, sel)
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	rows, err = t.conn.Query(ctx, "SELECT "+strings.Join(selects, ", ")+" FROM "+t.table())
	if err != nil {
		return 0, err
	}
	var all [][]any
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return 0, err
		}
		for i, v := range vals {
			if s, ok := v.(string); ok && strings.HasSuffix(selects[i], "::text") {
				vals[i] = []byte(s)
			}
		}
		all = append(all, vals)
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if _, err := t.conn.Exec(ctx, "TRUNCATE "+t.table()); err != nil {
		return 0, err
	}
	if err := t.checkpoint(ctx); err != nil {
		return 0, err
	}
	// The load goes through the proxy the exporter's connections went through, so that both pay for its copying
	// (within the noise when measured: direct 47k-69k rows/s, through it 55k-67k).
	viaProxy, err := t.connectThroughProxy(ctx)
	if err != nil {
		return 0, err
	}
	defer viaProxy.Close(ctx)
	ident := pgx.Identifier{t.schema, postgresTable}
	start := time.Now()
	for batch := range slices.Chunk(all, t.copyBatch) {
		n, err := viaProxy.CopyFrom(ctx, ident, columns, pgx.CopyFromRows(batch))
		if err != nil {
			return 0, err
		}
		if n != int64(len(batch)) {
			return 0, fmt.Errorf("CopyFrom loaded %d of %d rows", n, len(batch))
		}
	}
	return float64(len(all)) / time.Since(start).Seconds(), nil
}

// checkpoint writes out what earlier loads left dirty, so that the exporter's run and the baseline each start
// from a fresh checkpoint: a run's WAL (hundreds of MiB) otherwise triggers a checkpoint in whichever load
// happens to cross max_wal_size (ratio medians of 0.77 and 0.88 before the checkpoints, 1.01 and 0.90 after,
// on one machine on one day). It needs a superuser or pg_checkpoint, which internal/pgtest's server gives.
func (t *postgresTarget) checkpoint(ctx context.Context) error {
	if _, err := t.conn.Exec(ctx, "CHECKPOINT"); err != nil {
		return fmt.Errorf("CHECKPOINT before a measured load (the bench's PostgreSQL user needs pg_checkpoint): %w", err)
	}
	return nil
}

// connectThroughProxy opens a connection like t.conn's, to the proxy instead of the server.
func (t *postgresTarget) connectThroughProxy(ctx context.Context) (*pgx.Conn, error) {
	host, port, err := net.SplitHostPort(t.proxy.addr())
	if err != nil {
		return nil, err
	}
	portNumber, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, err
	}
	cfg := t.conn.Config().Copy()
	cfg.Host, cfg.Port = host, uint16(portNumber)
	return pgx.ConnectConfig(ctx, cfg)
}

// CloudWatch Logs' PutLogEvents limits: a request holds at most 10,000 events and 1,048,576 bytes, counted as
// the sum of the messages' UTF-8 bytes plus 26 bytes per event.
const (
	cwMaxEvents        = 10_000
	cwMaxBytes         = 1_048_576
	cwPerEventOverhead = 26
)

// cloudwatchTarget: fapilogcloudwatch calling kumo (an AWS emulator, in this process) through a recording
// endpoint that measures every PutLogEvents request against the service's limits.
type cloudwatchTarget struct {
	netTarget
	kumo     *kumo.Server
	srv      *http.Server
	mu       sync.Mutex
	requests []putLogEvents
	// refused counts PutLogEvents requests that were not accepted, by the error's type: an error answer
	// (ResourceNotFoundException, say: each queue consumer's first request to a stream that does not exist yet,
	// which the exporter then creates), or a body the client abandoned. Their bytes count on the wire, and the exporter sends their records again.
	refused map[string]int
}

// putLogEvents is one accepted PutLogEvents request.
type putLogEvents struct {
	events, bytes int
}

// fullness is how close the request is to a limit: the larger of its share of the event and of the byte limit.
func (p putLogEvents) fullness() float64 {
	return max(float64(p.events)/cwMaxEvents, float64(p.bytes)/cwMaxBytes)
}

func (t *cloudwatchTarget) name() string       { return "fapilogcloudwatch" }
func (t *cloudwatchTarget) exporterID() string { return "fapilogcloudwatch" }
func (t *cloudwatchTarget) summary() string {
	return "`fapilogcloudwatch`, its defaults, to kumo v0.33.1 (AWS emulator) through a recording endpoint"
}

func (t *cloudwatchTarget) setup(string) (string, []string, error) {
	t.wire.Store(0)
	t.requests, t.refused, t.srv = nil, nil, nil
	t.kumo = kumo.NewServer()
	upstream, err := url.Parse(t.kumo.URL)
	if err != nil {
		return "", nil, err
	}
	proxy := httputil.NewSingleHostReverseProxy(upstream)
	ln, err := listenCounting(&t.wire)
	if err != nil {
		return "", nil, err
	}
	t.srv = &http.Server{Handler: t.record(proxy), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = t.srv.Serve(ln) }()
	// Static credentials through the SDK's standard chain, away from the machine's own AWS settings.
	none := filepath.Join(os.TempDir(), "bench-e2e-no-aws-config")
	env := []string{"AWS_ACCESS_KEY_ID=bench", "AWS_SECRET_ACCESS_KEY=bench", "AWS_SESSION_TOKEN=", "AWS_PROFILE=",
		"AWS_REGION=us-east-1", "AWS_CONFIG_FILE=" + none, "AWS_SHARED_CREDENTIALS_FILE=" + none,
		"AWS_EC2_METADATA_DISABLED=true"}
	return fmt.Sprintf("endpoint_url: http://%s\n", ln.Addr()), env, nil
}

// record measures each PutLogEvents request and passes every request on to kumo.
func (t *cloudwatchTarget) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".PutLogEvents") {
			next.ServeHTTP(w, r)
			return
		}
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			t.countRefused("abandoned body")
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(raw))
		var req struct {
			LogEvents []struct {
				Message string `json:"message"`
			} `json:"logEvents"`
		}
		if err := json.Unmarshal(raw, &req); err != nil {
			t.countRefused("malformed request")
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		p := putLogEvents{events: len(req.LogEvents)}
		for _, e := range req.LogEvents {
			p.bytes += len(e.Message) + cwPerEventOverhead
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		if sw.status != http.StatusOK {
			t.countRefused(sw.errorType())
			return
		}
		t.mu.Lock()
		t.requests = append(t.requests, p)
		t.mu.Unlock()
	})
}

func (t *cloudwatchTarget) countRefused(reason string) {
	t.mu.Lock()
	if t.refused == nil {
		t.refused = map[string]int{}
	}
	t.refused[reason]++
	t.mu.Unlock()
}

// statusWriter remembers the answer's status and, for an error, the start of its body.
type statusWriter struct {
	http.ResponseWriter
	status int
	body   []byte
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status != http.StatusOK && len(w.body) < 512 {
		w.body = append(w.body, b[:min(len(b), 512-len(w.body))]...)
	}
	return w.ResponseWriter.Write(b)
}

// errorType is the AWS error type of an error answer (its JSON body's __type, without a namespace), or its HTTP
// status when the body names none.
func (w *statusWriter) errorType() string {
	var answer struct {
		Type string `json:"__type"`
	}
	if json.Unmarshal(w.body, &answer) == nil && answer.Type != "" {
		return answer.Type[strings.LastIndexByte(answer.Type, '#')+1:]
	}
	return fmt.Sprintf("HTTP %d", w.status)
}

func (t *cloudwatchTarget) delivered() (int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var n int64
	for _, p := range t.requests {
		if p.events > cwMaxEvents || p.bytes > cwMaxBytes {
			return 0, fmt.Errorf("a PutLogEvents request exceeded the service limits: %d events, %d bytes", p.events, p.bytes)
		}
		n += int64(p.events)
	}
	return n, nil
}

func (t *cloudwatchTarget) finish(r *runResult) {
	t.summarize(r)
	if t.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = t.srv.Shutdown(ctx)
	}
	t.kumo.Close()
}

// summarize adds what the recording endpoint saw to the run's result.
func (t *cloudwatchTarget) summarize(r *runResult) {
	t.mu.Lock()
	reqs, refused := t.requests, t.refused
	t.mu.Unlock()
	r.extra["cw_refused"] = 0
	for reason, n := range refused {
		r.extra["cw_refused"] += float64(n)
		r.extra["cw_refused:"+reason] += float64(n)
	}
	if len(reqs) > 0 {
		var full, events, bytes []float64
		full95 := 0
		for _, p := range reqs {
			full = append(full, p.fullness())
			events = append(events, float64(p.events))
			bytes = append(bytes, float64(p.bytes))
			if p.fullness() >= 0.95 {
				full95++
			}
		}
		r.extra["cw_requests"] = float64(len(reqs))
		r.extra["cw_fullness_median"] = median(full)
		r.extra["cw_full95_share"] = float64(full95) / float64(len(reqs))
		r.extra["cw_events_median"] = median(events)
		r.extra["cw_bytes_median"] = median(bytes)
	}
}
