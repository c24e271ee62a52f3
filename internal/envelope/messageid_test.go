package envelope

import (
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zeebo/xxh3"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/internal/logstest"
)

// richRecord sets every field the derived message_id reads, so that each case below changes exactly one.
func richRecord(res pcommon.Resource, scope pcommon.InstrumentationScope, lr plog.LogRecord) {
	res.Attributes().PutStr("service.name", "checkout")
	res.Attributes().PutStr("cloud.region", "eu-west-1")
	scope.SetName("app.checkout")
	scope.SetVersion("1.4.0")
	scope.Attributes().PutStr("library", "otel-go")
	lr.SetTimestamp(pcommon.Timestamp(1_767_322_245_000_000_001))
	lr.SetObservedTimestamp(pcommon.Timestamp(1_767_322_245_500_000_002))
	lr.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	lr.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	lr.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(true))
	lr.SetSeverityNumber(plog.SeverityNumberWarn)
	lr.SetSeverityText("WARN")
	lr.SetEventName("order.accepted")
	lr.Body().SetStr("order accepted")
	a := lr.Attributes()
	a.PutStr("http.method", "POST")
	a.PutInt("items", 3)
	a.PutDouble("duration_ms", 12.5)
	a.PutBool("cache_hit", false)
	a.PutEmptyBytes("raw").FromRaw([]byte{0xde, 0xad})
	customer := a.PutEmptyMap("customer")
	customer.PutStr("tier", "gold")
	customer.PutEmptyMap("address").PutStr("city", "Lyon")
	list := a.PutEmptySlice("list")
	list.AppendEmpty().SetStr("a")
	list.AppendEmpty().SetInt(1)
	a.PutEmpty("nothing")
}

func derivedID(ld plog.Logs) string { return entryOf(ld).MessageID() }

// The id derivation is part of the stored data (PostgreSQL deduplicates on it): this id must not change
// within MessageIDVersion. A change to the derivation that moves it needs a new version.
func TestMessageID_GoldenForThisVersion(t *testing.T) {
	require.Equal(t, 2, MessageIDVersion)
	assert.Equal(t, "fa4e2cf0-bded-82b0-86f0-f93b03c028c5", derivedID(build(richRecord)))
}

func TestMessageID_RecordsDifferingOnlyInNanosecondsGetDistinctIDs(t *testing.T) {
	const n = 10_000
	ld := logstest.TypicalBatch(n) // record i is i nanoseconds after the first: all within one millisecond
	records := logstest.Records(ld)
	for i := 0; i < n; i++ {
		records.At(i).Attributes().PutInt("order_seq", 0) // identical but for the timestamp
	}
	ids := make(map[string]struct{}, n)
	millis := make(map[string]struct{})
	var e Entry
	ForEach(ld, receivedAt, &e, func(e *Entry, _ plog.LogRecord) {
		ids[e.MessageID()] = struct{}{}
		ts, _ := e.Field("timestamp")
		millis[ts] = struct{}{}
	})
	assert.Len(t, millis, 1, "the envelope timestamp (milliseconds) is the same for all")
	assert.Len(t, ids, n, "every record keeps its own id")
}

func TestMessageID_IdenticalRecordsShareTheID(t *testing.T) {
	// Two plog.Logs built separately, as two deliveries of the same record would be.
	a, b := build(richRecord), build(richRecord)
	assert.Equal(t, derivedID(a), derivedID(b))

	// A retry from the persistent queue: the batch went through protobuf and back.
	raw, err := (&plog.ProtoMarshaler{}).MarshalLogs(a)
	require.NoError(t, err)
	back, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(raw)
	require.NoError(t, err)
	assert.Equal(t, derivedID(a), derivedID(back))

	// Nothing the envelope computes on receipt (here the receive time) takes part.
	var later Entry
	res, scope, lr := first(a)
	later.Reset(res, scope, lr, receivedAt.Add(time.Hour))
	assert.Equal(t, derivedID(a), later.MessageID())
}

