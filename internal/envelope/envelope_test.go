package envelope

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

var receivedAt = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)

// build makes one record; mutate fills in what the case needs.
func build(mutate func(res pcommon.Resource, scope pcommon.InstrumentationScope, lr plog.LogRecord)) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	sl := rl.ScopeLogs().AppendEmpty()
	lr := sl.LogRecords().AppendEmpty()
	mutate(rl.Resource(), sl.Scope(), lr)
	return ld
}

func first(ld plog.Logs) (pcommon.Resource, pcommon.InstrumentationScope, plog.LogRecord) {
	rl := ld.ResourceLogs().At(0)
	sl := rl.ScopeLogs().At(0)
	return rl.Resource(), sl.Scope(), sl.LogRecords().At(0)
}

func entryOf(ld plog.Logs) *Entry {
	var e Entry
	res, scope, lr := first(ld)
	e.Reset(res, scope, lr, receivedAt)
	return &e
}

// decoded encodes the record as bare envelope JSON and decodes it back.
func decoded(t *testing.T, ld plog.Logs) map[string]any {
	t.Helper()
	out := entryOf(ld).AppendJSON(nil)
	require.True(t, json.Valid(out), "invalid JSON: %s", out)
	var m map[string]any
	require.NoError(t, json.Unmarshal(out, &m))
	return m
}

