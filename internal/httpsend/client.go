package httpsend

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otelcol/internal/droplog"
)

// NewClient builds the exporter's HTTP client from its confighttp settings at start (auth and middleware
// extensions exist only then), with redirects handed back to Classify instead of followed.
func NewClient(ctx context.Context, cfg *confighttp.ClientConfig, host component.Host, set component.TelemetrySettings) (*http.Client, error) {
	client, err := cfg.ToClient(ctx, host.GetExtensions(), set)
	if err != nil {
		return nil, err
	}
	DisableRedirects(client)
	return client, nil
}

// UserAgent is the User-Agent of the distribution's requests: "<description>/<version> (<os>/<arch>)".
func UserAgent(info component.BuildInfo) string {
	return fmt.Sprintf("%s/%s (%s/%s)", info.Description, info.Version, runtime.GOOS, runtime.GOARCH)
}

// ReportRejected counts and logs the records of a request the backend refused for good: the status and the
// start of the response when it answered, the error otherwise (the request could not even be built).
func ReportRejected(ctx context.Context, drops *droplog.Reporter, backend string, err error, records int) {
	if se, ok := errors.AsType[*StatusError](err); ok {
		drops.Drop(ctx, fmt.Sprintf("rejected by %s (HTTP %d)", backend, se.StatusCode), records,
			zap.Int("status", se.StatusCode), zap.ByteString("response", se.Snippet), zap.String("endpoint", se.URL))
		return
	}
	drops.Drop(ctx, "request could not be built", records, zap.Error(err))
}
