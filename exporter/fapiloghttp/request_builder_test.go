package fapiloghttp

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fapilog/fapilog-otelcol/internal/confunits"
	"github.com/fapilog/fapilog-otelcol/internal/delivery"
	"github.com/fapilog/fapilog-otelcol/internal/envelope"
)

func buildForTest(t *testing.T, cfg *Config, n int) (plan, [][]byte) {
	t.Helper()
	b, envs := encodeForTest(t, cfg.BatchFormat, cfg.BatchWrapperKey, n)
	rb := newRequestBuilder(cfg)
	var p plan
	rb.build(&b, &p)
	return p, envs
}

func builderConfig(mode Mode, format BatchFormat, maxBytes int) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Mode, cfg.BatchFormat, cfg.MaxRequestBytes = mode, format, confunits.ByteSize(maxBytes)
	return cfg
}

func TestBuild_WholeBatchIsOneRequestWithoutCopy(t *testing.T) {
	b, _ := encodeForTest(t, FormatArray, "", 10)
	rb := newRequestBuilder(builderConfig(ModeHTTP, FormatArray, 0))
	var p plan
	rb.build(&b, &p)
	require.Len(t, p.requests, 1)
	assert.Equal(t, 10, p.requests[0].records)
	assert.Same(t, &b.body[0], &p.requests[0].body[0], "the encoded body is sent as is")
	assert.Equal(t, contentTypeJSON, p.requests[0].contentType)
}

func TestBuild_ContentTypePerFormat(t *testing.T) {
	for format, want := range map[BatchFormat]string{FormatArray: contentTypeJSON, FormatNDJSON: contentTypeNDJSON, FormatWrapped: contentTypeJSON} {
		p, _ := buildForTest(t, builderConfig(ModeHTTP, format, 0), 2)
		assert.Equal(t, want, p.requests[0].contentType, format)
	}
}

func TestBuild_WebhookBatchOfOneIsTheBareEnvelope(t *testing.T) {
	for _, format := range []BatchFormat{FormatArray, FormatWrapped} {
		p, envs := buildForTest(t, builderConfig(ModeWebhook, format, 0), 1)
		require.Len(t, p.requests, 1)
		assert.Equal(t, string(envs[0]), string(p.requests[0].body), format)
		assert.Equal(t, contentTypeJSON, p.requests[0].contentType)

		p, _ = buildForTest(t, builderConfig(ModeWebhook, format, 0), 2)
		assert.Len(t, decodeBody(t, p.requests[0].contentType, p.requests[0].body), 2, "a batch of two keeps its framing (%s)", format)
	}
	p, envs := buildForTest(t, builderConfig(ModeWebhook, FormatNDJSON, 0), 1)
	assert.Equal(t, string(envs[0])+"\n", string(p.requests[0].body), "NDJSON of one is one line")
	assert.Equal(t, contentTypeNDJSON, p.requests[0].contentType)

	p, envs = buildForTest(t, builderConfig(ModeHTTP, FormatArray, 0), 1)
	assert.Equal(t, "["+string(envs[0])+"]", string(p.requests[0].body), "http mode sends a list even of one")
}

func TestBuild_SplitsAtMaxRequestBytesKeepingRecordsWhole(t *testing.T) {
	for _, format := range []BatchFormat{FormatArray, FormatNDJSON, FormatWrapped} {
		_, envs := encodeForTest(t, format, "logs", 10)
		limit := 3*len(envs[0]) + 20 // about three records per request
		p, envs := buildForTest(t, builderConfig(ModeHTTP, format, limit), 10)
		require.Greater(t, len(p.requests), 2, format)
		var got [][]byte
		total := 0
		for _, r := range p.requests {
			assert.LessOrEqual(t, len(r.body), limit, format)
			docs := decodeBody(t, r.contentType, r.body)
			assert.Equal(t, len(docs), r.records)
			total += r.records
			if format == FormatNDJSON {
				got = append(got, bytes.Split(bytes.TrimSuffix(r.body, []byte("\n")), []byte("\n"))...)
			} else {
				var list []json.RawMessage
				body := r.body
				if format == FormatWrapped {
					var w map[string][]json.RawMessage
					require.NoError(t, json.Unmarshal(body, &w))
					list = w["logs"]
				} else {
					require.NoError(t, json.Unmarshal(body, &list))
				}
				for _, l := range list {
					got = append(got, l)
				}
			}
		}
		assert.Equal(t, 10, total)
		require.Len(t, got, 10)
		for i := range envs {
			assert.Equal(t, string(envs[i]), string(got[i]), "%s: records keep their order and bytes", format)
		}
		for i := 1; i < len(p.Owner); i++ {
			assert.GreaterOrEqual(t, p.Owner[i], p.Owner[i-1])
		}
	}
}

func TestBuild_RecordTooLargeForAnyRequestIsLeftOut(t *testing.T) {
	ld := withBigRecord(testLogs("m", 6), "m-2", 4096)
	f := framingFor(FormatArray, "")
	var b encodedBatch
	var e envelope.Entry
	b.encode(ld, time.Now(), &f, &e)
	envs := envelopes(ld)
	big := -1
	for i, env := range envs {
		if bytes.Contains(env, []byte(`"m-2"`)) {
			big = i
		}
	}
	require.GreaterOrEqual(t, big, 0)

	rb := newRequestBuilder(builderConfig(ModeHTTP, FormatArray, 2048))
	var p plan
	rb.build(&b, &p)
	assert.Equal(t, 1, p.dropped)
	assert.EqualValues(t, delivery.LeftOut, p.Owner[big])
	total := 0
	for _, r := range p.requests {
		assert.NotContains(t, string(r.body), `"m-2"`)
		assert.LessOrEqual(t, len(r.body), 2048)
		total += r.records
	}
	assert.Equal(t, 5, total, "the rest of the batch still goes")
}

func TestBuild_EveryRecordTooLargeLeavesNoRequest(t *testing.T) {
	p, _ := buildForTest(t, builderConfig(ModeHTTP, FormatArray, 10), 3)
	assert.Empty(t, p.requests)
	assert.Equal(t, 3, p.dropped)
}

// In webhook mode a request of one record is the bare envelope, without the list's framing: a record of exactly
// max_request_bytes fits a request of its own and is sent, not refused as too large.
func TestBuild_WebhookRecordThatFitsOnlyBareIsSentAlone(t *testing.T) {
	for _, format := range []BatchFormat{FormatArray, FormatWrapped} {
		_, envelopes := encodeForTest(t, format, "logs", 3)
		limit := len(envelopes[1])
		p, _ := buildForTest(t, builderConfig(ModeWebhook, format, limit), 3)
		assert.Zero(t, p.dropped, format)
		require.Len(t, p.requests, 3, "%s: one record a request", format)
		for _, r := range p.requests {
			assert.LessOrEqual(t, len(r.body), limit, format)
			assert.Equal(t, byte('{'), r.body[0], "%s: a bare envelope", format)
		}
	}
}