func TestEnvelope_MappingRules(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 678_900_000, time.UTC)
	tests := []struct {
		name   string
		mutate func(res pcommon.Resource, scope pcommon.InstrumentationScope, lr plog.LogRecord)
		check  func(t *testing.T, env map[string]any)
	}{
		{"timestamp from Timestamp, RFC 3339 UTC millis", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.SetTimestamp(pcommon.NewTimestampFromTime(ts.In(time.FixedZone("X", 3600))))
			lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(ts.Add(time.Hour)))
		}, func(t *testing.T, env map[string]any) { assert.Equal(t, "2026-01-02T03:04:05.678Z", env["timestamp"]) }},
		{"timestamp falls back to ObservedTimestamp", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(ts))
		}, func(t *testing.T, env map[string]any) { assert.Equal(t, "2026-01-02T03:04:05.678Z", env["timestamp"]) }},
		{"timestamp falls back to receive time", func(pcommon.Resource, pcommon.InstrumentationScope, plog.LogRecord) {},
			func(t *testing.T, env map[string]any) { assert.Equal(t, "2026-05-06T07:08:09.000Z", env["timestamp"]) }},
		{"level from severity text, upper-cased", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.SetSeverityText("error")
			lr.SetSeverityNumber(plog.SeverityNumberInfo)
		}, func(t *testing.T, env map[string]any) { assert.Equal(t, "ERROR", env["level"]) }},
		{"severity text WARN becomes WARNING", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.SetSeverityText("Warn")
		}, func(t *testing.T, env map[string]any) { assert.Equal(t, "WARNING", env["level"]) }},
		{"severity text FATAL becomes CRITICAL", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.SetSeverityText("FATAL")
		}, func(t *testing.T, env map[string]any) { assert.Equal(t, "CRITICAL", env["level"]) }},
		{"unknown severity text kept upper-cased", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.SetSeverityText("notice")
		}, func(t *testing.T, env map[string]any) { assert.Equal(t, "NOTICE", env["level"]) }},
		{"level unset is INFO", func(pcommon.Resource, pcommon.InstrumentationScope, plog.LogRecord) {},
			func(t *testing.T, env map[string]any) { assert.Equal(t, "INFO", env["level"]) }},
		{"message from string body", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.Body().SetStr("user signed in")
		}, func(t *testing.T, env map[string]any) { assert.Equal(t, "user signed in", env["message"]) }},
		{"map body: message key to message, others to data", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			m := lr.Body().SetEmptyMap()
			m.PutStr("message", "from map")
			m.PutInt("count", 3)
		}, func(t *testing.T, env map[string]any) {
			assert.Equal(t, "from map", env["message"])
			assert.Equal(t, map[string]any{"count": float64(3)}, env["data"])
		}},
		{"map body: msg key used when message absent", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			m := lr.Body().SetEmptyMap()
			m.PutStr("msg", "short form")
			m.PutStr("k", "v")
		}, func(t *testing.T, env map[string]any) {
			assert.Equal(t, "short form", env["message"])
			assert.Equal(t, map[string]any{"k": "v"}, env["data"])
		}},
		{"map body: attribute wins over body field of the same name", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.Body().SetEmptyMap().PutStr("k", "from body")
			lr.Attributes().PutStr("k", "from attributes")
		}, func(t *testing.T, env map[string]any) {
			assert.Equal(t, "", env["message"])
			assert.Equal(t, map[string]any{"k": "from attributes"}, env["data"])
		}},
		{"other bodies rendered as text", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			s := lr.Body().SetEmptySlice()
			s.AppendEmpty().SetStr("a")
			s.AppendEmpty().SetInt(1)
		}, func(t *testing.T, env map[string]any) { assert.Equal(t, `["a",1]`, env["message"]) }},
		{"int body rendered as text", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.Body().SetInt(42)
		}, func(t *testing.T, env map[string]any) { assert.Equal(t, "42", env["message"]) }},
		{"logger from scope name", func(_ pcommon.Resource, scope pcommon.InstrumentationScope, lr plog.LogRecord) {
			scope.SetName("app.db")
			lr.Attributes().PutStr("logger.name", "ignored")
		}, func(t *testing.T, env map[string]any) {
			assert.Equal(t, "app.db", env["logger"])
			assert.Equal(t, map[string]any{"logger.name": "ignored"}, env["data"], "a shadowed logger.name stays visible")
		}},
		{"logger from logger.name attribute", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.Attributes().PutStr("logger.name", "payments")
		}, func(t *testing.T, env map[string]any) {
			assert.Equal(t, "payments", env["logger"])
			assert.Empty(t, env["data"])
		}},
		{"logger defaults to root", func(pcommon.Resource, pcommon.InstrumentationScope, plog.LogRecord) {},
			func(t *testing.T, env map[string]any) { assert.Equal(t, "root", env["logger"]) }},
		{"message_id from log.record.uid", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.Attributes().PutStr("message_id", "m-2")
			lr.Attributes().PutStr("log.record.uid", "01J0000000000000000000000")
		}, func(t *testing.T, env map[string]any) {
			assert.Equal(t, "01J0000000000000000000000", ctxOf(env)["message_id"])
			assert.Equal(t, map[string]any{"message_id": "m-2"}, env["data"])
		}},
		{"message_id from message_id attribute", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.Attributes().PutStr("message_id", "m-2")
		}, func(t *testing.T, env map[string]any) {
			assert.Equal(t, "m-2", ctxOf(env)["message_id"])
			assert.Empty(t, env["data"])
		}},
		{"message_id derived is a UUID", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.Body().SetStr("x")
		}, func(t *testing.T, env map[string]any) {
			assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-82[0-9a-f]{2}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, ctxOf(env)["message_id"])
		}},
		{"correlation_id from attribute", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.Attributes().PutStr("correlation_id", "c-1")
			lr.Attributes().PutStr("request_id", "r-1")
		}, func(t *testing.T, env map[string]any) {
			assert.Equal(t, "c-1", ctxOf(env)["correlation_id"])
			assert.Equal(t, "r-1", ctxOf(env)["request_id"])
		}},
		{"correlation_id falls back to request_id", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.Attributes().PutStr("request_id", "r-1")
		}, func(t *testing.T, env map[string]any) {
			assert.Equal(t, "r-1", ctxOf(env)["correlation_id"])
			assert.Equal(t, "r-1", ctxOf(env)["request_id"])
			assert.Empty(t, env["data"])
		}},
		{"correlation_id null when absent", func(pcommon.Resource, pcommon.InstrumentationScope, plog.LogRecord) {},
			func(t *testing.T, env map[string]any) {
				c := ctxOf(env)
				v, present := c["correlation_id"]
				assert.True(t, present)
				assert.Nil(t, v)
				assert.NotContains(t, c, "trace_id")
				assert.NotContains(t, c, "user_id")
			}},
		{"trace_id and span_id as hex", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.SetTraceID(pcommon.TraceID{0x01, 0x23, 15: 0xff})
			lr.SetSpanID(pcommon.SpanID{0xab, 7: 0x01})
		}, func(t *testing.T, env map[string]any) {
			assert.Equal(t, "012300000000000000000000000000ff", ctxOf(env)["trace_id"])
			assert.Equal(t, "ab00000000000001", ctxOf(env)["span_id"])
		}},
		{"user_id, tenant_id and enduser.id", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.Attributes().PutStr("enduser.id", "u-9")
			lr.Attributes().PutStr("tenant_id", "t-1")
		}, func(t *testing.T, env map[string]any) {
			assert.Equal(t, "u-9", ctxOf(env)["user_id"])
			assert.Equal(t, "t-1", ctxOf(env)["tenant_id"])
			assert.Empty(t, env["data"])
		}},
		{"user_id wins over enduser.id", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.Attributes().PutStr("enduser.id", "u-9")
			lr.Attributes().PutInt("user_id", 7)
		}, func(t *testing.T, env map[string]any) {
			assert.Equal(t, float64(7), ctxOf(env)["user_id"])
			assert.Equal(t, map[string]any{"enduser.id": "u-9"}, env["data"])
		}},
		{"diagnostics from resource", func(res pcommon.Resource, _ pcommon.InstrumentationScope, _ plog.LogRecord) {
			a := res.Attributes()
			a.PutStr("service.name", "checkout")
			a.PutStr("deployment.environment.name", "prod")
			a.PutStr("deployment.environment", "legacy")
			a.PutStr("service.version", "1.2.3")
			a.PutStr("host.name", "web-1")
			a.PutInt("process.pid", 4242)
			a.PutStr("cloud.region", "eu-west-1")
		}, func(t *testing.T, env map[string]any) {
			assert.Equal(t, map[string]any{
				"origin": "otlp", "service": "checkout", "env": "prod", "version": "1.2.3", "host": "web-1", "pid": float64(4242),
				"resource": map[string]any{"cloud.region": "eu-west-1", "deployment.environment": "legacy"},
			}, env["diagnostics"])
		}},
		{"env falls back to deployment.environment", func(res pcommon.Resource, _ pcommon.InstrumentationScope, _ plog.LogRecord) {
			res.Attributes().PutStr("deployment.environment", "staging")
		}, func(t *testing.T, env map[string]any) {
			assert.Equal(t, map[string]any{"origin": "otlp", "env": "staging"}, env["diagnostics"])
		}},
		{"exception attributes to diagnostics.exception", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.Attributes().PutStr("exception.type", "ValueError")
			lr.Attributes().PutStr("exception.message", "bad value")
			lr.Attributes().PutStr("exception.stacktrace", "Traceback...\n  line 1")
		}, func(t *testing.T, env map[string]any) {
			assert.Equal(t, map[string]any{"error.type": "ValueError", "error.message": "bad value", "error.stack": "Traceback...\n  line 1"},
				env["diagnostics"].(map[string]any)["exception"])
			assert.Empty(t, env["data"])
		}},
		{"data keeps nested maps, slices, bytes as base64", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			a := lr.Attributes()
			a.PutEmptyMap("user").PutStr("id", "u1")
			sl := a.PutEmptySlice("items")
			sl.AppendEmpty().SetInt(1)
			sl.AppendEmpty().SetEmptyMap().PutBool("ok", true)
			a.PutEmptyBytes("raw").FromRaw([]byte{0xde, 0xad})
			a.PutDouble("ratio", 0.25)
			a.PutEmpty("nothing")
		}, func(t *testing.T, env map[string]any) {
			assert.Equal(t, map[string]any{
				"user":    map[string]any{"id": "u1"},
				"items":   []any{float64(1), map[string]any{"ok": true}},
				"raw":     "3q0=",
				"ratio":   0.25,
				"nothing": nil,
			}, env["data"])
		}},
		{"tags from a list of strings", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			sl := lr.Attributes().PutEmptySlice("tags")
			sl.AppendEmpty().SetStr("billing")
			sl.AppendEmpty().SetStr("audit")
		}, func(t *testing.T, env map[string]any) {
			assert.Equal(t, []any{"billing", "audit"}, env["tags"])
			assert.Empty(t, env["data"])
		}},
		{"tags that are not all strings stay in data", func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			sl := lr.Attributes().PutEmptySlice("tags")
			sl.AppendEmpty().SetInt(1)
		}, func(t *testing.T, env map[string]any) {
			assert.NotContains(t, env, "tags")
			assert.Equal(t, map[string]any{"tags": []any{float64(1)}}, env["data"])
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, decoded(t, build(tt.mutate)))
		})
	}
}