func TestMessageID_EveryOTLPFieldChangesTheID(t *testing.T) {
	base := derivedID(build(richRecord))
	cases := map[string]func(res pcommon.Resource, scope pcommon.InstrumentationScope, lr plog.LogRecord){
		"timestamp +1 ns": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.SetTimestamp(lr.Timestamp() + 1)
		},
		"observed timestamp +1 ns": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.SetObservedTimestamp(lr.ObservedTimestamp() + 1)
		},
		"trace id": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.SetTraceID(pcommon.TraceID{9})
		},
		"span id": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.SetSpanID(pcommon.SpanID{9})
		},
		"flags": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.SetFlags(plog.DefaultLogRecordFlags)
		},
		"severity number": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.SetSeverityNumber(plog.SeverityNumberWarn2)
		},
		"severity text": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.SetSeverityText("WARNING")
		},
		"event name": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.SetEventName("order.rejected")
		},
		"dropped attributes count": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.SetDroppedAttributesCount(1)
		},
		"body text": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.Body().SetStr("order accepted!")
		},
		"body type: int 1 vs string 1": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.Body().SetInt(1)
		},
		"body map":  func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) { lr.Body().SetEmptyMap() },
		"body list": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) { lr.Body().SetEmptySlice() },
		"no body": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			pcommon.NewValueEmpty().CopyTo(lr.Body())
		},
		"attribute value": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.Attributes().PutStr("http.method", "GET")
		},
		"attribute type: string 3 vs int 3": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.Attributes().PutStr("items", "3")
		},
		"attribute double": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.Attributes().PutDouble("duration_ms", 12.500000001)
		},
		"attribute bool": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.Attributes().PutBool("cache_hit", true)
		},
		"attribute bytes": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.Attributes().PutEmptyBytes("raw").FromRaw([]byte{0xde})
		},
		"attribute empty vs empty string": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.Attributes().PutStr("nothing", "")
		},
		"attribute key": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			v, _ := lr.Attributes().Get("items")
			lr.Attributes().PutInt("items_", v.Int())
			lr.Attributes().Remove("items")
		},
		"attribute added": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.Attributes().PutStr("extra", "")
		},
		"nested map value, two levels down": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			v, _ := lr.Attributes().Get("customer")
			addr, _ := v.Map().Get("address")
			addr.Map().PutStr("city", "Lille")
		},
		"list element": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			v, _ := lr.Attributes().Get("list")
			v.Slice().At(1).SetInt(2)
		},
		"list order": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			v, _ := lr.Attributes().Get("list")
			v.Slice().At(0).SetInt(1)
			v.Slice().At(1).SetStr("a")
		},
		"a string moved between neighbouring keys": func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.Attributes().PutStr("http.method", "POS")
			lr.Attributes().PutStr("extra", "T")
		},
		"scope name": func(_ pcommon.Resource, scope pcommon.InstrumentationScope, _ plog.LogRecord) {
			scope.SetName("app.billing")
		},
		"scope version": func(_ pcommon.Resource, scope pcommon.InstrumentationScope, _ plog.LogRecord) {
			scope.SetVersion("1.4.1")
		},
		"scope attribute": func(_ pcommon.Resource, scope pcommon.InstrumentationScope, _ plog.LogRecord) {
			scope.Attributes().PutStr("library", "otel-java")
		},
		"scope dropped attributes": func(_ pcommon.Resource, scope pcommon.InstrumentationScope, _ plog.LogRecord) {
			scope.SetDroppedAttributesCount(2)
		},
		"resource attribute lifted into diagnostics": func(res pcommon.Resource, _ pcommon.InstrumentationScope, _ plog.LogRecord) {
			res.Attributes().PutStr("service.name", "billing")
		},
		"resource attribute": func(res pcommon.Resource, _ pcommon.InstrumentationScope, _ plog.LogRecord) {
			res.Attributes().PutStr("cloud.region", "eu-west-3")
		},
		"resource dropped attributes": func(res pcommon.Resource, _ pcommon.InstrumentationScope, _ plog.LogRecord) {
			res.SetDroppedAttributesCount(1)
		},
	}
	seen := map[string]string{base: "the unchanged record"}
	for name, change := range cases {
		ld := build(func(res pcommon.Resource, scope pcommon.InstrumentationScope, lr plog.LogRecord) {
			richRecord(res, scope, lr)
			change(res, scope, lr)
		})
		id := derivedID(ld)
		if other, dup := seen[id]; dup {
			t.Errorf("%s: same id as %s", name, other)
		}
		seen[id] = name
	}
}

// Attribute order is part of a record's identity (doc.go says why): a retry never reorders, and hashing in order
// keeps the id to one pass over the record.
func TestMessageID_AttributeOrderIsPartOfTheRecord(t *testing.T) {
	ab := build(func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
		lr.Attributes().PutStr("a", "1")
		lr.Attributes().PutStr("b", "2")
	})
	ba := build(func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
		lr.Attributes().PutStr("b", "2")
		lr.Attributes().PutStr("a", "1")
	})
	assert.NotEqual(t, derivedID(ab), derivedID(ba))
}

func TestMessageID_UntimedIdenticalRecordsAreOne(t *testing.T) {
	untimed := func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
		lr.Body().SetStr("health check ok")
	}
	var a, b Entry
	res, scope, lr := first(build(untimed))
	a.Reset(res, scope, lr, receivedAt)
	res, scope, lr = first(build(untimed))
	b.Reset(res, scope, lr, receivedAt.Add(3*time.Second))
	assert.Equal(t, a.MessageID(), b.MessageID())
}

