package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Headers of a signed request, and of the legacy shared-secret mode.
const (
	// TimestampHeader carries the signing time in Unix seconds.
	TimestampHeader = "X-Fapilog-Timestamp"
	// SignatureHeader carries "sha256=" and the lowercase hex HMAC-SHA256 of "<timestamp>.<body>".
	SignatureHeader = "X-Fapilog-Signature-256"
	// LegacySecretHeader carries the secret itself (signature_mode: header, deprecated).
	LegacySecretHeader = "X-Webhook-Secret"
)

// SignaturePrefix starts every signature value.
const SignaturePrefix = "sha256="

// DefaultTolerance is the replay window Verify uses when given none: a request signed more than 5 minutes before
// or after the receiver's clock is rejected.
const DefaultTolerance = 300 * time.Second

// Errors returned by Verify; a receiver answers 401 to any of them.
var (
	ErrNoSecret          = errors.New("webhook: no secret configured: refusing every request")
	ErrMissingHeaders    = errors.New("webhook: timestamp or signature missing")
	ErrMalformed         = errors.New("webhook: malformed timestamp or signature")
	ErrOutsideTolerance  = errors.New("webhook: timestamp outside the tolerance window (stale, replayed or clock skew)")
	ErrSignatureMismatch = errors.New("webhook: signature does not match the body")
)

// Sign returns the value of SignatureHeader for body signed with secret at timestamp (Unix seconds):
// "sha256=" + hex(HMAC-SHA256(secret, "<timestamp>.<body>")). body must be the exact bytes of the request.
func Sign(secret []byte, timestamp int64, body []byte) string {
	sum := mac(secret, strconv.AppendInt(make([]byte, 0, 20), timestamp, 10), body)
	return SignaturePrefix + hex.EncodeToString(sum)
}

func mac(secret, timestamp, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write(timestamp)
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a request a fapiloghttp exporter signed: timestamp and signature are the values of TimestampHeader
// and SignatureHeader, body the exact request body as received (after undoing any Content-Encoding). It rejects a
// timestamp further than tolerance from now in either direction (tolerance <= 0 means DefaultTolerance), which
// bounds replays, and compares the signatures in constant time. An empty secret rejects every request (ErrNoSecret).
func Verify(secret []byte, timestamp string, body []byte, signature string, tolerance time.Duration) error {
	return verifyAt(time.Now(), secret, timestamp, body, signature, tolerance)
}

func verifyAt(now time.Time, secret []byte, timestamp string, body []byte, signature string, tolerance time.Duration) error {
	if len(secret) == 0 {
		// Anyone can sign with the empty key: a receiver whose secret is unset must fail closed.
		return ErrNoSecret
	}
	if timestamp == "" || signature == "" {
		return ErrMissingHeaders
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q is not Unix seconds", ErrMalformed, timestamp)
	}
	hexSum, ok := strings.CutPrefix(signature, SignaturePrefix)
	if !ok {
		return fmt.Errorf("%w: signature does not start with %q", ErrMalformed, SignaturePrefix)
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: signature is not %d hex-encoded bytes", ErrMalformed, sha256.Size)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if skew := now.Sub(time.Unix(ts, 0)).Abs(); skew > tolerance {
		return fmt.Errorf("%w: signed %s away from now, tolerance %s", ErrOutsideTolerance, skew.Round(time.Second), tolerance)
	}
	if !hmac.Equal(mac(secret, []byte(timestamp), body), got) {
		return ErrSignatureMismatch
	}
	return nil
}