func ctxOf(env map[string]any) map[string]any { return env["context"].(map[string]any) }

func TestEnvelope_KeysSortedAtEveryLevelAndCompact(t *testing.T) {
	ld := build(func(res pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
		lr.Body().SetStr("hi")
		lr.Attributes().PutStr("zeta", "z")
		n := lr.Attributes().PutEmptyMap("alpha")
		n.PutInt("b", 2)
		n.PutInt("a", 1)
		lr.Attributes().PutStr("log.record.uid", "id-1")
		res.Attributes().PutStr("service.name", "svc")
	})
	got := string(entryOf(ld).AppendJSON(nil))
	want := `{"context":{"correlation_id":null,"message_id":"id-1"},"data":{"alpha":{"a":1,"b":2},"zeta":"z"},` +
		`"diagnostics":{"origin":"otlp","service":"svc"},"level":"INFO","logger":"root","message":"hi","timestamp":"2026-01-02T03:04:05.000Z"}`
	assert.Equal(t, want, got)
}

func TestEnvelope_JSONLineWrapsEnvelopeWithSchemaVersion(t *testing.T) {
	ld := build(func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) { lr.Body().SetStr("hi") })
	e := entryOf(ld)
	line := e.AppendJSONLine(nil)
	require.True(t, strings.HasSuffix(string(line), "}\n"))
	assert.Equal(t, `{"log":`+string(e.AppendJSON(nil))+`,"schema_version":"1.1"}`+"\n", string(line))
}

