package webhook

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	secret = []byte("s3cr3t")
	signed = time.Unix(1767323045, 0)
	// body is non-ASCII on purpose: fapilog signs a re-encoding of the payload and such bodies fail verification.
	body = []byte(`[{"message":"héllo 世界 🚀"}]`)
)

// Computed independently with Python:
// hmac.new(b"s3cr3t", b"1767323045." + body, hashlib.sha256).hexdigest()
const pythonSignature = "sha256=51625531907f82437c5d4c87f53b662f39afcfffbb731d1708bb640a7e16d7cb"

func TestSign_MatchesAnIndependentImplementation(t *testing.T) {
	assert.Equal(t, pythonSignature, Sign(secret, signed.Unix(), body))
}

func TestVerify_AcceptsTheExactBytesSigned(t *testing.T) {
	ts := strconv.FormatInt(signed.Unix(), 10)
	require.NoError(t, verifyAt(signed, secret, ts, body, pythonSignature, 0))
	require.NoError(t, verifyAt(signed.Add(299*time.Second), secret, ts, body, pythonSignature, 0), "inside the default window")
	require.NoError(t, verifyAt(signed.Add(-299*time.Second), secret, ts, body, pythonSignature, 0), "small clock skew")
}

func TestVerify_RejectsStaleAndFutureTimestamps(t *testing.T) {
	ts := strconv.FormatInt(signed.Unix(), 10)
	assert.ErrorIs(t, verifyAt(signed.Add(301*time.Second), secret, ts, body, pythonSignature, 0), ErrOutsideTolerance)
	assert.ErrorIs(t, verifyAt(signed.Add(-301*time.Second), secret, ts, body, pythonSignature, 0), ErrOutsideTolerance)
	assert.ErrorIs(t, verifyAt(signed.Add(11*time.Second), secret, ts, body, pythonSignature, 10*time.Second), ErrOutsideTolerance)
	assert.NoError(t, verifyAt(signed.Add(time.Hour), secret, ts, body, pythonSignature, 2*time.Hour))
}

func TestVerify_RejectsTampering(t *testing.T) {
	ts := strconv.FormatInt(signed.Unix(), 10)
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-3] ^= 1
	assert.ErrorIs(t, verifyAt(signed, secret, ts, tampered, pythonSignature, 0), ErrSignatureMismatch, "body changed")
	assert.ErrorIs(t, verifyAt(signed, secret, strconv.FormatInt(signed.Unix()+1, 10), body, pythonSignature, 0), ErrSignatureMismatch,
		"timestamp changed: it is part of the signed string")
	assert.ErrorIs(t, verifyAt(signed, []byte("other"), ts, body, pythonSignature, 0), ErrSignatureMismatch, "wrong secret")
	flipped := pythonSignature[:len(pythonSignature)-1] + "a"
	assert.ErrorIs(t, verifyAt(signed, secret, ts, body, flipped, 0), ErrSignatureMismatch, "signature changed")
}

func TestVerify_RejectsMalformedInput(t *testing.T) {
	ts := strconv.FormatInt(signed.Unix(), 10)
	sum := pythonSignature[len(SignaturePrefix):]
	assert.ErrorIs(t, verifyAt(signed, secret, "", body, pythonSignature, 0), ErrMissingHeaders)
	assert.ErrorIs(t, verifyAt(signed, secret, ts, body, "", 0), ErrMissingHeaders)
	assert.ErrorIs(t, verifyAt(signed, secret, "2026-01-02T03:04:05Z", body, pythonSignature, 0), ErrMalformed)
	assert.ErrorIs(t, verifyAt(signed, secret, ts, body, sum, 0), ErrMalformed, "prefix missing")
	assert.ErrorIs(t, verifyAt(signed, secret, ts, body, "sha1="+sum, 0), ErrMalformed)
	assert.ErrorIs(t, verifyAt(signed, secret, ts, body, "sha256=zz"+sum[2:], 0), ErrMalformed)
	assert.ErrorIs(t, verifyAt(signed, secret, ts, body, "sha256="+sum[:62], 0), ErrMalformed, "truncated")
}

func TestVerify_UsesTheWallClock(t *testing.T) {
	now := time.Now().Unix()
	ts := strconv.FormatInt(now, 10)
	require.NoError(t, Verify(secret, ts, body, Sign(secret, now, body), 0))
	old := now - 3600
	assert.ErrorIs(t, Verify(secret, strconv.FormatInt(old, 10), body, Sign(secret, old, body), 0), ErrOutsideTolerance)
}

func BenchmarkVerify(b *testing.B) {
	ts := strconv.FormatInt(signed.Unix(), 10)
	b.ReportAllocs()
	for b.Loop() {
		if err := verifyAt(signed, secret, ts, body, pythonSignature, 0); err != nil {
			b.Fatal(err)
		}
	}
}
