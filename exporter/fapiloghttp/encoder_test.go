package fapiloghttp

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fapilog/fapilog-otelcol/internal/envelope"
)

func encodeForTest(t *testing.T, format BatchFormat, key string, n int) (encodedBatch, [][]byte) {
	t.Helper()
	ld := testLogs("m", n)
	f := framingFor(format, key)
	var b encodedBatch
	var e envelope.Entry
	b.encode(ld, time.Now(), &f, &e)
	return b, envelopes(ld)
}

func TestEncode_ExactBodyPerFormat(t *testing.T) {
	b, envs := encodeForTest(t, FormatArray, "", 3)
	assert.Equal(t, "["+string(bytes.Join(envs, []byte(",")))+"]", string(b.body))
	assert.True(t, json.Valid(b.body))

	b, envs = encodeForTest(t, FormatNDJSON, "", 3)
	assert.Equal(t, string(envs[0])+"\n"+string(envs[1])+"\n"+string(envs[2])+"\n", string(b.body),
		"one envelope per line, the last line ends in a newline too")

	b, envs = encodeForTest(t, FormatWrapped, "logs", 3)
	assert.Equal(t, `{"logs":[`+string(bytes.Join(envs, []byte(",")))+`]}`, string(b.body))
	assert.True(t, json.Valid(b.body))
}

func TestEncode_ArrayOfOneIsStillAList(t *testing.T) {
	b, envs := encodeForTest(t, FormatArray, "", 1)
	assert.Equal(t, "["+string(envs[0])+"]", string(b.body))
}

func TestEncode_WrapperKeyIsJSONEscaped(t *testing.T) {
	b, _ := encodeForTest(t, FormatWrapped, `we"ird\key`, 2)
	require.True(t, json.Valid(b.body), "%s", b.body)
	var doc map[string][]json.RawMessage
	require.NoError(t, json.Unmarshal(b.body, &doc))
	assert.Len(t, doc[`we"ird\key`], 2)
}

func TestEncode_SpansLocateEachEnvelope(t *testing.T) {
	for _, format := range []BatchFormat{FormatArray, FormatNDJSON, FormatWrapped} {
		b, envs := encodeForTest(t, format, "logs", 5)
		require.Len(t, b.spans, 5)
		for i, s := range b.spans {
			assert.Equal(t, string(envs[i]), string(b.body[s.start:s.end]), "%s record %d", format, i)
		}
	}
}

func TestEncode_NonASCIIIsSentAsRawUTF8(t *testing.T) {
	b, _ := encodeForTest(t, FormatArray, "", 1)
	assert.Contains(t, string(b.body), "héllo 世界 🚀")
}

func TestEncode_SteadyStateAllocatesNothing(t *testing.T) {
	ld := testLogs("m", 100)
	f := framingFor(FormatArray, "")
	var b encodedBatch
	var e envelope.Entry
	b.encode(ld, time.Now(), &f, &e)
	allocs := testing.AllocsPerRun(50, func() { b.encode(ld, time.Now(), &f, &e) })
	assert.Zero(t, allocs, "re-encoding a 100-record batch into warmed buffers")
}