func TestEnvelope_Escaping(t *testing.T) {
	tests := []struct{ in, want string }{
		{`say "hi"`, `"say \"hi\""`},
		{`back\slash`, `"back\\slash"`},
		{"line\nbreak\ttab\rcr\bbs\fff", `"line\nbreak\ttab\rcr\bbs\fff"`},
		{"nul\x00 esc\x1b", `"nul\u0000 esc\u001b"`},
		{"bad \xff utf8 \xc3", "\"bad \uFFFD utf8 \uFFFD\""},
		{"js \u2028 \u2029", `"js \u2028 \u2029"`},
		{"raw ünïcödé 日本 😀", `"raw ünïcödé 日本 😀"`},
		{"del \x7f", "\"del \x7f\""},
	}
	for _, tt := range tests {
		got := string(appendJSONString(nil, tt.in))
		assert.Equal(t, tt.want, got, "input %q", tt.in)
		assert.True(t, json.Valid([]byte(got)))
	}
}

func TestEnvelope_NonFiniteFloatsBecomeStrings(t *testing.T) {
	ld := build(func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
		lr.Attributes().PutDouble("nan", math.NaN())
		lr.Attributes().PutDouble("inf", math.Inf(1))
		lr.Attributes().PutDouble("ninf", math.Inf(-1))
		lr.Attributes().PutDouble("tiny", 1e-9)
		lr.Attributes().PutDouble("huge", 1e300)
	})
	env := decoded(t, ld)
	assert.Equal(t, map[string]any{"nan": "NaN", "inf": "Infinity", "ninf": "-Infinity", "tiny": 1e-9, "huge": 1e300}, env["data"])
	assert.Contains(t, string(entryOf(ld).AppendJSON(nil)), `"tiny":1e-9`)
}

func TestEnvelope_MessageIDIsDeterministicAndContentBound(t *testing.T) {
	mk := func(body string, attr string) plog.Logs {
		return build(func(res pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
			lr.Body().SetStr(body)
			lr.Attributes().PutStr("k", attr)
			res.Attributes().PutStr("service.name", "svc")
		})
	}
	id := func(ld plog.Logs) string { return entryOf(ld).MessageID() }
	a := id(mk("hello", "v"))
	assert.Equal(t, a, id(mk("hello", "v")), "same record, same id")
	assert.NotEqual(t, a, id(mk("hello!", "v")), "body changes the id")
	assert.NotEqual(t, a, id(mk("hello", "w")), "attributes change the id")

	// Every encoding carries the same id.
	e := entryOf(mk("hello", "v"))
	assert.Contains(t, string(e.AppendText(nil)), a)
	e = entryOf(mk("hello", "v"))
	assert.Contains(t, string(e.AppendJSONLine(nil)), a)

	// A record without any timestamp keeps its id when it is re-encoded later (a retry).
	noTime := build(func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) { lr.Body().SetStr("x") })
	var e1, e2 Entry
	res, scope, lr := first(noTime)
	e1.Reset(res, scope, lr, receivedAt)
	e2.Reset(res, scope, lr, receivedAt.Add(time.Minute))
	assert.Equal(t, e1.MessageID(), e2.MessageID())
	assert.NotEqual(t, string(e1.AppendJSON(nil)), string(e2.AppendJSON(nil)), "the timestamps themselves differ")
}

