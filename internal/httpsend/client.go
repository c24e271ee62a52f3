package httpsend

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.uber.org/zap"
)

// NewClient builds the exporter's HTTP client from its confighttp settings at start (auth and middleware
// extensions exist only then), with redirects handed back to Classify instead of followed.
func NewClient(ctx context.Context, cfg *confighttp.ClientConfig, host component.Host, set component.TelemetrySettings) (*http.Client, error) {
	if cfg.ProxyURL != "" {
		// confighttp parses proxy_url the same way, but its error quotes the whole URL, password included.
		if _, err := url.ParseRequestURI(cfg.ProxyURL); err != nil {
			return nil, fmt.Errorf("proxy_url: not a valid URL, percent-encode any special character of the user or password (got %q)",
				RedactedURL(cfg.ProxyURL))
		}
	}
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

// Describe names a refused request for the rejected-records metric ("http_400") and gives what to log: the
// status, the endpoint and the start of the answer; "request_not_built" when the request could not even be built.
func Describe(err error) (string, []zap.Field) {
	if se, ok := errors.AsType[*StatusError](err); ok {
		return "http_" + strconv.Itoa(se.StatusCode), []zap.Field{zap.Int("status", se.StatusCode),
			zap.ByteString("response", se.Snippet), zap.String("endpoint", se.URL)}
	}
	return "request_not_built", []zap.Field{zap.Error(err)}
}

// RefusesConfig reports whether a refusal is about the exporter's configuration rather than the data: a redirect
// (the endpoint moved), 401/403/407 (credentials) or 404/405 (no such endpoint). No later request can succeed
// until someone changes the configuration or the server, so the component status says so.
func RefusesConfig(err error) bool {
	se, ok := errors.AsType[*StatusError](err)
	if !ok {
		return false
	}
	switch code := se.StatusCode; {
	case code >= 300 && code <= 399:
		return true
	case code == http.StatusUnauthorized, code == http.StatusForbidden, code == http.StatusProxyAuthRequired,
		code == http.StatusNotFound, code == http.StatusMethodNotAllowed:
		return true
	}
	return false
}

// RedactedURL is raw as an error message may show it: any password in its userinfo replaced by "xxxxx", as
// url.URL.Redacted does, also when raw does not parse as a URL with an authority (a scheme left out or mistyped),
// so that a configuration error never prints a credential.
func RedactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err == nil && u.User != nil {
		return u.Redacted()
	}
	start := 0
	if i := strings.Index(raw, "//"); i >= 0 {
		start = i + 2
	}
	end := len(raw)
	// A URL that does not parse may owe it to a password holding '/', '?' or '#' (not percent-encoded): its
	// userinfo then runs to the last '@', wherever that is. Only a URL that parses ends its authority at them.
	if i := strings.IndexAny(raw[start:], "/?#"); i >= 0 && err == nil {
		end = start + i
	}
	if at := strings.LastIndexByte(raw[start:end], '@'); at >= 0 {
		return raw[:start] + "xxxxx" + raw[start+at:]
	}
	return raw
}