func TestMessageID_ForEachComputesTheSameIDsAsReset(t *testing.T) {
	ld := plog.NewLogs()
	for r := 0; r < 2; r++ {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutInt("shard", int64(r))
		for s := 0; s < 2; s++ {
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName("scope")
			sl.Scope().SetVersion(string(rune('0' + s)))
			for i := 0; i < 2; i++ {
				sl.LogRecords().AppendEmpty().Body().SetStr("same body")
			}
		}
	}
	var viaForEach []string
	var e Entry
	ForEach(ld, receivedAt, &e, func(e *Entry, _ plog.LogRecord) { viaForEach = append(viaForEach, e.MessageID()) })

	var viaReset []string
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				var fresh Entry
				fresh.Reset(rl.Resource(), sl.Scope(), lr, receivedAt)
				viaReset = append(viaReset, fresh.MessageID())
			}
		}
	}
	require.Equal(t, viaReset, viaForEach)
	distinct := map[string]bool{}
	for _, id := range viaForEach {
		distinct[id] = true
	}
	assert.Len(t, distinct, 4, "each resource and scope pair gives its two identical records one id")
}

func TestMessageID_RecordsOwnIDWins(t *testing.T) {
	for _, attr := range []string{"log.record.uid", "message_id"} {
		ld := build(func(res pcommon.Resource, scope pcommon.InstrumentationScope, lr plog.LogRecord) {
			richRecord(res, scope, lr)
			lr.Attributes().PutStr(attr, "given-id")
		})
		e := entryOf(ld)
		assert.Equal(t, "given-id", e.MessageID(), attr)
		assert.Contains(t, string(e.AppendJSON(nil)), `"message_id":"given-id"`, attr)
	}
}

// randomValue fills v with a random scalar, map or list, nested up to depth levels.
func randomValue(rng *rand.Rand, v pcommon.Value, depth int) {
	switch k := rng.IntN(9); {
	case k == 0:
		v.SetStr(strings.Repeat("s", rng.IntN(200)))
	case k == 1:
		v.SetInt(rng.Int64())
	case k == 2:
		v.SetDouble(rng.Float64())
	case k == 3:
		v.SetBool(rng.IntN(2) == 0)
	case k == 4:
		v.SetEmptyBytes().FromRaw([]byte{byte(rng.IntN(256))})
	case k <= 6 && depth > 0:
		m := v.SetEmptyMap()
		for i := range rng.IntN(12) {
			randomValue(rng, m.PutEmpty("k"+strconv.Itoa(i)), depth-1)
		}
	case k <= 8 && depth > 0:
		l := v.SetEmptySlice()
		for range rng.IntN(12) {
			randomValue(rng, l.AppendEmpty(), depth-1)
		}
	}
}

// The derived id encodes the record's attributes from what the lifting pass kept, and maps and lists one level
// deep inline; both must give exactly the bytes of the general encoding (appendCanonicalMap over the record's
// attributes, appendCanonicalValue's stack), or ids would change within version 2.
func TestMessageID_FastEncodingsEqualTheGeneralOne(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var e Entry
	for round := 0; round < 500; round++ {
		ld := build(func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			for i := range rng.IntN(14) {
				randomValue(rng, lr.Attributes().PutEmpty("a"+strconv.Itoa(rng.IntN(20))+strconv.Itoa(i)), 4)
			}
			randomValue(rng, lr.Body(), 4)
		})
		res, scope, lr := first(ld)
		e.Reset(res, scope, lr, receivedAt)
		require.Equal(t, e.appendCanonicalMap(nil, lr.Attributes()), e.appendCanonicalAttributes(nil), "round %d", round)
		for _, v := range append([]pcommon.Value{lr.Body()}, valuesOf(lr.Attributes())...) {
			require.Equal(t, e.appendCanonicalValue(nil, v), e.appendCanonicalTyped(nil, v, v.Type()), "round %d", round)
		}
	}
}

func valuesOf(m pcommon.Map) []pcommon.Value {
	var values []pcommon.Value
	for _, v := range m.All() {
		values = append(values, v)
	}
	return values
}

// formatMessageID's arithmetic hex must write what the textbook form writes: the digest's bytes big-endian, byte 6
// replaced by the version, the variant in byte 8's top bits, hex-encoded in 8-4-4-4-12 groups.
func TestFormatMessageID_MatchesTheTextbookLayout(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	digests := []xxh3.Uint128{{}, {Hi: ^uint64(0), Lo: ^uint64(0)}, {Hi: 0x0123456789abcdef, Lo: 0xfedcba9876543210}}
	for range 1000 {
		digests = append(digests, xxh3.Uint128{Hi: rng.Uint64(), Lo: rng.Uint64()})
	}
	for _, d := range digests {
		var raw [16]byte
		binary.BigEndian.PutUint64(raw[:8], d.Hi)
		binary.BigEndian.PutUint64(raw[8:], d.Lo)
		raw[6] = 0x80 | MessageIDVersion
		raw[8] = raw[8]&0x3f | 0x80
		h := hex.EncodeToString(raw[:])
		want := h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
		var id [uuidLen]byte
		formatMessageID(&id, d)
		require.Equal(t, want, string(id[:]), "digest %x %x", d.Hi, d.Lo)
	}
}