func TestEnvelope_ResetClearsPreviousRecord(t *testing.T) {
	var e Entry
	withAll := build(func(res pcommon.Resource, scope pcommon.InstrumentationScope, lr plog.LogRecord) {
		scope.SetName("s")
		lr.Attributes().PutStr("correlation_id", "c")
		lr.Attributes().PutStr("exception.type", "E")
		res.Attributes().PutStr("service.name", "svc")
		lr.Body().SetEmptyMap().PutStr("message", "m")
	})
	empty := build(func(pcommon.Resource, pcommon.InstrumentationScope, plog.LogRecord) {})
	res, scope, lr := first(withAll)
	e.Reset(res, scope, lr, receivedAt)
	_ = e.AppendJSON(nil)
	res, scope, lr = first(empty)
	e.Reset(res, scope, lr, receivedAt)
	got := string(e.AppendJSON(nil))
	fresh := string(entryOf(empty).AppendJSON(nil))
	assert.Equal(t, fresh, got)
}

func TestEnvelope_Text(t *testing.T) {
	ld := build(func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
		lr.Body().SetStr("user signed in")
		lr.SetSeverityText("warn")
		lr.Attributes().PutStr("log.record.uid", "id-1")
		lr.Attributes().PutEmptyMap("user").PutStr("id", "u1")
	})
	got := string(entryOf(ld).AppendText(nil))
	want := `context={"correlation_id":null,"message_id":"id-1"} data={"user":{"id":"u1"}} diagnostics={"origin":"otlp"} ` +
		`level=WARNING logger=root message="user signed in" timestamp=2026-01-02T03:04:05.000Z` + "\n"
	assert.Equal(t, want, got)
}

func TestEnvelope_Pretty(t *testing.T) {
	ld := build(func(_ pcommon.Resource, scope pcommon.InstrumentationScope, lr plog.LogRecord) {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
		lr.Body().SetStr("payment failed")
		lr.SetSeverityNumber(plog.SeverityNumberError)
		scope.SetName("billing")
		lr.Attributes().PutStr("correlation_id", "c-1")
		u := lr.Attributes().PutEmptyMap("user")
		u.PutStr("id", "u1")
		u.PutStr("name", "Ada Lovelace")
		lr.Attributes().PutInt("amount", 12)
		lr.Attributes().PutStr("exception.stacktrace", "Traceback\n  at x")
	})
	plain := string(entryOf(ld).AppendPretty(nil, PrettyOptions{Location: time.UTC}))
	assert.Equal(t, "2026-01-02 03:04:05 | ERROR    | payment failed logger=billing correlation_id=c-1 amount=12 user.id=u1 user.name='Ada Lovelace'\n"+
		"    Traceback\n      at x\n", plain)

	colored := string(entryOf(ld).AppendPretty(nil, PrettyOptions{Colors: true, Location: time.UTC}))
	assert.Contains(t, colored, "| \x1b[31mERROR   \x1b[0m |")

	for level, code := range map[string]string{"DEBUG": "90", "INFO": "34", "WARNING": "33", "ERROR": "31", "CRITICAL": "1;31"} {
		ld := build(func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) { lr.SetSeverityText(level) })
		assert.Contains(t, string(entryOf(ld).AppendPretty(nil, PrettyOptions{Colors: true})), "\x1b["+code+"m"+level)
	}
	local := time.FixedZone("UTC+2", 2*3600)
	assert.True(t, strings.HasPrefix(string(entryOf(ld).AppendPretty(nil, PrettyOptions{Location: local})), "2026-01-02 05:04:05 |"))
}

func TestEnvelope_Field(t *testing.T) {
	ld := build(func(res pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
		lr.Body().SetStr("hi")
		lr.Attributes().PutStr("http.method", "GET")
		lr.Attributes().PutEmptyMap("geo").PutStr("region", "eu")
		lr.Attributes().PutStr("correlation_id", "c-1")
		lr.Attributes().PutInt("count", 3)
		res.Attributes().PutStr("service.name", "svc")
		res.Attributes().PutStr("k8s.pod.name", "pod-1")
	})
	e := entryOf(ld)
	for path, want := range map[string]string{
		"level": "INFO", "message": "hi", "logger": "root", "timestamp": "2026-01-02T03:04:05.000Z",
		"context.correlation_id": "c-1", "diagnostics.service": "svc", "diagnostics.origin": "otlp",
		"diagnostics.resource.k8s.pod.name": "pod-1", "data.http.method": "GET", "data.geo.region": "eu",
		"data.count": "3", "data.geo": `{"region":"eu"}`,
	} {
		got, ok := e.Field(path)
		assert.True(t, ok, path)
		assert.Equal(t, want, got, path)
		compiled, err := CompileField(path)
		require.NoError(t, err, path)
		got, ok = compiled.Of(e)
		assert.True(t, ok, path)
		assert.Equal(t, want, got, "compiled %s", path)
	}
	for _, absent := range []string{"data.correlation_id", "data.nope", "context.user_id", "diagnostics.env", "diagnostics.resource.service.name"} {
		_, ok := e.Field(absent)
		assert.False(t, ok, absent)
		compiled, err := CompileField(absent)
		require.NoError(t, err, absent)
		_, ok = compiled.Of(e)
		assert.False(t, ok, "compiled %s", absent)
	}
	_, ok := e.Field("nope")
	assert.False(t, ok)
	_, err := CompileField("nope")
	assert.EqualError(t, err, ValidFieldPath("nope").Error())
	id, ok := e.Field("context.message_id")
	assert.True(t, ok)
	assert.Len(t, id, 36)
}

