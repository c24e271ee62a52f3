package fapiloghttp

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"

	"github.com/fapilog/fapilog-otelcol/exporter/fapiloghttp/webhook"
	"github.com/fapilog/fapilog-otelcol/internal/httpsend"
)

// transport sends one request: POST the body, sign it in webhook mode, classify the answer.
type transport struct {
	client        *http.Client
	endpoint      string
	userAgent     string
	signatureMode SignatureMode
	secret        []byte // nil: requests are not signed (http mode, or a webhook without secret)
	now           func() time.Time
}

func newTransport(cfg *Config, userAgent string) transport {
	t := transport{endpoint: cfg.ClientConfig.Endpoint, userAgent: userAgent, signatureMode: cfg.SignatureMode, now: time.Now}
	if cfg.Mode == ModeWebhook && cfg.Secret != "" {
		t.secret = []byte(cfg.Secret)
	}
	return t
}

func (t *transport) send(ctx context.Context, r request) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.endpoint, bytes.NewReader(r.body))
	if err != nil {
		return consumererror.NewPermanent(err)
	}
	req.Header.Set("Content-Type", r.contentType)
	req.Header.Set("User-Agent", t.userAgent)
	t.sign(req.Header, r.body)
	return httpsend.Send(t.client, req)
}

// sign adds the webhook headers. The signature covers exactly the body handed to the HTTP client; when
// compression is configured the client compresses it afterwards, so receivers verify the body after undoing
// Content-Encoding (which is what web frameworks and proxies hand them). Each attempt, retries included, is
// signed with the time it is sent at, so a retry after a long outage still falls inside the receiver's window.
func (t *transport) sign(h http.Header, body []byte) {
	if t.secret == nil {
		return
	}
	if t.signatureMode == SignatureHeader {
		h.Set(webhook.LegacySecretHeader, string(t.secret))
		return
	}
	ts := t.now().Unix()
	h.Set(webhook.TimestampHeader, strconv.FormatInt(ts, 10))
	h.Set(webhook.SignatureHeader, webhook.Sign(t.secret, ts, body))
}
