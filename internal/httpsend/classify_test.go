package httpsend

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// isThrottle recognises exporterhelper's throttle error by its message, the only public view of it.
func isThrottle(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "Throttle (") }

func post(t *testing.T, handler http.HandlerFunc) error {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	client := srv.Client()
	DisableRedirects(client)
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/ingest", strings.NewReader(`[{"message":"x"}]`))
	require.NoError(t, err)
	return Send(client, req)
}

func TestSend_StatusClasses(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter string
		wantNil    bool
		permanent  bool
		throttle   bool
	}{
		{name: "200 delivered", status: 200, wantNil: true},
		{name: "202 delivered", status: 202, wantNil: true},
		{name: "204 delivered", status: 204, wantNil: true},
		{name: "301 permanent, not followed", status: 301, permanent: true},
		{name: "302 permanent, not followed", status: 302, permanent: true},
		{name: "307 permanent, not followed", status: 307, permanent: true},
		{name: "400 permanent", status: 400, permanent: true},
		{name: "401 permanent", status: 401, permanent: true},
		{name: "403 permanent", status: 403, permanent: true},
		{name: "404 permanent", status: 404, permanent: true},
		{name: "413 permanent", status: 413, permanent: true},
		{name: "422 permanent", status: 422, permanent: true},
		{name: "408 retryable", status: 408},
		{name: "429 retryable without Retry-After", status: 429},
		{name: "429 throttled with Retry-After seconds", status: 429, retryAfter: "7", throttle: true},
		{name: "500 permanent (as in core otlphttp)", status: 500, permanent: true},
		{name: "501 permanent", status: 501, permanent: true},
		{name: "505 permanent", status: 505, permanent: true},
		{name: "502 retryable", status: 502},
		{name: "503 throttled with Retry-After date", status: 503, retryAfter: time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), throttle: true},
		{name: "503 with unparsable Retry-After still retryable", status: 503, retryAfter: "soon"},
		{name: "504 retryable", status: 504},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls int
			err := post(t, func(w http.ResponseWriter, r *http.Request) {
				calls++
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				if tt.status >= 300 && tt.status < 400 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(`{"error":"reason"}`))
			})
			assert.Equal(t, 1, calls, "a single request, no redirect followed")
			if tt.wantNil {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			se, ok := errors.AsType[*StatusError](err)
			require.True(t, ok, "the status is recoverable with errors.As: %v", err)
			assert.Equal(t, tt.status, se.StatusCode)
			assert.Equal(t, `{"error":"reason"}`, string(se.Snippet))
			assert.Contains(t, err.Error(), "/ingest")
			assert.Equal(t, tt.permanent, consumererror.IsPermanent(err), "permanent: %v", err)
			assert.Equal(t, tt.throttle, isThrottle(err), "throttle: %v", err)
			if tt.status >= 300 && tt.status < 400 {
				assert.Contains(t, se.Location, "/elsewhere")
				assert.Contains(t, err.Error(), "redirects to")
			}
		})
	}
}

func TestClassify_KeepsOnlyFirst256BytesOfResponse(t *testing.T) {
	long := strings.Repeat("a", 200) + strings.Repeat("b", 200)
	err := post(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(long))
	})
	se, ok := errors.AsType[*StatusError](err)
	require.True(t, ok)
	assert.Equal(t, long[:SnippetLimit], string(se.Snippet))
}

func TestClassify_ThrottleCarriesTheServersDelay(t *testing.T) {
	err := post(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	se, ok := errors.AsType[*StatusError](err)
	require.True(t, ok)
	assert.Equal(t, 2*time.Second, se.RetryAfter)
	// Same shape as exporterhelper's own throttle error, so its retry sender waits at least that long.
	assert.Equal(t, exporterhelper.NewThrottleRetry(se, 2*time.Second).Error(), err.Error())
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"2", 2 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"Fri, 02 Jan 2026 03:04:35 GMT", 30 * time.Second, true},                     // IMF-fixdate
		{"Friday, 02-Jan-26 03:05:05 GMT", time.Minute, true},                         // RFC 850
		{"Fri Jan  2 03:04:15 2026", 10 * time.Second, true},                          // asctime
		{"Thu, 01 Jan 2026 00:00:00 GMT", 0, true},                                    // in the past: no wait
		{"99999999999999999999", 0, false},                                            // overflows int64
		{"9223372036854775807", time.Duration(1<<63 - 1).Truncate(time.Second), true}, // capped, no overflow
		{"-5", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.in, now)
		assert.Equal(t, tt.ok, ok, "%q", tt.in)
		assert.Equal(t, tt.want, got, "%q", tt.in)
	}
}

func TestSend_ConnectionRefusedIsRetryableAndNamesTheURLWithoutPassword(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	req, err := http.NewRequest(http.MethodPost, "http://user:hunter2@"+addr+"/ingest", strings.NewReader("[]"))
	require.NoError(t, err)
	err = Send(&http.Client{Timeout: time.Second}, req)
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	assert.NotContains(t, err.Error(), "hunter2")
	assert.Contains(t, err.Error(), addr)
}

func TestSend_TimeoutIsRetryable(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("[]"))
	require.NoError(t, err)
	err = Send(&http.Client{Timeout: 50 * time.Millisecond}, req)
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
}

func TestDescribe_NamesTheStatus(t *testing.T) {
	err := post(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte("line too long"))
	})
	reason, detail := Describe(err)
	assert.Equal(t, "http_400", reason)
	assert.NotEmpty(t, detail)
	assert.False(t, RefusesConfig(err), "a 400 refuses the data, not the configuration")
}

func TestRefusesConfig(t *testing.T) {
	for status, want := range map[int]bool{301: true, 401: true, 403: true, 404: true, 405: true, 400: false, 413: false, 422: false, 500: false} {
		err := post(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) })
		assert.Equal(t, want, RefusesConfig(err), "HTTP %d", status)
	}
}