// Attributes lifted out of data under a dotted key (logger.name into logger, exception.* into diagnostics,
// log.record.uid into context) are not data fields either, unlike a map attribute that shares their first segment.
func TestEnvelope_FieldDoesNotFindDottedLiftedAttributesInData(t *testing.T) {
	ld := build(func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
		lr.Body().SetStr("boom")
		lr.Attributes().PutStr("logger.name", "payments")
		lr.Attributes().PutStr("exception.type", "ValueError")
		lr.Attributes().PutStr("log.record.uid", "uid-1")
		lr.Attributes().PutEmptyMap("logger").PutStr("level", "debug")
	})
	e := entryOf(ld)
	var env map[string]any
	require.NoError(t, json.Unmarshal(e.AppendJSON(nil), &env))
	require.Equal(t, map[string]any{"logger": map[string]any{"level": "debug"}}, env["data"])
	for _, path := range []string{"data.logger.name", "data.exception.type", "data.log.record.uid"} {
		v, ok := e.Field(path)
		assert.False(t, ok, "%s found as %q, though data has no such field", path, v)
	}
	v, ok := e.Field("data.logger.level")
	assert.True(t, ok)
	assert.Equal(t, "debug", v)
}

// A compiled field keeps nothing of the records it read: one CompiledField serves every record of a batch.
func TestCompiledField_ReadsEachRecordOfABatch(t *testing.T) {
	ld := batchOf(t, "app",
		otlpRecord(stringBody, kv("http.method", `{"stringValue":"GET"}`), kv("user_id", strVal)),
		otlpRecord(mapBody(kv("message", strVal), kv("http.method", `{"stringValue":"PUT"}`))),
		otlpRecord(stringBody, kv("http.method", `{"kvlistValue":{"values":[]}}`)),
		otlpRecord(stringBody))
	method, err := CompileField("data.http.method")
	require.NoError(t, err)
	user, err := CompileField("context.user_id")
	require.NoError(t, err)
	var got []string
	var e Entry
	ForEach(ld, receivedAt, &e, func(e *Entry, _ plog.LogRecord) {
		m, mok := method.Of(e)
		u, uok := user.Of(e)
		got = append(got, m+"/"+strconv.FormatBool(mok)+" "+u+"/"+strconv.FormatBool(uok))
	})
	assert.Equal(t, []string{"GET/true v/true", "PUT/true /false", "{}/true /false", "/false /false"}, got)
}

func TestEnvelope_ForEachVisitsEveryRecordInOrder(t *testing.T) {
	ld := plog.NewLogs()
	for r := 0; r < 2; r++ {
		sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
		for i := 0; i < 3; i++ {
			sl.LogRecords().AppendEmpty().Body().SetStr(string(rune('a' + r*3 + i)))
		}
	}
	var got []string
	var e Entry
	ForEach(ld, receivedAt, &e, func(e *Entry, _ plog.LogRecord) { got = append(got, e.Message()) })
	assert.Equal(t, []string{"a", "b", "c", "d", "e", "f"}, got)
}

func TestValidFieldPath(t *testing.T) {
	for _, ok := range []string{"level", "timestamp", "tags", "context.correlation_id", "context.trace_id", "diagnostics.service",
		"diagnostics.resource.k8s.pod.name", "data.region", "data.http.method"} {
		assert.NoError(t, ValidFieldPath(ok), ok)
	}
	for _, bad := range []string{"", "lvl", "context", "context.nope", "diagnostics.resource.", "diagnostics.nope", "data", "data.", "extra.x"} {
		assert.Error(t, ValidFieldPath(bad), bad)
	}
}

