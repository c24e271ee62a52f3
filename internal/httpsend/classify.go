package httpsend

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// SnippetLimit is how much of an error response is kept for the log and the returned error.
const SnippetLimit = 256

// AnswerLimit is how much of an error response is kept for classifying it (StatusError.Answer): a backend may
// name the offending data before its reason (Loki: "entry for stream '<labels>' has timestamp too old").
const AnswerLimit = 4 << 10

// drainLimit bounds how much of a response is read and thrown away so that the connection can be reused.
const drainLimit = 64 << 10

// StatusError is an answer outside 2xx. Callers find it with errors.As to log the status and the response.
type StatusError struct {
	// URL is the request URL with any password removed.
	URL string
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Snippet is the start of the response body, at most SnippetLimit bytes.
	Snippet []byte
	// Answer is the start of the response body, at most AnswerLimit bytes, for exporters that read a reason in it.
	Answer []byte
	// RetryAfter is the delay the server asked for (0 when it asked for none).
	RetryAfter time.Duration
	// Location is the target of a redirect, which is never followed: a POST redirected by 301/302/303 would be
	// re-sent as a GET without its body and the data would be lost while looking delivered.
	Location string
}

func (e *StatusError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d %s from %s", e.StatusCode, http.StatusText(e.StatusCode), e.URL)
	if e.Location != "" {
		fmt.Fprintf(&b, " (redirects to %s: set endpoint to the final URL)", e.Location)
	}
	if len(e.Snippet) > 0 {
		fmt.Fprintf(&b, ": %q", e.Snippet)
	}
	return b.String()
}

// Retryable reports whether a status calls for sending the same data again later: 408 and 429 (come back later),
// 502, 503 and 504 (a proxy or the server is temporarily unable). As in core's otlphttp exporter, 500 is not: it
// usually means the receiver failed on this very payload, and retrying it without end (the no-loss profile) would
// block the queue behind it. An exporter whose backend documents 500 as transient (Loki) decides so itself.
// 501, 505 and the other 4xx can never succeed.
func Retryable(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// Classify maps a response to the error an exporter's push function returns: nil for any 2xx; for a Retryable status a
// retryable *StatusError, wrapped in exporterhelper.NewThrottleRetry when a valid Retry-After asks for a delay;
// for anything else a consumererror.NewPermanent(*StatusError). body is the start of the response body (its first
// AnswerLimit bytes are kept in Answer, SnippetLimit of them in Snippet).
func Classify(resp *http.Response, body []byte) error {
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	answer := body[:min(len(body), AnswerLimit)]
	se := &StatusError{StatusCode: resp.StatusCode, Snippet: answer[:min(len(answer), SnippetLimit)], Answer: answer}
	if resp.Request != nil && resp.Request.URL != nil {
		se.URL = resp.Request.URL.Redacted()
	}
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		se.Location = resp.Header.Get("Location")
	}
	if !Retryable(resp.StatusCode) {
		return consumererror.NewPermanent(se)
	}
	if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok && d > 0 {
		se.RetryAfter = d
		return exporterhelper.NewThrottleRetry(se, d)
	}
	return se
}

// ParseRetryAfter reads a Retry-After value, either delay-seconds or an HTTP-date (RFC 9110 section 10.2.3),
// as a delay from now. A date in the past is a zero delay; anything unparsable reports ok=false.
func ParseRetryAfter(value string, now time.Time) (delay time.Duration, ok bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}
	if seconds, err := strconv.ParseInt(value, 10, 64); err == nil {
		if seconds < 0 {
			return 0, false
		}
		const maxSeconds = int64(1<<63-1) / int64(time.Second)
		return time.Duration(min(seconds, maxSeconds)) * time.Second, true
	}
	date, err := http.ParseTime(value)
	if err != nil {
		return 0, false
	}
	return max(date.Sub(now), 0), true
}

// Send performs req with client and classifies the outcome (see Classify). Network errors, timeouts included, are
// returned as retryable errors naming the URL without its password. The response body is read (its first
// AnswerLimit bytes kept for errors), drained and closed, so connections are reused.
func Send(client *http.Client, req *http.Request) error {
	resp, err := client.Do(req)
	if err != nil {
		if urlErr, ok := errors.AsType[*url.Error](err); ok {
			urlErr.URL = req.URL.Redacted()
			return urlErr
		}
		return fmt.Errorf("sending to %s: %w", req.URL.Redacted(), err)
	}
	var snippet []byte
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		snippet = readSnippet(resp.Body)
	}
	_, _ = io.CopyN(io.Discard, resp.Body, drainLimit)
	_ = resp.Body.Close()
	return Classify(resp, snippet)
}

func readSnippet(r io.Reader) []byte {
	buf := make([]byte, AnswerLimit)
	n, _ := io.ReadFull(r, buf)
	return buf[:n]
}

// DisableRedirects makes client hand every 3xx back to Classify (a permanent error naming the Location) instead of
// following it: Go re-sends a POST redirected by 301/302/303 as a bodiless GET, and following a redirect to another
// host would hand it the request's secret headers.
func DisableRedirects(client *http.Client) {
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
}
