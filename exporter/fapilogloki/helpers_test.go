package fapilogloki

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/metric/noop"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/fapilog/fapilog-otelcol/internal/envelope"
	"github.com/fapilog/fapilog-otelcol/internal/telemetrytest"
)

// baseTime is recent, so that real servers (VictoriaLogs rejects entries outside its retention) accept it.
var baseTime = time.Now().Add(-time.Hour).Truncate(time.Second)

var levels = []plog.SeverityNumber{plog.SeverityNumberInfo, plog.SeverityNumberWarn, plog.SeverityNumberError}

// testLogs returns n records with message ids "<prefix>-<i>" spread over two resources and scopes and three levels,
// record i at baseTime + i ms + i ns, so that grouping into streams, splitting and partial retries have work to do.
func testLogs(prefix string, n int) plog.Logs {
	ld := plog.NewLogs()
	for r := range 2 {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d", r))
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName(fmt.Sprintf("app.scope%d", r))
		for i := r; i < n; i += 2 {
			lr := sl.LogRecords().AppendEmpty()
			lr.SetTimestamp(pcommon.NewTimestampFromTime(recordTime(i)))
			lr.SetSeverityNumber(levels[i%len(levels)])
			lr.Body().SetStr(fmt.Sprintf("record %d: héllo 世界 🚀 \"quoted\" \\ back", i))
			lr.Attributes().PutStr("message_id", fmt.Sprintf("%s-%d", prefix, i))
			lr.Attributes().PutInt("seq", int64(i))
		}
	}
	return ld
}

func recordTime(i int) time.Time {
	return baseTime.Add(time.Duration(i)*time.Millisecond + time.Duration(i))
}

// pick copies the records of ld whose message id ends in -i for i in [from, to).
func pick(ld plog.Logs, prefix string, from, to int) plog.Logs {
	want := map[string]bool{}
	for i := from; i < to; i++ {
		want[fmt.Sprintf("%s-%d", prefix, i)] = true
	}
	out := plog.NewLogs()
	ld.CopyTo(out)
	out.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool {
			sl.LogRecords().RemoveIf(func(lr plog.LogRecord) bool {
				v, _ := lr.Attributes().Get("message_id")
				return !want[v.Str()]
			})
			return sl.LogRecords().Len() == 0
		})
		return rl.ScopeLogs().Len() == 0
	})
	return out
}

// envelopesByID encodes ld independently of the exporter: the bare envelope JSON of each record by message id.
func envelopesByID(ld plog.Logs) map[string]string {
	out := map[string]string{}
	var e envelope.Entry
	envelope.ForEach(ld, time.Now(), &e, func(e *envelope.Entry, _ plog.LogRecord) {
		out[e.MessageID()] = string(e.AppendJSON(nil))
	})
	return out
}

// pushedEntry and pushedStream are a push request as decoded by the test, from either encoding.
type pushedEntry struct {
	ns   int64
	line string
	meta [][2]string
}

type pushedStream struct {
	labelsText string // protobuf only: the labels string as sent
	labels     map[string]string
	entries    []pushedEntry
}

// messageID reads context.message_id from an entry's line.
func (e pushedEntry) messageID(t *testing.T) string {
	t.Helper()
	var doc struct {
		Context struct {
			MessageID string `json:"message_id"`
		} `json:"context"`
	}
	require.NoError(t, json.Unmarshal([]byte(e.line), &doc), e.line)
	return doc.Context.MessageID
}

// decodeProtobufBody decodes a snappy-compressed logproto.PushRequest with the reference snappy decoder and
// protowire, strictly: every field must be one the schema defines, with its wire type, and every byte consumed.
func decodeProtobufBody(t *testing.T, body []byte) []pushedStream {
	t.Helper()
	raw, err := snappy.Decode(nil, body)
	require.NoError(t, err, "the body is one snappy block")
	var streams []pushedStream
	forEachField(t, raw, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) {
		require.Equal(t, protowire.Number(1), num, "PushRequest has only streams = 1")
		require.Equal(t, protowire.BytesType, typ)
		streams = append(streams, decodeStream(t, v))
	})
	return streams
}

func decodeStream(t *testing.T, b []byte) pushedStream {
	var s pushedStream
	seenLabels := false
	forEachField(t, b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) {
		require.Equal(t, protowire.BytesType, typ)
		switch num {
		case 1:
			require.False(t, seenLabels, "labels appears once")
			seenLabels = true
			s.labelsText = string(v)
			s.labels = parseLabelsText(t, s.labelsText)
		case 2:
			s.entries = append(s.entries, decodeEntry(t, v))
		default:
			t.Fatalf("StreamAdapter: unexpected field %d", num)
		}
	})
	require.True(t, seenLabels, "every stream has labels")
	return s
}