func TestPretty_TimeCacheMatchesTimeFormat(t *testing.T) {
	var c prettyTimeCache
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	start := time.Date(2026, 3, 29, 0, 59, 58, 0, time.UTC) // across the switch to summer time in Paris
	for i := 0; i < 5_000; i++ {
		ts := start.Add(time.Duration(i) * 987_654_321 * time.Nanosecond)
		loc := []*time.Location{time.UTC, paris, paris}[i%3]
		require.Equal(t, ts.In(loc).Format(prettyTimeLayout), string(c.appendPrettyTime(nil, ts, loc)), "%v in %v", ts, loc)
	}
}

// ForEach reuses what it computed for a resource and a scope across their records; every record must still
// encode exactly as a fresh Entry encodes it.
func TestEnvelope_ForEachEncodesLikeAFreshEntry(t *testing.T) {
	ld := plog.NewLogs()
	for r := 0; r < 3; r++ {
		rl := ld.ResourceLogs().AppendEmpty()
		a := rl.Resource().Attributes()
		a.PutStr("service.name", "svc-"+strconv.Itoa(r))
		if r == 0 {
			a.PutStr("deployment.environment.name", "prod")
			a.PutStr("service.version", "1.2.3")
			a.PutStr("host.name", "web-1")
			a.PutInt("process.pid", 42)
			a.PutStr("cloud.region", "eu-west-1")
		}
		for s := 0; s < 2; s++ {
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName("scope-" + strconv.Itoa(s))
			for i := 0; i < 3; i++ {
				lr := sl.LogRecords().AppendEmpty()
				lr.SetTimestamp(pcommon.Timestamp(1_767_322_245_000_000_000 + i))
				lr.Body().SetStr("record " + strconv.Itoa(i))
				lr.SetSeverityText([]string{"", "warn", "Notice"}[i])
				lr.Attributes().PutInt("i", int64(i))
				if i == 1 {
					lr.Attributes().PutStr("exception.type", "ValueError")
					lr.SetObservedTimestamp(math.MaxUint64)
				}
			}
		}
	}
	encoders := map[string]func(e *Entry, dst []byte) []byte{
		"json line": (*Entry).AppendJSONLine, "text": (*Entry).AppendText,
		"pretty": func(e *Entry, dst []byte) []byte { return e.AppendPretty(dst, PrettyOptions{Location: time.UTC}) },
	}
	for name, encode := range encoders {
		var got, gotIn, want []string
		var shared Entry
		ForEach(ld, receivedAt, &shared, func(e *Entry, _ plog.LogRecord) { got = append(got, string(encode(e, nil))) })
		for i := ld.ResourceLogs().Len() - 1; i >= 0; i-- { // resources apart, in another order
			var part []string
			ForEachIn(ld.ResourceLogs().At(i), receivedAt, &shared, func(e *Entry, _ plog.LogRecord) { part = append(part, string(encode(e, nil))) })
			gotIn = append(part, gotIn...)
		}
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					var fresh Entry
					fresh.Reset(rl.Resource(), sl.Scope(), lr, receivedAt)
					want = append(want, string(encode(&fresh, nil)))
				}
			}
		}
		assert.Equal(t, want, got, name)
		assert.Equal(t, want, gotIn, name)
	}
}

func TestEnvelope_SmallSortOrdersLikeSortStable(t *testing.T) {
	keys := []string{"", "a", "a\x00", "a\x00b", "ab", "aa\xff", "abcdefgh", "abcdefgh\x00", "abcdefghi", "abcdefgg", "b", "\xff", "http.route", "http.method", "x", "x"}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 2_000; round++ {
		n := rng.IntN(smallSort + 3)
		entries := make([]string, n)
		for i := range entries {
			entries[i] = keys[rng.IntN(len(keys))]
		}
		want := make([]int, n)
		order, prefixes := make([]int, n), make([]uint64, n)
		for i := range order {
			want[i], order[i], prefixes[i] = i, i, keyPrefix(entries[i])
		}
		slices.SortStableFunc(want, func(a, b int) int { return strings.Compare(entries[a], entries[b]) })
		sortIndicesByKey(order, prefixes, func(a, b int) int { return strings.Compare(entries[a], entries[b]) })
		require.Equal(t, want, order, "round %d: %q", round, entries)
	}
}

