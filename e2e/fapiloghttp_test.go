package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/exporter/fapiloghttp/webhook"
)

const httpConfig = `
receivers:
  {{.Receiver}}
exporters:
  fapiloghttp:
    endpoint: {{.IngestURL}}
    batch_format: ndjson
    sending_queue:
      batch:
        flush_timeout: 200ms
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 500ms
  fapiloghttp/webhook:
    endpoint: {{.WebhookURL}}
    mode: webhook
    secret: ${env:E2E_FAPILOG_WEBHOOK_SECRET}
    sending_queue:
      batch:
        flush_timeout: 200ms
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [fapiloghttp, fapiloghttp/webhook]
`

// endpoint is a test receiver: it counts the message ids of every request it accepts.
type endpoint struct {
	mu       sync.Mutex
	requests int
	accepted map[string]int
	invalid  []string
	// admit decides the answer to request n (0-based); nil admits everything.
	admit func(n int, r *http.Request, body []byte) (int, string)
}

func newEndpoint(t *testing.T, admit func(n int, r *http.Request, body []byte) (int, string)) (*endpoint, string) {
	e := &endpoint{accepted: map[string]int{}, admit: admit}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return e, srv.URL
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	e.mu.Lock()
	defer e.mu.Unlock()
	n := e.requests
	e.requests++
	status, reason := http.StatusOK, ""
	if e.admit != nil {
		status, reason = e.admit(n, r, body)
	}
	if status != http.StatusOK {
		if status == http.StatusUnauthorized {
			e.invalid = append(e.invalid, reason)
		}
		http.Error(w, reason, status)
		return
	}
	ids, err := messageIDs(r.Header.Get("Content-Type"), body)
	if err != nil {
		e.invalid = append(e.invalid, err.Error())
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, id := range ids {
		e.accepted[id]++
	}
	w.WriteHeader(http.StatusNoContent)
}

func (e *endpoint) snapshot() (map[string]int, []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := make(map[string]int, len(e.accepted))
	for k, v := range e.accepted {
		ids[k] = v
	}
	return ids, append([]string(nil), e.invalid...)
}

type envelopeIDs struct {
	Context struct {
		MessageID string `json:"message_id"`
	} `json:"context"`
	Message string `json:"message"`
}

// messageIDs reads an NDJSON body, a JSON list or a single envelope object.
func messageIDs(contentType string, body []byte) ([]string, error) {
	var docs []envelopeIDs
	switch {
	case contentType == "application/x-ndjson":
		if !bytes.HasSuffix(body, []byte("\n")) {
			return nil, errors.New("NDJSON body without trailing newline")
		}
		for _, line := range bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n")) {
			var d envelopeIDs
			if err := json.Unmarshal(line, &d); err != nil {
				return nil, err
			}
			docs = append(docs, d)
		}
	case contentType != "application/json":
		return nil, fmt.Errorf("content type %q", contentType)
	case bytes.HasPrefix(body, []byte("[")):
		if err := json.Unmarshal(body, &docs); err != nil {
			return nil, err
		}
	default:
		var d envelopeIDs
		if err := json.Unmarshal(body, &d); err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
	ids := make([]string, 0, len(docs))
	for _, d := range docs {
		ids = append(ids, d.Context.MessageID)
	}
	return ids, nil
}

// nonASCIILogs is one record whose message is not ASCII: fapilog's own webhook signature fails on such payloads.
func nonASCIILogs() plog.Logs {
	ld := NumberedLogs("utf8", 1)
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().SetStr("héllo 世界 🚀 ünïcödé")
	return ld
}

func TestE2E_HTTPAndSignedWebhookReceiveEveryRecordOnce(t *testing.T) {
	const secret = "e2e-webhook-secret"
	t.Setenv("E2E_FAPILOG_WEBHOOK_SECRET", secret)

	// The plain endpoint is unavailable for its first two requests: the collector must retry them.
	ingest, ingestURL := newEndpoint(t, func(n int, _ *http.Request, _ []byte) (int, string) {
		if n < 2 {
			return http.StatusServiceUnavailable, "starting"
		}
		return http.StatusOK, ""
	})
	// The webhook accepts only requests whose signature verifies over the bytes received.
	hook, hookURL := newEndpoint(t, func(_ int, r *http.Request, body []byte) (int, string) {
		if err := webhook.Verify([]byte(secret), r.Header.Get(webhook.TimestampHeader), body,
			r.Header.Get(webhook.SignatureHeader), webhook.DefaultTolerance); err != nil {
			return http.StatusUnauthorized, err.Error()
		}
		return http.StatusOK, ""
	})

	c := Start(t, httpConfig, map[string]any{"IngestURL": ingestURL + "/ingest", "WebhookURL": hookURL + "/hooks/logs"})
	const perTransport = 150
	c.SendGRPC(t, NumberedLogs("grpc", perTransport))
	c.SendHTTP(t, NumberedLogs("httpproto", perTransport), false)
	c.SendHTTP(t, NumberedLogs("httpjson", perTransport), true)
	c.SendGRPC(t, nonASCIILogs())
	const total = 3*perTransport + 1

	complete := func(e *endpoint) func() bool {
		return func() bool { ids, _ := e.snapshot(); return len(ids) == total }
	}
	Eventually(t, 30*time.Second, complete(ingest), "the HTTP endpoint did not receive every record:\n%s", c.Stderr.String())
	Eventually(t, 30*time.Second, complete(hook), "the webhook did not receive every record:\n%s", c.Stderr.String())
	c.Stop(t) // drains the queues: a duplicate sent late would show below

	for name, e := range map[string]*endpoint{"http": ingest, "webhook": hook} {
		ids, invalid := e.snapshot()
		if len(invalid) > 0 {
			t.Fatalf("%s: %d requests rejected, first: %s", name, len(invalid), invalid[0])
		}
		for _, prefix := range []string{"grpc", "httpproto", "httpjson"} {
			for i := 0; i < perTransport; i++ {
				if n := ids[prefix+"-"+strconv.Itoa(i)]; n != 1 {
					t.Fatalf("%s: record %s-%d arrived %d times", name, prefix, i, n)
				}
			}
		}
		if ids["utf8-0"] != 1 {
			t.Fatalf("%s: the non-ASCII record arrived %d times", name, ids["utf8-0"])
		}
	}
	ingest.mu.Lock()
	requests := ingest.requests
	ingest.mu.Unlock()
	if requests < 3 {
		t.Fatalf("the HTTP endpoint saw %d requests; the two 503s were not retried", requests)
	}
	if strings.Contains(c.Stderr.String(), secret) {
		t.Fatal("the webhook secret appears in the collector's log")
	}
}