func decodeEntry(t *testing.T, b []byte) pushedEntry {
	var e pushedEntry
	var seen [3]bool
	forEachField(t, b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) {
		require.Equal(t, protowire.BytesType, typ)
		switch num {
		case 1:
			seen[0] = true
			var seconds, nanos int64
			forEachField(t, v, func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) {
				require.Equal(t, protowire.VarintType, typ)
				switch num {
				case 1:
					seconds = int64(x)
				case 2:
					nanos = int64(int32(x))
				default:
					t.Fatalf("Timestamp: unexpected field %d", num)
				}
			})
			require.True(t, nanos >= 0 && nanos < 1e9, "nanos %d in [0, 1e9)", nanos)
			e.ns = seconds*1e9 + nanos
		case 2:
			seen[1] = true
			e.line = string(v)
		case 3:
			var pair [2]string
			forEachField(t, v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) {
				require.Equal(t, protowire.BytesType, typ)
				require.True(t, num == 1 || num == 2, "LabelPairAdapter: unexpected field %d", num)
				pair[num-1] = string(v)
			})
			e.meta = append(e.meta, pair)
		default:
			t.Fatalf("EntryAdapter: unexpected field %d", num)
		}
	})
	require.True(t, seen[0] && seen[1], "every entry has a timestamp and a line")
	return e
}

// forEachField walks a message's fields; v is the payload of a bytes field, x the value of a varint.
func forEachField(t *testing.T, b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64)) {
	t.Helper()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		require.GreaterOrEqual(t, n, 0, "bad tag")
		b = b[n:]
		switch typ {
		case protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			require.GreaterOrEqual(t, m, 0, "bad length-delimited field %d", num)
			fn(num, typ, v, 0)
			b = b[m:]
		case protowire.VarintType:
			x, m := protowire.ConsumeVarint(b)
			require.GreaterOrEqual(t, m, 0, "bad varint field %d", num)
			fn(num, typ, nil, x)
			b = b[m:]
		default:
			t.Fatalf("unexpected wire type %d for field %d", typ, num)
		}
	}
}

var labelsTextPattern = regexp.MustCompile(`^\{([a-zA-Z_][a-zA-Z0-9_]*="[a-zA-Z0-9_-]*"(, [a-zA-Z_][a-zA-Z0-9_]*="[a-zA-Z0-9_-]*")*)?\}$`)

// parseLabelsText reads {a="x", b="y"}, requiring exactly that form with names sorted.
func parseLabelsText(t *testing.T, text string) map[string]string {
	t.Helper()
	require.Regexp(t, labelsTextPattern, text)
	labels := map[string]string{}
	var names []string
	for _, m := range regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"`).FindAllStringSubmatch(text, -1) {
		labels[m[1]] = m[2]
		names = append(names, m[1])
	}
	require.True(t, slices.IsSorted(names), "label names sorted in %s", text)
	return labels
}