func TestEnvelope_RepeatedLiftedKeysTakeTheFirstPreferredOccurrence(t *testing.T) {
	ld := build(func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
		// Put* replaces a key, so repeat keys through the slice of a decoded request instead.
		raw := `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":[` +
			`{"key":"message_id","value":{"stringValue":"m-1"}},{"key":"log.record.uid","value":{"stringValue":"uid-1"}},` +
			`{"key":"log.record.uid","value":{"stringValue":"uid-2"}},{"key":"enduser.id","value":{"stringValue":"e-1"}},` +
			`{"key":"user_id","value":{"stringValue":"u-1"}},{"key":"user_id","value":{"stringValue":"u-2"}},` +
			`{"key":"logger.name","value":{"stringValue":"first"}},{"key":"logger.name","value":{"stringValue":"second"}}]}]}]}]}`
		decodedLogs, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs([]byte(raw))
		require.NoError(t, err)
		decodedLogs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).CopyTo(lr)
	})
	e := entryOf(ld)
	assert.Equal(t, "uid-1", e.MessageID())
	userID, _ := e.Field("context.user_id")
	assert.Equal(t, "u-1", userID)
	assert.Equal(t, "first", e.Logger())
}

func TestEnvelope_ShortDecimalsMatchStrconv(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	check := func(v float64) {
		want := strconv.FormatFloat(v, 'f', -1, 64)
		if got, ok := appendShortDecimal(nil, v); ok && string(got) != want {
			t.Fatalf("%v (%#x): got %s, want %s", v, math.Float64bits(v), got, want)
		}
	}
	for i := 0; i < 300_000; i++ {
		k := rng.IntN(8)
		m := rng.Int64N(1 << rng.IntN(40))
		v := float64(m) / math.Pow10(k) // decimals as they are written in logs
		check(v)
		check(-v)
		check(math.Float64frombits(math.Float64bits(v) + 1)) // and their neighbours
		check(math.Float64frombits(rng.Uint64()))
		check(float64(rng.Int64N(1<<31)) + rng.Float64())
	}
}

// TestEnvelope_KeysThatDifferOnlyInInvalidBytesAreWrittenOnce: invalid UTF-8 becomes U+FFFD, so two keys that
// differ only there would be written as one name twice; as with keys that are equal, the first one wins.
func TestEnvelope_KeysThatDifferOnlyInInvalidBytesAreWrittenOnce(t *testing.T) {
	ld := build(func(res pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
		res.Attributes().PutStr("service.name", "svc")
		res.Attributes().PutStr("r\xff", "resource-first")
		res.Attributes().PutStr("r\xfeZ", "in between")
		res.Attributes().PutStr("r\xfe", "resource-second")
		lr.Attributes().PutStr("k\xff", "attribute-first")
		lr.Attributes().PutStr("k\xfeZ", "in between") // sorts between the two raw keys
		lr.Attributes().PutStr("k\xfe", "attribute-second")
		flat := lr.Attributes().PutEmptyMap("flat")
		flat.PutInt("a\xff", 1)
		flat.PutInt("a\xfeZ", 2)
		flat.PutInt("a\xfe", 3)
		deep := lr.Attributes().PutEmptyMap("deep")
		deep.PutEmptyMap("inner").PutStr("x", "y")
		deep.PutInt("b\xff", 1)
		deep.PutInt("b\xfe", 2)
		body := lr.Body().SetEmptyMap()
		body.PutStr("message", "hello")
		body.PutStr("k\xfd", "body field")
	})
	out := entryOf(ld).AppendJSON(nil)
	require.True(t, json.Valid(out), "invalid JSON: %s", out)
	assertNoDuplicateKeys(t, out)
	env := decodedJSON(t, out)
	data := env["data"].(map[string]any)
	assert.Equal(t, "attribute-first", data["k\uFFFD"], "an attribute wins over a later attribute and a body field")
	assert.Equal(t, "in between", data["k\uFFFDZ"])
	assert.Equal(t, map[string]any{"a\uFFFD": 1.0, "a\uFFFDZ": 2.0}, data["flat"])
	assert.Equal(t, map[string]any{"b\uFFFD": 1.0, "inner": map[string]any{"x": "y"}}, data["deep"])
	resource := env["diagnostics"].(map[string]any)["resource"].(map[string]any)
	assert.Equal(t, "resource-first", resource["r\uFFFD"])
	assert.Equal(t, "in between", resource["r\uFFFDZ"])
}

func decodedJSON(t *testing.T, out []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(out, &m))
	return m
}

// assertNoDuplicateKeys fails when any object of the JSON text has a key twice.
func assertNoDuplicateKeys(t *testing.T, text []byte) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(text)))
	var walk func() error
	walk = func() error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				key, err := dec.Token()
				if err != nil {
					return err
				}
				k := key.(string)
				assert.False(t, seen[k], "key %q twice in %s", k, text)
				seen[k] = true
				if err := walk(); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for dec.More() {
				if err := walk(); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	require.NoError(t, walk())
}
