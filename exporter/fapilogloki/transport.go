package fapilogloki

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"

	"go.opentelemetry.io/collector/consumer/consumererror"

	"github.com/fapilog/fapilog-otelcol/internal/httpsend"
)

// transport sends one push request: POST the body to the push URL with the tenant and authentication headers,
// classify the answer (httpsend: 2xx delivered; 408/429/5xx and network errors retryable, Retry-After honoured;
// anything else permanent).
type transport struct {
	client      *http.Client
	url         string
	contentType string
	userAgent   string
	tenantID    string
	// authorization is the Authorization header value ("Basic ..." or "Bearer ..."), or empty. It is a secret:
	// never logged, never part of an error.
	authorization string
}

func newTransport(cfg *Config, url, contentType, userAgent string) transport {
	t := transport{url: url, contentType: contentType, userAgent: userAgent, tenantID: cfg.TenantID}
	switch {
	case cfg.AuthToken != "":
		t.authorization = "Bearer " + string(cfg.AuthToken)
	case cfg.AuthUsername != "":
		t.authorization = "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.AuthUsername+":"+string(cfg.AuthPassword)))
	}
	return t
}

func (t *transport) send(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return consumererror.NewPermanent(err)
	}
	// No Content-Encoding for protobuf: Loki reads the body itself as a snappy block (and answers 400 to
	// "Content-Encoding: snappy").
	req.Header.Set("Content-Type", t.contentType)
	req.Header.Set("User-Agent", t.userAgent)
	if t.tenantID != "" {
		req.Header.Set("X-Scope-OrgID", t.tenantID)
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
