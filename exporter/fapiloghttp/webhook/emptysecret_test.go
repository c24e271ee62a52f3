package webhook

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A receiver whose secret is missing (an unset environment variable read as "") must not accept requests: anyone
// can compute HMAC-SHA256 with an empty key, so such a Verify would accept every forged request.
func TestVerify_RejectsAnEmptySecret(t *testing.T) {
	now := time.Now()
	ts := strconv.FormatInt(now.Unix(), 10)
	forged := []byte(`{"message":"forged"}`)
	for _, s := range [][]byte{nil, {}} {
		err := verifyAt(now, s, ts, forged, Sign(s, now.Unix(), forged), 0)
		assert.ErrorIs(t, err, ErrNoSecret, "a forged request signed with the empty key was accepted (secret %q)", s)
	}
}