// decodeJSONBody decodes Loki's JSON push format strictly.
func decodeJSONBody(t *testing.T, body []byte) []pushedStream {
	t.Helper()
	var req struct {
		Streams []struct {
			Stream map[string]string   `json:"stream"`
			Values [][]json.RawMessage `json:"values"`
		} `json:"streams"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&req), "%s", body)
	var streams []pushedStream
	for _, s := range req.Streams {
		ps := pushedStream{labels: s.Stream}
		for _, v := range s.Values {
			require.True(t, len(v) == 2 || len(v) == 3, "a value is [ts, line] or [ts, line, metadata]")
			var ts, line string
			require.NoError(t, json.Unmarshal(v[0], &ts), "the timestamp is a string")
			require.NoError(t, json.Unmarshal(v[1], &line))
			ns, err := strconv.ParseInt(ts, 10, 64)
			require.NoError(t, err)
			e := pushedEntry{ns: ns, line: line}
			if len(v) == 3 {
				var meta map[string]string
				require.NoError(t, json.Unmarshal(v[2], &meta))
				for _, k := range slices.Sorted(maps.Keys(meta)) {
					e.meta = append(e.meta, [2]string{k, meta[k]})
				}
			}
			ps.entries = append(ps.entries, e)
		}
		streams = append(streams, ps)
	}
	return streams
}

// received is one request as the test server saw it.
type received struct {
	at      time.Time
	path    string
	query   string
	header  http.Header
	body    []byte
	status  int
	streams []pushedStream
}

// recorder is a Loki push endpoint that records and decodes every request and answers with respond (204 when nil).
type recorder struct {
	t        *testing.T
	mu       sync.Mutex
	requests []received
	respond  func(n int, r *http.Request, streams []pushedStream) (status int, header map[string]string, body string)
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var streams []pushedStream
	switch r.Header.Get("Content-Type") {
	case contentTypeProtobuf:
		streams = decodeProtobufBody(rec.t, body)
	case contentTypeJSON:
		streams = decodeJSONBody(rec.t, body)
	default:
		rec.t.Errorf("unexpected Content-Type %q", r.Header.Get("Content-Type"))
	}
	rec.mu.Lock()
	n := len(rec.requests)
	status, header, respBody := http.StatusNoContent, map[string]string(nil), ""
	if rec.respond != nil {
		status, header, respBody = rec.respond(n, r, streams)
	}
	rec.requests = append(rec.requests, received{at: time.Now(), path: r.URL.Path, query: r.URL.RawQuery,
		header: r.Header.Clone(), body: body, status: status, streams: streams})
	rec.mu.Unlock()
	for k, v := range header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, respBody)
}

func (rec *recorder) all() []received {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]received(nil), rec.requests...)
}

// entriesByLabel counts the entries received under each value of the label name ("" for streams without it).
func (rec *recorder) entriesByLabel(name string) map[string]int {
	counts := map[string]int{}
	for _, r := range rec.all() {
		for _, s := range r.streams {
			counts[s.labels[name]] += len(s.entries)
		}
	}
	return counts
}

func (rec *recorder) count() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.requests)
}

// messageIDs counts message ids in every request (onlyAccepted: only those answered 2xx).
func (rec *recorder) messageIDs(t *testing.T, onlyAccepted bool) map[string]int {
	t.Helper()
	ids := map[string]int{}
	for _, r := range rec.all() {
		if onlyAccepted && (r.status < 200 || r.status > 299) {
			continue
		}
		for _, s := range r.streams {
			for _, e := range s.entries {
				ids[e.messageID(t)]++
			}
		}
	}
	return ids
}

func (rec *recorder) delivered(t *testing.T) map[string]int { return rec.messageIDs(t, true) }

func newServer(t *testing.T, rec *recorder) *httptest.Server {
	t.Helper()
	rec.t = t
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return srv
}

// syncConfig is a config whose ConsumeLogs returns the outcome of the push itself: no queue, no retry, so each
// call is exactly one attempt.
func syncConfig(endpoint string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = endpoint
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.Enabled = false
	return cfg
}

// fastRetryConfig is a config with the default queue and batching but intervals short enough for tests.
func fastRetryConfig(endpoint string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = endpoint
	cfg.RetryConfig.InitialInterval = 10 * time.Millisecond
	cfg.RetryConfig.MaxInterval = 100 * time.Millisecond
	cfg.RetryConfig.MaxElapsedTime = 2 * time.Minute
	cfg.QueueConfig.Get().Batch.Get().FlushTimeout = 50 * time.Millisecond
	cfg.CircuitBreaker.Recovery = 200 * time.Millisecond
	return cfg
}

// startObserved builds the exporter with the factory, as the collector does, and starts it.
func startObserved(t *testing.T, cfg *Config) *telemetrytest.Observed {
	t.Helper()
	return telemetrytest.StartExporter(t, NewFactory(), cfg)
}

// startExporter is startObserved for tests that look only at the logs.
func startExporter(t *testing.T, cfg *Config) (exporter.Logs, *observer.ObservedLogs) {
	t.Helper()
	o := startObserved(t, cfg)
	return o.Exporter, o.Logs
}

// nopTelemetry is the exporter's own telemetry recorded nowhere, for tests of its parts.
func nopTelemetry() *lokiTelemetry {
	return &lokiTelemetry{labelValuesReplaced: noop.Int64Counter{}}
}

func requireEachOnce(t *testing.T, ids map[string]int, prefix string, n int) {
	t.Helper()
	require.Len(t, ids, n, "every record arrives")
	for i := range n {
		require.Equal(t, 1, ids[fmt.Sprintf("%s-%d", prefix, i)], "record %s-%d arrives exactly once", prefix, i)
	}
}
