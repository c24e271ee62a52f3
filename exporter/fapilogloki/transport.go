package fapilogloki

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otelcol/internal/httpsend"
)

// transport sends one push request: POST the body to the push URL with the tenant and authentication headers,
// classify the answer (httpsend: 2xx delivered; 408, 429, 502, 503, 504, network errors and, for Loki, 500
// retryable with Retry-After honoured; anything else permanent).
type transport struct {
	client      *http.Client
	url         string
	contentType string
	userAgent   string
	// authorization is the Authorization header value ("Basic ..." or "Bearer ..."), or empty. It is a secret:
	// never logged, never part of an error.
	authorization string
}

func newTransport(cfg *Config, url, contentType, userAgent string) transport {
	t := transport{url: url, contentType: contentType, userAgent: userAgent}
	switch {
	case cfg.AuthToken != "":
		t.authorization = "Bearer " + string(cfg.AuthToken)
	case cfg.AuthUsername != "":
		t.authorization = "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.AuthUsername+":"+string(cfg.AuthPassword)))
	}
	return t
}

// send posts body for tenant (X-Scope-OrgID; "" sends no header). Grafana Loki, Mimir-style gateways and
// VictoriaLogs all read this header (VictoriaLogs as AccountID[:ProjectID], when its own AccountID/ProjectID
// headers are absent). The caller still holds body; the HTTP client holds it too until it closes the request's
// body, which may be after send returns.
func (t *transport) send(ctx context.Context, body *requestBody, tenant string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, http.NoBody)
	if err != nil {
		return consumererror.NewPermanent(err)
	}
	req.Body, req.ContentLength = body.open(), int64(len(body.buf))
	// For a retry on a fresh connection inside Do (HTTP/2 after GOAWAY, ...), never after it.
	req.GetBody = func() (io.ReadCloser, error) { return body.open(), nil }
	// No Content-Encoding for protobuf: Loki reads the body itself as a snappy block (and answers 400 to
	// "Content-Encoding: snappy").
	req.Header.Set("Content-Type", t.contentType)
	req.Header.Set("User-Agent", t.userAgent)
	if tenant != "" {
		req.Header.Set("X-Scope-OrgID", tenant)
	}
	if t.authorization != "" {
		req.Header.Set("Authorization", t.authorization)
	}
	return retryInternalServerError(httpsend.Send(t.client, req))
}

// retryInternalServerError makes a 500 retryable, unlike for other HTTP backends: Loki's distributor answers 500
// when ingesters are briefly unavailable (a rollout, a ring change), and Grafana's own clients retry it.
func retryInternalServerError(err error) error {
	if se, ok := errors.AsType[*httpsend.StatusError](err); ok && se.StatusCode == http.StatusInternalServerError {
		return se
	}
	return err
}

// Reasons of the requests Loki refuses for good, read from the start of its answer: short names for Loki's own
// discard reasons (loki_discarded_samples_total{reason}, in the comments), so an operator can match both sides.
// Any other refusal is "http_<status>".
var refusalReasons = []struct{ answer, reason string }{
	{"timestamp too old", "too_old"},                               // greater_than_max_sample_age
	{"timestamp too new", "too_new"},                               // too_far_in_future
	{"entry out of order", "out_of_order"},                         // out_of_order (Loki < 2.4, or unordered_writes off)
	{"entry too far behind", "out_of_order"},                       // too_far_behind: out of order beyond what unordered writes accept
	{"Max entry size", "line_too_long"},                            // line_too_long
	{"structured metadata, but", "structured_metadata_disallowed"}, // allow_structured_metadata: false
	{"request body too large", "request_too_large"},                // Loki's distributor
	{"too big data size", "request_too_large"},                     // VictoriaLogs' -loki.maxRequestSize
	{"too big decompressed data size", "request_too_large"},
}

// describeRefusal names a refused request for the rejected-records metric and gives what to log (status, answer,
// endpoint; see httpsend.Describe).
func describeRefusal(err error) (string, []zap.Field) {
	reason, detail := httpsend.Describe(err)
	if se, ok := errors.AsType[*httpsend.StatusError](err); ok {
		// Answer, not the logged Snippet: Loki names the stream before the reason, and its labels may fill the snippet.
		for _, r := range refusalReasons {
			if bytes.Contains(se.Answer, []byte(r.answer)) {
				return r.reason, detail
			}
		}
	}
	return reason, detail
}
